#include "gates/idempotency/idempotency_config.h"

#include <fmt/format.h>

#include "core/strings.h"

namespace rampart::idempotency {

namespace {

using config::YamlReader;

bool ReadReleaseOn(YamlReader& r, const YAML::Node& n, const std::string& p, IdempotencyConfig& c) {
  std::vector<std::string> words;
  if (!r.StringList(n, p, words)) return false;
  c.release_on_connect_failure = c.release_on_server_error = false;
  for (const auto& w : words) {
    if (w == "connect_failure") {
      c.release_on_connect_failure = true;
    } else if (w == "server_error") {
      c.release_on_server_error = true;
    } else {
      r.Error(n, fmt::format("{}: '{}' is not connect_failure or server_error", p, w));
      return false;
    }
  }
  return true;
}

bool ReadKeys(YamlReader& r, const YAML::Node& n, const std::string& p, IdempotencyConfig& c) {
  if (!n.IsSequence() || n.size() == 0) {
    r.Error(n, fmt::format("{}: a list of {{id, file}}, the sealing key first", p));
    return false;
  }
  static const config::Fields<KeyFileConfig> kKey = config::Fields<KeyFileConfig>()
                                                        .String("id", &KeyFileConfig::id, true)
                                                        .String("file", &KeyFileConfig::file, true);
  bool ok = true;
  for (std::size_t i = 0; i < n.size(); ++i) {
    KeyFileConfig k;
    const std::string at = fmt::format("{}[{}]", p, i);
    if (!kKey.Read(r, n[i], at, k)) {
      ok = false;
      continue;
    }
    bool id_ok = !k.id.empty() && k.id.size() <= 64;
    for (char ch : k.id) {
      if (!(std::isalnum(static_cast<unsigned char>(ch)) || ch == '.' || ch == '_' || ch == '-')) {
        id_ok = false;
      }
    }
    for (const auto& other : c.encryption_keys) {
      if (other.id == k.id) id_ok = false;
    }
    if (!id_ok) {
      r.Error(n[i], fmt::format("{}.id: '{}' must be unique, 1-64 of A-Z a-z 0-9 . _ -", at, k.id));
      ok = false;
    }
    c.encryption_keys.push_back(std::move(k));
  }
  return ok;
}

}  // namespace

const config::Fields<IdempotencyConfig>& IdempotencyFields() {
  using std::chrono::milliseconds;
  using std::chrono::seconds;
  static const config::Fields<IdempotencyConfig> f = [] {
    config::Fields<IdempotencyConfig> d;
    d.StringList("methods", &IdempotencyConfig::methods)
        .String("header", &IdempotencyConfig::header)
        .Bool("required", &IdempotencyConfig::required)
        .Uint("max_key_length", &IdempotencyConfig::max_key_length, 8, 1024)
        .Duration("lease", &IdempotencyConfig::lease, milliseconds(100), std::chrono::hours(24))
        .Duration("retention", &IdempotencyConfig::retention, seconds(1), std::chrono::hours(720))
        .Size("max_body", &IdempotencyConfig::max_body, 64ull << 20)
        .Size("max_response", &IdempotencyConfig::max_response, 64ull << 20)
        .Custom("on_concurrent",
                [](YamlReader& r, const YAML::Node& n, const std::string& p, IdempotencyConfig& c) {
                  return r.Choice(n, p, {{"conflict", false}, {"wait", true}}, c.wait);
                })
        .Duration("wait_timeout", &IdempotencyConfig::wait_timeout, milliseconds(10),
                  std::chrono::minutes(10))
        .Duration("retry_after", &IdempotencyConfig::retry_after, seconds(1), std::chrono::hours(1))
        .Custom("release_on", ReadReleaseOn)
        .Custom("store",
                [](YamlReader& r, const YAML::Node& n, const std::string& p, IdempotencyConfig& c) {
                  return r.Choice(n, p, {{"local", false}, {"redis", true}}, c.store_shared);
                })
        .Uint("max_records", &IdempotencyConfig::max_records, 16, 100'000'000)
        .Choice("on_store_failure", &IdempotencyConfig::on_store_failure,
                state::StoreFailureChoices())
        .String("fencing_header", &IdempotencyConfig::fencing_header)
        .Custom("encryption_keys", ReadKeys)
        .Then([](YamlReader& r, const YAML::Node& at, const std::string& p, IdempotencyConfig& c) {
          bool ok = true;
          if (c.methods.empty()) {
            r.Error(at, fmt::format("{}.methods: name at least one method", p));
            ok = false;
          }
          for (const auto& m : c.methods) {
            if (m.empty() ||
                m.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZ") != std::string::npos) {
              r.Error(at, fmt::format("{}.methods: '{}' is not an upper-case method name", p, m));
              ok = false;
            }
          }
          c.header = ToLower(c.header);
          c.fencing_header = ToLower(c.fencing_header);
          if (c.header.empty() || c.header.find_first_of(" :\r\n") != std::string::npos ||
              c.fencing_header.find_first_of(" :\r\n") != std::string::npos) {
            r.Error(at, fmt::format("{}: header and fencing_header are field names", p));
            ok = false;
          }
          if (c.lease >= c.retention) {
            r.Error(at, fmt::format("{}: lease must be shorter than retention", p));
            ok = false;
          }
          if (c.store_shared && c.encryption_keys.empty()) {
            r.Error(at, fmt::format("{}: records on Redis are encrypted at rest: set "
                                    "encryption_keys (a list of {{id, file}} with 32-byte keys)",
                                    p));
            ok = false;
          }
          return ok;
        });
    return d;
  }();
  return f;
}

}  // namespace rampart::idempotency
