// Endpoint choice: round robin, or least request by power of two random choices (per worker),
// among the endpoints a mask allows (healthy ones; for a retry that must move, untried ones).
#pragma once

#include <cstddef>
#include <cstdint>

#include "upstream/connection_pool.h"
#include "upstream/endpoint_mask.h"
#include "upstream/upstream_spec.h"

namespace rampart::upstream {

class Picker {
 public:
  static constexpr std::size_t kNone = static_cast<std::size_t>(-1);

  // `rr` is this worker's round-robin position for the upstream; `rand` any 64-bit random value.
  // kNone when the mask allows no endpoint.
  static std::size_t Pick(const UpstreamSpec& up, const ConnectionPool& pool, std::uint64_t& rr,
                          std::uint64_t rand, const EndpointMask& allowed) noexcept {
    const std::size_t n = up.endpoints.size();
    const std::size_t m = allowed.count();
    if (m == 0) return kNone;
    if (m == n) {
      if (n == 1) return 0;
      if (up.load_balancer == config::LoadBalancer::kRoundRobin) return rr++ % n;
      std::size_t a = rand % n;
      std::size_t b = (rand >> 32) % (n - 1);
      if (b >= a) ++b;  // two distinct endpoints
      return Less(pool, up, b, a) ? b : a;
    }
    if (m == 1) return allowed.nth(0);
    if (up.load_balancer == config::LoadBalancer::kRoundRobin) return allowed.nth(rr++ % m);
    std::size_t a = rand % m;
    std::size_t b = (rand >> 32) % (m - 1);
    if (b >= a) ++b;
    a = allowed.nth(a);
    b = allowed.nth(b);
    return Less(pool, up, b, a) ? b : a;
  }

 private:
  static bool Less(const ConnectionPool& pool, const UpstreamSpec& up, std::size_t x,
                   std::size_t y) noexcept {
    return pool.active_or_zero(up.endpoints[x]) < pool.active_or_zero(up.endpoints[y]);
  }
};

}  // namespace rampart::upstream
