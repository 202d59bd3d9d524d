// CacheStore's policy and its cost. BM_CacheHitRatio_WTinyLFU and BM_CacheHitRatio_LRU replay
// the same Zipf stream of 1,000,000 requests over 100,000 keys (equal-size entries) through
// W-TinyLFU and through a plain LRU with the same byte bound: Zipf(0.99) with a cache holding 1%
// of the keys (1,000 entries), and Zipf(0.9) with a cache holding 10% (10,000 entries); each
// request is a Get and, on a miss, a Put (what the cache gate does). The hit_ratio counter is
// measured after the first 100,000 requests (warm-up). Seeded and single-threaded: the ratios are
// deterministic up to the store's per-process hash seed. BM_CacheGetHit: one Get that hits, in a
// store of 10,000 entries.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <list>
#include <map>
#include <random>
#include <string>
#include <unordered_map>
#include <vector>

#include "gates/cache/cache_store.h"

namespace {

using rampart::cache::CachedResponse;
using rampart::cache::CacheStore;

constexpr std::size_t kKeys = 100'000;
constexpr std::size_t kRequests = 1'000'000;
constexpr std::size_t kWarmup = 100'000;
constexpr std::size_t kBodyBytes = 3800;  // with key and overhead, about 4 KiB charged

std::string KeyOf(std::size_t i) {
  std::string k = "/objects/0000000";  // fixed width: every entry is charged the same
  for (std::size_t pos = k.size(); i > 0; i /= 10) k[--pos] = static_cast<char>('0' + i % 10);
  return k;
}

struct Workload {
  std::vector<std::string> keys;
  std::vector<std::uint32_t> stream;  // key indexes, Zipf distributed
  std::shared_ptr<const CachedResponse> response;
  std::size_t charge = 0;
  std::size_t max_bytes = 0;
};

// `s100`: the Zipf exponent x 100; `percent`: the share of the keys the cache holds.
const Workload& TheWorkload(std::int64_t s100, std::int64_t percent) {
  static std::map<std::pair<std::int64_t, std::int64_t>, const Workload*> made;
  const Workload*& slot = made[{s100, percent}];
  if (slot != nullptr) return *slot;
  const double zipf_s = static_cast<double>(s100) / 100.0;
  const std::size_t cached_keys = kKeys * static_cast<std::size_t>(percent) / 100;
  slot = [&] {
    auto* w = new Workload;
    w->keys.reserve(kKeys);
    for (std::size_t i = 0; i < kKeys; ++i) w->keys.push_back(KeyOf(i));
    std::vector<double> cdf(kKeys);
    double sum = 0;
    for (std::size_t i = 0; i < kKeys; ++i) {
      sum += 1.0 / std::pow(static_cast<double>(i + 1), zipf_s);
      cdf[i] = sum;
    }
    // Rank r is a random key, so popularity is not correlated with the key's text.
    std::vector<std::uint32_t> key_of_rank(kKeys);
    for (std::size_t i = 0; i < kKeys; ++i) key_of_rank[i] = static_cast<std::uint32_t>(i);
    std::mt19937_64 rng(42);
    std::shuffle(key_of_rank.begin(), key_of_rank.end(), rng);
    w->stream.reserve(kRequests);
    for (std::size_t i = 0; i < kRequests; ++i) {
      const double u = static_cast<double>(rng() >> 11) * 0x1.0p-53 * sum;
      const auto rank =
          static_cast<std::size_t>(std::upper_bound(cdf.begin(), cdf.end(), u) - cdf.begin());
      w->stream.push_back(key_of_rank[std::min(rank, kKeys - 1)]);
    }
    auto r = std::make_shared<CachedResponse>();
    r->headers = {{"content-type", "application/octet-stream"}};
    r->body.assign(kBodyBytes, 'b');
    w->charge = r->Charge(w->keys[0].size());
    w->max_bytes = cached_keys * w->charge;
    w->response = std::move(r);
    return w;
  }();
  return *slot;
}

// The baseline: a plain LRU under the same byte bound, charged the same.
class PlainLru {
 public:
  explicit PlainLru(std::size_t max_bytes) : max_bytes_(max_bytes) {}
  bool Get(const std::string& key) {
    const auto it = index_.find(key);
    if (it == index_.end()) return false;
    order_.splice(order_.begin(), order_, it->second);
    return true;
  }
  void Put(const std::string& key, std::size_t charge) {
    order_.emplace_front(key, charge);
    index_[key] = order_.begin();
    bytes_ += charge;
    while (bytes_ > max_bytes_) {
      bytes_ -= order_.back().second;
      index_.erase(order_.back().first);
      order_.pop_back();
    }
  }

 private:
  using Entry = std::pair<std::string, std::size_t>;
  std::size_t max_bytes_, bytes_ = 0;
  std::list<Entry> order_;
  std::unordered_map<std::string, std::list<Entry>::iterator> index_;
};

bool Any(const CachedResponse&) { return true; }

void ReportRatio(benchmark::State& state, std::size_t hits) {
  state.counters["hit_ratio"] =
      static_cast<double>(hits) / static_cast<double>(kRequests - kWarmup);
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(kRequests));
}

// Args: shards (each shard gets max_bytes / shards and its own sketch), Zipf s x 100, percent of
// the keys the cache holds.
void BM_CacheHitRatio_WTinyLFU(benchmark::State& state) {
  const Workload& w = TheWorkload(state.range(1), state.range(2));
  const std::function<bool(const CachedResponse&)> match = Any;
  std::size_t hits = 0;
  for (auto _ : state) {
    CacheStore store(w.max_bytes, static_cast<std::size_t>(state.range(0)));
    hits = 0;
    for (std::size_t i = 0; i < kRequests; ++i) {
      const std::string& key = w.keys[w.stream[i]];
      if (store.Get(key, match) != nullptr) {
        hits += i >= kWarmup;
      } else {
        store.Put(key, w.response);
      }
    }
    state.counters["admissions_refused"] = static_cast<double>(store.admissions_refused());
    state.counters["entries"] = static_cast<double>(store.entries());
  }
  ReportRatio(state, hits);
}
BENCHMARK(BM_CacheHitRatio_WTinyLFU)
    ->Args({1, 99, 1})
    ->Args({16, 99, 1})
    ->Args({1, 90, 10})
    ->Args({16, 90, 10})
    ->Unit(benchmark::kMillisecond)
    ->Iterations(1);

// Args: Zipf s x 100, percent of the keys the cache holds.
void BM_CacheHitRatio_LRU(benchmark::State& state) {
  const Workload& w = TheWorkload(state.range(0), state.range(1));
  std::size_t hits = 0;
  for (auto _ : state) {
    PlainLru lru(w.max_bytes);
    hits = 0;
    for (std::size_t i = 0; i < kRequests; ++i) {
      const std::string& key = w.keys[w.stream[i]];
      if (lru.Get(key)) {
        hits += i >= kWarmup;
      } else {
        lru.Put(key, w.charge);
      }
    }
  }
  ReportRatio(state, hits);
}
BENCHMARK(BM_CacheHitRatio_LRU)
    ->Args({99, 1})
    ->Args({90, 10})
    ->Unit(benchmark::kMillisecond)
    ->Iterations(1);

void BM_CacheGetHit(benchmark::State& state) {
  constexpr std::size_t kEntries = 10'000;
  constexpr std::size_t kLookups = std::size_t{1} << 16;  // a power of two: index by mask
  const Workload& w = TheWorkload(99, 1);
  // Room for every entry with the window and the main area's split to spare.
  CacheStore store(kEntries * w.charge * 2, 16);
  for (std::size_t i = 0; i < kEntries; ++i) store.Put(w.keys[i], w.response);
  std::mt19937_64 rng(7);
  std::vector<const std::string*> lookups;
  lookups.reserve(kLookups);
  for (std::size_t i = 0; i < kLookups; ++i) lookups.push_back(&w.keys[rng() % kEntries]);
  const std::function<bool(const CachedResponse&)> match = Any;
  std::size_t i = 0, hits = 0;
  for (auto _ : state) {
    auto r = store.Get(*lookups[i], match);
    hits += r != nullptr;
    benchmark::DoNotOptimize(r);
    i = (i + 1) & (kLookups - 1);
  }
  state.SetItemsProcessed(state.iterations());
  state.counters["hit_ratio"] = static_cast<double>(hits) /
                                static_cast<double>(std::max<std::int64_t>(1, state.iterations()));
}
BENCHMARK(BM_CacheGetHit)->Repetitions(3)->DisplayAggregatesOnly(true);

}  // namespace
