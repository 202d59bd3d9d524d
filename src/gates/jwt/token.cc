#include "gates/jwt/token.h"

#include <array>
#include <cmath>
#include <limits>

#include "core/base64url.h"
#include "core/strings.h"

namespace rampart::jwt {

namespace {

constexpr std::array<std::string_view, kAlgCount> kAlgNames = {
    "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256",
    "ES384", "ES512", "EdDSA", "HS256", "HS384", "HS512",
};

// A NumericDate (RFC 7519 §2): a JSON number of seconds, possibly with a fraction (floored).
bool ReadDate(simdjson::dom::element v, std::optional<std::int64_t>& out) {
  double d = 0;
  if (v.is_int64()) {
    out = v.get_int64().value_unsafe();
    return true;
  }
  if (v.is_uint64()) return false;  // beyond any date
  if (!v.is_double() || v.get_double().get(d)) return false;
  if (!std::isfinite(d) || d < -9.2e18 || d > 9.2e18) return false;
  out = static_cast<std::int64_t>(std::floor(d));
  return true;
}

bool ReadClaim(std::string_view name, simdjson::dom::element v, Claim& c) {
  c.name.assign(name);
  switch (v.type()) {
    case simdjson::dom::element_type::STRING: {
      std::string_view s = v.get_string().value_unsafe();
      c.text.assign(s);
      c.is_string = true;
      if (name == "scope") {  // RFC 8693 §4.2: space-separated
        std::size_t i = 0;
        while (i < s.size()) {
          const std::size_t j = std::min(s.find(' ', i), s.size());
          if (j > i) c.items.emplace_back(s.substr(i, j - i));
          i = j + 1;
        }
      }
      return true;
    }
    case simdjson::dom::element_type::INT64:
      c.text = std::to_string(v.get_int64().value_unsafe());
      return true;
    case simdjson::dom::element_type::UINT64:
      c.text = std::to_string(v.get_uint64().value_unsafe());
      return true;
    case simdjson::dom::element_type::DOUBLE:
      c.text = simdjson::minify(v);
      return true;
    case simdjson::dom::element_type::BOOL:
      c.text = v.get_bool().value_unsafe() ? "true" : "false";
      return true;
    case simdjson::dom::element_type::ARRAY:
      c.is_array = true;
      for (auto item : AsArray(v)) {
        std::string_view s;
        if (!item.get_string().get(s)) c.items.emplace_back(s);  // other items: not comparable
      }
      return true;
    default:  // objects and null: present, not comparable
      return true;
  }
}

bool ParseHeader(simdjson::dom::object h, Token& out, std::string_view& reason) {
  bool has_alg = false;
  const std::string_view alg = JsonString(h, "alg", &has_alg);
  if (!has_alg) {
    // A missing or non-string alg cannot name a verifier; "none" in any case is the classic.
    reason = "malformed";
    return false;
  }
  if (IEquals(alg, "none")) {
    reason = "alg_none";
    return false;
  }
  const auto a = AlgFromName(alg);  // exact spelling: "hs256" is not HS256
  if (!a) {
    reason = "alg_unsupported";
    return false;
  }
  out.alg = *a;
  for (auto field : h) {
    const std::string_view k = field.key;
    if (k == "kid") {
      std::string_view s;
      if (field.value.get_string().get(s)) {
        reason = "malformed";
        return false;
      }
      out.kid.assign(s);
    } else if (k == "typ") {
      std::string_view s;
      if (field.value.get_string().get(s)) {
        reason = "malformed";
        return false;
      }
      out.typ.assign(s);
    } else if (k == "crit") {
      // RFC 7515 §4.1.11: an extension the recipient does not understand must fail; rampart
      // understands none (b64 included), and an empty or malformed crit is invalid too.
      reason = "crit_unsupported";
      return false;
    } else if (k == "jku" || k == "x5u" || k == "x5c" || k == "jwk") {
      out.points_at_key = true;
    }
  }
  return true;
}

bool ParseClaims(simdjson::dom::object p, Token& out, std::string_view& reason) {
  for (auto field : p) {
    const std::string_view k = field.key;
    simdjson::dom::element v = field.value;
    bool ok = true;
    if (k == "exp") {
      ok = ReadDate(v, out.exp);
    } else if (k == "nbf") {
      ok = ReadDate(v, out.nbf);
    } else if (k == "iat") {
      ok = ReadDate(v, out.iat);
    } else if (k == "iss" || k == "sub" || k == "jti") {
      std::string_view s;
      ok = !v.get_string().get(s);
      if (ok) (k == "iss" ? out.iss : k == "sub" ? out.sub : out.jti).assign(s);
    } else if (k == "aud") {
      std::string_view s;
      if (v.is_string()) {
        out.aud.emplace_back(v.get_string().value_unsafe());
      } else if (v.is_array()) {
        for (auto item : AsArray(v)) {
          if (item.get_string().get(s)) {
            ok = false;
            break;
          }
          out.aud.emplace_back(s);
        }
      } else {
        ok = false;
      }
    }
    if (!ok) {
      reason = "bad_claim";
      return false;
    }
    out.claims.emplace_back();
    ReadClaim(k, v, out.claims.back());
  }
  return true;
}

}  // namespace

std::optional<Alg> AlgFromName(std::string_view name) noexcept {
  for (std::size_t i = 0; i < kAlgNames.size(); ++i) {
    if (kAlgNames[i] == name) return static_cast<Alg>(i);
  }
  return std::nullopt;
}

std::string_view AlgName(Alg alg) noexcept { return kAlgNames[static_cast<std::size_t>(alg)]; }

bool ParseToken(std::string_view text, Token& out, std::string_view& reason) {
  out = Token{};
  const std::size_t dot1 = text.find('.');
  const std::size_t dot2 = dot1 == std::string_view::npos ? dot1 : text.find('.', dot1 + 1);
  if (dot2 == std::string_view::npos || text.find('.', dot2 + 1) != std::string_view::npos ||
      dot1 == 0 || dot2 == dot1 + 1) {
    reason = "malformed";  // JWE (five parts), a JWS with a detached payload, garbage
    return false;
  }
  if (dot2 + 1 == text.size()) {
    reason = "malformed";  // a stripped signature
    return false;
  }
  out.signing_input = text.substr(0, dot2);
  std::string header_json;
  std::string payload_json;
  out.signature.clear();
  if (!Base64UrlDecode(text.substr(0, dot1), header_json) ||
      !Base64UrlDecode(text.substr(dot1 + 1, dot2 - dot1 - 1), payload_json) ||
      !Base64UrlDecode(text.substr(dot2 + 1), out.signature)) {
    reason = "bad_base64";
    return false;
  }
  thread_local StrictJson json;
  simdjson::dom::element root;
  std::string_view json_error;
  if (!json.Parse(header_json, root, json_error) || !root.is_object()) {
    reason = "bad_json";
    return false;
  }
  if (!ParseHeader(root.get_object().value_unsafe(), out, reason)) return false;
  // The header's DOM is done with: the same parser takes the payload.
  if (!json.Parse(payload_json, root, json_error) || !root.is_object()) {
    reason = "bad_json";
    return false;
  }
  return ParseClaims(root.get_object().value_unsafe(), out, reason);
}

}  // namespace rampart::jwt
