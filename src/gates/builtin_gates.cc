// The gate kinds built into rampart. Registration is explicit (not static initialisers), so that
// linking from a static library cannot silently drop a gate.
#include "gates/api_key/api_key_gate.h"
#include "gates/authz/authz_gate.h"
#include "gates/cache/cache_gate.h"
#include "gates/idempotency/idempotency_gate.h"
#include "gates/ip_list/ip_list_gate.h"
#include "gates/jwt/jwt_gate.h"
#include "gates/mtls/mtls_gate.h"
#include "gates/rate_limit/rate_limit_gate.h"
#include "gates/session/session_gate.h"
#include "gates/waf/waf_gate.h"
#include "pipeline/gate_registry.h"

namespace rampart {

void GateRegistry::RegisterBuiltins() {
  static const bool once = [] {
    auto& r = Instance();
    std::vector<std::string> rate_limit_keys = rate_limit::RateLimitFields().Keys();
    for (const auto& k : rate_limit::LimitFields().Keys()) rate_limit_keys.push_back(k);
    r.Register("rate_limit", rate_limit::MakeRateLimitGate, rate_limit_keys);
    // The same gate, placed after authentication in the default order (per-principal limits).
    r.Register("rate_limit_identity", rate_limit::MakeRateLimitGate, rate_limit_keys, "rate_limit");
    r.Register("ip_list", ip_list::MakeIpListGate, ip_list::IpListFields().Keys());
    r.Register("mtls", mtls::MakeMtlsGate, mtls::MtlsFields().Keys());
    r.Register("jwt", jwt::MakeJwtGate, jwt::JwtKeys());
    r.Register("api_key", api_key::MakeApiKeyGate, api_key::ApiKeyFields().Keys());
    r.Register("session", session::MakeSessionGate, session::SessionFields().Keys());
    r.Register("authz", authz::MakeAuthzGate, authz::PolicyKeys());
    r.Register("cache", cache::MakeCacheGate, cache::CacheFields().Keys());
    r.Register("waf", waf::MakeWafGate, waf::WafFields().Keys());
    r.Register("idempotency", idempotency::MakeIdempotencyGate,
               idempotency::IdempotencyFields().Keys());
    return true;
  }();
  (void)once;
}

}  // namespace rampart
