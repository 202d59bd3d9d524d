// Request coalescing: the keys of a cache zone whose answers are being fetched from the origin
// right now, one fetch per key for the process. The first miss on a key leads (goes to the
// origin); the misses that follow wait for it to land, bounded in time, and then look the key up
// again (a hit, or the origin themselves if the leader's answer could not be stored). A leader
// that never lands (its exchange died without its gate state being destroyed) holds the key only
// for the lease: after that the next miss leads. A key whose leader's answer could not be stored
// (no-store, private, too large, ...) is marked to pass for a while: its misses then go to the
// origin at once instead of queueing behind one another (what Varnish calls hit-for-miss).
//
// Shared by every worker: a mutex guards the table for a lookup or an insert, never across a
// wait. Waiters are woken on their own worker's loop (their timers are cancelled there).
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/clock.h"
#include "gates/cache/cache_store.h"
#include "gates/cache/fill.h"

namespace rampart::cache {

class Flights {
 public:
  // A leader's claim on a key; 0: not a leader.
  using Token = std::uint64_t;
  // What a miss does: fetch and land (kLead), wait for the leader (kWait), or go to the origin
  // without either (kPass: the key's answers are not stored).
  enum class Role : std::uint8_t { kLead, kWait, kPass };
  struct Claim {
    Role role = Role::kPass;
    Token token = 0;  // kLead
  };

  // Claims `key` when nobody leads it (or its leader's lease, since `now`, has passed, or its
  // pass mark expired): the caller fetches, then calls Land with the token.
  Claim Lead(std::string_view key, SteadyTime now, std::chrono::microseconds lease);
  // The same with the key's KeyedHash, already computed for the store.
  Claim Lead(std::string_view key, std::uint64_t hash, SteadyTime now,
             std::chrono::microseconds lease);
  // Holds `key` for a background refresh about to be sent: true when nobody led or held it (and
  // it is not marked to pass), so that of many stale hits at once only one asks for a refresh.
  // The refresh's own Lead takes the hold over; an unclaimed hold ends with the lease.
  bool Reserve(std::string_view key, SteadyTime now, std::chrono::microseconds lease);
  // The leader is done (stored or not): its waiters wake. Only the token's holder lands. With
  // `pass_until`, the key's misses pass until then (its answer could not be stored). `failed`:
  // the origin failed the leader, which its waiters learn (Waited::failed) so that they need not
  // try it again themselves.
  void Land(std::string_view key, Token token, SteadyTime pass_until = {},
            bool failed = false) noexcept;
  // The leader's answer as it arrives, for its waiters to read as it streams: they wake now.
  void Offer(std::string_view key, Token token, std::shared_ptr<Fill> fill);
  // Waits on the calling coroutine's executor until `key` lands, its leader offers its answer
  // as it streams (`fill`), or `timeout` passes (`landed` false).
  struct Waited {
    bool landed = false;
    bool failed = false;  // landed, and the origin failed the leader
    std::shared_ptr<Fill> fill;
  };
  boost::asio::awaitable<Waited> Wait(std::string key, std::chrono::microseconds timeout);

  std::size_t leading() const;  // keys in flight (metrics, tests)

 private:
  // The waiter's coroutine owns its timer: once it is gone (it timed out, or its loop was
  // destroyed) the entry wakes nobody, and its executor is never used.
  struct Waiter {
    boost::asio::any_io_executor executor;
    std::weak_ptr<boost::asio::steady_timer> timer;
    std::shared_ptr<bool> failed;  // set before the wake-up when the leader's origin failed
  };
  struct Flight {
    Token token = 0;        // 0: a pass mark
    bool reserved = false;  // held for a refresh whose Lead has not come yet
    SteadyTime until{};     // the lease (or the pass mark's end): after it, another may lead
    std::vector<Waiter> waiters;
    std::shared_ptr<Fill> fill;  // offered by the leader
  };
  // A key with its KeyedHash, for a lookup that does not hash it again.
  struct Hashed {
    std::string_view text;
    std::uint64_t hash;
  };
  struct Hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept { return KeyedHash(s); }
    std::size_t operator()(const Hashed& k) const noexcept { return k.hash; }
  };
  struct Equal {
    using is_transparent = void;
    bool operator()(std::string_view a, std::string_view b) const noexcept { return a == b; }
    bool operator()(const Hashed& a, std::string_view b) const noexcept { return a.text == b; }
    bool operator()(std::string_view a, const Hashed& b) const noexcept { return a == b.text; }
  };
  static void Wake(std::vector<Waiter>& waiters, bool failed = false) noexcept;
  // Drops expired pass marks when the table grows (under the lock).
  void Sweep(SteadyTime now);

  static constexpr std::size_t kSweepAt = 4096;
  // Pass marks are not kept beyond this many keys in flight or marked (a flood of distinct
  // uncacheable URLs): those keys simply coalesce.
  static constexpr std::size_t kMaxEntries = 65536;
  mutable std::mutex mu_;
  std::unordered_map<std::string, Flight, Hash, Equal> flights_;
  std::size_t sweep_at_ = kSweepAt;
  Token next_ = 1;
};

}  // namespace rampart::cache
