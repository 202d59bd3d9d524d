// The WAF gate's settings (docs/configuration.md, "gates: waf").
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "config/fields.h"

namespace rampart::waf {

struct WafConfig {
  // Rule files in load order: "crs" (the OWASP CRS v4 rules shipped with rampart: its setup
  // file, then rules/*.conf), or paths and globs of SecLang files (relative to the config file).
  std::vector<std::string> rules = {"crs"};
  std::string crs_dir;  // where "crs" is read from; empty: the copy shipped with rampart
  // CRS settings, set before CRS's own defaults when given (0: CRS's default).
  int paranoia = 0;            // tx.blocking_paranoia_level, 1-4
  int detection_paranoia = 0;  // tx.detection_paranoia_level (>= paranoia)
  int inbound_threshold = 0;   // tx.inbound_anomaly_score_threshold
  int outbound_threshold = 0;  // tx.outbound_anomaly_score_threshold
  enum class Mode : std::uint8_t { kBlock, kDetect } mode = Mode::kBlock;
  std::string audit_log;  // JSON lines, one per request with a logged match; empty: none
  // A request the engine cannot inspect within its limits (a body it could not parse, too many
  // arguments, a regular expression stopped at its match limit): refused (block), or only
  // logged while the rules go on (pass).
  enum class Uninspectable : std::uint8_t { kBlock, kPass } uninspectable = Uninspectable::kBlock;
  // Rules to leave out, in YAML so operators need not write SecLang for the common cases.
  std::vector<std::string> exclude_rules;    // ids or ranges ("942100", "920300-920350")
  std::vector<std::string> exclude_tags;     // rules carrying a tag
  std::vector<std::string> exclude_targets;  // "942100:ARGS:password" (rule id, then the target)
  std::string config_dir;                    // the directory relative paths are read from
};

const config::Fields<WafConfig>& WafFields();

// The SecLang text for the settings above that are not rule files (SecAction and SecRule*
// directives), loaded before and after the rules.
std::string SettingsPrologue(const WafConfig& c);
std::string SettingsEpilogue(const WafConfig& c);

}  // namespace rampart::waf
