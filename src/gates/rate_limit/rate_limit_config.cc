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

bool ReadLimit(YamlReader& r, YamlObject& o, const std::string& path, LimitConfig& l) {
  bool ok = true;
  if (auto x = o.Get("name"); x.IsDefined()) ok &= r.String(x, path + ".name", l.name);
  if (auto x = o.Get("algorithm"); x.IsDefined()) {
    ok &= ReadAlgorithm(r, x, path + ".algorithm", l.policy.algorithm);
  }
  bool have_rate = false;
  if (auto x = o.Get("rate"); x.IsDefined()) {
    std::string s;
    if (r.String(x, path + ".rate", s)) {
      auto rate = ParseRate(s);
      if (!rate || !ToPolicyRate(*rate, l.policy.limit, l.policy.period_us)) {
        r.Error(x, fmt::format("{}.rate: '{}' is not a rate like 100/s, 20/m, 10000/day", path, s));
        ok = false;
      } else {
        have_rate = true;
      }
    }
  } else {
    r.Error(o.node(), fmt::format("{}.rate: required (e.g. 100/s)", path));
    ok = false;
  }
  l.policy.burst = DefaultBurst(l.policy.algorithm, l.policy.limit);
  if (auto x = o.Get("burst"); x.IsDefined()) {
    std::uint64_t b = 0;
    if (r.Uint(x, path + ".burst", std::uint64_t{1} << 31, b)) {
      l.policy.burst = static_cast<std::int64_t>(b);
      const bool bucket =
          l.policy.algorithm == Algorithm::kTokenBucket || l.policy.algorithm == Algorithm::kGcra;
      if (bucket && b == 0) {
        r.Error(x, fmt::format("{}.burst: must be at least 1 for {}", path,
                               AlgorithmName(l.policy.algorithm)));
        ok = false;
      }
      if (!bucket && l.policy.algorithm != Algorithm::kLeakyBucket) {
        r.Error(x, fmt::format("{}.burst: {} has no burst; its limit is the rate's count", path,
                               AlgorithmName(l.policy.algorithm)));
        ok = false;
      }
    } else {
      ok = false;
    }
  }
  if (auto x = o.Get("mode"); x.IsDefined()) {
    if (l.policy.algorithm != Algorithm::kLeakyBucket) {
      r.Error(x, fmt::format("{}.mode: only leaky_bucket has a mode", path));
      ok = false;
    } else {
      ok &= r.Choice(x, path + ".mode",
                     {{"police", LeakyMode::kPolice}, {"shape", LeakyMode::kShape}},
                     l.policy.leaky_mode);
    }
  }
  if (auto x = o.Get("max_delay"); x.IsDefined()) {
    std::chrono::microseconds d{0};
    if (r.Duration(x, path + ".max_delay", d)) l.policy.max_delay_us = d.count();
    if (l.policy.leaky_mode != LeakyMode::kShape) {
      r.Error(x, fmt::format("{}.max_delay: only for leaky_bucket with mode: shape", path));
      ok = false;
    }
  }
  if (auto x = o.Get("key"); x.IsDefined()) {
    if (x.IsScalar()) {
      KeyPart k;
      ok &= ReadKeyPart(r, x, path + ".key", k);
      l.key.push_back(k);
    } else if (x.IsSequence()) {
      for (std::size_t i = 0; i < x.size(); ++i) {
        KeyPart k;
        ok &= ReadKeyPart(r, x[i], fmt::format("{}.key[{}]", path, i), k);
        l.key.push_back(k);
      }
    } else {
      r.Error(x, fmt::format("{}.key: a list of key parts", path));
      ok = false;
    }
  } else {
    l.key.push_back({KeyPart::Kind::kClientIp, {}, 24, 64});
  }
  if (auto x = o.Get("tiers"); x.IsDefined()) ok &= r.StringList(x, path + ".tiers", l.tiers);
  if (auto x = o.Get("when_key_missing"); x.IsDefined()) {
    ok &= r.Choice(x, path + ".when_key_missing", {{"share", false}, {"skip", true}},
                   l.skip_when_missing);
  }
  if (have_rate) {
    const Policy& p = l.policy;
    // Compared by division: the products themselves may not fit in 64 bits.
    if (p.limit > (std::int64_t{1} << 31) || p.limit > kMaxProduct / p.period_us ||
        p.burst + 1 > kMaxProduct / p.period_us) {
      r.Error(o.node(), fmt::format("{}: rate or burst too large for exact arithmetic", path));
      ok = false;
    }
  }
  return ok;
}

}  // namespace

std::optional<RateLimitConfig> ReadRateLimitConfig(const YAML::Node& settings, YamlReader& r,
                                                   const std::string& where,
                                                   const std::string& route, bool have_redis) {
  RateLimitConfig c;
  YamlObject o(r, settings, where);
  if (!o.ok()) return std::nullopt;
  bool ok = true;
  if (auto x = o.Get("limits"); x.IsDefined()) {
    if (!x.IsSequence() || x.size() == 0) {
      r.Error(x, fmt::format("{}.limits: a non-empty list of limits", where));
      ok = false;
    } else {
      for (std::size_t i = 0; i < x.size(); ++i) {
        const std::string path = fmt::format("{}.limits[{}]", where, i);
        YamlObject lo(r, x[i], path);
        if (!lo.ok()) {
          ok = false;
          continue;
        }
        LimitConfig l;
        l.name = fmt::format("{}.{}", route, i);
        ok &= ReadLimit(r, lo, path, l);
        lo.Finish();
        c.limits.push_back(std::move(l));
      }
    }
  } else {
    // One limit written inline: rate_limit: { rate: 100/s, key: [client_ip] }
    LimitConfig l;
    l.name = route;
    ok &= ReadLimit(r, o, where, l);
    c.limits.push_back(std::move(l));
  }
  for (std::size_t i = 0; i < c.limits.size(); ++i) {
    for (std::size_t j = 0; j < i; ++j) {
      if (c.limits[i].name == c.limits[j].name) {
        r.Error(settings, fmt::format("{}: two limits are named '{}'", where, c.limits[i].name));
        ok = false;
      }
    }
    const LimitConfig& l = c.limits[i];
    c.limits[i].policy_item =
        fmt::format("\"{}\";q={};w={}", l.name, l.policy.limit,
                    std::max<std::int64_t>(1, l.policy.period_us / 1'000'000));
  }
  if (auto x = o.Get("shadow"); x.IsDefined()) ok &= r.Bool(x, where + ".shadow", c.shadow);
  if (auto x = o.Get("headers"); x.IsDefined()) {
    ok &= r.Choice(x, where + ".headers",
                   {{"refused", HeaderMode::kRefused},
                    {"always", HeaderMode::kAlways},
                    {"never", HeaderMode::kNever}},
                   c.headers);
  }
  if (auto x = o.Get("retry_after_jitter"); x.IsDefined()) {
    ok &= ReadFraction(r, x, where + ".retry_after_jitter", 0.5, c.retry_after_jitter);
  }
  if (auto x = o.Get("window_jitter"); x.IsDefined()) {
    ok &= ReadFraction(r, x, where + ".window_jitter", 1.0, c.window_jitter);
  }
  if (auto x = o.Get("tier_attribute"); x.IsDefined()) {
    ok &= r.String(x, where + ".tier_attribute", c.tier_attribute);
  }
  if (auto x = o.Get("default_tier"); x.IsDefined()) {
    ok &= r.String(x, where + ".default_tier", c.default_tier);
  }
  if (auto x = o.Get("store"); x.IsDefined()) {
    ok &= r.Choice(x, where + ".store",
                   {{"local", StoreKind::kLocal}, {"redis", StoreKind::kRedis}}, c.store);
    if (c.store == StoreKind::kRedis && !have_redis) {
      r.Error(x, fmt::format("{}.store: redis needs state.redis.address in the config", where));
      ok = false;
    }
  }
  if (auto x = o.Get("on_store_failure"); x.IsDefined()) {
    ok &= r.Choice(x, where + ".on_store_failure",
                   {{"local", OnStoreFailure::kLocal},
                    {"allow", OnStoreFailure::kAllow},
                    {"deny", OnStoreFailure::kDeny}},
                   c.on_store_failure);
  }
  o.Finish();
  if (!ok) return std::nullopt;
  return c;
}

}  // namespace rampart::rate_limit
