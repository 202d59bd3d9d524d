// How long an idle worker keeps polling its event loop before it sleeps (busy polling).
//
// A worker that sleeps in epoll_wait must be woken by whoever sends it the next packet: on a
// busy machine, and above all in a VM, that wake-up (an inter-processor interrupt, and a halted
// vCPU to resume) costs the sender's CPU more than the proxy spends on the request. Polling a
// little before sleeping lets the next event find the worker awake. The window adapts the way
// Linux's cpuidle-haltpoll governor does (Documentation/virt/guest-halt-polling.rst): an idle
// spell that ended within the bound means polling longer would have caught it, so the window
// doubles (from kGrowStart, up to the bound); a longer spell halves it, and below kGrowStart it is
// zero. An idle worker therefore does not poll at all; one under steady load polls through the
// short gaps between events. (Worker::RunLoop's check for idleness costs a non-blocking
// epoll_wait per wake-up even when the window is closed: docs/benchmarks.md measures it.)
#pragma once

#include <algorithm>
#include <chrono>

namespace rampart::server {

class PollWindow {
 public:
  using Duration = std::chrono::nanoseconds;
  static constexpr Duration kGrowStart = std::chrono::microseconds(10);

  // bound 0 turns polling off: window() stays 0.
  explicit PollWindow(Duration bound) noexcept : bound_(bound) {}

  Duration window() const noexcept { return window_; }

  // The worker was idle for `idle` (polling, then perhaps asleep) before its next event.
  void Idled(Duration idle) noexcept {
    if (idle <= bound_) {
      if (idle > window_)
        window_ = std::min(window_ < kGrowStart ? kGrowStart : window_ * 2, bound_);
    } else {
      window_ /= 2;
      if (window_ < kGrowStart) window_ = Duration::zero();
    }
  }

 private:
  Duration bound_;
  Duration window_{0};
};

}  // namespace rampart::server
