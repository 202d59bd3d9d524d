// The jwt gate's settings: its providers (issuer, audiences, algorithms, keys and claim rules),
// where the token is read from, the verified-token cache, revocation, and forwarded claims.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "config/fields.h"
#include "gates/jwt/claims.h"
#include "gates/jwt/jwks_source.h"
#include "gates/jwt/token.h"
#include "state/kv/store_failure.h"

namespace rampart::jwt {

struct ProviderConfig {
  std::string name;
  std::string issuer;
  std::vector<std::string> audiences;
  std::vector<std::string> algorithm_names;
  std::vector<Alg> algorithms;
  JwksSpec jwks;
  std::string hmac_secret_file;  // a raw shared secret instead of a key set (HS* only)
  std::chrono::seconds leeway{30};
  bool require_exp = true;
  std::chrono::seconds max_lifetime{0};
  std::vector<std::string> required_claims;
  std::string typ;  // the header's typ must be this (e.g. at+jwt, RFC 9068); empty: any
  std::vector<std::pair<std::string, std::vector<ClaimValue>>> claim_values;
  ClaimRules Rules() const;
};

using state::StoreFailure;

struct JwtConfig {
  std::vector<ProviderConfig> providers;
  // Where the token is read from, in this order; an empty name turns that source off.
  std::string header = "authorization";  // "Bearer <token>" (RFC 6750 §2.1)
  std::string cookie;
  std::string query;  // removed from the query before forwarding
  std::uint64_t max_token_bytes = 8192;
  bool allow_anonymous = false;  // no token: continue without identity (authz decides)
  std::string principal_claim = "sub";
  std::string roles_claim = "roles";
  std::vector<std::pair<std::string, std::string>> forward_claims;  // claim -> header (lower)
  // Verified-token cache.
  bool cache = true;
  std::uint64_t cache_entries = 10'000;
  std::uint64_t cache_bytes = 8 * 1024 * 1024;
  // Revocation: a jti deny-list and per-subject cut-offs in a key-value store.
  bool revocation = false;
  bool revocation_shared = false;  // store: redis
  StoreFailure on_store_failure = StoreFailure::kRefuse;
  std::chrono::seconds revocation_ttl{86400};  // kept at least this long; max_lifetime if longer
};

const config::Fields<JwtConfig>& JwtFields();
const config::Fields<ProviderConfig>& ProviderFields();
const config::Fields<JwksSpec>& JwksFields();

}  // namespace rampart::jwt
