// rampart_probe: the rampart binary with the test-only gate and policy registered. Integration
// tests that need them run it; it is never installed.
#include "cli.h"
#include "net/tls/openssl_memory.h"
#include "probe_gate.h"
#include "probe_policy.h"

int main(int argc, char** argv) {
  rampart::net::tls::RouteOpenSslAllocations();  // as rampart's own main
  rampart::testing::RegisterProbeGate();
  rampart::testing::RegisterProbePolicy();
  return rampart::RunCommandLine(argc, argv);
}
