// A retry budget, as Finagle's RetryBudget and gRPC's retry throttling define one: each request
// deposits `percent` of a token, each retry withdraws a whole one, and `min_per_second` tokens
// come back every second whatever the traffic. The balance holds at most ten seconds of that
// floor plus what the deposits bring, so a burst of failures (an endpoint dying with requests
// in flight on it) is retried from the reserve, while a sustained outage settles at retries of
// `percent` of the requests (plus the floor): the upstream sees at most (1 + percent) times its
// normal load from retries, never `attempts` times.
//
// Shared by every worker: one atomic balance in milli-tokens. The hot path (a request) only
// reads it while the balance is full, and adds to it otherwise.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>

#include "core/clock.h"

namespace rampart::upstream::retries {

class RetryBudget {
 public:
  RetryBudget(double percent, std::uint32_t min_per_second);

  // A request began at the upstream: it deposits its share.
  void Deposit() noexcept {
    if (balance_.load(std::memory_order_relaxed) < capacity_)
      balance_.fetch_add(deposit_, std::memory_order_relaxed);
  }
  // A retry asks for a token at `now`: true when it may go (the token is spent).
  bool TryWithdraw(SteadyTime now) noexcept;

  double tokens() const noexcept {
    return static_cast<double>(balance_.load(std::memory_order_relaxed)) / kMilli;
  }
  double capacity() const noexcept { return static_cast<double>(capacity_) / kMilli; }

 private:
  static constexpr std::int64_t kMilli = 1000;
  void Refill(SteadyTime now) noexcept;

  const std::int64_t deposit_;   // per request, milli-tokens
  const std::int64_t floor_;     // per second, milli-tokens
  const std::int64_t capacity_;  // ten seconds of the floor, and at least 10 tokens
  std::atomic<std::int64_t> balance_;
  std::atomic<std::int64_t> refilled_ns_{0};  // steady-clock ns of the last refill
};

}  // namespace rampart::upstream::retries
