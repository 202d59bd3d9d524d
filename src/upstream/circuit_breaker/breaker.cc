#include "upstream/circuit_breaker/breaker.h"

#include <algorithm>

namespace rampart::upstream::breaker {

namespace {
constexpr std::size_t kBuckets = 10;
}

std::string_view StateName(State s) noexcept {
  switch (s) {
    case State::kClosed:
      return "closed";
    case State::kOpen:
      return "open";
    case State::kHalfOpen:
      return "half_open";
  }
  return "closed";
}

Breaker::Breaker(BreakerConfig config, std::uint64_t seed)
    : config_(config), open_for_(config.open_for), rng_(seed) {
  if (config_.window == BreakerConfig::Window::kCalls) {
    ring_.assign(std::max<std::uint32_t>(1, config_.window_calls), 0);
  } else {
    buckets_.assign(kBuckets, Bucket{});
  }
}

State Breaker::state() const {
  std::lock_guard lock(mu_);
  return state_;
}

void Breaker::Reset() {
  std::fill(ring_.begin(), ring_.end(), 0);
  ring_next_ = 0;
  ring_size_ = ring_failures_ = 0;
  std::fill(buckets_.begin(), buckets_.end(), Bucket{});
  consecutive_ = 0;
}

void Breaker::Add(SteadyTime now, bool failure) {
  if (!ring_.empty()) {
    std::uint8_t& slot = ring_[ring_next_];
    if (ring_size_ == ring_.size()) {
      ring_failures_ -= slot;
    } else {
      ++ring_size_;
    }
    slot = failure ? 1 : 0;
    ring_failures_ += slot;
    ring_next_ = (ring_next_ + 1) % ring_.size();
    return;
  }
  const auto width = config_.window_time / static_cast<int>(kBuckets);
  const auto index = static_cast<std::size_t>((now.time_since_epoch() / width) % kBuckets);
  const SteadyTime start = now - (now.time_since_epoch() % width);
  Bucket& b = buckets_[index];
  if (b.start != start) b = Bucket{start, 0, 0};  // an old bucket: its calls left the window
  ++b.calls;
  if (failure) ++b.failures;
}

std::pair<std::uint32_t, std::uint32_t> Breaker::Totals(SteadyTime now) const {
  if (!ring_.empty()) return {ring_size_, ring_failures_};
  std::uint32_t calls = 0, failures = 0;
  for (const Bucket& b : buckets_) {
    if (b.calls > 0 && now - b.start < config_.window_time) {
      calls += b.calls;
      failures += b.failures;
    }
  }
  return {calls, failures};
}

std::pair<std::uint32_t, std::uint32_t> Breaker::Window(SteadyTime now) const {
  std::lock_guard lock(mu_);
  return Totals(now);
}

void Breaker::Open(SteadyTime now, bool longer) {
  if (longer) open_for_ = std::min(open_for_ * 2, config_.open_for_max);
  std::uniform_real_distribution<double> spread(1.0 - config_.jitter, 1.0 + config_.jitter);
  const double us = static_cast<double>(
                        std::chrono::duration_cast<std::chrono::microseconds>(open_for_).count()) *
                    spread(rng_);
  const auto cap = std::chrono::duration_cast<std::chrono::microseconds>(config_.open_for_max);
  open_until_ = now + std::min(cap, std::chrono::microseconds(static_cast<std::int64_t>(us)));
  state_ = State::kOpen;
  ++period_;
  probes_admitted_ = probes_succeeded_ = 0;
}

namespace {
constexpr std::uint64_t Ticket(std::uint64_t period, bool probe) noexcept {
  return (period << 1) | (probe ? 1 : 0);
}
}  // namespace

bool Breaker::Admit(SteadyTime now, Transition& t, std::uint64_t& ticket) {
  std::lock_guard lock(mu_);
  if (state_ == State::kClosed) {
    ticket = Ticket(period_, false);
    return true;
  }
  if (state_ == State::kOpen) {
    if (now < open_until_) return false;
    state_ = State::kHalfOpen;
    ++period_;
    half_open_since_ = now;
    probes_admitted_ = probes_succeeded_ = 0;
    t = {true, State::kHalfOpen};
  }
  if (probes_admitted_ >= config_.half_open_calls) {
    if (now - half_open_since_ < config_.probe_timeout) return false;
    half_open_since_ = now;  // the probes out never reported: take them as lost
    probes_admitted_ = probes_succeeded_;
  }
  ++probes_admitted_;
  ticket = Ticket(period_, true);
  return true;
}

void Breaker::Release(std::uint64_t ticket) {
  std::lock_guard lock(mu_);
  if (ticket == Ticket(period_, true) && state_ == State::kHalfOpen && probes_admitted_ > 0) {
    --probes_admitted_;
  }
}

Transition Breaker::Record(SteadyTime now, std::uint64_t ticket, bool failure) {
  std::lock_guard lock(mu_);
  if ((ticket >> 1) != period_) return {};  // admitted in another period: it decides nothing
  switch (state_) {
    case State::kOpen:
      return {};
    case State::kHalfOpen:
      if ((ticket & 1) == 0) return {};
      if (failure) {
        Open(now, /*longer=*/true);
        return {true, State::kOpen};
      }
      if (++probes_succeeded_ >= config_.half_open_calls) {
        state_ = State::kClosed;
        ++period_;
        open_for_ = config_.open_for;
        Reset();
        return {true, State::kClosed};
      }
      return {};
    case State::kClosed:
      break;
  }
  Add(now, failure);
  consecutive_ = failure ? consecutive_ + 1 : 0;
  const auto [calls, failures] = Totals(now);
  const bool by_rate = calls >= config_.minimum_calls &&
                       static_cast<double>(failures) >= config_.failure_rate * calls;
  const bool by_run =
      config_.consecutive_failures > 0 && consecutive_ >= config_.consecutive_failures;
  if (!by_rate && !by_run) return {};
  Reset();
  Open(now, /*longer=*/false);
  return {true, State::kOpen};
}

}  // namespace rampart::upstream::breaker
