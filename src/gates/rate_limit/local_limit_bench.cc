// Local rate-limit decisions with one million active keys: the cost of one decision (key lookup
// under the shard lock plus the algorithm) and the memory each key costs. Keys are visited in
// random order so that most lookups miss the CPU caches, as they would with real clients.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <map>
#include <random>
#include <vector>

#include "gates/rate_limit/local_limit.h"

namespace {

using rampart::rate_limit::Algorithm;
using rampart::rate_limit::LocalLimit;
using rampart::rate_limit::Policy;

constexpr std::size_t kKeys = 1'000'000;
constexpr std::int64_t kNow = 1'790'000'000LL * 1'000'000;

struct Fixture {
  std::unique_ptr<LocalLimit> limit;
  std::vector<std::uint64_t> keys;
};

Fixture& Populated(Algorithm a) {
  static std::map<Algorithm, Fixture> cache;
  Fixture& f = cache[a];
  if (f.limit) return f;
  Policy p;
  p.algorithm = a;
  p.limit = 100;
  p.period_us = 1'000'000;
  p.burst = a == Algorithm::kLeakyBucket ? 20 : 100;
  f.limit = std::make_unique<LocalLimit>(p, 2 * kKeys);
  std::mt19937_64 rng(1);
  f.keys.resize(kKeys);
  for (auto& k : f.keys) k = rng();
  for (auto k : f.keys) f.limit->Acquire(k, kNow, 0);
  std::shuffle(f.keys.begin(), f.keys.end(), rng);  // read in order, land at random in the table
  return f;
}

void BM_LocalDecision1MKeys(benchmark::State& state) {
  const auto a = static_cast<Algorithm>(state.range(0));
  Fixture& f = Populated(a);
  std::size_t i = 0;
  std::int64_t now = kNow;
  for (auto _ : state) {
    const std::uint64_t key = f.keys[i];
    i = i + 1 == kKeys ? 0 : i + 1;
    benchmark::DoNotOptimize(f.limit->Acquire(key, ++now, 0));
  }
  state.counters["keys"] = static_cast<double>(f.limit->keys());
  state.counters["bytes_per_key"] =
      static_cast<double>(f.limit->bytes()) / static_cast<double>(f.limit->keys());
  state.SetLabel(std::string(rampart::rate_limit::AlgorithmName(a)));
}
BENCHMARK(BM_LocalDecision1MKeys)
    ->Arg(static_cast<int>(Algorithm::kTokenBucket))
    ->Arg(static_cast<int>(Algorithm::kGcra))
    ->Arg(static_cast<int>(Algorithm::kLeakyBucket))
    ->Arg(static_cast<int>(Algorithm::kFixedWindow))
    ->Arg(static_cast<int>(Algorithm::kSlidingWindowCounter))
    ->Repetitions(5)
    ->ReportAggregatesOnly(true);

}  // namespace
