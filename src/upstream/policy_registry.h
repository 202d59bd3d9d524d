// Upstream policy kinds register a factory here, as gate kinds do (pipeline/gate_registry.h):
// `upstreams.NAME.policies` is a list of `- <kind>: {settings}`, and the snapshot builder builds
// each with its kind's factory, so a policy's keys never touch config_loader.cc.
#pragma once

#include <yaml-cpp/yaml.h>

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.h"
#include "config/yaml_reader.h"
#include "core/kind_registry.h"
#include "upstream/policy.h"
#include "upstream/services.h"

namespace rampart {
namespace observe {
class Metrics;
}
namespace state {
class Stores;
}
}  // namespace rampart

namespace rampart::upstream {

struct UpstreamSpec;

struct PolicyContext {
  config::YamlReader& reader;
  std::string where;  // "upstreams.<name>.policies[<i>].<kind>", for error messages
  const config::Config& config;
  const config::Upstream& upstream;
  observe::Metrics& metrics;
  state::Stores& stores;
  Services& services;
  int workers = 1;  // per-worker state is sized by it
  // The upstream as built so far (endpoints, TLS, membership state; the policies before this one).
  UpstreamSpec* spec = nullptr;
};

// Reads the policy's settings and builds it; returns null after reporting errors.
using PolicyFactory =
    std::function<std::shared_ptr<Policy>(const YAML::Node& settings, PolicyContext& context)>;

// The policy kinds: `keys` are the settings keys a kind declares, which docs/configuration.md
// must describe under "## policies: <kind>".
class PolicyRegistry : public KindRegistry<PolicyFactory> {
 public:
  static PolicyRegistry& Instance();
  // Registers every policy kind built into rampart (idempotent).
  static void RegisterBuiltins();
};

}  // namespace rampart::upstream
