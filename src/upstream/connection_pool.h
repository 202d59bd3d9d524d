// Per-worker keep-alive connections to upstream endpoints. Idle connections wait for readability:
// if the origin closes one (or sends anything unasked) while it is idle, it is dropped at once,
// so a request is rarely sent on a dead connection.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/clock.h"
#include "upstream/upstream_spec.h"

namespace rampart::upstream {

struct UpstreamConnection {
  explicit UpstreamConnection(boost::asio::io_context& io) : socket(io) {}
  boost::asio::ip::tcp::socket socket;
  SteadyTime idle_since{};
  std::uint64_t requests = 0;
};

class ConnectionPool {
 public:
  // One endpoint's connections on this worker. Slots are never removed, so a reference stays
  // valid for the pool's lifetime.
  struct Slot {
    struct Idle {
      std::unique_ptr<UpstreamConnection> conn;
      std::chrono::microseconds timeout;
    };
    std::vector<Idle> idle;
    std::uint32_t active = 0;  // requests in flight (for least_request)
  };

  explicit ConnectionPool(boost::asio::io_context& io) : io_(io) {}
  ~ConnectionPool();

  // The slot of `ep`: look it up once per request.
  Slot& For(const EndpointSpec& ep);
  std::uint32_t active_or_zero(const EndpointSpec& ep) const noexcept;

  // An idle connection, or nullptr.
  std::unique_ptr<UpstreamConnection> TakeIdle(Slot& slot);
  // Keeps `conn` for reuse unless the slot already has max_idle idle connections.
  void GiveBack(Slot& slot, std::unique_ptr<UpstreamConnection> conn, std::uint32_t max_idle,
                std::chrono::microseconds idle_timeout, SteadyTime now);
  std::unique_ptr<UpstreamConnection> NewConnection() {
    return std::make_unique<UpstreamConnection>(io_);
  }
  // Closes connections idle for longer than their timeout.
  void Sweep(SteadyTime now);
  std::size_t idle_count() const noexcept;

 private:
  struct Hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept {
      return std::hash<std::string_view>{}(s);
    }
  };
  static void Drop(Slot& slot, UpstreamConnection* conn);

  boost::asio::io_context& io_;
  std::unordered_map<std::string, Slot, Hash, std::equal_to<>> slots_;
};

}  // namespace rampart::upstream
