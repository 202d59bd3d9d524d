// Routes compiled from config, and first-match routing over them.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.h"
#include "core/regex.h"
#include "observe/metrics.h"
#include "pipeline/exchange.h"
#include "pipeline/gate.h"
#include "upstream/upstream_spec.h"

namespace rampart {

struct CompiledHeaderMatch {
  std::string name;  // lower case
  std::optional<std::string> exact;
  std::unique_ptr<Regex> regex;
  bool present = true;
};

struct CompiledRoute {
  const config::Route* config = nullptr;  // owned by the same snapshot
  std::string name;
  std::vector<std::string> exact_hosts;     // lower case
  std::vector<std::string> wildcard_hosts;  // ".example.com" for "*.example.com"
  enum class PathKind { kAny, kExact, kPrefix, kRegex } path_kind = PathKind::kAny;
  std::string path;
  std::unique_ptr<Regex> path_regex;
  std::vector<std::string> methods;
  std::vector<CompiledHeaderMatch> headers;
  const upstream::UpstreamSpec* upstream = nullptr;
  // Tried when `upstream` cannot take the request and nothing of it left (route fallback_upstream).
  const upstream::UpstreamSpec* fallback_upstream = nullptr;
  // Served instead of rampart's own error when the upstream cannot answer (route fallback), for
  // the failures in fallback_on.
  std::optional<StoredResponse> fallback;
  enum : std::uint8_t {
    kOnCircuitOpen = 1,
    kOnNoEndpoint = 2,
    kOnOverloaded = 4,
    kOnTimeout = 8,
    kOnUnavailable = 16,
  };
  std::uint8_t fallback_on = 0;
  std::vector<std::unique_ptr<Gate>> gates;  // in run order
  std::vector<GateNeeds> needs;              // gates[i]'s, asked once at build
  std::size_t hold_body = 0;                 // the largest request_body need (0: none holds)
  bool async_gates = false;                  // some gate needs the async request phase
  bool taps_response = false;                // some gate needs the response body
  observe::RouteStats* stats = nullptr;

  // Fills needs, hold_body, async_gates and taps_response from the gates.
  void CollectNeeds();

  bool Matches(const Exchange& ex) const noexcept { return Matches(ex, ex.path); }
  bool Matches(const Exchange& ex, std::string_view req_path) const noexcept;
};

class Router {
 public:
  void Add(std::unique_ptr<CompiledRoute> route) { routes_.push_back(std::move(route)); }
  // First route that matches, or nullptr. `ambiguous` is set when the path's `;` parameters
  // decide the route: Tomcat and Spring drop them (`/admin;x/users` is /admin/users there), so
  // a route chosen with them could hand the origin a path another route's gates guard.
  const CompiledRoute* Match(const Exchange& ex, bool* ambiguous = nullptr) const noexcept;
  const std::vector<std::unique_ptr<CompiledRoute>>& routes() const noexcept { return routes_; }

 private:
  std::vector<std::unique_ptr<CompiledRoute>> routes_;
};

}  // namespace rampart
