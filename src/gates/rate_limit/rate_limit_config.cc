#include "gates/rate_limit/rate_limit_config.h"

#include <fmt/format.h>

#include <cmath>

#include "core/strings.h"
#include "core/units.h"

namespace rampart::rate_limit {
namespace {

using config::YamlObject;
using config::YamlReader;

// Every product the algorithms form stays below 2^52, exact in Redis's Lua doubles too.
constexpr std::int64_t kMaxProduct = std::int64_t{1} << 52;

bool ReadAlgorithm(YamlReader& r, const YAML::Node& n, const std::string& what, Algorithm& out) {
  std::string s;
  if (!r.String(n, what, s)) return false;
  for (Algorithm a :
       {Algorithm::kTokenBucket, Algorithm::kLeakyBucket, Algorithm::kFixedWindow,
        Algorithm::kSlidingWindowLog, Algorithm::kSlidingWindowCounter, Algorithm::kGcra}) {
    if (AlgorithmName(a) == s) {
      out = a;
      return true;
    }
  }
  r.Error(n, fmt::format("{}: unknown algorithm '{}' (token_bucket, leaky_bucket, fixed_window, "
                         "sliding_window_log, sliding_window_counter, gcra)",
                         what, s));
  return false;
}

// "100/s" -> 100 per 1,000,000 us; "0.5/s" -> 1 per 2 s; "2.5/m" -> 25 per 10 min.
bool ToPolicyRate(const Rate& rate, std::int64_t& limit, std::int64_t& period_us) {
  if (!std::isfinite(rate.count) || rate.count > 1e12) return false;  // beyond any real rate
  for (std::int64_t scale = 1; scale <= 1'000'000; scale *= 10) {
    const double n = rate.count * static_cast<double>(scale);
    if (std::abs(n - std::round(n)) < 1e-9) {
      limit = static_cast<std::int64_t>(std::round(n));
      period_us = rate.period.count() * scale;
      // Reduce 10/10s to 1/s where exact, for readable headers.
      while (limit % 10 == 0 && period_us % 10 == 0 && scale > 1) {
        limit /= 10, period_us /= 10, scale /= 10;
      }
      return limit >= 1;
    }
  }
  return false;
}

bool ReadFraction(YamlReader& r, const YAML::Node& n, const std::string& what, double max,
                  double& out) {
  std::string s;
  if (!r.String(n, what, s)) return false;
  std::string_view v = s;
  if (!v.ends_with('%')) {
    r.Error(n, fmt::format("{}: '{}' is not a percentage like 10%", what, s));
    return false;
  }
  v.remove_suffix(1);
  char* end = nullptr;
  std::string num(v);
  double d = std::strtod(num.c_str(), &end);
  if (num.empty() || *end != '\0' || d < 0 || d / 100 > max) {
    r.Error(n, fmt::format("{}: '{}' must be a percentage from 0% to {}%", what, s, max * 100));
    return false;
  }
  out = d / 100;
  return true;
}

bool ReadKeyPart(YamlReader& r, const YAML::Node& n, const std::string& what, KeyPart& out) {
  using K = KeyPart::Kind;
  if (n.IsScalar()) {
    std::string s = n.Scalar();
    static const std::pair<std::string_view, K> kSimple[] = {
        {"client_ip", K::kClientIp}, {"client_ip_prefix", K::kClientIpPrefix},
        {"api_key", K::kApiKey},     {"principal", K::kPrincipal},
        {"route", K::kRoute},        {"method", K::kMethod}};
    for (auto [name, kind] : kSimple) {
      if (s == name) {
        out.kind = kind;
        return true;
      }
    }
    r.Error(n, fmt::format("{}: unknown key part '{}' (client_ip, client_ip_prefix, api_key, "
                           "principal, route, method, or a map: header, query, claim, constant, "
                           "client_ip_prefix)",
                           what, s));
    return false;
  }
  if (!n.IsMap() || n.size() != 1) {
    r.Error(n, fmt::format("{}: a key part is a name or a map with one key", what));
    return false;
  }
  const std::string kind = n.begin()->first.as<std::string>("");
  const YAML::Node v = n.begin()->second;
  const std::string sub = what + "." + kind;
  if (kind == "header" || kind == "query" || kind == "claim" || kind == "constant") {
    out.kind = kind == "header"  ? K::kHeader
               : kind == "query" ? K::kQuery
               : kind == "claim" ? K::kClaim
                                 : K::kConstant;
    if (!r.String(v, sub, out.name)) return false;
    if (out.name.empty()) {
      r.Error(v, fmt::format("{}: must not be empty", sub));
      return false;
    }
    if (out.kind == K::kHeader) out.name = ToLower(out.name);
    if (out.kind == K::kClaim) out.name = "claim." + out.name;  // as the jwt gate names claims
    return true;
  }
  if (kind == "client_ip_prefix") {
    out.kind = K::kClientIpPrefix;
    YamlObject o(r, v, sub);
    if (!o.ok()) return false;
    bool ok = true;
    std::uint64_t bits = 0;
    if (auto x = o.Get("v4"); x.IsDefined()) {
      ok &= r.Uint(x, sub + ".v4", 32, bits);
      out.v4_prefix = static_cast<int>(bits);
    }
    if (auto x = o.Get("v6"); x.IsDefined()) {
      ok &= r.Uint(x, sub + ".v6", 128, bits);
      out.v6_prefix = static_cast<int>(bits);
    }
    o.Finish();
    return ok;
  }
  r.Error(n, fmt::format("{}: unknown key part '{}'", what, kind));
  return false;
}

bool ReadRate(YamlReader& r, const YAML::Node& n, const std::string& path, LimitConfig& l) {
  std::string s;
  if (!r.String(n, path, s)) return false;
  auto rate = ParseRate(s);
  if (!rate || !ToPolicyRate(*rate, l.policy.limit, l.policy.period_us)) {
    r.Error(n, fmt::format("{}: '{}' is not a rate like 100/s, 20/m, 10000/day", path, s));
    return false;
  }
  return true;
}

bool ReadMode(YamlReader& r, const YAML::Node& n, const std::string& path, LimitConfig& l) {
  if (l.policy.algorithm != Algorithm::kLeakyBucket) {
    r.Error(n, fmt::format("{}: only leaky_bucket has a mode", path));
    return false;
  }
  return r.Choice(n, path, {{"police", LeakyMode::kPolice}, {"shape", LeakyMode::kShape}},
                  l.policy.leaky_mode);
}

bool ReadMaxDelay(YamlReader& r, const YAML::Node& n, const std::string& path, LimitConfig& l) {
  std::chrono::microseconds d{0};
  if (!r.Duration(n, path, d)) return false;
  l.policy.max_delay_us = d.count();
  if (l.policy.leaky_mode != LeakyMode::kShape) {
    r.Error(n, fmt::format("{}: only for leaky_bucket with mode: shape", path));
    return false;
  }
  return true;
}

bool ReadKey(YamlReader& r, const YAML::Node& n, const std::string& path, LimitConfig& l) {
  if (n.IsScalar()) {
    KeyPart k;
    const bool ok = ReadKeyPart(r, n, path, k);
    l.key.push_back(k);
    return ok;
  }
  if (!n.IsSequence()) {
    r.Error(n, fmt::format("{}: a list of key parts", path));
    return false;
  }
  bool ok = true;
  for (std::size_t i = 0; i < n.size(); ++i) {
    KeyPart k;
    ok &= ReadKeyPart(r, n[i], fmt::format("{}[{}]", path, i), k);
    l.key.push_back(k);
  }
  return ok;
}

// The burst (its default depends on the algorithm and rate), the default key, and the bound
// that keeps every product the algorithms form exact.
bool CheckLimit(YamlReader& r, const YAML::Node& at, const std::string& path, LimitConfig& l) {
  Policy& p = l.policy;
  p.burst = DefaultBurst(p.algorithm, p.limit);
  if (l.burst) {
    const YAML::Node b = at["burst"];
    const bool bucket = p.algorithm == Algorithm::kTokenBucket || p.algorithm == Algorithm::kGcra;
    if (bucket && *l.burst == 0) {
      r.Error(b,
              fmt::format("{}.burst: must be at least 1 for {}", path, AlgorithmName(p.algorithm)));
      return false;
    }
    if (!bucket && p.algorithm != Algorithm::kLeakyBucket) {
      r.Error(b, fmt::format("{}.burst: {} has no burst; its limit is the rate's count", path,
                             AlgorithmName(p.algorithm)));
      return false;
    }
    p.burst = static_cast<std::int64_t>(*l.burst);
  }
  if (l.key.empty()) l.key.push_back({KeyPart::Kind::kClientIp, {}, 24, 64});
  // Compared by division: the products themselves may not fit in 64 bits.
  if (p.limit > (std::int64_t{1} << 31) || p.limit > kMaxProduct / p.period_us ||
      p.burst + 1 > kMaxProduct / p.period_us) {
    r.Error(at, fmt::format("{}: rate or burst too large for exact arithmetic", path));
    return false;
  }
  return true;
}

}  // namespace

const config::Fields<LimitConfig>& LimitFields() {
  static const config::Fields<LimitConfig> fields =
      config::Fields<LimitConfig>()
          .String("name", &LimitConfig::name)
          .Custom("algorithm",
                  [](YamlReader& r, const YAML::Node& n, const std::string& p, LimitConfig& l) {
                    return ReadAlgorithm(r, n, p, l.policy.algorithm);
                  })
          .Custom("rate", ReadRate, /*required=*/true)
          .Custom("burst",
                  [](YamlReader& r, const YAML::Node& n, const std::string& p, LimitConfig& l) {
                    std::uint64_t b = 0;
                    if (!r.Uint(n, p, std::uint64_t{1} << 31, b)) return false;
                    l.burst = b;
                    return true;
                  })
          .Custom("mode", ReadMode)
          .Custom("max_delay", ReadMaxDelay)
          .Custom("key", ReadKey)
          .StringList("tiers", &LimitConfig::tiers)
          .Choice("when_key_missing", &LimitConfig::skip_when_missing,
                  {{"share", false}, {"skip", true}})
          .Then(CheckLimit);
  return fields;
}

const config::Fields<RateLimitConfig>& RateLimitFields() {
  static const config::Fields<RateLimitConfig> fields =
      config::Fields<RateLimitConfig>()
          .Custom(
              "limits",
              [](YamlReader& r, const YAML::Node& n, const std::string& path, RateLimitConfig& c) {
                if (!n.IsSequence() || n.size() == 0) {
                  r.Error(n, fmt::format("{}: a non-empty list of limits", path));
                  return false;
                }
                bool ok = true;
                for (std::size_t i = 0; i < n.size(); ++i) {
                  LimitConfig l;
                  ok &= LimitFields().Read(r, n[i], fmt::format("{}[{}]", path, i), l);
                  c.limits.push_back(std::move(l));
                }
                return ok;
              })
          .Bool("shadow", &RateLimitConfig::shadow)
          .Choice("headers", &RateLimitConfig::headers,
                  {{"refused", HeaderMode::kRefused},
                   {"always", HeaderMode::kAlways},
                   {"never", HeaderMode::kNever}})
          .Custom("retry_after_jitter",
                  [](YamlReader& r, const YAML::Node& n, const std::string& p, RateLimitConfig& c) {
                    return ReadFraction(r, n, p, 0.5, c.retry_after_jitter);
                  })
          .Custom("window_jitter",
                  [](YamlReader& r, const YAML::Node& n, const std::string& p, RateLimitConfig& c) {
                    return ReadFraction(r, n, p, 1.0, c.window_jitter);
                  })
          .String("tier_attribute", &RateLimitConfig::tier_attribute)
          .String("default_tier", &RateLimitConfig::default_tier)
          .Choice("store", &RateLimitConfig::store,
                  {{"local", StoreKind::kLocal}, {"redis", StoreKind::kRedis}})
          .Choice("on_store_failure", &RateLimitConfig::on_store_failure,
                  {{"local", OnStoreFailure::kLocal},
                   {"allow", OnStoreFailure::kAllow},
                   {"deny", OnStoreFailure::kDeny}});
  return fields;
}

std::optional<RateLimitConfig> ReadRateLimitConfig(const YAML::Node& settings, YamlReader& r,
                                                   const std::string& where,
                                                   const std::string& route, bool have_redis) {
  RateLimitConfig c;
  YamlObject o(r, settings, where);
  if (!o.ok()) return std::nullopt;
  bool ok = RateLimitFields().ReadFrom(r, o, c);
  const bool listed = o.Get("limits").IsDefined();
  if (!listed) {
    // One limit written inline: rate_limit: { rate: 100/s, key: [client_ip] }
    LimitConfig l;
    ok = LimitFields().ReadFrom(r, o, l) && ok;
    c.limits.push_back(std::move(l));
  }
  o.Finish();
  if (!ok) return std::nullopt;
  for (std::size_t i = 0; i < c.limits.size(); ++i) {
    LimitConfig& l = c.limits[i];
    if (l.name.empty()) l.name = listed ? fmt::format("{}.{}", route, i) : route;
    for (std::size_t j = 0; j < i; ++j) {
      if (l.name == c.limits[j].name) {
        r.Error(settings, fmt::format("{}: two limits are named '{}'", where, l.name));
        ok = false;
      }
    }
    l.policy_item = fmt::format("\"{}\";q={};w={}", l.name, l.policy.limit,
                                std::max<std::int64_t>(1, l.policy.period_us / 1'000'000));
  }
  if (c.store == StoreKind::kRedis && !have_redis) {
    r.Error(o.Get("store"),
            fmt::format("{}.store: redis needs state.redis.address in the config", where));
    ok = false;
  }
  if (!ok) return std::nullopt;
  return c;
}

}  // namespace rampart::rate_limit
