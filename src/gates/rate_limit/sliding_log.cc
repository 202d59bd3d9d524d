#include "gates/rate_limit/sliding_log.h"

#include <algorithm>

namespace rampart::rate_limit {

void SlidingLog::Expire(std::int64_t oldest_kept) noexcept {
  while (size_ > 0 && At(0) < oldest_kept) {
    head_ = (head_ + 1) % ring_.size();
    --size_;
  }
}

Outcome SlidingLog::Acquire(const Policy& p, std::int64_t now_us, std::int64_t cost) {
  Expire(now_us - p.period_us + 1);  // an admission at t counts during [t, t + period)
  Outcome o;
  const auto limit = static_cast<std::size_t>(p.limit);
  const auto need = static_cast<std::size_t>(cost);
  if (size_ + need > limit) {
    // The admission whose expiry makes room for this request.
    const std::size_t idx = size_ + need - limit - 1;
    o.retry_after_us = idx < size_ ? At(idx) + p.period_us - now_us : p.period_us;
    o.remaining = static_cast<std::int64_t>(limit > size_ ? limit - size_ : 0);
    o.reset_us = size_ ? At(size_ - 1) + p.period_us - now_us : 0;
    return o;
  }
  if (ring_.size() < size_ + need) {
    // Grow (up to the limit) and unwrap, so the entries are in order from index 0.
    std::vector<std::int64_t> grown(std::min(limit, std::max<std::size_t>(4, 2 * (size_ + need))));
    for (std::size_t i = 0; i < size_; ++i) grown[i] = At(i);
    ring_ = std::move(grown);
    head_ = 0;
  }
  for (std::size_t i = 0; i < need; ++i) {
    ring_[(head_ + size_) % ring_.size()] = now_us;
    ++size_;
  }
  o.allowed = true;
  o.remaining = static_cast<std::int64_t>(limit - size_);
  o.reset_us = p.period_us;
  return o;
}

void SlidingLog::Refund(std::int64_t cost) noexcept {
  size_ -= std::min(size_, static_cast<std::size_t>(cost));
}

std::int64_t SlidingLog::IdleAt(const Policy& p) const noexcept {
  return size_ ? At(size_ - 1) + p.period_us : 0;
}

}  // namespace rampart::rate_limit
