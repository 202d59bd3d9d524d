// The concurrency limit of one upstream, adapted from measured latency: a gradient controller in
// the manner of Envoy's adaptive_concurrency filter (itself after Netflix's concurrency-limits).
//
//   minRTT   the latency of the upstream when nothing queues: the p-th percentile of
//            `min_rtt_samples` latencies measured while the limit is pinned to `min_limit`, at
//            start and again every `min_rtt_interval` (jittered), so it follows the upstream
//            (a deploy, a cache warming) instead of an old best case.
//   sample   every `interval`, the p-th percentile of the latencies that came back in it.
//   gradient = clamp((minRTT * (1 + buffer)) / sample, 0.5, 2)
//   limit    = clamp(limit * gradient + sqrt(limit * gradient), min_limit, max_limit)
//
// Latency at the floor (gradient above 1) grows the limit; latency above minRTT*(1+buffer) means
// requests queue somewhere, and the limit shrinks in proportion, at most by half per interval.
// The square-root headroom lets a quiet upstream's limit keep up with rising demand; a limit
// that demand never came near (in flight below half of it all interval) does not grow, so an
// idle upstream does not collect a limit it has never been tested at (Netflix's Gradient2 rule).
//
// Thread-safe: any worker reports samples; the one that finds the interval over recomputes
// (under a mutex it only tries to take; a sample that finds it busy is dropped, which is only a
// sampling rate). The limit is read with one relaxed atomic load.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <vector>

#include "core/clock.h"

namespace rampart::upstream::adaptive {

struct GradientConfig {
  std::uint32_t min_limit = 3;
  std::uint32_t max_limit = 1000;
  std::uint32_t initial_limit = 50;
  std::chrono::microseconds interval{100'000};
  double percentile = 0.9;
  double buffer = 0.25;
  std::chrono::microseconds min_rtt_interval{30'000'000};
  std::uint32_t min_rtt_samples = 50;
};

class GradientController {
 public:
  GradientController(const GradientConfig& c, SteadyTime now);

  std::uint32_t limit() const noexcept { return limit_.load(std::memory_order_relaxed); }
  // A latency measured at `now` (the head of a response), with the requests in flight then.
  void Sample(std::chrono::microseconds rtt, std::uint32_t in_flight, SteadyTime now);

  // For the admin API and tests.
  bool calibrating() const noexcept { return calibrating_.load(std::memory_order_relaxed); }
  std::chrono::microseconds min_rtt() const noexcept {
    return std::chrono::microseconds(min_rtt_us_.load(std::memory_order_relaxed));
  }
  std::chrono::microseconds last_sample_rtt() const noexcept {
    return std::chrono::microseconds(sample_us_.load(std::memory_order_relaxed));
  }

 private:
  std::chrono::microseconds Percentile(std::vector<std::int64_t>& v) const;
  void StartCalibration(SteadyTime now);
  // Under mu_.
  void EndInterval(SteadyTime now);

  GradientConfig c_;
  std::atomic<std::uint32_t> limit_;
  std::atomic<bool> calibrating_{true};
  std::atomic<std::int64_t> min_rtt_us_{0};
  std::atomic<std::int64_t> sample_us_{0};

  std::mutex mu_;
  double value_ = 0;                  // the limit, unrounded
  double running_limit_ = 0;          // the limit to return to after a calibration
  std::vector<std::int64_t> window_;  // latencies (us) of the interval or the calibration
  std::uint32_t peak_in_flight_ = 0;  // in the interval
  SteadyTime interval_end_{};
  SteadyTime next_calibration_{};
  std::uint64_t calibrations_ = 0;  // for the jitter, deterministic under a scripted clock
};

}  // namespace rampart::upstream::adaptive
