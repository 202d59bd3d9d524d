#include "gates/jwt/jwt_config.h"

#include <fmt/format.h>

#include "core/strings.h"

namespace rampart::jwt {

namespace {

using config::YamlReader;
using std::chrono::microseconds;
using std::chrono::seconds;

constexpr microseconds kDay = std::chrono::hours(24);
constexpr microseconds kYear = std::chrono::hours(24 * 366);

bool ReadAlgorithms(YamlReader& r, const YAML::Node& n, const std::string& path,
                    ProviderConfig& c) {
  if (!r.StringList(n, path, c.algorithm_names)) return false;
  if (c.algorithm_names.empty()) {
    r.Error(n, fmt::format("{}: name at least one algorithm", path));
    return false;
  }
  for (const std::string& name : c.algorithm_names) {
    const auto a = AlgFromName(name);
    if (!a) {
      r.Error(n, fmt::format("{}: '{}' is not one of RS256, RS384, RS512, PS256, PS384, PS512, "
                             "ES256, ES384, ES512, EdDSA, HS256, HS384, HS512{}",
                             path, name,
                             IEquals(name, "none") ? " (unsigned tokens are never "
                                                     "accepted)"
                                                   : ""));
      return false;
    }
    c.algorithms.push_back(*a);
  }
  return true;
}

// `true`, `false` or a JSON number (an integer, or with a fraction or exponent).
bool IsJsonScalarWord(std::string_view s) {
  if (s == "true" || s == "false") return true;
  std::size_t i = 0;
  if (i < s.size() && s[i] == '-') ++i;
  const std::size_t digits = i;
  while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i;
  if (i == digits) return false;
  if (s[digits] == '0' && i - digits > 1) return false;  // 0042 is no JSON number: a string
  if (i < s.size() && s[i] == '.') {
    const std::size_t f = ++i;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i;
    if (i == f) return false;
  }
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
    const std::size_t e = i;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i;
    if (i == e) return false;
  }
  return i == s.size();
}

bool ReadClaimValues(YamlReader& r, const YAML::Node& n, const std::string& path,
                     ProviderConfig& c) {
  if (!n.IsMap()) {
    r.Error(n, fmt::format("{}: a map of claim: value (or a list of values)", path));
    return false;
  }
  bool ok = true;
  for (const auto& kv : n) {
    std::string name;
    std::vector<std::string> texts;
    ok = r.String(kv.first, path, name) && ok;
    ok = r.StringList(kv.second, fmt::format("{}.{}", path, name), texts) && ok;
    // YAML's types: a plain true, false or number is that JSON value; anything quoted, or any
    // other word, is a string.
    std::vector<YAML::Node> nodes;
    if (kv.second.IsSequence()) {
      for (const auto& item : kv.second) nodes.push_back(item);
    } else {
      nodes.push_back(kv.second);
    }
    std::vector<ClaimValue> values;
    for (std::size_t i = 0; i < texts.size(); ++i) {
      const bool plain = i < nodes.size() && nodes[i].IsScalar() && nodes[i].Tag() == "?";
      values.push_back({texts[i], !(plain && IsJsonScalarWord(texts[i]))});
    }
    c.claim_values.emplace_back(std::move(name), std::move(values));
  }
  return ok;
}

bool ReadForwardClaims(YamlReader& r, const YAML::Node& n, const std::string& path, JwtConfig& c) {
  if (!n.IsMap()) {
    r.Error(n, fmt::format("{}: a map of claim: header-name", path));
    return false;
  }
  bool ok = true;
  for (const auto& kv : n) {
    std::string claim, header;
    ok = r.String(kv.first, path, claim) && ok;
    ok = r.String(kv.second, fmt::format("{}.{}", path, claim), header) && ok;
    if (header.empty() || header.find_first_of(" :\t\r\n") != std::string::npos) {
      r.Error(kv.second, fmt::format("{}.{}: '{}' is not a header name", path, claim, header));
      ok = false;
    }
    c.forward_claims.emplace_back(std::move(claim), ToLower(header));
  }
  return ok;
}

}  // namespace

ClaimRules ProviderConfig::Rules() const {
  ClaimRules r;
  r.issuer = issuer;
  r.audiences = audiences;
  r.leeway = leeway.count();
  r.require_exp = require_exp;
  r.max_lifetime = max_lifetime.count();
  r.required = required_claims;
  r.values = claim_values;
  return r;
}

const config::Fields<JwksSpec>& JwksFields() {
  static const config::Fields<JwksSpec> fields =
      config::Fields<JwksSpec>()
          .String("inline", &JwksSpec::inline_json)
          .String("file", &JwksSpec::file)
          .String("url", &JwksSpec::url)
          .String("ca_file", &JwksSpec::ca_file)
          .Duration("ttl", &JwksSpec::ttl, seconds(1), kDay)
          .Duration("min_ttl", &JwksSpec::min_ttl, seconds(1), kDay)
          .Duration("max_ttl", &JwksSpec::max_ttl, seconds(1), kYear)
          .Duration("unknown_kid_interval", &JwksSpec::unknown_kid_interval, seconds(0), kDay)
          .Duration("timeout", &JwksSpec::timeout, std::chrono::milliseconds(10), seconds(60))
          .Duration("watch_interval", &JwksSpec::watch_interval, std::chrono::milliseconds(10),
                    seconds(60))
          .Bool("allow_http", &JwksSpec::allow_http)
          .Then([](YamlReader& r, const YAML::Node& at, const std::string& path, JwksSpec& s) {
            const int sources = !s.inline_json.empty() + !s.file.empty() + !s.url.empty();
            if (sources != 1) {
              r.Error(at, fmt::format("{}: exactly one of inline, file or url", path));
              return false;
            }
            if (s.min_ttl > s.max_ttl) {
              r.Error(at, fmt::format("{}: min_ttl is longer than max_ttl", path));
              return false;
            }
            if (!s.url.empty() && !IStartsWith(s.url, "https://") &&
                !(s.allow_http && IStartsWith(s.url, "http://"))) {
              r.Error(at, fmt::format("{}.url: not an https:// URL (a key set fetched over plain "
                                      "HTTP can be replaced by anyone on the path; allow_http: "
                                      "true accepts it)",
                                      path));
              return false;
            }
            return true;
          });
  return fields;
}

const config::Fields<ProviderConfig>& ProviderFields() {
  static const config::Fields<ProviderConfig> fields =
      config::Fields<ProviderConfig>()
          .String("name", &ProviderConfig::name)
          .String("issuer", &ProviderConfig::issuer, true)
          .StringList("audiences", &ProviderConfig::audiences)
          .Custom("algorithms", ReadAlgorithms, true)
          .Custom("jwks", [](YamlReader& r, const YAML::Node& n, const std::string& p,
                             ProviderConfig& c) { return JwksFields().Read(r, n, p, c.jwks); })
          .String("hmac_secret_file", &ProviderConfig::hmac_secret_file)
          .Duration("leeway", &ProviderConfig::leeway, seconds(0), std::chrono::minutes(10))
          .Bool("require_exp", &ProviderConfig::require_exp)
          .Duration("max_lifetime", &ProviderConfig::max_lifetime, seconds(0), kYear)
          .StringList("required_claims", &ProviderConfig::required_claims)
          .String("typ", &ProviderConfig::typ)
          .Custom("claims", ReadClaimValues)
          .Then(
              [](YamlReader& r, const YAML::Node& at, const std::string& path, ProviderConfig& c) {
                const bool jwks =
                    !c.jwks.inline_json.empty() || !c.jwks.file.empty() || !c.jwks.url.empty();
                if (jwks == !c.hmac_secret_file.empty()) {
                  r.Error(at, fmt::format("{}: exactly one of jwks or hmac_secret_file", path));
                  return false;
                }
                // An empty issuer would pick tokens with no `iss` (RFC 8725 §3.8: check it).
                if (c.issuer.empty()) {
                  r.Error(at, fmt::format("{}.issuer: must not be empty (the `iss` tokens of "
                                          "this provider carry)",
                                          path));
                  return false;
                }
                if (c.name.empty()) c.name = c.issuer;
                return true;
              });
  return fields;
}

const config::Fields<JwtConfig>& JwtFields() {
  static const config::Fields<JwtConfig> fields =
      config::Fields<JwtConfig>()
          .Custom(
              "providers",
              [](YamlReader& r, const YAML::Node& n, const std::string& path, JwtConfig& c) {
                if (!n.IsSequence() || n.size() == 0) {
                  r.Error(n, fmt::format("{}: a non-empty list of providers", path));
                  return false;
                }
                bool ok = true;
                for (std::size_t i = 0; i < n.size(); ++i) {
                  ProviderConfig p;
                  ok = ProviderFields().Read(r, n[i], fmt::format("{}[{}]", path, i), p) && ok;
                  for (const ProviderConfig& q : c.providers) {
                    if (ok && q.issuer == p.issuer) {
                      r.Error(n[i], fmt::format("{}[{}]: two providers have issuer '{}' (the "
                                                "token's iss picks its provider)",
                                                path, i, p.issuer));
                      ok = false;
                    }
                  }
                  c.providers.push_back(std::move(p));
                }
                return ok;
              },
              true)
          .String("header", &JwtConfig::header)
          .String("cookie", &JwtConfig::cookie)
          .String("query", &JwtConfig::query)
          .Size("max_token_bytes", &JwtConfig::max_token_bytes, 64 * 1024)
          .Bool("allow_anonymous", &JwtConfig::allow_anonymous)
          .String("principal_claim", &JwtConfig::principal_claim)
          .String("roles_claim", &JwtConfig::roles_claim)
          .Custom("forward_claims", ReadForwardClaims)
          .Custom("cache",
                  [](YamlReader& r, const YAML::Node& n, const std::string& path, JwtConfig& c) {
                    if (n.IsScalar()) return r.Bool(n, path, c.cache);
                    config::YamlObject o(r, n, path);
                    if (!o.ok()) return false;
                    bool ok = true;
                    if (auto e = o.Get("entries"); e.IsDefined()) {
                      ok = r.Uint(e, o.Where("entries"), 10'000'000, c.cache_entries) && ok;
                    }
                    if (auto b = o.Get("bytes"); b.IsDefined()) {
                      ok = r.Size(b, o.Where("bytes"), c.cache_bytes) && ok;
                    }
                    o.Finish();
                    return ok;
                  })
          .Custom("revocation",
                  [](YamlReader& r, const YAML::Node& n, const std::string& path, JwtConfig& c) {
                    config::YamlObject o(r, n, path);
                    if (!o.ok()) return false;
                    c.revocation = true;
                    bool ok = true;
                    if (auto s = o.Get("store"); s.IsDefined()) {
                      ok = r.Choice(s, o.Where("store"), {{"local", false}, {"redis", true}},
                                    c.revocation_shared) &&
                           ok;
                    }
                    if (auto f = o.Get("on_store_failure"); f.IsDefined()) {
                      ok = r.Choice(f, o.Where("on_store_failure"),
                                    {{"refuse", StoreFailure::kRefuse},
                                     {"allow", StoreFailure::kAllow},
                                     {"local", StoreFailure::kLocal}},
                                    c.on_store_failure) &&
                           ok;
                    }
                    if (auto t = o.Get("ttl"); t.IsDefined()) {
                      std::chrono::microseconds d{};
                      ok = r.Duration(t, o.Where("ttl"), d) && ok;
                      c.revocation_ttl = std::chrono::duration_cast<seconds>(d);
                    }
                    o.Finish();
                    return ok;
                  });
  return fields;
}

}  // namespace rampart::jwt
