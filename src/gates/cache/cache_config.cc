#include "gates/cache/cache_config.h"

#include <fmt/format.h>

#include "core/regex.h"
#include "core/strings.h"

namespace rampart::cache {

using config::YamlReader;

namespace {

bool ReadQuery(YamlReader& r, const YAML::Node& n, const std::string& p, CacheConfig& c) {
  if (n.IsScalar()) {
    return r.Choice(n, p, {{"all", CacheConfig::Query::kAll}, {"none", CacheConfig::Query::kNone}},
                    c.query);
  }
  if (!n.IsSequence() || n.size() == 0) {
    r.Error(n, fmt::format("{}: all, none, or a list of parameter names", p));
    return false;
  }
  c.query = CacheConfig::Query::kListed;
  for (const auto& x : n) {
    std::string name;
    if (!r.String(x, p, name) || name.empty()) return false;
    c.query_params.push_back(std::move(name));
  }
  return true;
}

}  // namespace

const config::Fields<CacheConfig>& CacheFields() {
  static const config::Fields<CacheConfig> f = [] {
    config::Fields<CacheConfig> d;
    d.String("zone", &CacheConfig::zone)
        .Size("max_bytes", &CacheConfig::max_bytes, 64ull << 30)
        .Size("max_entry", &CacheConfig::max_entry, 256ull << 20)
        .Custom("key_query", ReadQuery)
        .StringList("key_headers", &CacheConfig::key_headers)
        .Bool("cache_authorized", &CacheConfig::cache_authorized)
        .Bool("cache_cookies", &CacheConfig::cache_cookies)
        .String("tag_header", &CacheConfig::tag_header)
        .Percent("ttl_jitter", &CacheConfig::ttl_jitter, 0, 50)
        .Duration("negative_ttl", &CacheConfig::negative_ttl, std::chrono::microseconds(0),
                  std::chrono::hours(1))
        .Custom("negative_statuses",
                [](YamlReader& r, const YAML::Node& n, const std::string& p, CacheConfig& c) {
                  return r.Statuses(n, p, c.negative_statuses);
                })
        .Bool("status_header", &CacheConfig::status_header)
        .Custom(
            "key_filter",
            [](YamlReader& r, const YAML::Node& n, const std::string& p, CacheConfig& c) {
              if (!r.String(n, p, c.key_filter)) return false;
              std::string error;
              // Checked as the gate compiles it: the whole path must match.
              if (c.key_filter.empty() || !Regex::Compile("^(?:" + c.key_filter + ")$", &error)) {
                r.Error(n, fmt::format("{}: not a regular expression: {}", p,
                                       c.key_filter.empty() ? "empty" : error));
                return false;
              }
              return true;
            })
        .Duration("coalesce_timeout", &CacheConfig::coalesce_timeout, std::chrono::microseconds(0),
                  std::chrono::minutes(1))
        .Duration("pass_ttl", &CacheConfig::pass_ttl, std::chrono::microseconds(0),
                  std::chrono::hours(1))
        .Duration("stale_while_revalidate", &CacheConfig::stale_while_revalidate,
                  std::chrono::microseconds(0), std::chrono::hours(24))
        .Duration("stale_if_error", &CacheConfig::stale_if_error, std::chrono::microseconds(0),
                  std::chrono::hours(24 * 7))
        .Bool("shared", &CacheConfig::shared)
        .Size("shared_max_entry", &CacheConfig::shared_max_entry, 8ull << 20)
        .Duration("shared_lease", &CacheConfig::shared_lease, std::chrono::milliseconds(100),
                  std::chrono::minutes(5))
        .Custom(
            "early_refresh",
            [](YamlReader& r, const YAML::Node& n, const std::string& p, CacheConfig& c) {
              double v = 0;
              if (!n.IsScalar() || !YAML::convert<double>::decode(n, v) || !(v >= 0) || v > 10) {
                r.Error(n, fmt::format("{}: a number from 0 (off) to 10", p));
                return false;
              }
              c.early_refresh = v;
              return true;
            })
        .Then([](YamlReader& r, const YAML::Node& at, const std::string& p, CacheConfig& c) {
          for (auto& h : c.key_headers) h = ToLower(h);
          if (c.max_bytes < (1u << 20)) {
            r.Error(at, fmt::format("{}: max_bytes must be at least 1MiB", p));
            return false;
          }
          if (c.max_entry == 0 || c.max_entry > c.max_bytes / 8) {
            r.Error(at,
                    fmt::format("{}: max_entry must be from 1 byte to an eighth of max_bytes", p));
            return false;
          }
          if (c.zone.empty()) {
            r.Error(at, fmt::format("{}: zone must not be empty", p));
            return false;
          }
          return true;
        });
    return d;
  }();
  return f;
}

}  // namespace rampart::cache
