#include "state/kv/local_kv.h"

#include <charconv>

#include "state/kv/fenced_value.h"

namespace rampart::state {

std::string_view KvStatusToken(KvStatus s) noexcept {
  switch (s) {
    case KvStatus::kOk:
      return "ok";
    case KvStatus::kNotFound:
      return "not_found";
    case KvStatus::kExists:
      return "exists";
    case KvStatus::kUnavailable:
      return "unavailable";
  }
  return "unknown";
}

LocalKv::LocalKv(std::size_t max_keys, Clock clock)
    : max_per_shard_(std::max<std::size_t>(1, (max_keys + kShards - 1) / kShards)),
      clock_(std::move(clock)) {}

void LocalKv::SweepSome(Shard& s, SteadyTime now) {
  constexpr int kBuckets = 2;  // about two entries per new key: expired ones never pile up
  const std::size_t buckets = s.map.bucket_count();
  for (int i = 0; i < kBuckets; ++i) {
    if (s.cursor >= buckets) s.cursor = 0;
    const std::size_t b = s.cursor++;
    for (auto it = s.map.begin(b); it != s.map.end(b);) {
      if (it->second.expires > now) {
        ++it;
        continue;
      }
      auto victim = s.map.find(it->first);
      ++it;  // erasing an element leaves iterators to the others valid
      s.map.erase(victim);
    }
  }
}

bool LocalKv::MakeRoom(Shard& s, SteadyTime now) {
  SweepSome(s, now);
  if (s.map.size() < max_per_shard_) return true;
  // A shard full of live keys stays full until the first of them expires: until then it answers
  // at once instead of walking every entry again for each insert.
  if (now < s.next_sweep) return false;
  SteadyTime earliest = SteadyTime::max();
  std::erase_if(s.map, [now, &earliest](const auto& kv) {
    if (kv.second.expires <= now) return true;
    earliest = std::min(earliest, kv.second.expires);
    return false;
  });
  s.next_sweep = earliest;
  return s.map.size() < max_per_shard_;
}

KvResult LocalKv::GetNow(std::string_view key) {
  Shard& s = ShardOf(key);
  const SteadyTime now = clock_();
  std::lock_guard lock(s.mu);
  auto it = s.map.find(key);
  if (it == s.map.end()) return {KvStatus::kNotFound, {}, 0};
  if (it->second.expires <= now) {
    s.map.erase(it);
    return {KvStatus::kNotFound, {}, 0};
  }
  return {KvStatus::kOk, it->second.value, 0};
}

KvStatus LocalKv::SetNow(std::string_view key, std::string_view value,
                         std::chrono::milliseconds ttl, bool only_if_absent) {
  Shard& s = ShardOf(key);
  const SteadyTime now = clock_();
  std::lock_guard lock(s.mu);
  auto it = s.map.find(key);
  if (it != s.map.end()) {
    if (only_if_absent && it->second.expires > now) return KvStatus::kExists;
    it->second = {std::string(value), now + ttl};
    s.next_sweep = std::min(s.next_sweep, now + ttl);  // a full shard re-sweeps by then
    return KvStatus::kOk;
  }
  if (!MakeRoom(s, now)) return KvStatus::kUnavailable;
  s.map.emplace(std::string(key), Entry{std::string(value), now + ttl});
  s.next_sweep = std::min(s.next_sweep, now + ttl);  // a full shard re-sweeps by then
  return KvStatus::kOk;
}

KvStatus LocalKv::SetIfPresentNow(std::string_view key, std::string_view value,
                                  std::chrono::milliseconds ttl) {
  Shard& s = ShardOf(key);
  const SteadyTime now = clock_();
  std::lock_guard lock(s.mu);
  auto it = s.map.find(key);
  if (it == s.map.end() || it->second.expires <= now) return KvStatus::kNotFound;
  it->second = {std::string(value), now + ttl};
  s.next_sweep = std::min(s.next_sweep, now + ttl);  // a full shard re-sweeps by then
  return KvStatus::kOk;
}

boost::asio::awaitable<KvStatus> LocalKv::SetIfPresent(std::string_view key, std::string_view value,
                                                       std::chrono::milliseconds ttl, int) {
  co_return SetIfPresentNow(key, value, ttl);
}

KvStatus LocalKv::DeleteNow(std::string_view key) {
  Shard& s = ShardOf(key);
  std::lock_guard lock(s.mu);
  auto it = s.map.find(key);
  if (it == s.map.end()) return KvStatus::kNotFound;
  s.map.erase(it);
  return KvStatus::kOk;
}

KvStatus LocalKv::CompareNow(std::string_view key, std::string_view expected,
                             std::string_view value, std::chrono::milliseconds ttl, bool erase) {
  Shard& s = ShardOf(key);
  const SteadyTime now = clock_();
  std::lock_guard lock(s.mu);
  auto it = s.map.find(key);
  if (it == s.map.end() || it->second.expires <= now) return KvStatus::kNotFound;
  if (it->second.value != expected) return KvStatus::kExists;
  if (erase) {
    s.map.erase(it);
  } else {
    it->second.value.assign(value);
    it->second.expires = now + ttl;
    s.next_sweep = std::min(s.next_sweep, now + ttl);  // a full shard re-sweeps by then
  }
  return KvStatus::kOk;
}

boost::asio::awaitable<KvStatus> LocalKv::CompareAndSet(std::string_view key,
                                                        std::string_view expected,
                                                        std::string_view value,
                                                        std::chrono::milliseconds ttl, int) {
  co_return CompareNow(key, expected, value, ttl, false);
}

boost::asio::awaitable<KvStatus> LocalKv::CompareAndDelete(std::string_view key,
                                                           std::string_view expected, int) {
  co_return CompareNow(key, expected, {}, {}, true);
}

KvResult LocalKv::IncrementNow(std::string_view key, std::chrono::milliseconds ttl) {
  Shard& s = ShardOf(key);
  const SteadyTime now = clock_();
  std::lock_guard lock(s.mu);
  auto it = s.map.find(key);
  std::int64_t n = 0;
  if (it != s.map.end() && it->second.expires > now) {
    std::from_chars(it->second.value.data(), it->second.value.data() + it->second.value.size(), n);
    it->second.value = std::to_string(++n);
    return {KvStatus::kOk, it->second.value, n};
  }
  if (it == s.map.end() && !MakeRoom(s, now)) return {KvStatus::kUnavailable, {}, 0};
  s.map[std::string(key)] = Entry{"1", now + ttl};
  s.next_sweep = std::min(s.next_sweep, now + ttl);  // a full shard re-sweeps by then
  return {KvStatus::kOk, "1", 1};
}

KvStatus LocalKv::SetFencedNow(std::string_view key, std::int64_t token, std::string_view value,
                               std::chrono::milliseconds ttl) {
  std::string stored = FenceDigits(token);  // built before the lock: values may be large
  stored.reserve(kFenceDigits + 1 + value.size());
  stored.append(1, '\n').append(value);
  const std::string_view digits = std::string_view(stored).substr(0, kFenceDigits);
  Shard& s = ShardOf(key);
  const SteadyTime now = clock_();
  std::lock_guard lock(s.mu);
  auto it = s.map.find(key);
  if (it != s.map.end()) {
    if (it->second.expires > now && FencedByNewer(it->second.value, digits)) {
      return KvStatus::kExists;
    }
    it->second = {std::move(stored), now + ttl};
  } else {
    if (!MakeRoom(s, now)) return KvStatus::kUnavailable;
    s.map.emplace(std::string(key), Entry{std::move(stored), now + ttl});
  }
  s.next_sweep = std::min(s.next_sweep, now + ttl);  // a full shard re-sweeps by then
  return KvStatus::kOk;
}

KvResult LocalKv::GetFencedNow(std::string_view key) {
  KvResult r = GetNow(key);
  std::string_view value;
  if (r.status != KvStatus::kOk) return r;
  if (!ParseFenced(r.value, r.number, value)) return {KvStatus::kNotFound, {}, 0};
  r.value.erase(0, r.value.size() - value.size());
  return r;
}

std::size_t LocalKv::size() const {
  std::size_t n = 0;
  for (const Shard& s : shards_) {
    std::lock_guard lock(s.mu);
    n += s.map.size();
  }
  return n;
}

boost::asio::awaitable<KvResult> LocalKv::Get(std::string_view key, int) { co_return GetNow(key); }

boost::asio::awaitable<std::array<KvResult, 2>> LocalKv::GetTwo(std::string_view a,
                                                                std::string_view b, int) {
  co_return std::array<KvResult, 2>{GetNow(a), GetNow(b)};
}

boost::asio::awaitable<KvResult> LocalKv::Scan(std::string_view prefix, std::size_t limit, int) {
  KvResult out{KvStatus::kOk, {}, 0};
  const SteadyTime now = clock_();
  for (Shard& s : shards_) {
    std::lock_guard lock(s.mu);
    for (const auto& [k, e] : s.map) {
      if (out.keys.size() >= limit) co_return out;
      if (e.expires > now && std::string_view(k).starts_with(prefix)) out.keys.push_back(k);
    }
  }
  co_return out;
}

boost::asio::awaitable<KvStatus> LocalKv::Set(std::string_view key, std::string_view value,
                                              std::chrono::milliseconds ttl, int) {
  co_return SetNow(key, value, ttl, false);
}

boost::asio::awaitable<KvStatus> LocalKv::SetIfAbsent(std::string_view key, std::string_view value,
                                                      std::chrono::milliseconds ttl, int) {
  co_return SetNow(key, value, ttl, true);
}

boost::asio::awaitable<KvStatus> LocalKv::Delete(std::string_view key, int) {
  co_return DeleteNow(key);
}

boost::asio::awaitable<KvStatus> LocalKv::SetFenced(std::string_view key, std::int64_t token,
                                                    std::string_view value,
                                                    std::chrono::milliseconds ttl, int) {
  co_return SetFencedNow(key, token, value, ttl);
}

boost::asio::awaitable<KvResult> LocalKv::GetFenced(std::string_view key, int) {
  co_return GetFencedNow(key);
}

boost::asio::awaitable<KvResult> LocalKv::Increment(std::string_view key,
                                                    std::chrono::milliseconds ttl, int) {
  co_return IncrementNow(key, ttl);
}

}  // namespace rampart::state
