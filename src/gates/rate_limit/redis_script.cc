#include "gates/rate_limit/redis_script.h"

#include <openssl/sha.h>

#include <string>

namespace rampart::rate_limit {
namespace {

// Numbers are Lua doubles: exact below 2^53, which config validation keeps every product under.
constexpr std::string_view kScript = R"lua(
local key = KEYS[1]
local op, alg = ARGV[1], ARGV[2]
local limit, period, burst = tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
local shape, max_delay, cost = ARGV[6] == '1', tonumber(ARGV[7]), tonumber(ARGV[8])
local offset = tonumber(ARGV[9])
local now
if ARGV[10] then
  now = tonumber(ARGV[10])  -- only the equivalence tests pass a time; rampart uses Redis TIME
else
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000000 + tonumber(t[2])
end

-- Numbers go to Redis as integer strings (tostring would write 1.79e+15).
local function int(x) return string.format('%d', x) end
local function ceildiv(a, b) if a <= 0 then return 0 end return math.floor((a + b - 1) / b) end
local function save(a, b, c, idle_at)
  local ttl = idle_at - now
  if ttl <= 0 then redis.call('DEL', key) return end
  if c then redis.call('HSET', key, 'a', int(a), 'b', int(b), 'c', int(c))
  else redis.call('HSET', key, 'a', int(a), 'b', int(b)) end
  redis.call('PEXPIRE', key, int(ceildiv(ttl, 1000)))
end
local function load()
  local v = redis.call('HMGET', key, 'a', 'b', 'c')
  return tonumber(v[1]) or 0, tonumber(v[2]) or 0, tonumber(v[3]) or 0
end

if alg == 'token_bucket' then
  local cap = burst * period
  local a, b = load()
  local tokens = cap
  if a ~= 0 then
    local elapsed = math.max(0, now - a)
    if elapsed < ceildiv(cap - b, limit) then tokens = b + elapsed * limit end
  end
  if op == 'refund' then
    tokens = math.min(cap, tokens + cost * period)
    save(now, tokens, nil, now + ceildiv(cap - tokens, limit))
    return {1, 0, 0, 0, 0}
  end
  local need, allowed, retry = cost * period, 0, 0
  if tokens >= need then tokens = tokens - need; allowed = 1
  else retry = ceildiv(need - tokens, limit) end
  save(now, tokens, nil, now + ceildiv(cap - tokens, limit))
  return {allowed, math.floor(tokens / period), ceildiv(cap - tokens, limit), retry, 0}
end

if alg == 'leaky_bucket' then
  local unit = period
  local capacity = (burst + 1) * unit
  local a, b = load()
  local level = 0
  if a ~= 0 then
    local elapsed = math.max(0, now - a)
    if elapsed < ceildiv(b, limit) then level = b - elapsed * limit end
  end
  if op == 'refund' then
    level = math.max(0, level - cost * unit)
    save(now, level, nil, now + ceildiv(level, limit))
    return {1, 0, 0, 0, 0}
  end
  local allowed, retry, delay = 0, 0, 0
  if not shape then
    if level + cost * unit > capacity then retry = ceildiv(level + cost * unit - capacity, limit)
    else allowed = 1 end
  elseif level > burst * unit then
    retry = ceildiv(level - burst * unit, limit)
  else
    local d = ceildiv(level, limit)
    if max_delay > 0 and d > max_delay then retry = d - max_delay
    else allowed = 1; delay = d end
  end
  if allowed == 1 then level = level + cost * unit end
  save(now, level, nil, now + ceildiv(level, limit))
  return {allowed, math.floor(math.max(0, capacity - level) / unit), ceildiv(level, limit), retry,
          delay}
end

if alg == 'gcra' then
  local tint = ceildiv(period, limit)
  local a = load()
  if op == 'refund' then
    if a ~= 0 then save(a - tint * cost, 0, nil, a - tint * cost) end
    return {1, 0, 0, 0, 0}
  end
  local tat = math.max(a, now)
  local new_tat = tat + tint * cost
  local allow_at = new_tat - burst * tint
  if allow_at > now then return {0, 0, tat - now, allow_at - now, 0} end
  save(new_tat, 0, nil, new_tat)
  return {1, math.floor((now - allow_at) / tint), new_tat - now, 0, 0}
end

local end_ = math.floor((now + offset) / period) * period + period - offset

if alg == 'fixed_window' then
  local a, b = load()
  local count = 0
  if a == end_ then count = b end
  if op == 'refund' then
    if a == end_ then save(end_, math.max(0, count - cost), nil, end_) end
    return {1, 0, 0, 0, 0}
  end
  if count + cost > limit then return {0, math.max(0, limit - count), end_ - now, end_ - now, 0} end
  save(end_, count + cost, nil, end_)
  return {1, limit - count - cost, end_ - now, 0, 0}
end

if alg == 'sliding_window_counter' then
  local start = end_ - period
  local a, prev_stored, cur_stored = load()
  local prev, cur = 0, 0
  if a == end_ then prev, cur = prev_stored, cur_stored
  elseif a == start then prev = cur_stored end
  if op == 'refund' then
    if a == end_ then save(end_, prev, math.max(0, cur - cost), end_ + period) end
    return {1, 0, 0, 0, 0}
  end
  local elapsed = now - start
  local weighted = prev * (period - elapsed)
  local budget = limit * period
  local allowed, retry = 0, 0
  if weighted + (cur + cost) * period <= budget then
    cur = cur + cost; allowed = 1
  elseif cur + cost <= limit then
    local e = period - math.floor((limit - cur - cost) * period / prev)
    retry = math.max(1, e - elapsed)
  else
    local e = period
    if limit >= cost and cur > 0 then e = period - math.floor((limit - cost) * period / cur) end
    retry = (end_ - now) + math.max(0, e)
  end
  local left = budget - weighted - cur * period
  local remaining = 0
  if left > 0 then remaining = math.floor(left / period) end
  if allowed == 1 or a ~= end_ then save(end_, prev, cur, end_ + period) end
  return {allowed, remaining, end_ - now, retry, 0}
end

if alg == 'sliding_window_log' then
  -- A list of admission times, oldest first, at most `limit` long.
  while true do
    local oldest = redis.call('LINDEX', key, 0)
    if not oldest or tonumber(oldest) > now - period then break end
    redis.call('LPOP', key)
  end
  if op == 'refund' then
    for i = 1, cost do redis.call('RPOP', key) end
    return {1, 0, 0, 0, 0}
  end
  local size = redis.call('LLEN', key)
  if size + cost > limit then
    local idx = size + cost - limit - 1
    local retry = period
    if idx < size then retry = tonumber(redis.call('LINDEX', key, idx)) + period - now end
    local newest = tonumber(redis.call('LINDEX', key, -1) or now)
    return {0, math.max(0, limit - size), newest + period - now, retry, 0}
  end
  for i = 1, cost do redis.call('RPUSH', key, int(now)) end
  redis.call('PEXPIRE', key, int(ceildiv(period, 1000)))
  return {1, limit - size - cost, period, 0, 0}
end

return redis.error_reply('unknown algorithm ' .. alg)
)lua";

std::string Hex(const unsigned char* d, std::size_t n) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  for (std::size_t i = 0; i < n; ++i) {
    out.push_back(kDigits[d[i] >> 4]);
    out.push_back(kDigits[d[i] & 15]);
  }
  return out;
}

}  // namespace

std::string_view RedisScript() noexcept { return kScript; }

std::string_view RedisScriptSha() noexcept {
  static const std::string sha = [] {
    unsigned char d[SHA_DIGEST_LENGTH];
    SHA1(reinterpret_cast<const unsigned char*>(kScript.data()), kScript.size(), d);
    return Hex(d, sizeof d);
  }();
  return sha;
}

}  // namespace rampart::rate_limit
