// The Lua script that makes one rate-limit decision inside Redis: the arithmetic of
// algorithm.cc, on Redis server time (so instances with skewed clocks agree), touching one key.
#pragma once

#include <string_view>

namespace rampart::rate_limit {

// KEYS[1]: the limit's key (hash-tagged). ARGV: op ("acquire" | "refund"), algorithm name,
// limit, period_us, burst, shape (0 | 1), max_delay_us, cost, window_offset_us, and optionally
// now_us (tests only: it replaces Redis TIME so that a scripted clock can drive the script).
// Returns {allowed (0|1), remaining, reset_us, retry_after_us, delay_us}.
std::string_view RedisScript() noexcept;

// The script's SHA1, as EVALSHA wants it (computed once).
std::string_view RedisScriptSha() noexcept;

}  // namespace rampart::rate_limit
