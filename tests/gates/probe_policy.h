// A test-only upstream policy (in the rampart_probe test binary, never shipped): it counts every
// attempt's Before, After (successes included) and Ended in metrics, sends a configured status
// to another endpoint, and can refuse every attempt. Exercises the attempt seam end to end.
#pragma once

namespace rampart::testing {

// Registers the "probe_retry" policy kind (call before the command line runs).
void RegisterProbePolicy();

}  // namespace rampart::testing
