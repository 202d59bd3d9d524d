// The one place that says in which order request gates run by default. Cheap gates first;
// identity before anything that can serve a stored response. A route with
// `gate_order: explicit` runs its gates as listed instead.
#pragma once

#include <array>
#include <string_view>

namespace rampart {

inline constexpr std::array<std::string_view, 13> kDefaultGateOrder = {
    "client_ip",             // who is the client (trusted proxies, PROXY protocol)
    "ip_list",               // allow/deny lists and blackholes
    "rate_limit",            // per-IP limits
    "adaptive_concurrency",  // protect the upstream's latency
    "waf",                   // OWASP CRS
    "jwt",                   // authentication ...
    "api_key",
    "session",
    "mtls",
    "authz",                // ... then authorization
    "rate_limit_identity",  // per-principal limits, once identity is known
    "csrf",
    "cache",  // may answer from store: only after identity and authz
};
// "idempotency" runs last of all; it is listed separately because it wraps the upstream call.
inline constexpr std::string_view kLastGate = "idempotency";

// Rank of a gate kind in the default order; unknown kinds sort after the known ones.
constexpr int GateRank(std::string_view kind) noexcept {
  for (std::size_t i = 0; i < kDefaultGateOrder.size(); ++i) {
    if (kDefaultGateOrder[i] == kind) return static_cast<int>(i);
  }
  if (kind == kLastGate) return static_cast<int>(kDefaultGateOrder.size()) + 1;
  return static_cast<int>(kDefaultGateOrder.size());
}

}  // namespace rampart
