#include "gates/api_key/api_key_config.h"

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <set>

namespace rampart::api_key {

const config::Fields<ApiKeyConfig>& ApiKeyFields() {
  using config::YamlReader;
  static const config::Fields<ApiKeyConfig> f = [] {
    config::Fields<ApiKeyConfig> d;
    d.String("header", &ApiKeyConfig::header)
        .String("query", &ApiKeyConfig::query)
        .String("keys_file", &ApiKeyConfig::keys_file)
        .Custom("store",
                [](YamlReader& r, const YAML::Node& n, const std::string& p, ApiKeyConfig& c) {
                  c.store = true;
                  return r.Choice(n, p, {{"local", false}, {"redis", true}}, c.store_shared);
                })
        .Choice("on_store_failure", &ApiKeyConfig::on_store_failure, state::StoreFailureChoices())
        .Bool("hide_credentials", &ApiKeyConfig::hide_credentials)
        .Bool("allow_anonymous", &ApiKeyConfig::allow_anonymous)
        .String("forward_header", &ApiKeyConfig::forward_header)
        .Then([](YamlReader& r, const YAML::Node& at, const std::string& p, ApiKeyConfig& c) {
          if (c.keys_file.empty() && !c.store) {
            r.Error(at, fmt::format("{}: keys_file, store, or both", p));
            return false;
          }
          if (c.header.empty() && c.query.empty()) {
            r.Error(at, fmt::format("{}: header or query must name where the key is", p));
            return false;
          }
          return true;
        });
    return d;
  }();
  return f;
}

bool ReadKeysFile(const std::string& path, std::vector<ApiKey>& out,
                  std::vector<config::ConfigError>& errors) {
  config::YamlReader r(path, errors);
  YAML::Node root;
  try {
    root = YAML::LoadFile(path);
  } catch (const YAML::BadFile&) {
    errors.push_back({path, 0, fmt::format("cannot read keys file '{}'", path)});
    return false;
  } catch (const YAML::Exception& e) {
    errors.push_back({path, e.mark.line + 1, fmt::format("not YAML: {}", e.msg)});
    return false;
  }
  config::YamlObject top(r, root, "");
  if (!top.ok()) return false;
  const YAML::Node keys = top.Get("keys");
  top.Finish();
  if (!keys.IsSequence()) {
    r.Error(root, "keys: a list of {id, sha256, principal, ...}");
    return false;
  }
  bool ok = true;
  std::set<std::string> ids;
  std::set<std::string> hashes;
  for (std::size_t i = 0; i < keys.size(); ++i) {
    const std::string where = fmt::format("keys[{}]", i);
    config::YamlObject o(r, keys[i], where);
    if (!o.ok()) {
      ok = false;
      continue;
    }
    ApiKey k;
    std::string hash, expires;
    auto str = [&](std::string_view key, std::string& v, bool required) {
      const YAML::Node n = o.Get(key);
      if (!n.IsDefined()) {
        if (required) r.Error(keys[i], fmt::format("{}.{}: required", where, key));
        return !required;
      }
      return r.String(n, o.Where(key), v);
    };
    ok = str("id", k.id, true) && ok;
    ok = str("sha256", hash, true) && ok;
    ok = str("principal", k.principal, true) && ok;
    ok = str("tier", k.tier, false) && ok;
    ok = str("expires", expires, false) && ok;
    if (auto n = o.Get("roles"); n.IsDefined())
      ok = r.StringList(n, o.Where("roles"), k.roles) && ok;
    if (auto n = o.Get("scopes"); n.IsDefined()) {
      ok = r.StringList(n, o.Where("scopes"), k.scopes) && ok;
    }
    o.Finish();
    if (!k.id.empty() && !ValidId(k.id)) {
      r.Error(keys[i], fmt::format("{}.id: '{}' is not 1-64 of A-Z a-z 0-9 . _ -", where, k.id));
      ok = false;
    } else if (!k.id.empty() && !ids.insert(k.id).second) {
      r.Error(keys[i], fmt::format("{}.id: '{}' appears twice", where, k.id));
      ok = false;
    }
    if (!hash.empty() && !ParseSha256Hex(hash, k.hash)) {
      r.Error(keys[i], fmt::format("{}.sha256: not 64 hex digits (the key's SHA-256, never the "
                                   "key itself)",
                                   where));
      ok = false;
    } else if (!hash.empty() && !hashes.insert(Hex(k.hash)).second) {
      r.Error(keys[i], fmt::format("{}.sha256: the same key as an earlier entry", where));
      ok = false;
    }
    if (!expires.empty() && !ParseExpiry(expires, k.expires)) {
      r.Error(keys[i], fmt::format("{}.expires: '{}' is not 2027-01-01T00:00:00Z or seconds "
                                   "since the epoch",
                                   where, expires));
      ok = false;
    }
    out.push_back(std::move(k));
  }
  return ok;
}

}  // namespace rampart::api_key
