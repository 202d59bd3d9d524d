// A connection to an upstream endpoint: an idle pooled one, else a new one (TCP connect, then the
// TLS handshake on TLS upstreams, both bounded by the upstream's connect_timeout). Shared by
// HTTP/1.1 sessions and HTTP/2 streams; the caller turns a failure into its own protocol's answer.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <string_view>

#include "observe/metrics.h"
#include "server/deadline.h"
#include "upstream/connection_pool.h"

namespace rampart::server {

class Worker;

enum class ConnectFailure : std::uint8_t { kNone, kTimeout, kRefused, kTls };

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

}  // namespace rampart::server
