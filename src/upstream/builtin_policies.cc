// The upstream policy kinds built into rampart. Registration is explicit (not static
// initialisers), as for gates (gates/builtin_gates.cc).
#include "upstream/circuit_breaker/circuit_breaker_policy.h"
#include "upstream/policy_registry.h"

namespace rampart::upstream {

void PolicyRegistry::RegisterBuiltins() {
  static const bool once = [] {
    Instance().Register("circuit_breaker", breaker::MakeCircuitBreaker,
                        breaker::CircuitBreakerFields().Keys());
    return true;
  }();
  (void)once;
}

}  // namespace rampart::upstream
