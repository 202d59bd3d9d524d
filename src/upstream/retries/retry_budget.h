// A retry budget, as Envoy's retry_budget defines it: retries in flight may be at most a share of
// the requests in flight at the upstream (`percent`), or `min_retries`, whichever is more. When a
// dependency fails outright every request wants a retry; the budget lets a few through and turns
// the rest down, so the upstream never sees a retry storm on top of its own outage.
//
// Counted per worker (each on its own cache line, so the hot path takes no lock and shares no
// line between workers) and summed only when a retry is asked for.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>

namespace rampart::upstream::retries {

class RetryBudget {
 public:
  RetryBudget(int workers, double percent, std::uint32_t min_retries);

  // A request began at the upstream / ended (on worker `w`).
  void RequestStarted(int w) noexcept { Bump(slots_[Index(w)].requests, 1); }
  void RequestEnded(int w) noexcept { Bump(slots_[Index(w)].requests, -1); }
  // A request asks for its first retry: true when the budget allows it (it then counts as
  // retrying until RetryEnded).
  bool TryRetry(int w) noexcept;
  void RetryEnded(int w) noexcept { Bump(slots_[Index(w)].retries, -1); }

  std::int64_t requests() const noexcept;  // in flight, every worker
  std::int64_t retries() const noexcept;   // retrying, every worker
  double percent() const noexcept { return percent_; }
  std::uint32_t min_retries() const noexcept { return min_retries_; }

 private:
  struct alignas(64) Slot {
    std::atomic<std::int64_t> requests{0};
    std::atomic<std::int64_t> retries{0};
  };
  static void Bump(std::atomic<std::int64_t>& v, std::int64_t d) noexcept {
    v.fetch_add(d, std::memory_order_relaxed);
  }
  std::size_t Index(int w) const noexcept {
    return w >= 0 && static_cast<std::size_t>(w) < workers_ ? static_cast<std::size_t>(w) : 0;
  }

  std::size_t workers_;
  std::unique_ptr<Slot[]> slots_;
  double percent_;
  std::uint32_t min_retries_;
};

}  // namespace rampart::upstream::retries
