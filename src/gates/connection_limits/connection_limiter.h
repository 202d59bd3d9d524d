// A listener's connection caps, judged when a connection is accepted (after its PROXY header,
// when the listener takes one), before TLS and before any byte is sent: a cap on connections
// open at once on the listener, and per client address a cap on connections open at once and a
// rate of new ones. One limiter per listener name for the life of the process, shared by every
// worker: a reload changes its limits, never its counts.
#pragma once

#include <atomic>
#include <boost/asio/ip/address.hpp>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "config/config.h"
#include "gates/connection_limits/source_table.h"

namespace rampart::gates {

enum class ConnectionVerdict : std::uint8_t {
  kAdmitted,
  kMaxConnections,  // the listener's cap
  kMaxPerSource,    // the client's concurrent cap
  kRatePerSource,   // the client's new-connection rate
};

class ConnectionLimiter {
 public:
  static constexpr std::size_t kSourceCapacity = 65536;

  explicit ConnectionLimiter(std::size_t source_capacity = kSourceCapacity)
      : sources_(source_capacity) {}

  // What a connection holds once admitted; Release gives it back.
  struct Ticket {
    bool global = false;
    bool source = false;
    int ipv6_prefix = 64;
    boost::asio::ip::address address;
  };
  // The limits come from the snapshot the connection was accepted under, so a reload that is
  // refused never changes them. The listener cap alone (before a PROXY header names the client):
  ConnectionVerdict AdmitGlobal(const config::ListenerConnections& c, Ticket& t) noexcept;
  // The client's caps.
  ConnectionVerdict AdmitSource(const config::ListenerConnections& c,
                                const boost::asio::ip::address& client, SteadyTime now, Ticket& t);
  void Release(Ticket& t) noexcept;

  std::uint64_t open() const noexcept { return open_.load(std::memory_order_relaxed); }
  std::uint64_t untracked() const noexcept { return untracked_.load(std::memory_order_relaxed); }
  const SourceTable& sources() const noexcept { return sources_; }

 private:
  std::atomic<std::uint64_t> open_{0};
  std::atomic<std::uint64_t> untracked_{0};
  SourceTable sources_;
};

// Limiters by listener name, created on first use and kept across reloads.
class ConnectionLimiters {
 public:
  std::shared_ptr<ConnectionLimiter> For(const std::string& listener);

 private:
  std::mutex mu_;
  std::map<std::string, std::shared_ptr<ConnectionLimiter>, std::less<>> by_listener_;
};

}  // namespace rampart::gates
