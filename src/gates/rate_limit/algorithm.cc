#include "gates/rate_limit/algorithm.h"

#include <algorithm>

namespace rampart::rate_limit {
namespace {

using i64 = std::int64_t;

i64 CeilDiv(i64 a, i64 b) noexcept { return a <= 0 ? 0 : (a + b - 1) / b; }

// Token and leaky buckets count in units of 1/period_us of a request, so that `limit` units leak
// or refill per microsecond and every step is an exact integer.

i64 TokensNow(const Policy& p, const Cell& c, i64 now) noexcept {
  const i64 cap = p.burst * p.period_us;
  if (c.a == 0) return cap;
  const i64 elapsed = std::max<i64>(0, now - c.a);
  if (elapsed >= CeilDiv(cap - c.b, p.limit)) return cap;
  return c.b + elapsed * p.limit;
}

Outcome TokenBucket(const Policy& p, Cell& c, i64 now, i64 cost) noexcept {
  const i64 cap = p.burst * p.period_us;
  const i64 need = cost * p.period_us;
  i64 tokens = TokensNow(p, c, now);
  Outcome o;
  if (tokens >= need) {
    tokens -= need;
    o.allowed = true;
  } else {
    o.retry_after_us = CeilDiv(need - tokens, p.limit);
  }
  c = {now, tokens};
  o.remaining = tokens / p.period_us;
  o.reset_us = CeilDiv(cap - tokens, p.limit);
  return o;
}

i64 LevelNow(const Policy& p, const Cell& c, i64 now) noexcept {
  if (c.a == 0) return 0;
  const i64 elapsed = std::max<i64>(0, now - c.a);
  if (elapsed >= CeilDiv(c.b, p.limit)) return 0;
  return c.b - elapsed * p.limit;
}

Outcome LeakyBucket(const Policy& p, Cell& c, i64 now, i64 cost) noexcept {
  const i64 unit = p.period_us;
  const i64 capacity = (p.burst + 1) * unit;  // the request in service plus the queue
  i64 level = LevelNow(p, c, now);
  Outcome o;
  if (p.leaky_mode == LeakyMode::kPolice) {
    if (level + cost * unit > capacity) {
      o.retry_after_us = CeilDiv(level + cost * unit - capacity, p.limit);
    } else {
      o.allowed = true;
    }
  } else if (level > p.burst * unit) {
    o.retry_after_us = CeilDiv(level - p.burst * unit, p.limit);
  } else {
    const i64 delay = CeilDiv(level, p.limit);
    if (p.max_delay_us > 0 && delay > p.max_delay_us) {
      o.retry_after_us = delay - p.max_delay_us;
    } else {
      o.allowed = true;
      o.delay_us = delay;
    }
  }
  if (o.allowed) level += cost * unit;
  c = {now, level};
  o.remaining = std::max<i64>(0, capacity - level) / unit;
  o.reset_us = CeilDiv(level, p.limit);
  return o;
}

i64 EmissionInterval(const Policy& p) noexcept { return CeilDiv(p.period_us, p.limit); }

Outcome Gcra(const Policy& p, Cell& c, i64 now, i64 cost) noexcept {
  const i64 t = EmissionInterval(p);
  const i64 tat = std::max(c.a, now);
  const i64 new_tat = tat + t * cost;
  const i64 allow_at = new_tat - p.burst * t;
  Outcome o;
  if (allow_at > now) {
    o.retry_after_us = allow_at - now;
    o.reset_us = tat - now;
    return o;
  }
  c.a = new_tat;
  o.allowed = true;
  o.remaining = (now - allow_at) / t;
  o.reset_us = new_tat - now;
  return o;
}

// Windows are [end - period, end), with end = k * period - offset. The cell keeps the end of the
// window it counts, which names the window and says when the count stops mattering.
i64 WindowEnd(const Policy& p, i64 now, i64 offset) noexcept {
  return (now + offset) / p.period_us * p.period_us + p.period_us - offset;
}

Outcome FixedWindow(const Policy& p, Cell& c, i64 now, i64 cost, i64 offset) noexcept {
  const i64 end = WindowEnd(p, now, offset);
  const i64 count = c.a == end ? c.b : 0;
  Outcome o;
  o.reset_us = end - now;
  if (count + cost > p.limit) {
    o.retry_after_us = end - now;
    o.remaining = std::max<i64>(0, p.limit - count);
    return o;
  }
  c = {end, count + cost};
  o.allowed = true;
  o.remaining = p.limit - count - cost;
  return o;
}

// The sliding window counter keeps two counts in b: the previous window's (high 32 bits) and the
// current one's (low 32 bits); the estimate weighs the previous count by the part of the sliding
// window that still overlaps it. Counts never exceed limit + 1 and config validation keeps
// (limit + 1) * period under 2^53, so the products fit in 64 bits.
Outcome SlidingWindowCounter(const Policy& p, Cell& c, i64 now, i64 cost, i64 offset) noexcept {
  const i64 period = p.period_us;
  const i64 end = WindowEnd(p, now, offset);
  const i64 start = end - period;
  i64 prev = 0, cur = 0;
  if (c.a == end) {
    prev = static_cast<i64>(static_cast<std::uint64_t>(c.b) >> 32);
    cur = c.b & 0xffffffff;
  } else if (c.a == start) {
    prev = c.b & 0xffffffff;
  }
  const i64 elapsed = now - start;
  const i64 weighted_prev = prev * (period - elapsed);
  const i64 budget = p.limit * period;
  Outcome o;
  o.reset_us = end - now;
  if (weighted_prev + (cur + cost) * period <= budget) {
    cur += cost;
    o.allowed = true;
  } else if (cur + cost <= p.limit) {
    // Later in this window: prev * (period - e) <= (limit - cur - cost) * period.
    const i64 e = period - (p.limit - cur - cost) * period / prev;
    o.retry_after_us = std::max<i64>(1, e - elapsed);
  } else {
    // Next window, where this window's count becomes the previous one.
    i64 e = period;
    if (p.limit >= cost && cur > 0) {
      e = period - (p.limit - cost) * period / cur;
    }
    o.retry_after_us = (end - now) + std::max<i64>(0, e);
  }
  const i64 left = budget - weighted_prev - cur * period;
  o.remaining = left <= 0 ? 0 : left / period;
  if (o.allowed || c.a != end) {
    c = {end, static_cast<i64>((static_cast<std::uint64_t>(prev) << 32) |
                               static_cast<std::uint64_t>(cur))};
  }
  return o;
}

}  // namespace

std::string_view AlgorithmName(Algorithm a) noexcept {
  switch (a) {
    case Algorithm::kTokenBucket:
      return "token_bucket";
    case Algorithm::kLeakyBucket:
      return "leaky_bucket";
    case Algorithm::kFixedWindow:
      return "fixed_window";
    case Algorithm::kSlidingWindowLog:
      return "sliding_window_log";
    case Algorithm::kSlidingWindowCounter:
      return "sliding_window_counter";
    case Algorithm::kGcra:
      return "gcra";
  }
  return "unknown";
}

std::int64_t DefaultBurst(Algorithm a, std::int64_t limit) noexcept {
  return a == Algorithm::kLeakyBucket ? 0 : limit;
}

Outcome Acquire(const Policy& p, Cell& c, std::int64_t now_us, std::int64_t cost,
                std::int64_t window_offset_us) noexcept {
  switch (p.algorithm) {
    case Algorithm::kTokenBucket:
      return TokenBucket(p, c, now_us, cost);
    case Algorithm::kLeakyBucket:
      return LeakyBucket(p, c, now_us, cost);
    case Algorithm::kFixedWindow:
      return FixedWindow(p, c, now_us, cost, window_offset_us);
    case Algorithm::kSlidingWindowCounter:
      return SlidingWindowCounter(p, c, now_us, cost, window_offset_us);
    case Algorithm::kGcra:
      return Gcra(p, c, now_us, cost);
    case Algorithm::kSlidingWindowLog:
      break;  // keeps a log, not a cell
  }
  return {};
}

void Refund(const Policy& p, Cell& c, std::int64_t now_us, std::int64_t cost,
            std::int64_t window_offset_us) noexcept {
  switch (p.algorithm) {
    case Algorithm::kTokenBucket: {
      const i64 cap = p.burst * p.period_us;
      c = {now_us, std::min(cap, TokensNow(p, c, now_us) + cost * p.period_us)};
      break;
    }
    case Algorithm::kLeakyBucket:
      c = {now_us, std::max<i64>(0, LevelNow(p, c, now_us) - cost * p.period_us)};
      break;
    case Algorithm::kGcra:
      c.a -= EmissionInterval(p) * cost;
      if (c.a <= now_us) c = {};
      break;
    case Algorithm::kFixedWindow:
      if (c.a == WindowEnd(p, now_us, window_offset_us)) c.b = std::max<i64>(0, c.b - cost);
      break;
    case Algorithm::kSlidingWindowCounter:
      if (c.a == WindowEnd(p, now_us, window_offset_us)) {
        const i64 cur = std::max<i64>(0, (c.b & 0xffffffff) - cost);
        c.b = static_cast<i64>((static_cast<std::uint64_t>(c.b) & 0xffffffff00000000ULL) |
                               static_cast<std::uint64_t>(cur));
      }
      break;
    case Algorithm::kSlidingWindowLog:
      break;
  }
}

std::int64_t IdleAt(const Policy& p, const Cell& c) noexcept {
  if (c.a == 0) return 0;
  switch (p.algorithm) {
    case Algorithm::kTokenBucket:
      return c.a + CeilDiv(p.burst * p.period_us - c.b, p.limit);
    case Algorithm::kLeakyBucket:
      return c.a + CeilDiv(c.b, p.limit);
    case Algorithm::kGcra:
      return c.a;
    case Algorithm::kFixedWindow:
      return c.a;
    case Algorithm::kSlidingWindowCounter:
      return c.a + p.period_us;
    case Algorithm::kSlidingWindowLog:
      break;
  }
  return 0;
}

}  // namespace rampart::rate_limit
