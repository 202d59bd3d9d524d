// Endpoint choice among the endpoints a mask allows (up ones; for a retry that moves, untried
// ones): round robin or least request by power of two random choices (per worker), weighted when
// weights are configured, or consistent hashing of the request's key (hash_balancer.h).
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

  // `rr` is this worker's round-robin position for the upstream; `rand` any 64-bit random value;
  // `hash` the request's key hash (consistent hashing). kNone when the mask allows no endpoint.
  static std::size_t Pick(const UpstreamSpec& up, const ConnectionPool& pool, std::uint64_t& rr,
                          std::uint64_t rand, const EndpointMask& allowed,
                          std::uint64_t hash = 0) noexcept {
    const std::size_t n = up.endpoints.size();
    const std::size_t m = allowed.count();
    if (m == 0) return kNone;
    if (up.hash) return up.hash->Pick(hash, allowed);
    if (up.weighted) return Weighted(up, pool, rr, rand, allowed, m);
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

  // By weight: the smooth weighted round-robin cycle (skipping endpoints not allowed), or two
  // endpoints drawn by weight of which the one with fewer requests per unit of weight wins.
  static std::size_t Weighted(const UpstreamSpec& up, const ConnectionPool& pool, std::uint64_t& rr,
                              std::uint64_t rand, const EndpointMask& allowed,
                              std::size_t m) noexcept {
    if (m == 1) return allowed.nth(0);
    if (up.load_balancer == config::LoadBalancer::kRoundRobin) {
      const std::size_t w = up.wrr_order.size();
      for (std::size_t i = 0; i < w; ++i) {
        const std::size_t e = up.wrr_order[rr++ % w];
        if (allowed.test(e)) return e;
      }
      return allowed.nth(rand % m);
    }
    std::uint64_t total = 0;
    for (std::size_t i = 0; i < up.endpoints.size(); ++i)
      if (allowed.test(i)) total += up.weights[i];
    auto draw = [&](std::uint64_t r) {
      r %= total;
      for (std::size_t i = 0; i < up.endpoints.size(); ++i) {
        if (!allowed.test(i)) continue;
        if (r < up.weights[i]) return i;
        r -= up.weights[i];
      }
      return allowed.nth(0);
    };
    const std::size_t a = draw(rand & 0xffffffff);
    const std::size_t b = draw(rand >> 32);
    // active_a / weight_a < active_b / weight_b, without division.
    const auto load = [&](std::size_t x, std::size_t y) {
      return static_cast<std::uint64_t>(pool.active_or_zero(up.endpoints[x])) * up.weights[y];
    };
    return load(b, a) < load(a, b) ? b : a;
  }
};

}  // namespace rampart::upstream
