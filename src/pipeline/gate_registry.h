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

namespace rampart {

// Reads the gate's settings (errors go through the reader, with file:line) and builds the gate.
using GateFactory = std::function<std::unique_ptr<Gate>(
    const YAML::Node& settings, config::YamlReader& reader, const std::string& where)>;

class GateRegistry {
 public:
  static GateRegistry& Instance();
  void Register(std::string kind, GateFactory factory);
  const GateFactory* Find(std::string_view kind) const;
  std::vector<std::string> Kinds() const;

 private:
  std::map<std::string, GateFactory, std::less<>> factories_;
};

}  // namespace rampart
