#include "gates/waf/waf_config.h"

#include <fmt/format.h>

namespace rampart::waf {

using config::YamlReader;

namespace {

template <int WafConfig::*M>
bool ReadLevel(YamlReader& r, const YAML::Node& n, const std::string& p, WafConfig& c, int lo,
               int hi) {
  std::uint64_t v = 0;
  if (!r.Uint(n, p, static_cast<std::uint64_t>(hi), v)) return false;
  if (static_cast<int>(v) < lo) {
    r.Error(n, fmt::format("{}: must be from {} to {}", p, lo, hi));
    return false;
  }
  c.*M = static_cast<int>(v);
  return true;
}

bool IsIdOrRange(std::string_view s) {
  if (s.empty()) return false;
  int dashes = 0;
  for (char ch : s) {
    if (ch == '-') {
      ++dashes;
    } else if (ch < '0' || ch > '9') {
      return false;
    }
  }
  return dashes <= 1 && s.front() != '-' && s.back() != '-';
}

// What may be pasted into a quoted SecLang argument as it is.
bool PlainText(std::string_view s) {
  for (char ch : s) {
    if (ch == '"' || ch == '\\' || ch == '\'' || static_cast<unsigned char>(ch) < 0x20) {
      return false;
    }
  }
  return true;
}

}  // namespace

const config::Fields<WafConfig>& WafFields() {
  static const config::Fields<WafConfig> f = [] {
    config::Fields<WafConfig> d;
    d.StringList("rules", &WafConfig::rules)
        .String("crs_dir", &WafConfig::crs_dir)
        .Custom("paranoia",
                [](YamlReader& r, const YAML::Node& n, const std::string& p, WafConfig& c) {
                  return ReadLevel<&WafConfig::paranoia>(r, n, p, c, 1, 4);
                })
        .Custom("detection_paranoia",
                [](YamlReader& r, const YAML::Node& n, const std::string& p, WafConfig& c) {
                  return ReadLevel<&WafConfig::detection_paranoia>(r, n, p, c, 1, 4);
                })
        .Custom("inbound_threshold",
                [](YamlReader& r, const YAML::Node& n, const std::string& p, WafConfig& c) {
                  return ReadLevel<&WafConfig::inbound_threshold>(r, n, p, c, 1, 10000);
                })
        .Custom("outbound_threshold",
                [](YamlReader& r, const YAML::Node& n, const std::string& p, WafConfig& c) {
                  return ReadLevel<&WafConfig::outbound_threshold>(r, n, p, c, 1, 10000);
                })
        .Choice("mode", &WafConfig::mode,
                {{"block", WafConfig::Mode::kBlock}, {"detect", WafConfig::Mode::kDetect}})
        .String("audit_log", &WafConfig::audit_log)
        .Choice("uninspectable", &WafConfig::uninspectable,
                {{"block", WafConfig::Uninspectable::kBlock},
                 {"pass", WafConfig::Uninspectable::kPass}})
        .Custom("exclude_rules",
                [](YamlReader& r, const YAML::Node& n, const std::string& p, WafConfig& c) {
                  if (!r.StringList(n, p, c.exclude_rules)) return false;
                  for (const auto& s : c.exclude_rules) {
                    if (!IsIdOrRange(s)) {
                      r.Error(n, fmt::format("{}: '{}' is not a rule id or a range (1-2)", p, s));
                      return false;
                    }
                  }
                  return true;
                })
        .Custom("exclude_tags",
                [](YamlReader& r, const YAML::Node& n, const std::string& p, WafConfig& c) {
                  if (!r.StringList(n, p, c.exclude_tags)) return false;
                  for (const auto& s : c.exclude_tags) {
                    if (s.empty() || !PlainText(s)) {
                      r.Error(n, fmt::format("{}: '{}' is not a tag (no quotes, backslashes "
                                             "or control characters)",
                                             p, s));
                      return false;
                    }
                  }
                  return true;
                })
        .Custom("exclude_targets",
                [](YamlReader& r, const YAML::Node& n, const std::string& p, WafConfig& c) {
                  if (!r.StringList(n, p, c.exclude_targets)) return false;
                  for (const auto& s : c.exclude_targets) {
                    const auto colon = s.find(':');
                    if (colon == std::string::npos || !IsIdOrRange(s.substr(0, colon)) ||
                        colon + 1 >= s.size() || !PlainText(s) ||
                        s.find_first_of(" |") != std::string::npos) {
                      r.Error(
                          n, fmt::format("{}: '{}' is not RULE_ID:TARGET (942100:ARGS:password)", p,
                                         s));
                      return false;
                    }
                  }
                  return true;
                })
        .Then([](YamlReader& r, const YAML::Node& at, const std::string& p, WafConfig& c) {
          if (c.rules.empty()) {
            r.Error(at, fmt::format("{}.rules: at least one rule file (or crs)", p));
            return false;
          }
          if (c.paranoia != 0 && c.detection_paranoia != 0 && c.detection_paranoia < c.paranoia) {
            r.Error(at, fmt::format("{}.detection_paranoia: may not be below paranoia", p));
            return false;
          }
          return true;
        });
    return d;
  }();
  return f;
}

std::string SettingsPrologue(const WafConfig& c) {
  // A body the engine could not read is never passed silently: these two rules do what
  // ModSecurity's recommended configuration (rules 200002 and 200003) does, before any rule set.
  // Ids 899100-899199 are rampart's, outside CRS's range.
  const std::string_view action =
      c.uninspectable == WafConfig::Uninspectable::kBlock ? "deny,status:400" : "pass";
  std::string out = fmt::format(
      "SecRule REQBODY_ERROR \"!@eq 0\" \"id:899110,phase:2,t:none,log,{},"
      "msg:'Failed to parse request body',logdata:'%{{reqbody_error_msg}}',severity:2\"\n"
      "SecRule MULTIPART_STRICT_ERROR \"!@eq 0\" \"id:899111,phase:2,t:none,log,{},"
      "msg:'Multipart request body failed strict validation',logdata:'%{{reqbody_error_msg}}',"
      "severity:2\"\n",
      action, action);
  // CRS's REQUEST-901 sets each of these only when it is not set yet, so a SecAction that runs
  // first decides them.
  std::string setvars;
  auto add = [&](std::string_view name, int v) {
    if (v != 0) setvars += fmt::format(",setvar:tx.{}={}", name, v);
  };
  add("blocking_paranoia_level", c.paranoia);
  add("detection_paranoia_level", c.detection_paranoia != 0 ? c.detection_paranoia : c.paranoia);
  add("inbound_anomaly_score_threshold", c.inbound_threshold);
  add("outbound_anomaly_score_threshold", c.outbound_threshold);
  if (!setvars.empty()) {
    out += fmt::format("SecAction \"id:899100,phase:1,pass,t:none,nolog{}\"\n", setvars);
  }
  return out;
}

std::string SettingsEpilogue(const WafConfig& c) {
  // A regular expression that stopped at its match limit could not tell whether it matched
  // (ModSecurity's recommended configuration, rule 200005): the request was not inspected.
  std::string out = fmt::format(
      "SecRule TX:MSC_PCRE_LIMITS_EXCEEDED \"@eq 1\" \"id:899112,phase:2,t:none,log,{},"
      "msg:'A regular expression reached its match limit: the request was not fully "
      "inspected',severity:2\"\n",
      c.uninspectable == WafConfig::Uninspectable::kBlock ? "deny,status:403" : "pass");
  for (const auto& id : c.exclude_rules) out += "SecRuleRemoveById " + id + "\n";
  for (const auto& tag : c.exclude_tags) out += "SecRuleRemoveByTag \"" + tag + "\"\n";
  for (const auto& t : c.exclude_targets) {
    const auto colon = t.find(':');
    out += "SecRuleUpdateTargetById " + t.substr(0, colon) + " \"!" + t.substr(colon + 1) + "\"\n";
  }
  return out;
}

}  // namespace rampart::waf
