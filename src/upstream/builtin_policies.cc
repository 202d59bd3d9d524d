// The upstream policy kinds built into rampart. Registration is explicit (not static
// initialisers), as for gates (gates/builtin_gates.cc).
#include "upstream/adaptive_concurrency/adaptive_concurrency_policy.h"
#include "upstream/bulkhead/bulkhead_policy.h"
#include "upstream/circuit_breaker/circuit_breaker_policy.h"
#include "upstream/health_check/health_check_policy.h"
#include "upstream/outlier_detection/outlier_policy.h"
#include "upstream/policy_registry.h"
#include "upstream/retries/retry_policy.h"

namespace rampart::upstream {

void PolicyRegistry::RegisterBuiltins() {
  static const bool once = [] {
    Instance().Register("circuit_breaker", breaker::MakeCircuitBreaker,
                        breaker::CircuitBreakerFields().Keys());
    Instance().Register("retries", retries::MakeRetries, retries::RetryFields().Keys());
    Instance().Register("bulkhead", bulkhead::MakeBulkhead, bulkhead::BulkheadFields().Keys());
    Instance().Register("adaptive_concurrency", adaptive::MakeAdaptiveConcurrency,
                        adaptive::AdaptiveFields().Keys());
    Instance().Register("health_check", health::MakeHealthCheck,
                        health::HealthCheckFields().Keys());
    Instance().Register("outlier_detection", outlier::MakeOutlierDetection,
                        outlier::OutlierFields().Keys());
    return true;
  }();
  (void)once;
}

}  // namespace rampart::upstream
