// A test-only gate (compiled into the rampart_probe test binary, never shipped) that exercises
// every phase of the forwarding driver so the integration tests can watch them over all four
// protocol pairs: it notes each phase in an X-Probe-Phases response header, refuses or serves a
// stored response on request, inspects the body, replaces rampart's own errors, taps the
// response body, and counts completions (exactly one per exchange).
#pragma once

#include <yaml-cpp/yaml.h>

#include <memory>

#include "pipeline/gate.h"
#include "pipeline/gate_registry.h"

namespace rampart::testing {

// Registers the "probe" gate kind (call before the command line runs).
void RegisterProbeGate();

}  // namespace rampart::testing
