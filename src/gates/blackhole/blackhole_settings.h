// The top-level `blackhole:` settings (blackhole.h): who counts as a repeat offender, and for how
// long they are shut out.
#pragma once

#include <chrono>
#include <cstdint>
#include <vector>

namespace rampart::gates {

struct BlackholeSettings {
  std::uint32_t refusals = 20;  // within `within`, then blackholed
  std::chrono::microseconds within{10'000'000};
  std::vector<int> statuses = {401, 403, 429};     // rampart's own answers that count
  std::chrono::microseconds cooldown{60'000'000};  // the first hole; doubles on each repeat
  std::chrono::microseconds max_cooldown{3'600'000'000};
  // Shared with every instance on the same Redis (state.redis): blackhole_sync.h.
  bool shared = false;
};

}  // namespace rampart::gates
