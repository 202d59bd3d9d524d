// Gate kinds register a factory here (one line in their own folder); the snapshot builder looks
// the kind of each `gates:` entry up and reports unknown kinds with file:line.
#pragma once

#include <yaml-cpp/yaml.h>

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "admin/admin_actions.h"
#include "config/yaml_reader.h"
#include "core/kind_registry.h"
#include "pipeline/gate.h"
#include "upstream/services.h"

namespace rampart {

namespace observe {
class Metrics;
}
namespace state {
class Stores;
}

// What a gate factory may use: the reader for errors with file:line, the whole config (shared
// settings such as `state`), the long-lived metrics and stores, and the services.
struct GateContext {
  config::YamlReader& reader;
  std::string where;  // "routes.<route>.gates[<i>].<kind>", for error messages
  const config::Config& config;
  const config::Route& route;
  observe::Metrics& metrics;
  state::Stores& stores;
  Services& services;
  admin::AdminActions& admin;  // endpoints the gate adds to the admin listener
};

// Reads the gate's settings and builds the gate; returns null after reporting errors.
using GateFactory =
    std::function<std::unique_ptr<Gate>(const YAML::Node& settings, GateContext& context)>;

// The gate kinds: `keys` are the settings keys a kind declares (config/fields.h), which
// docs/configuration.md must describe under "## gates: <kind>" (or its alias_of's heading).
class GateRegistry : public KindRegistry<GateFactory> {
 public:
  static GateRegistry& Instance();
  // Registers every gate kind built into rampart (idempotent).
  static void RegisterBuiltins();
};

}  // namespace rampart
