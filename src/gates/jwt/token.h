// A compact JWS (RFC 7515 §7.1) taken apart, before any key is involved: three base64url parts,
// a JOSE header and a claims set that are JSON objects (strict: no duplicate keys), the header's
// `alg` one rampart implements (never "none", in any spelling), `crit` naming nothing (rampart
// understands no extension), and the claims rampart checks read into typed fields. Headers that
// point at keys (`jku`, `x5u`, `x5c`, `jwk`) are noted and never followed.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/json_strict.h"

namespace rampart::jwt {

enum class Alg : std::uint8_t {
  kRS256,
  kRS384,
  kRS512,
  kPS256,
  kPS384,
  kPS512,
  kES256,
  kES384,
  kES512,
  kEdDSA,
  kHS256,
  kHS384,
  kHS512,
};
inline constexpr std::size_t kAlgCount = 13;
std::optional<Alg> AlgFromName(std::string_view name) noexcept;
std::string_view AlgName(Alg alg) noexcept;

// A claim as rampart can compare it: a string, a number or boolean (as written), or an array
// of strings (`aud`, `roles`, a space-separated `scope` is split too).
struct Claim {
  std::string name;
  std::string text;                // strings, numbers and booleans
  bool is_string = false;          // a JSON string (text is its value)
  std::vector<std::string> items;  // arrays of strings; for `scope`, its words
  bool is_array = false;
};

struct Token {
  Alg alg{};
  std::string kid;
  std::string typ;
  bool points_at_key = false;      // jku, x5u, x5c or jwk present (ignored; noted in the log)
  std::string_view signing_input;  // "header.payload", a view into the token text
  std::string signature;           // decoded
  // Registered claims.
  std::string iss;
  std::string sub;
  std::string jti;
  std::vector<std::string> aud;
  std::optional<std::int64_t> exp;
  std::optional<std::int64_t> nbf;
  std::optional<std::int64_t> iat;
  std::vector<Claim> claims;  // every top-level claim, registered ones included

  const Claim* Find(std::string_view name) const noexcept {
    for (const Claim& c : claims) {
      if (c.name == name) return &c;
    }
    return nullptr;
  }
};

// Reasons a token is refused before its signature is checked: each is a counted reason token.
// "malformed" (not three parts, empty signature), "bad_base64", "bad_json" (or not an object,
// or a key twice), "alg_none", "alg_unsupported", "crit_unsupported", "bad_claim" (a registered
// claim of the wrong type).
bool ParseToken(std::string_view text, Token& out, std::string_view& reason);

}  // namespace rampart::jwt
