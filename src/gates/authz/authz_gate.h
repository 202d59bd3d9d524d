// The authz gate: decides what the request's principal (from jwt, api_key, session or mtls) may
// do, by roles mapped to permissions and attribute rules (rules.h). See README.md.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "gates/authz/rules.h"
#include "observe/metrics.h"
#include "pipeline/gate.h"
#include "pipeline/gate_registry.h"

namespace rampart::authz {

using WallSeconds = std::int64_t (*)();

class AuthzGate final : public Gate {
 public:
  // counters: per rule (in order) then the default, each {allow, deny, shadow_allow,
  // shadow_deny}.
  AuthzGate(Policy policy, std::vector<observe::CounterSeries*> counters, WallSeconds clock);
  std::string_view Name() const noexcept override { return "authz"; }
  std::span<const std::string_view> Reasons() const noexcept override;
  Decision OnRequestHeaders(Exchange& ex) noexcept override;

 private:
  void Count(const Exchange& ex, const Rule* rule, int what) const noexcept;
  Policy policy_;
  std::vector<observe::CounterSeries*> counters_;
  WallSeconds clock_;
};

std::unique_ptr<Gate> MakeAuthzGate(const YAML::Node& settings, GateContext& ctx);

}  // namespace rampart::authz
