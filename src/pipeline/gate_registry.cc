#include "pipeline/gate_registry.h"

namespace rampart {

GateRegistry& GateRegistry::Instance() {
  static GateRegistry registry;
  return registry;
}

void GateRegistry::Register(std::string kind, GateFactory factory) {
  factories_[std::move(kind)] = std::move(factory);
}

const GateFactory* GateRegistry::Find(std::string_view kind) const {
  auto it = factories_.find(kind);
  return it == factories_.end() ? nullptr : &it->second;
}

std::vector<std::string> GateRegistry::Kinds() const {
  std::vector<std::string> out;
  for (const auto& [k, _] : factories_) out.push_back(k);
  return out;
}

}  // namespace rampart
