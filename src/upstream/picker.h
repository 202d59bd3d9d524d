// Endpoint choice: round robin, or least request by power of two random choices (per worker).
#pragma once

#include <cstddef>
#include <cstdint>

#include "upstream/connection_pool.h"
#include "upstream/upstream_spec.h"

namespace rampart::upstream {

class Picker {
 public:
  // `rr` is this worker's round-robin position for the upstream; `rand` any 64-bit random value.
  static std::size_t Pick(const UpstreamSpec& up, const ConnectionPool& pool, std::uint64_t& rr,
                          std::uint64_t rand) noexcept {
    const std::size_t n = up.endpoints.size();
    if (n <= 1) return 0;
    if (up.load_balancer == config::LoadBalancer::kRoundRobin) return rr++ % n;
    std::size_t a = rand % n;
    std::size_t b = (rand >> 32) % (n - 1);
    if (b >= a) ++b;  // two distinct endpoints
    return pool.active_or_zero(up.endpoints[b]) < pool.active_or_zero(up.endpoints[a]) ? b : a;
  }
};

}  // namespace rampart::upstream
