// Consistent hashing of a request key onto an upstream's endpoints, so requests with the same key
// (a user, a session, a path) go to the same endpoint and, when an endpoint leaves, only its own
// keys move. Two tables, built once per config snapshot and read by every worker:
//
//   ring    Karger et al.'s consistent hashing ring (as in Envoy's ring_hash and nginx's
//           `hash ... consistent`): each endpoint is placed at `weight x 160` points; a key goes
//           to the first point at or after its hash. Lookup is a binary search.
//   maglev  Maglev hashing (Eisenbud et al., NSDI 2016): a lookup table of a prime size filled
//           from each endpoint's permutation, weighted by turns; lookup is one index. Slightly
//           more keys move than with the ring, much faster to look up.
//
// An endpoint that may not be used now (down, ejected, draining, already tried) is skipped: the
// ring walks to the next point, the Maglev table to the next slot.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "upstream/endpoint_mask.h"

namespace rampart::upstream {

class HashBalancer {
 public:
  enum class Kind : std::uint8_t { kRing, kMaglev };
  static constexpr std::size_t kNone = static_cast<std::size_t>(-1);

  // `names` identify the endpoints (their addresses: the same endpoint hashes to the same
  // places in every config), `weights` their shares (1 or more).
  HashBalancer(Kind kind, const std::vector<std::string_view>& names,
               const std::vector<std::uint32_t>& weights);

  // The endpoint for `hash` among those `allowed`, kNone when none is.
  std::size_t Pick(std::uint64_t hash, const EndpointMask& allowed) const noexcept;
  Kind kind() const noexcept { return kind_; }
  std::size_t size() const noexcept { return kind_ == Kind::kRing ? ring_.size() : table_.size(); }

  static std::uint64_t Hash(std::string_view key) noexcept;  // 64-bit, stable across builds

 private:
  struct Point {
    std::uint64_t hash;
    std::uint32_t endpoint;
  };
  Kind kind_;
  std::size_t endpoints_ = 0;
  std::vector<Point> ring_;           // sorted by hash
  std::vector<std::uint32_t> table_;  // Maglev: slot -> endpoint
};

}  // namespace rampart::upstream
