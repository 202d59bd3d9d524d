// What every worker must know about an upstream's endpoints besides their addresses: whether
// active health checks found one down, whether outlier detection ejected it (until when), whether
// an operator is draining it, and how many attempts it has in flight. Shared by all workers and
// read lock-free on the request path; each endpoint's state is kept across reloads while the
// endpoint remains (Stores::Local, keyed by upstream and endpoint).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <vector>

#include "core/clock.h"
#include "upstream/endpoint_mask.h"

namespace rampart::upstream {

struct EndpointState {
  // --- Membership: read by every attempt ---
  std::atomic<bool> unhealthy{false};          // active health checks: down
  std::atomic<bool> draining{false};           // no new requests (admin API)
  std::atomic<std::uint32_t> drain_epoch{0};   // one more at each drain: its timeout's own
  std::atomic<std::int64_t> ejected_until{0};  // steady-clock ns; 0 or past: not ejected
  // --- Written by the attempts and their policies ---
  alignas(64) std::atomic<std::int64_t> in_flight{0};
  std::atomic<std::uint32_t> ejections{0};            // times ejected; grows the next ejection
  std::atomic<std::uint32_t> consecutive_errors{0};   // 5xx or gateway failures in a row
  std::atomic<std::uint32_t> consecutive_gateway{0};  // gateway failures in a row
  std::atomic<std::uint32_t> interval_calls{0};       // since the last success-rate check
  std::atomic<std::uint32_t> interval_failures{0};
  // --- Active health checks (the prober's own) ---
  std::atomic<std::uint64_t> prober{0};           // the prober that owns `unhealthy` (newest)
  std::atomic<std::uint32_t> check_successes{0};  // in a row
  std::atomic<std::uint32_t> check_failures{0};   // in a row

  // May take new requests: not draining, not down by the checks (when they run), not ejected.
  bool Up(SteadyTime now, bool checked = true) const noexcept {
    return !draining.load(std::memory_order_relaxed) &&
           !(checked && unhealthy.load(std::memory_order_relaxed)) && !Ejected(now);
  }
  bool Ejected(SteadyTime now) const noexcept {
    return ejected_until.load(std::memory_order_relaxed) > Nanos(now);
  }
  static std::int64_t Nanos(SteadyTime t) noexcept {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
  }
};

class EndpointHealth {
 public:
  explicit EndpointHealth(std::vector<std::shared_ptr<EndpointState>> endpoints,
                          std::vector<bool> backup = {});

  std::size_t size() const noexcept { return endpoints_.size(); }
  EndpointState& at(std::size_t i) const noexcept { return *endpoints_[i]; }
  bool backup(std::size_t i) const noexcept { return i < backup_.size() && backup_[i]; }
  // Whether this config runs active health checks: without them `unhealthy` (left by an earlier
  // config's checks) is not read.
  bool checked() const noexcept { return checked_; }
  void set_checked(bool on) noexcept { checked_ = on; }

  // The endpoints a new request may go to now: the primaries that are up (not unhealthy, ejected
  // or draining); while none is, the backups that are up; while none of those is either, every
  // endpoint not draining (panic routing, as Envoy does when no host is healthy: trying them all
  // beats failing every request when the checks themselves are wrong); without `panic`, none.
  EndpointMask Available(SteadyTime now, bool panic = true) const noexcept;
  // Whether endpoint `i` is up now, by the same rules (draining, unhealthy, ejected).
  bool Up(std::size_t i, SteadyTime now) const noexcept;
  // Endpoints ejected now.
  std::size_t EjectedCount(SteadyTime now) const noexcept;

 private:
  std::vector<std::shared_ptr<EndpointState>> endpoints_;
  std::vector<bool> backup_;
  bool checked_ = false;
};

}  // namespace rampart::upstream
