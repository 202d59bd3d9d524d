#include "upstream/policy_registry.h"

namespace rampart::upstream {

PolicyRegistry& PolicyRegistry::Instance() {
  static PolicyRegistry registry;
  return registry;
}

void PolicyRegistry::Register(std::string kind, PolicyFactory factory,
                              std::vector<std::string> keys) {
  factories_[std::move(kind)] = {std::move(factory), std::move(keys)};
}

const PolicyFactory* PolicyRegistry::Find(std::string_view kind) const {
  auto it = factories_.find(kind);
  return it == factories_.end() ? nullptr : &it->second.factory;
}

std::vector<std::string> PolicyRegistry::Kinds() const {
  std::vector<std::string> out;
  for (const auto& [k, _] : factories_) out.push_back(k);
  return out;
}

const std::vector<std::string>& PolicyRegistry::Keys(std::string_view kind) const {
  static const std::vector<std::string> kNone;
  auto it = factories_.find(kind);
  return it == factories_.end() ? kNone : it->second.keys;
}

}  // namespace rampart::upstream
