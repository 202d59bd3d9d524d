// The gate kinds built into rampart. Registration is explicit (not static initialisers), so that
// linking from a static library cannot silently drop a gate.
#include "gates/mtls/mtls_gate.h"
#include "gates/rate_limit/rate_limit_gate.h"
#include "pipeline/gate_registry.h"

namespace rampart {

void GateRegistry::RegisterBuiltins() {
  static const bool once = [] {
    auto& r = Instance();
    r.Register("rate_limit", rate_limit::MakeRateLimitGate);
    // The same gate, placed after authentication in the default order (per-principal limits).
    r.Register("rate_limit_identity", rate_limit::MakeRateLimitGate);
    r.Register("mtls", mtls::MakeMtlsGate);
    return true;
  }();
  (void)once;
}

}  // namespace rampart
