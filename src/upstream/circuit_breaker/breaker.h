// A circuit breaker's state machine: closed, open, half-open. Thread-safe (one per upstream,
// shared by every worker), driven by the time its callers pass in, so tests script the clock.
//
//   closed     every call goes; each outcome enters the window. Opens when, with at least
//              `minimum_calls` in the window, the failure rate reaches `failure_rate`, or after
//              `consecutive_failures` failures in a row.
//   open       every call is refused, until `open_for` (with jitter) has passed: then half-open.
//   half-open  `half_open_calls` probe calls go; when that many have succeeded it closes (the
//              window starts empty), the first failure opens it again for twice as long (at
//              most `open_for_max`). Calls beyond the probes are refused; a probe released
//              without an outcome is given back, and probes that never report at all are given
//              back after `probe_timeout`.
//
// Every admission returns a ticket naming the period (each change of state starts a new one)
// and whether it is a probe: an outcome from an earlier period (a call admitted while closed that
// times out after the breaker opened) decides nothing.
#pragma once

#include <chrono>
#include <cstdint>
#include <mutex>
#include <random>
#include <vector>

#include "core/clock.h"

namespace rampart::upstream::breaker {

struct BreakerConfig {
  enum class Window : std::uint8_t { kCalls, kTime };
  Window window = Window::kCalls;
  std::uint32_t window_calls = 100;               // kCalls: the last N calls
  std::chrono::milliseconds window_time{10'000};  // kTime: the calls of the last T
  std::uint32_t minimum_calls = 20;               // no rate decision below this
  double failure_rate = 0.5;                      // 0 < rate <= 1
  std::uint32_t consecutive_failures = 0;         // 0: off
  std::chrono::milliseconds open_for{5'000};
  std::chrono::milliseconds open_for_max{60'000};
  double jitter = 0.1;  // open_for varies by +-10%
  std::uint32_t half_open_calls = 3;
  // A probe that has not reported after this long is taken as lost (the upstream's connect and
  // response timeouts bound a real one).
  std::chrono::milliseconds probe_timeout{35'000};
};

enum class State : std::uint8_t { kClosed, kOpen, kHalfOpen };
std::string_view StateName(State s) noexcept;

// What a call to Admit or Record changed, for metrics and logs.
struct Transition {
  bool changed = false;
  State to = State::kClosed;
};

class Breaker {
 public:
  Breaker(BreakerConfig config, std::uint64_t seed);

  // Whether a call may go now, with its `ticket`; `t` reports a move from open to half-open.
  bool Admit(SteadyTime now, Transition& t, std::uint64_t& ticket);
  // A call that Admit let through ended, failed or not.
  Transition Record(SteadyTime now, std::uint64_t ticket, bool failure);
  // A call that Admit let through ended with nothing to learn (refused further on, its client
  // gone, a stale pooled connection retried): a probe's slot is given back.
  void Release(std::uint64_t ticket);

  State state() const;
  // In the window now: calls and failures (closed state), for the admin API.
  std::pair<std::uint32_t, std::uint32_t> Window(SteadyTime now) const;
  const BreakerConfig& config() const noexcept { return config_; }

 private:
  struct Bucket {
    SteadyTime start{};
    std::uint32_t calls = 0;
    std::uint32_t failures = 0;
  };
  void Add(SteadyTime now, bool failure);
  std::pair<std::uint32_t, std::uint32_t> Totals(SteadyTime now) const;  // locked
  void Open(SteadyTime now, bool longer);                                // locked
  void Reset();                                                          // locked

  const BreakerConfig config_;
  mutable std::mutex mu_;
  State state_ = State::kClosed;
  // kCalls: a ring of outcomes; kTime: ten buckets of window_time / 10.
  std::vector<std::uint8_t> ring_;
  std::size_t ring_next_ = 0;
  std::uint32_t ring_size_ = 0;
  std::uint32_t ring_failures_ = 0;
  std::vector<Bucket> buckets_;
  std::uint32_t consecutive_ = 0;
  SteadyTime open_until_{};
  std::chrono::milliseconds open_for_;  // the current wait: grows while probes fail
  std::uint64_t period_ = 1;            // changes with every state change; tickets carry it
  SteadyTime half_open_since_{};
  std::uint32_t probes_admitted_ = 0;
  std::uint32_t probes_succeeded_ = 0;
  std::mt19937_64 rng_;
};

}  // namespace rampart::upstream::breaker
