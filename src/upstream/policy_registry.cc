#include "upstream/policy_registry.h"

namespace rampart::upstream {

PolicyRegistry& PolicyRegistry::Instance() {
  static PolicyRegistry registry;
  return registry;
}

}  // namespace rampart::upstream
