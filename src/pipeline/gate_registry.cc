#include "pipeline/gate_registry.h"

namespace rampart {

GateRegistry& GateRegistry::Instance() {
  static GateRegistry registry;
  return registry;
}

}  // namespace rampart
