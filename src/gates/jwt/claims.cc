#include "gates/jwt/claims.h"

#include <algorithm>

namespace rampart::jwt {

namespace {

bool Contains(const std::vector<std::string>& list, std::string_view v) {
  return std::find(list.begin(), list.end(), v) != list.end();
}

// Saturating: a date near the int64 limits plus a leeway must not wrap into the past.
std::int64_t Sub(std::int64_t a, std::int64_t b) noexcept {
  std::int64_t r = 0;
  if (__builtin_sub_overflow(a, b, &r)) return b < 0 ? INT64_MAX : INT64_MIN;
  return r;
}

std::int64_t Add(std::int64_t a, std::int64_t b) noexcept {
  std::int64_t r = 0;
  if (__builtin_add_overflow(a, b, &r)) return b > 0 ? INT64_MAX : INT64_MIN;
  return r;
}

}  // namespace

bool CheckClaims(const Token& t, const ClaimRules& rules, std::int64_t now,
                 std::string_view& reason) noexcept {
  if (!t.exp) {
    if (rules.require_exp) {
      reason = "missing_exp";
      return false;
    }
  } else if (now >= Add(*t.exp, rules.leeway)) {  // RFC 7519 §4.1.4: on or after exp
    reason = "expired";
    return false;
  }
  if (t.nbf && now < Sub(*t.nbf, rules.leeway)) {
    reason = "not_yet_valid";
    return false;
  }
  if (t.iat && *t.iat > Add(now, rules.leeway)) {
    reason = "issued_in_future";
    return false;
  }
  if (rules.max_lifetime > 0) {
    // Without exp nothing bounds the token: a maximum lifetime needs one.
    if (!t.exp) {
      reason = "missing_exp";
      return false;
    }
    const std::int64_t from = t.iat ? *t.iat : now;
    if (Sub(*t.exp, from) > Add(rules.max_lifetime, rules.leeway)) {
      reason = "lifetime_too_long";
      return false;
    }
  }
  if (!rules.issuer.empty() && t.iss != rules.issuer) {
    reason = "wrong_issuer";
    return false;
  }
  // RFC 7519 §4.1.3: a token that names audiences must name this one; one that names none is
  // refused where audiences are configured.
  if (!rules.audiences.empty() || !t.aud.empty()) {
    const bool ok = std::any_of(t.aud.begin(), t.aud.end(),
                                [&](const std::string& a) { return Contains(rules.audiences, a); });
    if (!ok) {
      reason = "wrong_audience";
      return false;
    }
  }
  for (const std::string& name : rules.required) {
    if (t.Find(name) == nullptr) {
      reason = "missing_claim";
      return false;
    }
  }
  for (const auto& rule : rules.values) {
    const std::vector<ClaimValue>& allowed = rule.second;  // (clang 14: no lambda captures of
                                                           // structured bindings)
    const Claim* c = t.Find(rule.first);
    if (c == nullptr) {
      reason = "missing_claim";
      return false;
    }
    // Of the same JSON type and the same text; array items (and scope's words) are strings.
    auto allows = [&](std::string_view text, bool is_string) {
      return std::any_of(allowed.begin(), allowed.end(), [&](const ClaimValue& v) {
        return v.is_string == is_string && v.text == text;
      });
    };
    const bool ok = c->is_array || !c->items.empty()
                        ? std::any_of(c->items.begin(), c->items.end(),
                                      [&](const std::string& v) { return allows(v, true); })
                        : allows(c->text, c->is_string);
    if (!ok) {
      reason = "claim_mismatch";
      return false;
    }
  }
  return true;
}

}  // namespace rampart::jwt
