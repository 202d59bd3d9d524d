// The rate_limit gate: glue between the exchange, the limits' keys, and their state (in-process
// or Redis with a fallback). The algorithms live in algorithm.h; the settings in
// rate_limit_config.h; see README.md for what it answers and how it fails.
#pragma once

#include <memory>
#include <vector>

#include "gates/rate_limit/local_limit.h"
#include "gates/rate_limit/rate_limit_config.h"
#include "observe/metrics.h"
#include "pipeline/gate.h"
#include "pipeline/gate_registry.h"
#include "state/redis/redis_pool.h"

namespace rampart::rate_limit {

// Microseconds since the Unix epoch; tests substitute their own.
using WallClock = std::int64_t (*)();
std::int64_t SystemWallMicros() noexcept;

class RateLimitGate final : public Gate {
 public:
  struct LimitState {
    std::shared_ptr<LocalLimit> local;
    observe::CounterSeries* allowed = nullptr;
    observe::CounterSeries* refused = nullptr;
    observe::CounterSeries* shadow_refused = nullptr;
    observe::CounterSeries* skipped = nullptr;
    observe::CounterSeries* ambiguous = nullptr;  // refused: a key part with two values
    observe::CounterSeries* fallback = nullptr;   // decided by on_store_failure
  };

  RateLimitGate(RateLimitConfig config, std::vector<LimitState> limits,
                std::shared_ptr<state::redis::Pool> redis, WallClock clock = SystemWallMicros);

  std::string_view Name() const noexcept override { return "rate_limit"; }
  Decision OnRequestHeaders(Exchange& ex) noexcept override;
  GateNeeds Needs() const noexcept override { return {.async_request = is_async_}; }
  std::span<const std::string_view> Reasons() const noexcept override;
  boost::asio::awaitable<Decision> OnRequestHeadersAsync(Exchange& ex) noexcept override;

  const RateLimitConfig& config() const noexcept { return config_; }

 private:
  // One limit as it applies to one request.
  struct Applied {
    std::size_t limit = 0;
    std::uint64_t key = 0;
    std::int64_t window_offset_us = 0;
    Outcome outcome;
    enum class Source : std::uint8_t { kLocal, kRedis, kNone } source = Source::kNone;
  };
  using AppliedList = std::vector<Applied>;

  // Builds the keys of the limits that apply; counts the skipped ones.
  // The limits that apply, with their keys; a limit whose key is ambiguous (kAmbiguous) instead.
  const LimitConfig* Prepare(const Exchange& ex, AppliedList& out) const;
  Decision RefuseAmbiguous(Exchange& ex, const LimitConfig& l) const;
  Outcome Fallback(Applied& a, std::int64_t now, int worker) const;
  // Counts, notes, headers; the answer for the request given the first refused limit (or none).
  Decision Conclude(Exchange& ex, AppliedList& applied, std::size_t refused) const;
  std::string RedisKey(const Applied& a) const;
  boost::asio::awaitable<bool> RedisCall(state::redis::Client& client, const Applied& a,
                                         std::string_view op, Outcome& out) const;

  RateLimitConfig config_;
  std::vector<LimitState> limits_;
  std::shared_ptr<state::redis::Pool> redis_;
  WallClock clock_;
  bool is_async_ = false;
};

// The factory registered under "rate_limit".
std::unique_ptr<Gate> MakeRateLimitGate(const YAML::Node& settings, GateContext& ctx);

}  // namespace rampart::rate_limit
