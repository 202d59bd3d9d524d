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

// A value a claim must have. JSON's types are kept apart: the string "true" is not the boolean
// true, "5" is not the number 5 (in YAML, a plain `true` or `5` is the boolean or the number, a
// quoted one the string).
struct ClaimValue {
  std::string text;       // a number or boolean as JSON writes it
  bool is_string = true;  // false: a number or a boolean
};

struct ClaimRules {
  std::string issuer;                  // `iss` must equal it (empty: not checked)
  std::vector<std::string> audiences;  // `aud` must name one of them
  std::int64_t leeway = 30;            // seconds of clock skew allowed on exp, nbf and iat
  bool require_exp = true;
  std::int64_t max_lifetime = 0;      // exp - iat (or exp - now without iat), seconds; 0: none
  std::vector<std::string> required;  // claims that must be present
  // Claims that must have one of these values (an array claim: contain one of them).
  std::vector<std::pair<std::string, std::vector<ClaimValue>>> values;
};

// False with a reason token: "expired", "not_yet_valid", "issued_in_future", "missing_exp",
// "lifetime_too_long", "wrong_issuer", "wrong_audience", "missing_claim", "claim_mismatch".
bool CheckClaims(const Token& t, const ClaimRules& rules, std::int64_t now,
                 std::string_view& reason) noexcept;

}  // namespace rampart::jwt
