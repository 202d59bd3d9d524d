// Per-source connection accounting shared by every worker of a listener: how many connections
// each client address holds now, and a token bucket of its new connections. Bounded: a fixed
// number of entries, sharded under small mutexes; when a shard is full, a source that holds no
// connection is evicted (CLOCK order), so a flood of new addresses cannot grow memory. A source
// that cannot be given an entry (every entry in its shard holds live connections) is admitted
// untracked and counted: the listener's global cap still bounds it.
#pragma once

#include <array>
#include <boost/asio/ip/address.hpp>
#include <cstdint>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "core/clock.h"

namespace rampart::gates {

struct SourceLimits {
  std::uint32_t max_per_source = 0;  // concurrent connections; 0 = no cap
  double rate_per_second = 0;        // new connections per second; 0 = no rate
  double burst = 0;                  // bucket size (at least 1 when a rate is set)
  // IPv6 clients are counted by network: one subscriber usually holds a whole /64 and could
  // otherwise take a fresh address for every connection.
  int ipv6_prefix = 64;
};

enum class SourceVerdict : std::uint8_t { kAdmitted, kAdmittedUntracked, kTooMany, kTooFast };

class SourceTable {
 public:
  // `capacity` entries in all (rounded up to a multiple of the shard count).
  explicit SourceTable(std::size_t capacity);

  // A new connection from `addr` at `now`. kAdmitted: call Release(addr) when it closes.
  SourceVerdict Admit(const boost::asio::ip::address& addr, const SourceLimits& limits,
                      SteadyTime now);
  // `ipv6_prefix` as at Admit.
  void Release(const boost::asio::ip::address& addr, int ipv6_prefix) noexcept;

  std::size_t capacity() const noexcept { return shards_.size() * per_shard_; }
  std::size_t size() const noexcept;  // entries in use
  std::uint32_t active(const boost::asio::ip::address& addr,
                       int ipv6_prefix = 64) const noexcept;  // for tests

 private:
  struct Key {
    std::array<std::uint8_t, 16> bytes{};
    bool operator==(const Key&) const = default;
  };
  struct KeyHash {
    std::uint64_t seed = 0;  // per table, random: which addresses share a shard is not known
    std::size_t operator()(const Key& k) const noexcept;
  };
  struct Entry {
    Key key;
    std::uint32_t active = 0;
    bool used = false;
    bool referenced = false;  // CLOCK: touched since the hand last passed
    double tokens = 0;
    SteadyTime refilled{};
  };
  struct Shard {
    mutable std::mutex mu;
    std::vector<Entry> entries;
    std::unordered_map<Key, std::uint32_t, KeyHash> index{0, KeyHash{}};
    std::size_t hand = 0;
  };
  static constexpr std::size_t kShards = 64;
  static Key KeyOf(const boost::asio::ip::address& addr, int ipv6_prefix) noexcept;
  Shard& ShardOf(const Key& k) noexcept;
  const Shard& ShardOf(const Key& k) const noexcept;
  // An entry for `k` in `s` (locked): found, free, or evicted from an idle source; null when
  // every entry holds live connections.
  Entry* Find(Shard& s, const Key& k, SteadyTime now);

  std::size_t per_shard_;
  KeyHash hash_;
  std::array<Shard, kShards> shards_;
};

}  // namespace rampart::gates
