// Gate kinds register a factory here (one line in their own folder); the snapshot builder looks
// the kind of each `gates:` entry up and reports unknown kinds with file:line.
#pragma once

#include <yaml-cpp/yaml.h>

#include <boost/asio/any_io_executor.hpp>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "config/yaml_reader.h"
#include "pipeline/gate.h"

namespace rampart {

namespace observe {
class Metrics;
}
namespace state {
class Stores;
}
namespace upstream {
class HttpClient;
}

// What gates (and upstream policies) may use besides their settings: the control thread's
// executor for background work off the request path (a JWKS refresh, a health prober), and the
// outbound HTTP client, which runs there.
struct Services {
  boost::asio::any_io_executor control;
  upstream::HttpClient* client = nullptr;
};

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
  void Register(std::string kind, GateFactory factory);
  const GateFactory* Find(std::string_view kind) const;
  std::vector<std::string> Kinds() const;
  // Registers every gate kind built into rampart (idempotent).
  static void RegisterBuiltins();

 private:
  std::map<std::string, GateFactory, std::less<>> factories_;
};

}  // namespace rampart
