#include "pipeline/gate_registry.h"

namespace rampart {

GateRegistry& GateRegistry::Instance() {
  static GateRegistry registry;
  return registry;
}

void GateRegistry::Register(std::string kind, GateFactory factory, std::vector<std::string> keys,
                            std::string alias_of) {
  factories_[std::move(kind)] = {std::move(factory), std::move(keys), std::move(alias_of)};
}

const GateFactory* GateRegistry::Find(std::string_view kind) const {
  auto it = factories_.find(kind);
  return it == factories_.end() ? nullptr : &it->second.factory;
}

const std::vector<std::string>& GateRegistry::Keys(std::string_view kind) const {
  static const std::vector<std::string> kNone;
  auto it = factories_.find(kind);
  return it == factories_.end() ? kNone : it->second.keys;
}

std::string_view GateRegistry::DocumentedAs(std::string_view kind) const {
  auto it = factories_.find(kind);
  if (it == factories_.end() || it->second.alias_of.empty()) return kind;
  return it->second.alias_of;
}

std::vector<std::string> GateRegistry::Kinds() const {
  std::vector<std::string> out;
  for (const auto& [k, _] : factories_) out.push_back(k);
  return out;
}

}  // namespace rampart
