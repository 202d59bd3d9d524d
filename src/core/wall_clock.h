// The wall clock as whole Unix seconds or milliseconds: for what other machines read (OCSP
// validity, a shared blackhole's end, records in a shared store). Durations and deadlines on
// this machine use the steady clock (core/clock.h).
#pragma once

#include <chrono>
#include <cstdint>

namespace rampart {

inline std::int64_t WallSeconds() noexcept {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

inline std::int64_t WallMillis() noexcept {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace rampart
