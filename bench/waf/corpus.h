// The requests the WAF benchmarks inspect: benign API and browser traffic (JSON and form bodies,
// realistic headers) and attacks (SQL injection, XSS, traversal, command injection, PHP and Java
// payloads, in the query, the body and headers). Built in code, deterministic.
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace rampart::bench {

struct BenchRequest {
  std::string method;
  std::string target;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
};

std::vector<BenchRequest> BenignCorpus();
std::vector<BenchRequest> AttackCorpus();

}  // namespace rampart::bench
