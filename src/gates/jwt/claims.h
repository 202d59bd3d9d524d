// The claims checks of RFC 7519 §4.1 and the provider's own rules, on a parsed token, at a given
// time (seconds since the epoch: tests pass one).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "gates/jwt/token.h"

namespace rampart::jwt {

struct ClaimRules {
  std::string issuer;                  // `iss` must equal it (empty: not checked)
  std::vector<std::string> audiences;  // `aud` must name one of them
  std::int64_t leeway = 30;            // seconds of clock skew allowed on exp, nbf and iat
  bool require_exp = true;
  std::int64_t max_lifetime = 0;      // exp - iat (or exp - now without iat), seconds; 0: none
  std::vector<std::string> required;  // claims that must be present
  // Claims that must have one of these values (an array claim: contain one of them).
  std::vector<std::pair<std::string, std::vector<std::string>>> values;
};

// False with a reason token: "expired", "not_yet_valid", "issued_in_future", "missing_exp",
// "lifetime_too_long", "wrong_issuer", "wrong_audience", "missing_claim", "claim_mismatch".
bool CheckClaims(const Token& t, const ClaimRules& rules, std::int64_t now,
                 std::string_view& reason) noexcept;

}  // namespace rampart::jwt
