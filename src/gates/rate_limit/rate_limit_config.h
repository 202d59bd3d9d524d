// The settings of one `rate_limit` gate: one or more limits, each with its algorithm, numbers and
// key, plus what the gate does with a refusal (answer, or only count in shadow mode), which
// headers it sends, and where its state lives.
#pragma once

#include <yaml-cpp/yaml.h>

#include <optional>
#include <string>
#include <vector>

#include "config/fields.h"
#include "config/yaml_reader.h"
#include "gates/rate_limit/algorithm.h"

namespace rampart::rate_limit {

// One part of a limit's key.
struct KeyPart {
  enum class Kind : std::uint8_t {
    kClientIp,
    kClientIpPrefix,  // the client's network: /v4_prefix or /v6_prefix
    kHeader,          // a request header (first value)
    kQuery,           // a query parameter (raw, first occurrence)
    kApiKey,          // the id of the API key an authentication gate accepted
    kPrincipal,       // the authenticated principal
    kClaim,           // an attribute of the principal (a JWT claim, ...)
    kRoute,
    kMethod,
    kConstant,  // the same for every request: a global limit
  };
  Kind kind = Kind::kClientIp;
  std::string name;  // header (lower case), query parameter, claim, or the constant
  int v4_prefix = 24;
  int v6_prefix = 64;
};

struct LimitConfig {
  std::string name;
  Policy policy;
  std::vector<KeyPart> key;
  std::vector<std::string> tiers;  // applies only to principals of these tiers; empty = all
  bool skip_when_missing = false;  // a key part is absent: skip the limit (default: "-" is used)
  std::string policy_item;         // "name";q=..;w=.. for RateLimit-Policy
  std::optional<std::uint64_t> burst;  // as configured (the policy's burst has the default)
};

enum class HeaderMode : std::uint8_t { kRefused, kAlways, kNever };
enum class StoreKind : std::uint8_t { kLocal, kRedis };
enum class OnStoreFailure : std::uint8_t { kLocal, kAllow, kDeny };

struct RateLimitConfig {
  std::vector<LimitConfig> limits;
  bool shadow = false;
  HeaderMode headers = HeaderMode::kRefused;
  double retry_after_jitter = 0;  // fraction, e.g. 0.1 for ±10%
  double window_jitter = 0;       // fraction of the window by which each key's boundary moves
  std::string tier_attribute = "tier";
  std::string default_tier;
  StoreKind store = StoreKind::kLocal;
  OnStoreFailure on_store_failure = OnStoreFailure::kLocal;
};

// The gate's keys and a limit's keys, declared once (config/fields.h).
const config::Fields<LimitConfig>& LimitFields();
const config::Fields<RateLimitConfig>& RateLimitFields();

// Reads the gate's settings; errors go to the reader with file:line. `route` names the default
// limit names ("<route>.<index>"). Returns nullopt when something was wrong.
std::optional<RateLimitConfig> ReadRateLimitConfig(const YAML::Node& settings,
                                                   config::YamlReader& reader,
                                                   const std::string& where,
                                                   const std::string& route, bool have_redis);

}  // namespace rampart::rate_limit
