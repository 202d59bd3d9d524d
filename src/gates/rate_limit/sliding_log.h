// The sliding window log: the admission times of the last `period`, at most `limit` of them, so
// it is exact at every instant and its memory grows with the limit (8 bytes per admitted request).
#pragma once

#include <cstdint>
#include <vector>

#include "gates/rate_limit/algorithm.h"

namespace rampart::rate_limit {

class SlidingLog {
 public:
  Outcome Acquire(const Policy& p, std::int64_t now_us, std::int64_t cost = 1);
  // Forgets the `cost` newest admissions (a later limit refused the request).
  void Refund(std::int64_t cost = 1) noexcept;
  // When the newest admission leaves the window; 0 when empty.
  std::int64_t IdleAt(const Policy& p) const noexcept;
  std::size_t size() const noexcept { return size_; }
  std::size_t bytes() const noexcept { return ring_.capacity() * sizeof(std::int64_t); }

 private:
  std::int64_t At(std::size_t i) const noexcept { return ring_[(head_ + i) % ring_.size()]; }
  void Expire(std::int64_t oldest_kept) noexcept;

  std::vector<std::int64_t> ring_;  // grows up to `limit` entries
  std::size_t head_ = 0;
  std::size_t size_ = 0;
};

}  // namespace rampart::rate_limit
