// Gate kinds register a factory here (one line in their own folder); the snapshot builder looks
// the kind of each `gates:` entry up and reports unknown kinds with file:line.
#pragma once

#include <yaml-cpp/yaml.h>

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "config/yaml_reader.h"
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
};

// Reads the gate's settings and builds the gate; returns null after reporting errors.
using GateFactory =
    std::function<std::unique_ptr<Gate>(const YAML::Node& settings, GateContext& context)>;

class GateRegistry {
 public:
  static GateRegistry& Instance();
  // `keys`: the settings keys the kind declares (config/fields.h), which docs/configuration.md
  // must describe under "## gates: <kind>" (or under its `alias_of`'s heading).
  void Register(std::string kind, GateFactory factory, std::vector<std::string> keys = {},
                std::string alias_of = {});
  const GateFactory* Find(std::string_view kind) const;
  std::vector<std::string> Kinds() const;
  const std::vector<std::string>& Keys(std::string_view kind) const;
  std::string_view DocumentedAs(std::string_view kind) const;
  // Registers every gate kind built into rampart (idempotent).
  static void RegisterBuiltins();

 private:
  struct Entry {
    GateFactory factory;
    std::vector<std::string> keys;
    std::string alias_of;
  };
  std::map<std::string, Entry, std::less<>> factories_;
};

}  // namespace rampart
