// The circuit_breaker upstream policy: one Breaker per upstream (or per endpoint), shared by
// every worker and kept across reloads while its settings stay the same. Before each attempt it
// asks the breaker; an open breaker refuses at once (503 upstream_circuit_open) without touching
// the upstream (per endpoint: the attempt goes to another endpoint, and only when every
// endpoint's breaker is open is the answer 503). After
// each attempt it records whether the attempt failed: a connect failure, reset or timeout, a
// status in failure_statuses, or a head slower than slow_call. See README.md.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "config/fields.h"
#include "observe/metrics.h"
#include "upstream/circuit_breaker/breaker.h"
#include "upstream/policy.h"
#include "upstream/policy_registry.h"

namespace rampart::upstream::breaker {

struct CircuitBreakerConfig {
  BreakerConfig breaker;
  std::vector<int> failure_statuses = {500, 502, 503, 504};
  std::chrono::microseconds slow_call{0};  // 0: off
  bool per_endpoint = false;  // one breaker per endpoint: an open one sends attempts elsewhere
};

const config::Fields<CircuitBreakerConfig>& CircuitBreakerFields();

class CircuitBreakerPolicy final : public Policy {
 public:
  struct Counters {
    observe::CounterSeries* rejected = nullptr;
    observe::CounterSeries* to_open = nullptr;
    observe::CounterSeries* to_half_open = nullptr;
    observe::CounterSeries* to_closed = nullptr;
  };
  // One breaker (per upstream), or one per endpoint (per_endpoint), with `names` for logs.
  CircuitBreakerPolicy(CircuitBreakerConfig config, std::vector<std::shared_ptr<Breaker>> breakers,
                       std::vector<std::string> names, std::string upstream, Counters counters,
                       std::function<SteadyTime()> clock);
  std::string_view Name() const noexcept override { return "circuit_breaker"; }
  http::ErrorKind RefusedAs() const noexcept override { return http::ErrorKind::kCircuitOpen; }
  Verdict Before(const AttemptInfo& a) noexcept override;
  Verdict After(const AttemptInfo& a, const AttemptOutcome& o) noexcept override;
  void Abandoned(const AttemptInfo& a) noexcept override;
  void Describe(std::string& out) const override;

  bool Failed(const AttemptOutcome& o) const noexcept;
  const Breaker& breaker(std::size_t i = 0) const noexcept { return *breakers_[i]; }

 private:
  void Note(const Transition& t, int worker, std::size_t i) noexcept;
  Breaker& For(const AttemptInfo& a) const noexcept {
    return *breakers_[config_.per_endpoint && a.endpoint < breakers_.size() ? a.endpoint : 0];
  }

  CircuitBreakerConfig config_;
  std::vector<std::shared_ptr<Breaker>> breakers_;
  std::vector<std::string> names_;
  std::string upstream_;
  Counters counters_;
  std::function<SteadyTime()> clock_;
};

std::shared_ptr<Policy> MakeCircuitBreaker(const YAML::Node& settings, PolicyContext& ctx);

}  // namespace rampart::upstream::breaker
