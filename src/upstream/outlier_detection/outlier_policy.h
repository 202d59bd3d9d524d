// The outlier_detection upstream policy: passive health from the traffic itself. An endpoint that
// answers 5xx (or fails at the gateway level: refused, reset, timed out) several times in a row,
// or whose success rate over an interval falls under a floor, is ejected: no new requests for a
// time that grows with each ejection. Never more than a share of the pool is ejected at once, and
// never all of it. See README.md.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>

#include "config/fields.h"
#include "observe/metrics.h"
#include "upstream/endpoint_health.h"
#include "upstream/policy.h"
#include "upstream/policy_registry.h"

namespace rampart::upstream::outlier {

struct OutlierConfig {
  std::uint32_t consecutive_5xx = 5;               // 0: off
  std::uint32_t consecutive_gateway_failures = 5;  // 0: off
  double success_rate = 0;                         // a floor (0.8 for 80%); 0: off
  std::uint32_t success_rate_minimum_calls = 20;   // per endpoint and interval
  std::chrono::microseconds interval{10'000'000};
  std::chrono::microseconds base_ejection_time{30'000'000};
  std::chrono::microseconds max_ejection_time{300'000'000};
  double max_ejection_percent = 0.1;  // at least one endpoint, never all
};

const config::Fields<OutlierConfig>& OutlierFields();

enum class Reason : std::uint8_t { kConsecutive5xx, kConsecutiveGateway, kSuccessRate };
std::string_view ReasonName(Reason r) noexcept;

class OutlierPolicy final : public Policy {
 public:
  struct Counters {
    std::array<observe::CounterSeries*, 3> ejections{};  // by Reason
    observe::CounterSeries* skipped = nullptr;           // the share was reached
  };
  OutlierPolicy(OutlierConfig config, std::string upstream, std::vector<std::string> names,
                std::shared_ptr<EndpointHealth> health, Counters counters,
                std::function<SteadyTime()> clock);
  std::string_view Name() const noexcept override { return "outlier_detection"; }
  Verdict After(const AttemptInfo& a, const AttemptOutcome& o) noexcept override;
  void Describe(std::string& out) const override;

  // Records one outcome of endpoint `i` at `now` (what After does, for tests).
  void Record(std::size_t i, const AttemptOutcome& o, SteadyTime now, int worker) noexcept;
  // The success-rate check and the ejection multipliers' decay, once per interval.
  void CheckInterval(SteadyTime now, int worker) noexcept;
  // Ejects endpoint `i` unless it is ejected already or the share is reached.
  bool Eject(std::size_t i, Reason why, SteadyTime now, int worker) noexcept;
  // The most endpoints ejected at once.
  std::size_t MaxEjected() const noexcept;

 private:
  OutlierConfig config_;
  std::string upstream_;
  std::vector<std::string> names_;  // endpoint addresses, for logs
  std::shared_ptr<EndpointHealth> health_;
  Counters counters_;
  std::function<SteadyTime()> clock_;
  std::mutex mu_;                            // ejection decisions
  std::atomic<std::int64_t> next_check_{0};  // steady ns
};

std::shared_ptr<Policy> MakeOutlierDetection(const YAML::Node& settings, PolicyContext& ctx);

}  // namespace rampart::upstream::outlier
