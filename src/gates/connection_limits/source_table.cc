#include "gates/connection_limits/source_table.h"

#include <algorithm>
#include <cstring>
#include <random>

#include "core/hash.h"

namespace rampart::gates {

SourceTable::SourceTable(std::size_t capacity)
    : per_shard_(std::max<std::size_t>(1, (capacity + kShards - 1) / kShards)) {
  hash_.seed = RandomSeed64();
  for (Shard& s : shards_) {
    s.entries.resize(per_shard_);
    s.index = std::unordered_map<Key, std::uint32_t, KeyHash>(per_shard_, hash_);
  }
}

std::size_t SourceTable::KeyHash::operator()(const Key& k) const noexcept {
  std::uint64_t a, b;
  std::memcpy(&a, k.bytes.data(), 8);
  std::memcpy(&b, k.bytes.data() + 8, 8);
  std::uint64_t h =
      (a ^ seed) * 0x9E3779B97F4A7C15ull ^ (b + 0x632BE59BD9B4E019ull + (a << 6) + (a >> 2));
  h ^= h >> 31;
  h *= 0xBF58476D1CE4E5B9ull;
  return static_cast<std::size_t>(h ^ (h >> 29));
}

SourceTable::Key SourceTable::KeyOf(const boost::asio::ip::address& addr,
                                    int ipv6_prefix) noexcept {
  Key k;
  if (addr.is_v4()) {
    // As an IPv4-mapped IPv6 address: one key space, and ::ffff:a.b.c.d is the same source.
    k.bytes[10] = k.bytes[11] = 0xff;
    const auto v4 = addr.to_v4().to_bytes();
    std::memcpy(k.bytes.data() + 12, v4.data(), 4);
  } else {
    k.bytes = addr.to_v6().to_bytes();
    if (k.bytes[0] == 0 && k.bytes[10] == 0xff && k.bytes[11] == 0xff &&
        addr.to_v6().is_v4_mapped())
      return k;  // an IPv4 client: its own address
    const int keep = std::clamp(ipv6_prefix, 0, 128);
    for (int bit = keep; bit < 128; ++bit)
      k.bytes[bit / 8] &= static_cast<std::uint8_t>(~(0x80u >> (bit % 8)));
  }
  return k;
}

SourceTable::Shard& SourceTable::ShardOf(const Key& k) noexcept {
  return shards_[(hash_(k) >> 40) % kShards];
}

const SourceTable::Shard& SourceTable::ShardOf(const Key& k) const noexcept {
  return shards_[(hash_(k) >> 40) % kShards];
}

SourceTable::Entry* SourceTable::Find(Shard& s, const Key& k, SteadyTime now) {
  if (auto it = s.index.find(k); it != s.index.end()) return &s.entries[it->second];
  // CLOCK: two sweeps at most; entries holding connections are never taken.
  for (std::size_t step = 0; step < 2 * per_shard_; ++step) {
    Entry& e = s.entries[s.hand];
    const std::uint32_t at = static_cast<std::uint32_t>(s.hand);
    s.hand = (s.hand + 1) % per_shard_;
    if (e.used && (e.active > 0 || e.referenced)) {
      e.referenced = false;
      continue;
    }
    if (e.used) s.index.erase(e.key);
    e = Entry{k, 0, true, true, -1, now};  // tokens < 0: a fresh bucket (filled on first use)
    s.index.emplace(k, at);
    return &e;
  }
  return nullptr;
}

SourceVerdict SourceTable::Admit(const boost::asio::ip::address& addr, const SourceLimits& limits,
                                 SteadyTime now) {
  const Key k = KeyOf(addr, limits.ipv6_prefix);
  Shard& s = ShardOf(k);
  std::lock_guard lock(s.mu);
  Entry* e = Find(s, k, now);
  if (e == nullptr) return SourceVerdict::kAdmittedUntracked;
  e->referenced = true;
  if (limits.max_per_source != 0 && e->active >= limits.max_per_source)
    return SourceVerdict::kTooMany;
  if (limits.rate_per_second > 0) {
    const double burst = std::max(1.0, limits.burst);
    if (e->tokens < 0) {
      e->tokens = burst;
    } else {
      const double seconds = std::chrono::duration<double>(now - e->refilled).count();
      e->tokens = std::min(burst, e->tokens + std::max(0.0, seconds) * limits.rate_per_second);
    }
    e->refilled = now;
    if (e->tokens < 1) return SourceVerdict::kTooFast;
    e->tokens -= 1;
  }
  ++e->active;
  return SourceVerdict::kAdmitted;
}

void SourceTable::Release(const boost::asio::ip::address& addr, int ipv6_prefix) noexcept {
  const Key k = KeyOf(addr, ipv6_prefix);
  Shard& s = ShardOf(k);
  std::lock_guard lock(s.mu);
  if (auto it = s.index.find(k); it != s.index.end()) {
    Entry& e = s.entries[it->second];
    if (e.active > 0) --e.active;
  }
}

std::size_t SourceTable::size() const noexcept {
  std::size_t n = 0;
  for (const Shard& s : shards_) {
    std::lock_guard lock(s.mu);
    n += s.index.size();
  }
  return n;
}

std::uint32_t SourceTable::active(const boost::asio::ip::address& addr,
                                  int ipv6_prefix) const noexcept {
  const Key k = KeyOf(addr, ipv6_prefix);
  const Shard& s = ShardOf(k);
  std::lock_guard lock(s.mu);
  auto it = s.index.find(k);
  return it == s.index.end() ? 0 : s.entries[it->second].active;
}

}  // namespace rampart::gates
