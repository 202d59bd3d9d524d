#include "gates/cache/cache_store.h"

#include <gtest/gtest.h>

#include <atomic>
#include <list>
#include <random>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

namespace rampart::cache {
namespace {

// ~4 KiB bodies: the size the store assumes when it sizes its frequency sketch.
constexpr std::size_t kBody = 3800;

std::shared_ptr<const CachedResponse> Response(std::string body, std::string vary_values = "",
                                               std::vector<std::string> tags = {}) {
  auto r = std::make_shared<CachedResponse>();
  r->headers = {{"content-type", "text/plain"}};
  r->body = std::move(body);
  if (!vary_values.empty()) r->vary_names = {"accept-encoding"};
  r->vary_values = std::move(vary_values);
  r->tags = std::move(tags);
  return r;
}

std::shared_ptr<const CachedResponse> Sized(std::size_t body_bytes, char fill = 'x') {
  return Response(std::string(body_bytes, fill));
}

bool Any(const CachedResponse&) { return true; }

std::string Key(const char* prefix, int i) { return prefix + std::to_string(i); }

// Get, and Put on a miss: what the cache gate does. Returns whether it was a hit.
bool Ask(CacheStore& store, const std::string& key) {
  if (store.Get(key, Any) != nullptr) return true;
  store.Put(key, Sized(kBody));
  return false;
}

// A plain LRU with the same byte bound, to show a property is not vacuous.
class PlainLru {
 public:
  explicit PlainLru(std::size_t max_bytes) : max_bytes_(max_bytes) {}
  bool Ask(const std::string& key, std::size_t charge) {
    if (auto it = index_.find(key); it != index_.end()) {
      order_.splice(order_.begin(), order_, it->second);
      return true;
    }
    order_.emplace_front(key, charge);
    index_[key] = order_.begin();
    bytes_ += charge;
    while (bytes_ > max_bytes_) {
      bytes_ -= order_.back().second;
      index_.erase(order_.back().first);
      order_.pop_back();
    }
    return false;
  }

 private:
  std::size_t max_bytes_, bytes_ = 0;
  std::list<std::pair<std::string, std::size_t>> order_;
  std::unordered_map<std::string, std::list<std::pair<std::string, std::size_t>>::iterator> index_;
};

TEST(CacheStoreCharge, CountsBodyHeadersVaryTagsKeyAndOverhead) {
  CachedResponse r;
  r.body = "12345";                        // 5
  r.headers = {{"ab", "cde"}, {"f", ""}};  // 5 + 1
  r.vary_names = {"accept-encoding"};      // not charged
  r.vary_values = "gzip";                  // 4
  r.tags = {"t1", "tag2"};                 // 6
  EXPECT_EQ(r.Charge(10), 5u + 6 + 4 + 6 + 10 + 256);
  EXPECT_EQ(CachedResponse{}.Charge(0), 256u);
}

TEST(CacheStore, PutThenGet) {
  CacheStore store(1 << 20, 4);
  EXPECT_EQ(store.Get("k", Any), nullptr);
  const auto r = Response("hello");
  ASSERT_TRUE(store.Put("k", r));
  EXPECT_EQ(store.Get("k", Any), r);
  EXPECT_EQ(store.Get("other", Any), nullptr);
  EXPECT_EQ(store.entries(), 1u);
  EXPECT_EQ(store.bytes(), r->Charge(1));
  EXPECT_EQ(store.evictions(), 0u);
  EXPECT_EQ(store.admissions_refused(), 0u);
}

TEST(CacheStore, NullEntryRefused) {
  CacheStore store(1 << 20);
  EXPECT_FALSE(store.Put("k", nullptr));
  EXPECT_EQ(store.entries(), 0u);
}

TEST(CacheStore, VariantsAndMatch) {
  CacheStore store(1 << 20, 2);
  const auto gzip = Response("g", "gzip");
  const auto br = Response("b", "br");
  ASSERT_TRUE(store.Put("/a", gzip));
  ASSERT_TRUE(store.Put("/a", br));
  EXPECT_EQ(store.entries(), 2u);
  EXPECT_EQ(store.bytes(), gzip->Charge(2) + br->Charge(2));
  auto wants = [](std::string v) {
    return [v](const CachedResponse& r) { return r.vary_values == v; };
  };
  EXPECT_EQ(store.Get("/a", wants("gzip")), gzip);
  EXPECT_EQ(store.Get("/a", wants("br")), br);
  EXPECT_EQ(store.Get("/a", wants("zstd")), nullptr);
  // Same values under different names are a different variant.
  auto other = std::make_shared<CachedResponse>(*gzip);
  other->vary_names = {"accept-language"};
  ASSERT_TRUE(store.Put("/a", other));
  EXPECT_EQ(store.entries(), 3u);
}

TEST(CacheStore, PutReplacesTheSameVariant) {
  CacheStore store(1 << 20, 1);
  ASSERT_TRUE(store.Put("/a", Response("old", "gzip")));
  ASSERT_TRUE(store.Put("/a", Response("other", "br")));
  const auto fresh = Response("a much longer new body", "gzip");
  ASSERT_TRUE(store.Put("/a", fresh));
  EXPECT_EQ(store.entries(), 2u);
  EXPECT_EQ(store.bytes(), fresh->Charge(2) + Response("other", "br")->Charge(2));
  EXPECT_EQ(store.Get("/a", [](const CachedResponse& r) { return r.vary_values == "gzip"; }),
            fresh);
}

TEST(CacheStore, VariantsPerKeyAreCapped) {
  CacheStore store(1 << 22, 1);
  for (int i = 0; i < 100; ++i) ASSERT_TRUE(store.Put("/a", Response("b", std::to_string(i))));
  EXPECT_LE(store.entries(), 16u);
  EXPECT_GT(store.entries(), 1u);
  // The newest variant is kept.
  EXPECT_NE(store.Get("/a", [](const CachedResponse& r) { return r.vary_values == "99"; }),
            nullptr);
}

TEST(CacheStore, OversizeRefused) {
  constexpr std::size_t kMax = 1 << 20;
  CacheStore store(kMax, 1);
  EXPECT_FALSE(store.Put("big", Sized(kMax / 8)));  // the charge adds key and overhead
  EXPECT_TRUE(store.Put("fits", Sized(kMax / 8 - 300)));
  EXPECT_EQ(store.entries(), 1u);
  EXPECT_EQ(store.Get("big", Any), nullptr);
}

TEST(CacheStore, ByteBoundNeverExceeded) {
  constexpr std::size_t kMax = 256 * 1024;
  for (std::size_t shards : {1, 4, 16}) {
    CacheStore store(kMax, shards);
    std::mt19937_64 rng(7);
    for (int i = 0; i < 20'000; ++i) {
      const std::string key = Key("/k", static_cast<int>(rng() % 500));
      const std::size_t size = rng() % 5 == 0 ? rng() % (kMax / 8) : rng() % 6000;
      const std::string vary = std::to_string(rng() % 3);
      if (rng() % 3 == 0) {
        store.Get(key, Any);
      } else {
        store.Put(key, Response(std::string(size, 'v'), vary));
      }
      if (rng() % 200 == 0) store.Erase(key);
      ASSERT_LE(store.bytes(), kMax) << "step " << i << " shards " << shards;
    }
    EXPECT_GT(store.evictions(), 0u);
    EXPECT_GT(store.entries(), 0u);
    // Emptying accounts for every byte.
    store.ErasePrefix("");
    EXPECT_EQ(store.bytes(), 0u);
    EXPECT_EQ(store.entries(), 0u);
  }
}

TEST(CacheStore, EraseKeyPrefixAndTag) {
  CacheStore store(1 << 22, 4);
  ASSERT_TRUE(store.Put("/api/a", Response("1", "gzip", {"users"})));
  ASSERT_TRUE(store.Put("/api/a", Response("2", "br", {"orders"})));
  ASSERT_TRUE(store.Put("/api/b", Response("3", "", {"users", "x"})));
  ASSERT_TRUE(store.Put("/img/c", Response("4", "", {"orders"})));
  ASSERT_TRUE(store.Put("/img/d", Response("5")));
  EXPECT_EQ(store.entries(), 5u);

  EXPECT_EQ(store.EraseTag("users"), 2u);  // one variant of /api/a, and /api/b
  EXPECT_EQ(store.entries(), 3u);
  EXPECT_EQ(store.Get("/api/b", Any), nullptr);
  ASSERT_NE(store.Get("/api/a", Any), nullptr);
  EXPECT_EQ(store.Get("/api/a", Any)->vary_values, "br");
  EXPECT_EQ(store.EraseTag("users"), 0u);

  EXPECT_EQ(store.ErasePrefix("/img/"), 2u);
  EXPECT_EQ(store.entries(), 1u);
  EXPECT_EQ(store.bytes(), Response("2", "br", {"orders"})->Charge(6));

  EXPECT_EQ(store.Erase("/nope"), 0u);
  EXPECT_EQ(store.Erase("/api/a"), 1u);
  EXPECT_EQ(store.entries(), 0u);
  EXPECT_EQ(store.bytes(), 0u);
  EXPECT_EQ(store.evictions(), 0u);  // erasing is not evicting
}

TEST(CacheStore, ReaderKeepsEntryAliveAfterEraseAndEviction) {
  CacheStore store(64 * 1024, 1);
  ASSERT_TRUE(store.Put("/a", Response("payload")));
  const auto held = store.Get("/a", Any);
  ASSERT_NE(held, nullptr);
  store.Erase("/a");
  for (int i = 0; i < 100; ++i) store.Put(Key("/f", i), Sized(4000));
  EXPECT_EQ(held->body, "payload");
  EXPECT_EQ(held.use_count(), 1);
}

// A hot set asked once per step stays cached while one-off keys stream past. The reuse distance
// of a hot key (60 hot + 60 one-off keys between two asks) is beyond what 100 entries hold, so a
// plain LRU with the same bound loses the hot set; W-TinyLFU keeps it in the protected segment
// because the one-off keys never beat it in the sketch.
TEST(CacheStore, ScanResistance) {
  const std::size_t charge = Sized(kBody)->Charge(6);
  const std::size_t max_bytes = 100 * charge;
  CacheStore store(max_bytes, 1);
  PlainLru lru(max_bytes);
  constexpr int kHot = 60;
  for (int round = 0; round < 5; ++round) {
    for (int h = 0; h < kHot; ++h) {
      Ask(store, Key("/hot/", h));
      lru.Ask(Key("/hot/", h), charge);
    }
  }
  int hits = 0, lru_hits = 0, asks = 0;
  for (int i = 0; i < 20'000; ++i) {
    const std::string once = Key("/scan/", i);
    Ask(store, once);
    lru.Ask(once, charge);
    const std::string hot = Key("/hot/", i % kHot);
    hits += Ask(store, hot);
    lru_hits += lru.Ask(hot, charge);
    ++asks;
  }
  EXPECT_GT(hits, asks * 95 / 100);
  EXPECT_LT(lru_hits, asks * 5 / 100);  // the property is not vacuous
  EXPECT_GT(store.admissions_refused(), 0u);
  EXPECT_LE(store.bytes(), max_bytes);
}

// Keys that were hot long ago saturate their counters; the sketch's halving lets a new hot set
// outrank them, so the new set gets admitted (without aging a saturated victim wins forever).
TEST(CacheStore, FrequencyAging) {
  const std::size_t charge = Sized(kBody)->Charge(6);
  CacheStore store(100 * charge, 1);
  constexpr int kSet = 90;
  for (int round = 0; round < 30; ++round) {
    for (int i = 0; i < kSet; ++i) Ask(store, Key("/old/", i));
  }
  int last_round_hits = 0;
  for (int round = 0; round < 80; ++round) {
    last_round_hits = 0;
    for (int i = 0; i < kSet; ++i) last_round_hits += Ask(store, Key("/new/", i));
  }
  EXPECT_GT(last_round_hits, kSet * 9 / 10);
  int old_hits = 0;
  for (int i = 0; i < kSet; ++i) old_hits += store.Get(Key("/old/", i), Any) != nullptr;
  EXPECT_LE(old_hits, 100 - kSet);  // at most what the new set leaves free
}

// Several threads mix every operation over a shared key space for a bounded number of steps;
// afterwards the accounting must still add up. (Run under the tsan preset for races.)
TEST(CacheStore, ConcurrencySmoke) {
  constexpr std::size_t kMax = 512 * 1024;
  CacheStore store(kMax, 4);
  constexpr int kThreads = 4;
  constexpr int kSteps = 5000;
  std::vector<std::thread> threads;
  std::atomic<bool> bound_held{true};
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&store, &bound_held, t] {
      std::mt19937_64 rng(100 + t);
      for (int i = 0; i < kSteps; ++i) {
        const std::string key = Key("/c/", static_cast<int>(rng() % 300));
        switch (rng() % 10) {
          case 0:
            store.Erase(key);
            break;
          case 1:
            if (rng() % 50 == 0) store.ErasePrefix("/c/1");
            if (rng() % 50 == 0) store.EraseTag("t3");
            break;
          case 2:
          case 3:
          case 4:
            store.Put(key, Response(std::string(rng() % 5000, 'c'), std::to_string(rng() % 2),
                                    {"t" + std::to_string(rng() % 5)}));
            break;
          default:
            if (auto r = store.Get(key, Any)) {
              if (r->body.find_first_not_of('c') != std::string::npos) bound_held = false;
            }
        }
        if (store.bytes() > kMax) bound_held = false;
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_TRUE(bound_held.load());
  EXPECT_LE(store.bytes(), kMax);
  const std::size_t entries = store.entries();
  EXPECT_EQ(store.ErasePrefix(""), entries);
  EXPECT_EQ(store.bytes(), 0u);
  EXPECT_EQ(store.entries(), 0u);
}

}  // namespace
}  // namespace rampart::cache
