#include "upstream/retries/retry_budget.h"

#include <algorithm>
#include <cmath>

namespace rampart::upstream::retries {

RetryBudget::RetryBudget(double percent, std::uint32_t min_per_second)
    : deposit_(static_cast<std::int64_t>(std::llround(percent * kMilli))),
      floor_(static_cast<std::int64_t>(min_per_second) * kMilli),
      capacity_(std::max<std::int64_t>(10 * floor_, 10 * kMilli)),
      balance_(capacity_) {}

void RetryBudget::Refill(SteadyTime now) noexcept {
  const std::int64_t ns =
      std::chrono::duration_cast<std::chrono::nanoseconds>(now.time_since_epoch()).count();
  std::int64_t last = refilled_ns_.load(std::memory_order_relaxed);
  if (last == 0) {  // the first retry starts the clock
    refilled_ns_.compare_exchange_strong(last, ns, std::memory_order_relaxed);
    return;
  }
  const std::int64_t elapsed = ns - last;
  if (elapsed < 1'000'000 || floor_ == 0) return;  // at most once a millisecond
  if (!refilled_ns_.compare_exchange_strong(last, ns, std::memory_order_relaxed)) return;
  const std::int64_t add =
      static_cast<std::int64_t>(static_cast<double>(floor_) * static_cast<double>(elapsed) / 1e9);
  const std::int64_t room = capacity_ - balance_.load(std::memory_order_relaxed);
  if (room > 0) balance_.fetch_add(std::min(add, room), std::memory_order_relaxed);
}

bool RetryBudget::TryWithdraw(SteadyTime now) noexcept {
  Refill(now);
  if (balance_.fetch_sub(kMilli, std::memory_order_relaxed) >= kMilli) return true;
  balance_.fetch_add(kMilli, std::memory_order_relaxed);
  return false;
}

}  // namespace rampart::upstream::retries
