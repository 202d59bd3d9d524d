// Rate-limit decisions through the Redis store, end to end through the gate (key, EVALSHA on one
// pipelined connection, reply parsing), `depth` decisions in flight. Needs a redis-server:
// bench/redis_decisions.py starts one, runs this, and runs redis-benchmark with the same script,
// keys and pipelining for the ratio. Skipped when RAMPART_BENCH_REDIS_PORT is not set.
#include <benchmark/benchmark.h>
#include <spdlog/spdlog.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <cstdlib>
#include <random>

#include "gates/rate_limit/rate_limit_gate.h"
#include "gates/rate_limit/redis_script.h"

namespace {

namespace asio = boost::asio;
using namespace rampart;

void BM_RedisDecisions(benchmark::State& state) {
  const char* port = std::getenv("RAMPART_BENCH_REDIS_PORT");
  if (port == nullptr) {
    state.SkipWithError("set RAMPART_BENCH_REDIS_PORT (bench/redis_decisions.py does)");
    return;
  }
  spdlog::set_level(spdlog::level::warn);  // stdout carries the benchmark's JSON
  const auto depth = static_cast<int>(state.range(0));
  constexpr int kPerIteration = 20'000;
  std::vector<config::ConfigError> errors;
  config::YamlReader reader("bench", errors);
  auto cfg = rate_limit::ReadRateLimitConfig(
      YAML::Load("{ rate: 100/s, burst: 100, algorithm: gcra, store: redis }"), reader, "bench",
      "bench", true);
  observe::Metrics metrics(1);
  rate_limit::RateLimitGate::LimitState st;
  st.local = std::make_shared<rate_limit::LocalLimit>(cfg->limits[0].policy, 1 << 20);
  constexpr observe::CounterDef<1> kDecisions{"bench_decisions_total", "", {"kind"}};
  st.allowed = st.refused = st.shadow_refused = st.skipped = metrics.Counter(kDecisions, {"x"});
  st.fallback = metrics.Counter(kDecisions, {"fallback"});
  state::redis::Options o;
  o.port = static_cast<std::uint16_t>(std::atoi(port));
  o.timeout = std::chrono::seconds(2);
  auto pool = std::make_shared<state::redis::Pool>(o, 1);
  rate_limit::RateLimitGate gate(std::move(*cfg), {st}, pool);

  asio::io_context io;
  auto& client = pool->For(0, io.get_executor());
  while (!client.up()) io.run_one();
  std::mt19937 rng(3);
  std::uint64_t fallbacks = 0;
  for (auto _ : state) {
    int running = depth;
    for (int c = 0; c < depth; ++c) {
      asio::co_spawn(
          io,
          [&]() -> asio::awaitable<void> {
            Exchange ex;
            for (int i = 0; i < kPerIteration / depth; ++i) {
              // Random keys from 100,000, like redis-benchmark -r 100000.
              ex.client_address = asio::ip::address_v4(0x0a000000u + rng() % 100'000);
              ex.notes.clear();
              Decision d = co_await gate.OnRequestHeadersAsync(ex);
              benchmark::DoNotOptimize(d);
            }
            --running;
          },
          asio::detached);
    }
    while (running > 0) io.run_one();
  }
  fallbacks = st.fallback->Sum(1);
  state.counters["decisions_per_s"] =
      benchmark::Counter(static_cast<double>(state.iterations()) * (kPerIteration / depth) * depth,
                         benchmark::Counter::kIsRate);
  state.counters["fallbacks"] = static_cast<double>(fallbacks);
  state.SetLabel(std::string(rate_limit::RedisScriptSha()));
  client.Stop();
  io.poll();
}
BENCHMARK(BM_RedisDecisions)->Arg(1)->Arg(16)->UseRealTime()->Unit(benchmark::kMillisecond);

}  // namespace
