// libFuzzer target: arbitrary YAML as an authz gate's settings. Reading must report errors (with
// at least one error when it refuses), never crash or recurse without bound; a policy it accepts
// is then evaluated against a few requests, anonymous and not, at extreme times.
#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <string>

#include "gates/authz/rules.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size > 4096) return 0;
  YAML::Node node;
  try {
    node = YAML::Load(std::string(reinterpret_cast<const char*>(data), size));
  } catch (const YAML::Exception&) {
    return 0;
  }
  std::vector<rampart::config::ConfigError> errors;
  rampart::config::YamlReader reader("fuzz.yaml", errors);
  rampart::authz::Policy policy;
  if (!rampart::authz::ReadPolicy(reader, node, "gate", policy)) {
    if (errors.empty()) __builtin_trap();
    return 0;
  }
  const std::vector<std::string> roles = {"admin", "viewer"};
  const std::vector<std::string> scopes = {"read"};
  const std::vector<std::pair<std::string, std::string>> attrs = {{"claim.tenant", "acme"}};
  rampart::authz::Input in;
  in.method = "GET";
  in.path = "/api/orders/1";
  in.client = boost::asio::ip::make_address("10.1.2.3");
  for (std::int64_t now : {INT64_MIN / 2, std::int64_t{-1}, std::int64_t{0},
                           std::int64_t{1'800'000'000}, INT64_MAX / 2}) {
    in.now = now;
    in.principal = {};
    in.roles = nullptr;
    rampart::authz::Evaluate(policy, in);
    in.principal = "alice";
    in.auth_method = "jwt";
    in.roles = &roles;
    in.scopes = &scopes;
    in.attributes = &attrs;
    in.mtls = true;
    in.spiffe_id = "spiffe://example.org/a";
    rampart::authz::Evaluate(policy, in);
  }
  return 0;
}
