// Per-worker keep-alive connections to upstream endpoints. A connection the origin closed while
// idle is found by a non-blocking peek: by Sweep() (every second) for all idle connections, and
// by TakeIdle() for one idle longer than kTrustIdleFor. Connections reused sooner than that are
// taken as they are, which keeps the busy path free of extra syscalls (a per-connection
// readiness watch would cost an epoll_ctl on every return to the pool).
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/clock.h"
#include "net/tls_stream.h"
#include "upstream/upstream_spec.h"

namespace rampart::upstream {

struct UpstreamConnection {
  explicit UpstreamConnection(boost::asio::io_context& io) : socket(io) {}
  ~UpstreamConnection() { LeaveInUse(); }
  UpstreamConnection(const UpstreamConnection&) = delete;
  UpstreamConnection& operator=(const UpstreamConnection&) = delete;
  boost::asio::ip::tcp::socket socket;
  // TLS upstreams: the stream over `socket` (declared after it, destroyed before it).
  std::unique_ptr<net::TlsStream> tls;
  SteadyTime idle_since{};
  std::uint64_t requests = 0;
  // Ends the connection with a reset (SO_LINGER 0): used when a request is abandoned after its
  // head went upstream, so the origin sees an aborted request rather than a FIN that a lenient
  // parser could take for the end of a short body.
  void Abort() noexcept;

  // --- In use by a request: linked into its endpoint's list, so a drain can cut it ---
  void JoinInUse(UpstreamConnection*& head) noexcept;
  void LeaveInUse() noexcept;
  // The endpoint's drain ran past its timeout: pending operations end (cancelled, and reads
  // find the end of the stream), and the connection is reset when its request lets go of it.
  void Cut() noexcept;
  bool cut = false;
  // The membership state of the endpoint in the upstream whose request holds the connection: an
  // operator's drain is of one upstream's endpoint, and another upstream may list the same address
  // (one pool slot).
  const void* owner = nullptr;

 private:
  UpstreamConnection** in_use_head_ = nullptr;
  UpstreamConnection* in_use_prev_ = nullptr;
  UpstreamConnection* in_use_next_ = nullptr;
  friend class ConnectionPool;
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
    std::uint32_t active = 0;              // requests in flight (for least_request)
    UpstreamConnection* in_use = nullptr;  // connections requests hold now (a list)
    // A reload removed the endpoint: connections its requests finish with are closed, not kept.
    bool retired = false;
    // The most requests in flight in this window and the last one (windows of kPeakWindow): the
    // idle pool keeps up to that many connections, so a load that comes back finds them open.
    std::uint32_t peak = 0;
    std::uint32_t last_peak = 0;
  };
  // Counts one request in flight on a slot for as long as it lives.
  class ActiveRequest {
   public:
    explicit ActiveRequest(Slot& s) noexcept : s_(s) {
      if (++s_.active > s_.peak) s_.peak = s_.active;
    }
    ~ActiveRequest() { --s_.active; }
    ActiveRequest(const ActiveRequest&) = delete;
    ActiveRequest& operator=(const ActiveRequest&) = delete;

   private:
    Slot& s_;
  };

  static constexpr std::chrono::milliseconds kTrustIdleFor{200};
  static constexpr std::chrono::seconds kPeakWindow{10};
  static constexpr std::uint32_t kMaxIdleFromPeak = 1024;  // per endpoint and worker

  explicit ConnectionPool(boost::asio::io_context& io) : io_(io) {}
  ~ConnectionPool();

  // The slot of `ep`: look it up once per request.
  Slot& For(const EndpointSpec& ep);
  std::uint32_t active_or_zero(const EndpointSpec& ep) const noexcept;

  // An idle connection still open at the origin, or nullptr.
  std::unique_ptr<UpstreamConnection> TakeIdle(Slot& slot, SteadyTime now);
  // Keeps `conn` for reuse unless the slot already has as many idle connections as the larger
  // of max_idle and its recent peak of requests in flight (at most kMaxIdleFromPeak).
  void GiveBack(Slot& slot, std::unique_ptr<UpstreamConnection> conn, std::uint32_t max_idle,
                std::chrono::microseconds idle_timeout, SteadyTime now);
  std::unique_ptr<UpstreamConnection> NewConnection() {
    return std::make_unique<UpstreamConnection>(io_);
  }
  // Closes connections idle for longer than their timeout or closed by the origin.
  void Sweep(SteadyTime now);
  // Closes every idle connection to the endpoint keyed `key` (it is being drained).
  void CloseIdle(std::string_view key);
  // Cuts every connection a request holds to the endpoint keyed `key` (its drain timed out), or
  // only those whose owner is `owner` when it is set; returns how many it cut.
  std::size_t CutInUse(std::string_view key, const void* owner = nullptr);
  // Closes the idle connections to every endpoint `kept` says no (a reload removed it).
  void CloseIdleExcept(const std::function<bool(std::string_view)>& kept);
  // False when the origin closed the connection or sent bytes nobody asked for.
  static bool StillOpen(UpstreamConnection& conn) noexcept;
  std::size_t idle_count() const noexcept;

 private:
  struct Hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept {
      return std::hash<std::string_view>{}(s);
    }
  };

  boost::asio::io_context& io_;
  SteadyTime window_end_{};
  std::unordered_map<std::string, Slot, Hash, std::equal_to<>> slots_;
};

}  // namespace rampart::upstream
