// The cache's shared tier: entries kept in a key-value store on Redis as well as in each
// instance's memory, so the instances behind one load balancer fill each other, and a miss on all
// of them reaches the origin once (single flight across instances).
//
// Per key (its SHA-256, so Redis keys stay short): `e:` the encoded entry (entry_codec.h) after
// the zone's generation it was written under, written with SetFenced; `l:` the lock a leader
// holds for a lease. Per zone: `fence`, the counter every key's fencing tokens come from (they
// only need to grow per key); `gen`, bumped by a
// purge, so every entry written before it reads as absent (a purge by prefix or tag cannot name
// hashed keys one by one). A leader writes its entry under its token, which the store refuses when
// a larger token wrote first: a leader that paused past its lease (a GC pause, a stalled origin)
// cannot overwrite the entry of the leader that followed it. Every call is bounded by the store's
// timeout; an unavailable store reads as a miss and writes as nothing (the cache fails open).
#pragma once

#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "gates/cache/cached_response.h"
#include "state/kv/kv_store.h"

namespace rampart::cache {

class SharedTier {
 public:
  SharedTier(std::shared_ptr<state::KvStore> kv, std::size_t max_entry,
             std::chrono::milliseconds lease)
      : kv_(std::move(kv)), max_entry_(max_entry), lease_(lease) {}

  // What another instance stored for `key` under the zone's current generation (null when
  // absent, older, unavailable or malformed), and that generation.
  struct Found {
    std::shared_ptr<CachedResponse> entry;
    std::int64_t generation = 0;
  };
  boost::asio::awaitable<Found> Get(std::string_view key, int worker);
  // Takes the key's lock for the lease: the fencing token (> 0) when this caller now leads, 0
  // when another instance leads, -1 when the store did not answer.
  boost::asio::awaitable<std::int64_t> Lock(std::string_view key, int worker);
  // Whether some instance holds the key's lock (true when the store did not answer: the caller
  // keeps waiting, bounded by its own timeout).
  boost::asio::awaitable<bool> Locked(std::string_view key, int worker);
  // Writes `e` under `token` for `ttl` (not when larger than max_entry), then releases the lock.
  // kOk written; kExists refused by a larger token; kNotFound not written (too large);
  // kUnavailable the store did not answer.
  boost::asio::awaitable<state::KvStatus> Put(std::string key, std::int64_t token,
                                              std::int64_t generation,
                                              std::shared_ptr<const CachedResponse> e,
                                              std::chrono::milliseconds ttl, int worker);
  // Drops `key`'s entry (an unsafe method changed its target).
  boost::asio::awaitable<void> Erase(std::string key, int worker);
  // A purge: every entry written so far reads as absent. False when the store did not answer.
  boost::asio::awaitable<bool> Flush(int worker);
  // Releases the lock when this token still holds it (a leader that stored nothing).
  boost::asio::awaitable<void> Unlock(std::string key, std::int64_t token, int worker);

 private:
  static std::string Name(char kind, std::string_view key);

  std::shared_ptr<state::KvStore> kv_;
  std::size_t max_entry_;
  std::chrono::milliseconds lease_;
};

}  // namespace rampart::cache
