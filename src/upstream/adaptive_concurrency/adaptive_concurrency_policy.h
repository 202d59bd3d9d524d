// The adaptive_concurrency upstream policy: a limit on the exchanges in flight toward one
// upstream, from every worker, adapted from the upstream's latency (gradient.h). Above it an
// exchange is answered at once with 503 `concurrency_limited` and Retry-After, whatever its
// per-client quota: this is what bounds the total a botnet sends when each member stays under
// any per-IP limit. Routes carry a priority: `bulk` routes are shed first (admitted only below
// `bulk_share` of the limit), `normal` ones next (below the limit less `critical_reserve`), and
// `critical` routes may use the whole limit. See README.md.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "config/fields.h"
#include "observe/metrics.h"
#include "upstream/adaptive_concurrency/gradient.h"
#include "upstream/policy.h"
#include "upstream/policy_registry.h"

namespace rampart::upstream::adaptive {

enum class Priority : std::uint8_t { kCritical, kNormal, kBulk };

struct AdaptiveConfig {
  std::uint32_t min_limit = 3;
  std::uint32_t max_limit = 1000;
  std::uint32_t initial_limit = 50;
  std::chrono::microseconds interval{100'000};
  double percentile = 90;  // percent
  double buffer = 25;      // percent above minRTT that is not yet queueing
  std::chrono::microseconds min_rtt_interval{30'000'000};
  std::uint32_t min_rtt_samples = 50;
  double critical_reserve = 20;  // percent of the limit only critical routes use
  double bulk_share = 50;        // percent: bulk routes are admitted below this share of the limit
  std::vector<std::pair<std::string, Priority>> priorities;  // routes not named: normal
  GradientConfig Gradient() const noexcept;
};

const config::Fields<AdaptiveConfig>& AdaptiveFields();

// What every worker shares, kept across reloads while the settings stay the same.
struct AdaptiveState {
  AdaptiveState(const GradientConfig& c, SteadyTime now) : controller(c, now) {}
  GradientController controller;
  alignas(64) std::atomic<std::int64_t> in_flight{0};
};

class AdaptiveConcurrencyPolicy final : public Policy {
 public:
  struct Counters {
    std::vector<std::pair<std::string, observe::CounterSeries*>> rejected;  // by route
  };
  AdaptiveConcurrencyPolicy(AdaptiveConfig config, std::shared_ptr<AdaptiveState> state,
                            Counters counters, std::function<SteadyTime()> clock);
  std::string_view Name() const noexcept override { return "adaptive_concurrency"; }
  http::ErrorKind RefusedAs() const noexcept override {
    return http::ErrorKind::kConcurrencyLimited;
  }
  Verdict Before(const AttemptInfo& a) noexcept override;
  Verdict After(const AttemptInfo& a, const AttemptOutcome& o) noexcept override;
  void Ended(const AttemptInfo& a, const AttemptOutcome& o) noexcept override;
  void Describe(std::string& out) const override;

  // The most exchanges of this priority that may be in flight under `limit`.
  static std::int64_t Allowed(std::uint32_t limit, Priority p, const AdaptiveConfig& c) noexcept;
  const AdaptiveState& state() const noexcept { return *state_; }

 private:
  Priority PriorityOf(std::string_view route) const noexcept;

  AdaptiveConfig config_;
  std::shared_ptr<AdaptiveState> state_;
  Counters counters_;
  std::function<SteadyTime()> clock_;
};

std::shared_ptr<Policy> MakeAdaptiveConcurrency(const YAML::Node& settings, PolicyContext& ctx);

// The gateway-wide limit (top-level `adaptive_concurrency:`): the same policy on every upstream,
// all of them sharing one controller and one in-flight count, labelled upstream="*" in metrics.
inline constexpr std::string_view kGlobalName = "*";
std::shared_ptr<Policy> MakeGlobalAdaptiveConcurrency(const YAML::Node& settings,
                                                      PolicyContext& ctx);

}  // namespace rampart::upstream::adaptive
