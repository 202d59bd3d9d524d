// The retries upstream policy: after an attempt that failed in a way the route says is worth
// another try, it asks for one more (on another endpoint while any is left untried), after an
// exponential backoff with full jitter, within a number of attempts, a deadline and a retry
// budget. Only requests that cannot act twice are sent again: idempotent methods, requests a gate
// made safe (an idempotency key), or any request none of whose bytes left (a connect failure).
// A request whose body was streamed rather than held is never sent again. See README.md.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "config/fields.h"
#include "observe/metrics.h"
#include "upstream/policy.h"
#include "upstream/policy_registry.h"
#include "upstream/retries/retry_budget.h"

namespace rampart::upstream::retries {

// Which failures are worth another attempt.
enum RetryOn : std::uint8_t {
  kConnectFailure = 1,  // connect refused or timed out, TLS handshake failed
  kRefusedStream = 2,   // HTTP/2 REFUSED_STREAM or GOAWAY (beyond the one built-in retry)
  kReset = 4,           // the connection or stream closed or reset before the response head
  kTimeout = 8,         // no response head within response_timeout
};

struct RetryConfig {
  std::uint32_t attempts = 2;  // the first one included
  std::uint8_t retry_on = kConnectFailure | kRefusedStream | kReset | kTimeout;
  std::vector<int> statuses;  // response statuses worth another attempt (502, 503, ...)
  std::chrono::microseconds backoff_base{25'000};
  std::chrono::microseconds backoff_max{250'000};
  double budget_percent = 0.2;            // each request deposits this share of a retry
  std::uint32_t budget_min = 10;          // retries per second allowed whatever the traffic
  std::chrono::microseconds deadline{0};  // 0: none beyond the attempts' own timeouts
  bool other_endpoint = true;
};

const config::Fields<RetryConfig>& RetryFields();

// Full jitter (AWS Architecture Blog, "Exponential Backoff And Jitter"): a uniform wait in
// [0, min(max, base * 2^(retry - 1))], `u` uniform in [0, 1). `retry` counts from 1.
std::chrono::microseconds FullJitter(int retry, std::chrono::microseconds base,
                                     std::chrono::microseconds max, double u) noexcept;

// Why a retry was not made, for the metrics.
enum class Declined : std::uint8_t { kNone, kUnsafe, kNotHeld, kAttempts, kDeadline, kBudget };

class RetryPolicy final : public Policy {
 public:
  struct Counters {
    observe::CounterSeries* retried = nullptr;
    // By Declined: unsafe, not_held, attempts, deadline, budget ([0] unused).
    std::array<observe::CounterSeries*, 6> declined{};
  };
  RetryPolicy(RetryConfig config, std::shared_ptr<RetryBudget> budget, Counters counters,
              std::function<double()> uniform, std::function<SteadyTime()> clock);
  std::string_view Name() const noexcept override { return "retries"; }
  Verdict Before(const AttemptInfo& a) noexcept override;
  Verdict After(const AttemptInfo& a, const AttemptOutcome& o) noexcept override;
  void Describe(std::string& out) const override;

  // Whether this outcome is one the config retries.
  bool Retryable(const AttemptOutcome& o) const noexcept;
  // The decision for a retryable outcome, before the budget.
  Declined Check(const AttemptInfo& a, const AttemptOutcome& o) const noexcept;
  const RetryBudget& budget() const noexcept { return *budget_; }

 private:
  RetryConfig config_;
  std::shared_ptr<RetryBudget> budget_;
  Counters counters_;
  std::function<double()> uniform_;
  std::function<SteadyTime()> clock_;
};

std::shared_ptr<Policy> MakeRetries(const YAML::Node& settings, PolicyContext& ctx);

}  // namespace rampart::upstream::retries
