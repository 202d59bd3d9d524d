// A connection to an upstream endpoint: an idle pooled one, else a new one (TCP connect, then the
// TLS handshake on TLS upstreams, both bounded by the upstream's connect_timeout). Shared by
// HTTP/1.1 sessions and HTTP/2 streams; the caller turns a failure into its own protocol's answer.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <span>
#include <string_view>

#include "http/h2/fields.h"
#include "observe/metrics.h"
#include "server/deadline.h"
#include "server/request_state.h"
#include "upstream/connection_pool.h"

namespace rampart::server {

class Worker;
namespace h2 {
class UpstreamStream;
}

enum class ConnectFailure : std::uint8_t { kNone, kTimeout, kRefused, kTls };

// A new connection to `ep`: TCP connect, then the TLS handshake on TLS upstreams, both bounded by
// the upstream's connect_timeout through `dl` (armed here with kConnect; the owner's deadline
// check cancels conn.socket when it passes).
boost::asio::awaitable<ConnectFailure> ConnectUpstream(Worker& worker,
                                                       const upstream::UpstreamSpec& up,
                                                       const upstream::EndpointSpec& ep,
                                                       upstream::UpstreamConnection& conn,
                                                       Deadline& dl);

// An idle pooled connection to `ep` (counted as reused), else a new one (counted as opened when
// it is up). `cancel_target` points at the connection from the start, so the caller's deadline
// check can cancel a connect in progress.
struct Acquired {
  std::unique_ptr<upstream::UpstreamConnection> conn;
  bool reused = false;
  ConnectFailure failure = ConnectFailure::kNone;
};
boost::asio::awaitable<Acquired> AcquireUpstream(Worker& worker, const upstream::UpstreamSpec& up,
                                                 const upstream::EndpointSpec& ep,
                                                 upstream::ConnectionPool::Slot& slot,
                                                 observe::UpstreamSlot& stats, Deadline& dl,
                                                 upstream::UpstreamConnection*& cancel_target);

// The local reply for a failure: its reason (status and token) and message. Counts the error.
struct ConnectFailureReply {
  observe::LocalReason reason;
  std::string_view message;
};
ConnectFailureReply DescribeConnectFailure(ConnectFailure f, observe::UpstreamSlot& stats);

// One request's hold on an upstream, for HTTP/1.1 sessions and HTTP/2 streams alike: picks the
// endpoint, counts the request (and, while it lives, its place in the slot's in-flight count for
// least_request), records the upstream in the exchange's accounting, and keeps `cancel_target`
// pointing at the connection in use until it ends.
class UpstreamLease {
 public:
  UpstreamLease(Worker& worker, const upstream::UpstreamSpec& up, ExchangeAccounting& acct,
                upstream::UpstreamConnection*& cancel_target);
  ~UpstreamLease() { cancel_target_ = nullptr; }
  UpstreamLease(const UpstreamLease&) = delete;
  UpstreamLease& operator=(const UpstreamLease&) = delete;

  boost::asio::awaitable<Acquired> Acquire(Deadline& dl);
  // HTTP/2 upstreams: sends the request head on a session to the endpoint (one that takes
  // streams, else one still connecting, else a new connection); kNone once `s` is open.
  boost::asio::awaitable<ConnectFailure> Open(h2::UpstreamStream& s,
                                              std::span<const http::h2::Field> fields,
                                              bool has_body);
  // A connect or TLS failure: its local reply, counted.
  ConnectFailureReply ConnectFailed(ConnectFailure f);
  // The exchange with the upstream failed: counted, and its end time recorded.
  void Fail(observe::UpstreamError e);
  // After a complete, well-framed exchange: back to the pool for reuse.
  void GiveBack(std::unique_ptr<upstream::UpstreamConnection> conn);

 private:
  Worker& worker_;
  const upstream::UpstreamSpec& up_;
  ExchangeAccounting& acct_;
  upstream::UpstreamConnection*& cancel_target_;
  observe::UpstreamSlot& stats_;
  const upstream::EndpointSpec& ep_;
  upstream::ConnectionPool::Slot& slot_;
  upstream::ConnectionPool::ActiveRequest active_;
};

}  // namespace rampart::server
