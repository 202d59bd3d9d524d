#include "upstream/adaptive_concurrency/gradient.h"

#include <algorithm>
#include <cmath>
#include <utility>

namespace rampart::upstream::adaptive {

namespace {
constexpr std::size_t kMaxWindow = 4096;  // samples kept per interval (more are dropped)
}  // namespace

GradientController::GradientController(const GradientConfig& c, SteadyTime now)
    : c_(c), limit_(c.min_limit) {
  value_ = running_limit_ = std::clamp<double>(c.initial_limit, c.min_limit, c.max_limit);
  window_.reserve(256);
  StartCalibration(now);
}

void GradientController::StartCalibration(SteadyTime now) {
  calibrating_.store(true, std::memory_order_relaxed);
  running_limit_ = value_;
  limit_.store(c_.min_limit, std::memory_order_relaxed);
  window_.clear();
  interval_end_ = now + c_.interval;
}

std::chrono::microseconds GradientController::Percentile(std::vector<std::int64_t>& v) const {
  const std::size_t k =
      std::min(v.size() - 1, static_cast<std::size_t>(std::ceil(c_.percentile * v.size())) - 1);
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(k), v.end());
  return std::chrono::microseconds(v[k]);
}

void GradientController::Sample(std::chrono::microseconds rtt, std::uint32_t in_flight,
                                SteadyTime now) {
  std::unique_lock lock(mu_, std::try_to_lock);
  if (!lock.owns_lock()) return;
  peak_in_flight_ = std::max(peak_in_flight_, in_flight);
  if (window_.size() < kMaxWindow) window_.push_back(std::max<std::int64_t>(1, rtt.count()));
  if (calibrating_.load(std::memory_order_relaxed)) {
    if (window_.size() < c_.min_rtt_samples) return;
    min_rtt_us_.store(Percentile(window_).count(), std::memory_order_relaxed);
    window_.clear();
    calibrating_.store(false, std::memory_order_relaxed);
    value_ = running_limit_;
    limit_.store(static_cast<std::uint32_t>(std::lround(value_)), std::memory_order_relaxed);
    // The next calibration, jittered by up to 1/8 of the interval so instances do not pin their
    // limits together.
    const auto jitter =
        c_.min_rtt_interval / 8 * static_cast<std::int64_t>(calibrations_++ % 8) / 8;
    next_calibration_ = now + c_.min_rtt_interval + jitter;
    interval_end_ = now + c_.interval;
    return;
  }
  if (now >= interval_end_) EndInterval(now);
}

void GradientController::EndInterval(SteadyTime now) {
  interval_end_ = now + c_.interval;
  if (now >= next_calibration_) {
    StartCalibration(now);
    return;
  }
  if (window_.empty()) return;
  const std::int64_t sample = Percentile(window_).count();
  window_.clear();
  const std::uint32_t peak = std::exchange(peak_in_flight_, 0);
  sample_us_.store(sample, std::memory_order_relaxed);
  const double min_rtt = static_cast<double>(min_rtt_us_.load(std::memory_order_relaxed));
  const double gradient =
      std::clamp(min_rtt * (1.0 + c_.buffer) / static_cast<double>(sample), 0.5, 2.0);
  double next = value_ * gradient + std::sqrt(value_ * gradient);
  if (next > value_ && peak < value_ / 2) next = value_;  // demand never tested this limit
  value_ = std::clamp<double>(next, c_.min_limit, c_.max_limit);
  limit_.store(static_cast<std::uint32_t>(std::lround(value_)), std::memory_order_relaxed);
}

}  // namespace rampart::upstream::adaptive
