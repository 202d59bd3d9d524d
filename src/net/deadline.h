// A deadline armed before each wait of one exchange (or connection). The worker's tick checks it
// and cancels the waiting sockets once it passes, so arming costs two stores and no timer.
#pragma once

#include <chrono>
#include <cstdint>

#include "core/clock.h"

namespace rampart::net {

enum class TimeoutKind : std::uint8_t { kNone, kIdle, kHeader, kBody, kSend, kConnect, kUpstream };

struct Deadline {
  SteadyTime expiry = SteadyTime::max();
  TimeoutKind kind = TimeoutKind::kNone;
  TimeoutKind fired = TimeoutKind::kNone;  // the kind that expired last, until reset

  // The exchange's upstream deadline (a route timeout): connect and upstream waits end by then.
  SteadyTime cap = SteadyTime::max();

  void Set(TimeoutKind k, SteadyTime now, std::chrono::microseconds d) noexcept {
    kind = k;
    expiry = now + d;
    if ((k == TimeoutKind::kUpstream || k == TimeoutKind::kConnect) && cap < expiry) expiry = cap;
  }
  void Clear() noexcept { expiry = SteadyTime::max(); }
  // True once when the deadline passes; records which kind fired.
  bool Expire(SteadyTime now) noexcept {
    if (now < expiry) return false;
    fired = kind;
    expiry = SteadyTime::max();
    return true;
  }
};

}  // namespace rampart::net
