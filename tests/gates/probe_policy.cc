#include "probe_policy.h"

#include "config/fields.h"
#include "observe/metrics.h"
#include "upstream/policy_registry.h"

namespace rampart::testing {
namespace {

struct ProbePolicyConfig {
  std::uint64_t retry_status = 0;  // a response with this status goes to another endpoint
  bool refuse = false;             // refuse every attempt (as an open breaker would)
};

class ProbePolicy final : public upstream::Policy {
 public:
  ProbePolicy(ProbePolicyConfig c, observe::CounterSeries* before, observe::CounterSeries* after,
              observe::CounterSeries* ended)
      : c_(c), before_(before), after_(after), ended_(ended) {}
  std::string_view Name() const noexcept override { return "probe_retry"; }
  upstream::Verdict Before(const upstream::AttemptInfo& a) noexcept override {
    before_->Add(a.worker);
    return c_.refuse ? upstream::Verdict::kRefuse : upstream::Verdict::kContinue;
  }
  upstream::Verdict After(const upstream::AttemptInfo& a,
                          const upstream::AttemptOutcome& o) noexcept override {
    after_->Add(a.worker);
    return c_.retry_status != 0 && static_cast<std::uint64_t>(o.status) == c_.retry_status
               ? upstream::Verdict::kRetryOther
               : upstream::Verdict::kContinue;
  }
  void Ended(const upstream::AttemptInfo& a, const upstream::AttemptOutcome&) noexcept override {
    ended_->Add(a.worker);
  }

 private:
  ProbePolicyConfig c_;
  observe::CounterSeries* before_;
  observe::CounterSeries* after_;
  observe::CounterSeries* ended_;
};

std::shared_ptr<upstream::Policy> MakeProbePolicy(const YAML::Node& settings,
                                                  upstream::PolicyContext& ctx) {
  static const config::Fields<ProbePolicyConfig> fields =
      config::Fields<ProbePolicyConfig>()
          .Uint("retry_status", &ProbePolicyConfig::retry_status, 100, 599)
          .Bool("refuse", &ProbePolicyConfig::refuse);
  ProbePolicyConfig c;
  if (!fields.Read(ctx.reader, settings, ctx.where, c)) return nullptr;
  static constexpr observe::CounterDef<2> kCalls{
      "rampart_probe_policy_calls_total",
      "Calls of the probe policy, by upstream and phase.",
      {"upstream", "phase"}};
  const std::string& name = ctx.upstream.name;
  return std::make_shared<ProbePolicy>(c, ctx.metrics.Counter(kCalls, {name, "before"}),
                                       ctx.metrics.Counter(kCalls, {name, "after"}),
                                       ctx.metrics.Counter(kCalls, {name, "ended"}));
}

}  // namespace

void RegisterProbePolicy() {
  upstream::PolicyRegistry::Instance().Register("probe_retry", MakeProbePolicy,
                                                {"retry_status", "refuse"});
}

}  // namespace rampart::testing
