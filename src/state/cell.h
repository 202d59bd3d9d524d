// The unit of shared state for counters: two 64-bit integers whose meaning belongs to the owner
// (a bucket's level and time, a window's end and count). A zero cell is a key never seen.
#pragma once

#include <cstdint>

namespace rampart::state {

struct Cell {
  std::int64_t a = 0;
  std::int64_t b = 0;
};

}  // namespace rampart::state
