#include "upstream/retries/retry_budget.h"

#include <algorithm>
#include <cmath>

namespace rampart::upstream::retries {

RetryBudget::RetryBudget(int workers, double percent, std::uint32_t min_retries)
    : workers_(static_cast<std::size_t>(std::max(workers, 1))),
      slots_(std::make_unique<Slot[]>(workers_)),
      percent_(percent),
      min_retries_(min_retries) {}

std::int64_t RetryBudget::requests() const noexcept {
  std::int64_t n = 0;
  for (std::size_t i = 0; i < workers_; ++i)
    n += slots_[i].requests.load(std::memory_order_relaxed);
  return n;
}

std::int64_t RetryBudget::retries() const noexcept {
  std::int64_t n = 0;
  for (std::size_t i = 0; i < workers_; ++i) n += slots_[i].retries.load(std::memory_order_relaxed);
  return n;
}

bool RetryBudget::TryRetry(int w) noexcept {
  const auto allowed = std::max<std::int64_t>(
      min_retries_,
      static_cast<std::int64_t>(std::floor(percent_ * static_cast<double>(requests()))));
  if (retries() >= allowed) return false;
  Bump(slots_[Index(w)].retries, 1);
  return true;
}

}  // namespace rampart::upstream::retries
