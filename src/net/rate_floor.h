// A floor under the rate at which a client moves one exchange's bytes (issue 14's slow-client
// defence): the request body it sends, or the response it reads. Only time spent waiting on the
// client counts: every byte it moves earns 1/rate seconds of credit, kept up to `window`, and a
// wait may last no longer than the credit left when it starts. So a client that moves fewer than
// rate × window bytes while rampart waits on it for `window` is cut, whatever its pace before,
// and time rampart spends on the origin (or on the origin's back-pressure) costs the client
// nothing. A fresh floor holds one window of credit, so a transfer starts with `window` of grace.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>

#include "core/clock.h"

namespace rampart::net {

class RateFloor {
 public:
  // rate: bytes per second (0: no floor); window: the span the rate is judged over.
  void Reset(std::uint64_t rate, std::chrono::microseconds window) noexcept {
    rate_ = rate;
    window_ = window;
    credit_ = window;
  }

  bool on() const noexcept { return rate_ != 0; }

  // How long the next wait may last: `timeout`, or less when the credit left is less. A wait
  // that moves `moving` bytes only when it ends (a write taken whole) may also use what those
  // bytes earn: a client exactly at the floor finishes it just in time. `spent`: how long the
  // client has already been waited on without a byte (a wait re-armed before it ended).
  std::chrono::microseconds Allowance(
      std::chrono::microseconds timeout, std::size_t moving = 0,
      std::chrono::microseconds spent = std::chrono::microseconds::zero()) const noexcept {
    if (rate_ == 0) return timeout;
    const auto credit =
        std::max(credit_ - spent, std::chrono::microseconds::zero()) + Earning(moving);
    return std::min(timeout, credit);
  }

  // True when the allowance for `timeout` is the floor's, not the timeout's: a wait cut then
  // was cut for its rate.
  bool Binds(std::chrono::microseconds timeout) const noexcept {
    return Allowance(timeout) < timeout;
  }

  // A wait on the client that began at `from` ended at `to`, and the client moved n bytes.
  void Waited(SteadyTime from, SteadyTime to, std::size_t n) noexcept {
    if (rate_ == 0) return;
    const auto waited = std::chrono::duration_cast<std::chrono::microseconds>(to - from);
    if (waited > std::chrono::microseconds::zero()) credit_ -= waited;
    Earned(n);
  }

  // Bytes the client moved without rampart waiting on it.
  void Earned(std::size_t n) noexcept {
    if (rate_ == 0) return;
    credit_ = std::min(window_, credit_ + Earning(n));
  }

  std::chrono::microseconds credit() const noexcept { return credit_; }

 private:
  std::chrono::microseconds Earning(std::size_t n) const noexcept {
    if (rate_ == 0 || n == 0) return std::chrono::microseconds::zero();
    return std::chrono::microseconds(
        static_cast<std::int64_t>(static_cast<double>(n) * 1e6 / static_cast<double>(rate_)));
  }

  std::uint64_t rate_ = 0;
  std::chrono::microseconds window_{};
  std::chrono::microseconds credit_{};
};

}  // namespace rampart::net
