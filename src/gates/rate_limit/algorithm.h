// The rate-limit algorithms as pure functions over a 16-byte cell: no I/O, no clock (time is an
// argument, microseconds since the Unix epoch, so windows align with wall-clock boundaries and
// with Redis TIME). The same arithmetic is written in Lua in redis_script.cc: algorithm_test.cc
// holds the C++ to floating-point reference models, redis_script_test.cc holds the Lua to the C++
// step by step on a real redis-server.
#pragma once

#include <cstdint>
#include <string_view>

#include "state/cell.h"

namespace rampart::rate_limit {

enum class Algorithm : std::uint8_t {
  kTokenBucket,
  kLeakyBucket,
  kFixedWindow,
  kSlidingWindowLog,
  kSlidingWindowCounter,
  kGcra,
};
std::string_view AlgorithmName(Algorithm a) noexcept;

// The leaky bucket either refuses overflow (police) or delays requests to the constant rate
// (shape, like nginx limit_req without nodelay).
enum class LeakyMode : std::uint8_t { kPolice, kShape };

// One limit's numbers: `limit` requests per `period_us`.
struct Policy {
  Algorithm algorithm = Algorithm::kGcra;
  std::int64_t limit = 1;
  std::int64_t period_us = 1'000'000;
  // Token bucket and GCRA: how many requests may pass back to back (the bucket's capacity).
  // Leaky bucket: how many requests may wait ahead of this one (the queue).
  std::int64_t burst = 1;
  LeakyMode leaky_mode = LeakyMode::kPolice;
  std::int64_t max_delay_us = 0;  // shape: refuse rather than delay longer than this
};

// Per-key state. A zero cell is a key never seen (or forgotten): every algorithm treats it as
// "full quota available".
using Cell = state::Cell;

struct Outcome {
  bool allowed = false;
  std::int64_t remaining = 0;       // requests that would still pass right now
  std::int64_t reset_us = 0;        // until the quota is whole again (or the window ends)
  std::int64_t retry_after_us = 0;  // refused: until a request from this key would pass
  std::int64_t delay_us = 0;        // allowed by a shaping leaky bucket: hold it this long
};

// Applies one request of weight `cost` at `now_us`; `window_offset_us` shifts fixed and sliding
// window boundaries for this key (jittered resets). The sliding log does not use a cell; see
// sliding_log.h.
Outcome Acquire(const Policy& p, Cell& c, std::int64_t now_us, std::int64_t cost = 1,
                std::int64_t window_offset_us = 0) noexcept;

// Gives back what Acquire took, when a later limit of the same request refused it.
void Refund(const Policy& p, Cell& c, std::int64_t now_us, std::int64_t cost = 1,
            std::int64_t window_offset_us = 0) noexcept;

// When the cell becomes equivalent to a zero cell: from then on it may be forgotten.
std::int64_t IdleAt(const Policy& p, const Cell& c) noexcept;

// The token-bucket capacity and GCRA burst default to the limit; the leaky queue to 0.
std::int64_t DefaultBurst(Algorithm a, std::int64_t limit) noexcept;

}  // namespace rampart::rate_limit
