// Micro benchmarks of the per-request CPU work outside syscalls: parsing a request head,
// building the upstream head, matching a route.
#include <benchmark/benchmark.h>

#include "http/h1/message_parser.h"
#include "http/proxy_headers.h"

namespace {

constexpr std::string_view kRequest =
    "GET /api/v1/items/42?include=owner HTTP/1.1\r\nHost: api.example.com\r\n"
    "User-Agent: Mozilla/5.0 (X11; Linux x86_64) bench\r\nAccept: application/json\r\n"
    "Accept-Encoding: gzip, deflate, br\r\nAccept-Language: en-US,en;q=0.9\r\n"
    "Cookie: session=abcdef0123456789; theme=dark\r\nConnection: keep-alive\r\n\r\n";

void BM_ParseRequestHead(benchmark::State& state) {
  rampart::http::HeaderList headers;
  std::string body;
  headers.reserve(32);
  for (auto _ : state) {
    rampart::http::h1::RequestParser p({}, headers, body);
    benchmark::DoNotOptimize(p.Feed(kRequest.data(), kRequest.size()));
    benchmark::DoNotOptimize(p.done());
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * kRequest.size()));
}
BENCHMARK(BM_ParseRequestHead);

void BM_BuildUpstreamHead(benchmark::State& state) {
  rampart::http::HeaderList headers;
  std::string body, out;
  rampart::http::h1::RequestParser p({}, headers, body);
  p.Feed(kRequest.data(), kRequest.size());
  rampart::config::HeaderRules rules;
  std::vector<std::pair<std::string, std::string>> extra;
  rampart::http::UpstreamRequest r;
  r.method = "GET";
  r.path_and_query = "/api/v1/items/42?include=owner";
  r.host = "api.example.com";
  r.headers = &headers;
  r.rules = &rules;
  r.extra = &extra;
  r.client_ip = "192.0.2.10";
  r.original_host = "api.example.com";
  r.request_id_header = "x-request-id";
  r.request_id = "0b5c1f0e-8f5d-4a31-9d7c-3f0e4b2a1c9d";
  r.via = "rampart";
  out.reserve(1024);
  for (auto _ : state) {
    rampart::http::BuildUpstreamRequestHead(out, r);
    benchmark::DoNotOptimize(out.data());
  }
}
BENCHMARK(BM_BuildUpstreamHead);

}  // namespace
