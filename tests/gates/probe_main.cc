// rampart_probe: the rampart binary with the test-only gates registered. Integration tests that
// need them run it; it is never installed.
#include "cli.h"
#include "probe_gate.h"

int main(int argc, char** argv) {
  rampart::testing::RegisterProbeGate();
  return rampart::RunCommandLine(argc, argv);
}
