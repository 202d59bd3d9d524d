// The cache gate's own work per exchange, without I/O: BM_CacheGateMissNoStore is a GET whose
// answer is not storable (no-store): key, lookup, flight (a pass mark after the first), response
// rules and completion; BM_CacheGateHit is a GET a fresh 1 KiB entry answers.
#include <benchmark/benchmark.h>

#include "gates/cache/cache_gate.h"

namespace {

using namespace rampart;
using namespace rampart::cache;

struct Fixture {
  CacheConfig config;
  std::shared_ptr<CacheStore> store = std::make_shared<CacheStore>(64 << 20);
  CacheGate gate{config, store, std::make_shared<Flights>(), nullptr, observe::OutcomeCounters()};
  http::HeaderList request;
  http::HeaderList response;
  rampart::Exchange ex;
  Fixture() {
    request.Add("Host", "127.0.0.1:8080");
    request.Add("User-Agent", "wrk");
    request.Add("Accept", "*/*");
    ex.method = "GET";
    ex.target = ex.path = "/c/nostore";
    ex.authority = "127.0.0.1:8080";
    ex.host = "127.0.0.1";
    ex.request_headers = &request;
    ex.start = SteadyTime(std::chrono::seconds(100));
  }
  void Run(std::string_view cache_control) {
    ex.slots.clear();
    ex.slots.resize(1);
    ex.notes.clear();
    ex.response_headers.clear();
    benchmark::DoNotOptimize(gate.OnRequestHeaders(ex));
    if (ex.slots[0].state == nullptr) return;  // a hit
    response.clear();
    response.Add("Content-Type", "application/octet-stream");
    response.Add("Content-Length", "1024");
    response.Add("Cache-Control", cache_control);
    ex.response = {200, &response, {}, true};
    benchmark::DoNotOptimize(gate.OnResponseHeaders(ex));
    static const std::string body(1024, 'b');
    gate.OnResponseBody(ex, body, true);
    gate.OnComplete(ex, Completion{200, {}, {}, {}, 1, true});
    ex.slots[0].state.reset();
  }
};

void BM_CacheGateMissNoStore(benchmark::State& state) {
  Fixture f;
  for (auto _ : state) f.Run("no-store");
}
BENCHMARK(BM_CacheGateMissNoStore);

void BM_CacheGateHit(benchmark::State& state) {
  Fixture f;
  f.ex.target = f.ex.path = "/c/1k";
  f.Run("public, max-age=3600");  // stores it
  for (auto _ : state) f.Run("public, max-age=3600");
}
BENCHMARK(BM_CacheGateHit);

}  // namespace
