// Blackholing repeat offenders: a client that collects `refusals` of rampart's refusals (401,
// 403, 429 by default: failed authentication, forbidden, rate limited, a WAF block) within
// `within` is blackholed for `cooldown`, doubling on each repeat up to `max_cooldown`: its
// connections are closed at accept without a byte sent. The admin API lists, adds (with a TTL)
// and removes entries. One table for the process (every listener, every worker), kept across
// reloads; its memory is bounded (`kCapacity` clients, idle ones evicted first). See README.md.
#pragma once

#include <atomic>
#include <boost/asio/ip/address.hpp>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/clock.h"
#include "gates/blackhole/blackhole_settings.h"

namespace rampart::gates {

class Blackhole {
 public:
  static constexpr std::size_t kCapacity = 65536;
  struct Entry {
    std::string address;
    std::chrono::microseconds remaining{};
    std::uint32_t strikes = 0;  // times blackholed (the next one lasts cooldown * 2^strikes)
    bool manual = false;        // added through the admin API
  };

  explicit Blackhole(std::size_t capacity = kCapacity) : capacity_(capacity) {
    states_.reserve(capacity_ + 1);  // never rehashed: the eviction hand stays valid
    hand_ = states_.end();
  }

  // A refusal rampart answered `client` with. True when it blackholed the client just now.
  bool NoteRefusal(const boost::asio::ip::address& client, int status, const BlackholeSettings& s,
                   SteadyTime now);
  // At accept: is `client` blackholed? (One relaxed load while nobody is.)
  bool Holds(const boost::asio::ip::address& client, SteadyTime now) const;

  void Add(const boost::asio::ip::address& client, std::chrono::microseconds ttl, SteadyTime now);
  // True when the client was held here, or when sharing is on (the lift is published for the
  // instances that hold it).
  bool Remove(const boost::asio::ip::address& client);
  std::vector<Entry> List(SteadyTime now) const;

  // Sharing through Redis (blackhole_sync.h). Once sharing is on, every hole made here and every
  // removal is queued for the sync to publish; the sync then hands over the shared list.
  struct Change {
    std::string address;
    std::chrono::microseconds remaining{};  // 0: removed
    std::int64_t until_ms = 0;  // published changes: when the hole ends, wall-clock milliseconds
  };
  void EnableSharing() noexcept { sharing_.store(true, std::memory_order_relaxed); }
  void DisableSharing();  // and forgets what was waiting to be published
  bool sharing() const noexcept { return sharing_.load(std::memory_order_relaxed); }
  std::vector<Change> TakeChanges();
  // Changes the sync could not publish, put back in front of newer ones.
  void Requeue(std::vector<Change> changes);
  // The shared list as Redis holds it now (address, time left): holes learned from other
  // instances are added; when `complete` (the list was not cut at a read limit), holes learned
  // earlier that are no longer in it were lifted elsewhere (or by an operator) and are lifted
  // here too. Returns how many were learned.
  std::size_t MergeShared(const std::vector<Change>& shared, SteadyTime now, bool complete = true);

  std::uint64_t added_automatically() const noexcept { return auto_added_.load(); }
  std::uint64_t added_shared() const noexcept { return shared_added_.load(); }
  std::uint64_t added_manually() const noexcept { return manual_added_.load(); }
  std::size_t active(SteadyTime now) const;

 private:
  struct State {
    SteadyTime window_start{};
    std::uint32_t count = 0;    // refusals in the window
    std::uint32_t strikes = 0;  // times blackholed
    SteadyTime until{};         // blackholed until
    SteadyTime last{};          // last refusal or hole: for eviction and forgetting strikes
    bool manual = false;
    bool shared = false;  // the hole is in the shared list (learned from it, or published)
  };
  using Key = std::string;  // the address as 16 bytes (IPv4 mapped)
  static Key KeyOf(const boost::asio::ip::address& a);
  static std::string Text(const Key& k);
  void MakeRoom(SteadyTime now);           // under mu_
  void Hole(State& st, SteadyTime until);  // under mu_: the fast path's horizon moves on
  void Publish(const Key& k, std::chrono::microseconds remaining);  // under mu_, when sharing

  std::size_t capacity_;
  mutable std::mutex mu_;
  std::unordered_map<Key, State> states_;
  std::unordered_map<Key, State>::iterator hand_;  // where the next eviction looks (under mu_)
  // The latest `until` of any hole: while `now` is past it, nobody is held (the fast path).
  std::atomic<std::int64_t> holes_until_ns_{0};
  std::atomic<std::uint64_t> auto_added_{0}, manual_added_{0}, shared_added_{0};
  std::atomic<bool> sharing_{false};
  std::vector<Change> changes_;  // under mu_: to publish
};

}  // namespace rampart::gates
