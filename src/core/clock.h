// Time comes only from here, so tests can drive it instead of sleeping.
#pragma once

#include <atomic>
#include <chrono>

namespace rampart {

using SteadyTime = std::chrono::steady_clock::time_point;
using WallTime = std::chrono::system_clock::time_point;

class Clock {
 public:
  virtual ~Clock() = default;
  virtual SteadyTime Now() const noexcept = 0;
  virtual WallTime WallNow() const noexcept = 0;
};

class SystemClock final : public Clock {
 public:
  SteadyTime Now() const noexcept override { return std::chrono::steady_clock::now(); }
  WallTime WallNow() const noexcept override { return std::chrono::system_clock::now(); }
  static const SystemClock& Instance() noexcept {
    static const SystemClock clock;
    return clock;
  }
};

// A clock that moves only when told to. Thread-safe reads, for tests.
class FakeClock final : public Clock {
 public:
  SteadyTime Now() const noexcept override { return SteadyTime(offset_.load()); }
  WallTime WallNow() const noexcept override {
    return WallTime(std::chrono::duration_cast<WallTime::duration>(offset_.load()));
  }
  void Advance(std::chrono::nanoseconds d) noexcept { offset_.store(offset_.load() + d); }

 private:
  std::atomic<std::chrono::nanoseconds> offset_{std::chrono::hours(24)};
};

}  // namespace rampart
