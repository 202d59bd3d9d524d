// The cache's memory (RFC 9111 storage, rampart's policy): entries keyed by a primary key
// (method, scheme, host, path, chosen query parameters), each key holding its variants (one per
// combination of the request header values its response's Vary names). Bounded in bytes; shared
// by every worker (sharded, a mutex per shard, held for a lookup or an insert, never across I/O).
//
// Admission and eviction follow W-TinyLFU (Einziger, Friedman and Manes, "TinyLFU: A Highly
// Efficient Cache Admission Policy", 2017): a count-min sketch of recent key frequencies (4-bit
// counters halved every `10 x capacity in entries` increments), a small window LRU (1% of the
// bytes) in front of a segmented LRU main area (probation 20%, protected 80%). A key evicted
// from the window enters the main area only if the sketch says it is asked for more often than
// the main area's victim, so a scan of one-off keys cannot flush the hot set (plain LRU's
// failure). bench: BM_CacheHitRatio* (Zipf keys against plain LRU).
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/keyed_hash.h"
#include "gates/cache/cached_response.h"

namespace rampart::cache {

// A cache key's hash is core/keyed_hash.h's KeyedHash (seeded per process, so a client cannot
// choose keys that collide in the store or the flights table): computed once per request, for
// the store and Flights.

class CacheStore {
 public:
  // `max_bytes`: the bound on all entries' charges; `shards`: power of two.
  explicit CacheStore(std::size_t max_bytes, std::size_t shards = 16);
  ~CacheStore();
  CacheStore(const CacheStore&) = delete;
  CacheStore& operator=(const CacheStore&) = delete;

  // The variant of `key` whose Vary values `match` accepts (called with each variant under the
  // shard's lock: must not block), or null. Counts the key's frequency in the sketch either way.
  std::shared_ptr<const CachedResponse> Get(
      std::string_view key, const std::function<bool(const CachedResponse&)>& match);
  // The same with the key's KeyedHash, computed by the caller once for this and Flights.
  std::shared_ptr<const CachedResponse> Get(
      std::string_view key, std::uint64_t hash,
      const std::function<bool(const CachedResponse&)>& match);
  // Stores (or replaces the variant with the same vary_names and vary_values). Returns false
  // when the entry is larger than an eighth of max_bytes or admission refused it.
  bool Put(std::string_view key, std::shared_ptr<const CachedResponse> entry);
  // Removes every variant of `key`; returns how many entries went.
  std::size_t Erase(std::string_view key);
  // Removes every entry whose key starts with `prefix`, or that carries `tag` (a scan of all
  // shards: for the admin API, not the request path).
  std::size_t ErasePrefix(std::string_view prefix);
  std::size_t EraseTag(std::string_view tag);

  std::size_t bytes() const noexcept;
  std::size_t entries() const noexcept;
  std::uint64_t evictions() const noexcept;
  std::uint64_t admissions_refused() const noexcept;

 private:
  struct Shard;
  std::size_t max_bytes_;
  std::vector<std::unique_ptr<Shard>> shards_;
  // A counter each shard publishes after every locked operation, summed over the shards.
  template <typename T>
  T Sum(std::atomic<T> Shard::*published) const noexcept;
  Shard& ShardFor(std::uint64_t key_hash) noexcept;
};

}  // namespace rampart::cache
