// The WAF gate: runs a SecLang rule set (the OWASP CRS v4 by default) on each request, with
// ModSecurity v3's semantics: phase 1 on the request head, phase 2 on the held body, phase 3 on
// the response head, phase 5 when the exchange ends. See README.md.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "gates/waf/ruleset.h"
#include "gates/waf/waf_config.h"
#include "observe/access_log.h"
#include "observe/metrics.h"
#include "pipeline/gate.h"
#include "pipeline/gate_registry.h"

namespace rampart::waf {

class WafGate final : public Gate {
 public:
  struct Counters {
    observe::CounterSeries* pass = nullptr;
    observe::CounterSeries* blocked = nullptr;
    observe::CounterSeries* detected = nullptr;
    std::vector<observe::CounterSeries*> per_file;  // matches, by rules_->files() index
  };
  WafGate(WafConfig config, std::shared_ptr<const RuleSet> rules,
          std::shared_ptr<observe::AccessLog> audit, Counters counters);
  std::string_view Name() const noexcept override { return "waf"; }
  GateNeeds Needs() const noexcept override;
  std::span<const std::string_view> Reasons() const noexcept override;
  Decision OnRequestHeaders(Exchange& ex) noexcept override;
  Decision OnRequestBody(Exchange& ex, std::string_view body, bool complete) noexcept override;
  Decision OnResponseHeaders(Exchange& ex) noexcept override;
  void OnResponseBody(Exchange& ex, std::string_view piece, bool end) noexcept override;
  void OnComplete(const Exchange& ex, const Completion& c) noexcept override;

 private:
  struct State;
  Decision Decide(Exchange& ex, State& st, int phase) const noexcept;

  WafConfig config_;
  std::shared_ptr<const RuleSet> rules_;
  std::shared_ptr<observe::AccessLog> audit_;
  Counters counters_;
};

// Loads (or finds already loaded) the rule set a config names: routes naming the same files
// share one compiled set. Null with `error` (file:line and what is wrong) on failure.
std::shared_ptr<const RuleSet> LoadRules(const WafConfig& config, std::string& error);

std::unique_ptr<Gate> MakeWafGate(const YAML::Node& settings, GateContext& ctx);

}  // namespace rampart::waf
