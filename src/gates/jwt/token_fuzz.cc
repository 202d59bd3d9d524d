// libFuzzer target: arbitrary bytes as a bearer token. Parsing must refuse with a reason or
// accept, never crash; what it accepts must then pass through the claims checks at extreme
// times without overflow (UBSan watches the arithmetic), and base64url must round-trip.
#include <cstdint>
#include <string>
#include <string_view>

#include "core/base64url.h"
#include "gates/jwt/claims.h"
#include "gates/jwt/token.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size > 16384) return 0;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  rampart::jwt::Token t;
  std::string_view reason;
  if (!rampart::jwt::ParseToken(text, t, reason)) {
    if (reason.empty()) __builtin_trap();
  } else {
    rampart::jwt::ClaimRules rules;
    rules.issuer = "https://id";
    rules.audiences = {"api"};
    rules.max_lifetime = 3600;
    rules.required = {"sub"};
    rules.values = {{"roles", {{"admin"}}}, {"verified", {{"true", false}}}};
    for (std::int64_t now : {INT64_MIN, std::int64_t{0}, std::int64_t{1'800'000'000}, INT64_MAX}) {
      rampart::jwt::CheckClaims(t, rules, now, reason);
    }
  }
  std::string decoded;
  if (rampart::Base64UrlDecode(text, decoded)) {
    std::string again;
    rampart::Base64UrlEncode(decoded, again);
    if (again != text) __builtin_trap();  // canonical: one encoding per value
  }
  return 0;
}
