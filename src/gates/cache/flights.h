// Request coalescing: the keys of a cache zone whose answers are being fetched from the origin
// right now, one fetch per key for the process. The first miss on a key leads (goes to the
// origin); the misses that follow wait for it to land, bounded in time, and then look the key up
// again (a hit, or the origin themselves if the leader's answer could not be stored). A leader
// that never lands (its exchange died without its gate state being destroyed) holds the key only
// for the lease: after that the next miss leads.
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

namespace rampart::cache {

class Flights {
 public:
  // A leader's claim on a key; 0: not a leader.
  using Token = std::uint64_t;

  // Claims `key` when nobody leads it (or its leader's lease, since `now`, has passed): the
  // caller fetches, then calls Land with the token. 0 when another leads.
  Token Lead(std::string_view key, SteadyTime now, std::chrono::microseconds lease);
  // Whether someone leads `key` now (a cheap look before asking for a background refresh).
  bool Busy(std::string_view key, SteadyTime now);
  // The leader is done (stored or not): its waiters wake. Only the token's holder lands.
  void Land(std::string_view key, Token token) noexcept;
  // Waits on the calling coroutine's executor until `key` lands or `timeout` passes: true when it
  // landed (or nobody led it), false on the timeout.
  boost::asio::awaitable<bool> Wait(std::string key, std::chrono::microseconds timeout);

  std::size_t leading() const;  // keys in flight (metrics, tests)

 private:
  struct Waiter {
    boost::asio::any_io_executor executor;
    std::shared_ptr<boost::asio::steady_timer> timer;
  };
  struct Flight {
    Token token = 0;
    SteadyTime until{};  // the lease: after it, another may lead
    std::vector<Waiter> waiters;
  };
  static void Wake(std::vector<Waiter>& waiters) noexcept;

  mutable std::mutex mu_;
  std::unordered_map<std::string, Flight> flights_;
  Token next_ = 1;
};

}  // namespace rampart::cache
