#include "server/upstream_connect.h"

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>

#include "net/tls/client_tls.h"
#include "server/h2/upstream_session.h"
#include "server/worker.h"
#include "upstream/picker.h"

namespace rampart::server {

namespace asio = boost::asio;
using asio::ip::tcp;
using boost::system::error_code;

asio::awaitable<ConnectFailure> ConnectUpstream(Worker& worker, const upstream::UpstreamSpec& up,
                                                const upstream::EndpointSpec& ep,
                                                upstream::UpstreamConnection& conn, Deadline& dl) {
  constexpr auto kUseAwaitable = asio::as_tuple(asio::use_awaitable);
  dl.Set(TimeoutKind::kConnect, worker.now(), up.connect_timeout);
  auto [cec] = co_await conn.socket.async_connect(ep.address, kUseAwaitable);
  worker.RefreshNow();
  if (cec)
    co_return dl.fired == TimeoutKind::kConnect ? ConnectFailure::kTimeout
                                                : ConnectFailure::kRefused;
  SetUpConnection(conn.socket);
  if (!up.tls) co_return ConnectFailure::kNone;
  conn.tls =
      std::make_unique<net::TlsStream>(conn.socket, worker.reactor(), worker.buffers(),
                                       up.tls->native_handle(), net::TlsStream::Role::kClient);
  error_code hec = asio::error::no_memory;
  if (conn.tls->ok() && tls::PrepareClientConnection(conn.tls->native_handle(), ep.tls_name))
    hec = co_await conn.tls->Handshake();
  worker.RefreshNow();
  if (!hec) co_return ConnectFailure::kNone;
  if (dl.fired == TimeoutKind::kConnect) co_return ConnectFailure::kTimeout;
  spdlog::warn("upstream '{}' {}: TLS handshake failed: {}", up.name, ep.key, hec.message());
  co_return ConnectFailure::kTls;
}

asio::awaitable<Acquired> AcquireUpstream(Worker& worker, const upstream::UpstreamSpec& up,
                                          const upstream::EndpointSpec& ep,
                                          upstream::ConnectionPool::Slot& slot,
                                          observe::UpstreamSlot& stats, Deadline& dl,
                                          upstream::UpstreamConnection*& cancel_target) {
  Acquired a;
  a.conn = worker.upstream_pool().TakeIdle(slot, worker.now());
  if (a.conn) {
    a.reused = true;
    cancel_target = a.conn.get();
    stats.connections_reused.Add();
    co_return a;
  }
  a.conn = worker.upstream_pool().NewConnection();
  cancel_target = a.conn.get();
  a.failure = co_await ConnectUpstream(worker, up, ep, *a.conn, dl);
  if (a.failure == ConnectFailure::kNone) stats.connections_opened.Add();
  co_return a;
}

ConnectFailureReply DescribeConnectFailure(ConnectFailure f, observe::UpstreamSlot& stats) {
  if (f == ConnectFailure::kTimeout) {
    stats.Count(observe::UpstreamError::kTimeout);
    return {observe::LocalReason::kUpstreamTimeout,
            "the upstream did not accept the connection in time"};
  }
  stats.Count(observe::UpstreamError::kConnectFailure);
  return {observe::LocalReason::kUpstreamUnavailable,
          f == ConnectFailure::kTls ? "the TLS handshake with the upstream failed"
                                    : "cannot connect to the upstream"};
}

namespace {

const upstream::EndpointSpec& PickEndpoint(Worker& w, const upstream::UpstreamSpec& up) {
  return up
      .endpoints[upstream::Picker::Pick(up, w.upstream_pool(), w.rr_position(up.name), w.Random())];
}

}  // namespace

UpstreamLease::UpstreamLease(Worker& worker, const upstream::UpstreamSpec& up,
                             ExchangeAccounting& acct, upstream::UpstreamConnection*& cancel_target)
    : worker_(worker),
      up_(up),
      acct_(acct),
      cancel_target_(cancel_target),
      stats_(up.stats->slot(worker.index())),
      ep_(PickEndpoint(worker, up)),
      slot_(worker.upstream_pool().For(ep_)),
      active_(slot_) {
  stats_.requests.Add();
  acct_.upstream_name = up.name;
  acct_.endpoint_key = ep_.key;
  acct_.upstream_start = worker.now();
}

asio::awaitable<Acquired> UpstreamLease::Acquire(Deadline& dl) {
  co_return co_await AcquireUpstream(worker_, up_, ep_, slot_, stats_, dl, cancel_target_);
}

asio::awaitable<ConnectFailure> UpstreamLease::Open(h2::UpstreamStream& s,
                                                    std::span<const http::h2::Field> fields,
                                                    bool has_body) {
  using State = h2::UpstreamSession::State;
  // A session can close between being handed out and taking the stream: ask again, boundedly.
  for (int attempt = 0; attempt < 3; ++attempt) {
    std::shared_ptr<h2::UpstreamSession> session = worker_.h2_upstreams().Get(worker_, up_, ep_);
    const bool reused = session->state() == State::kReady;
    co_await session->WaitReady();
    worker_.RefreshNow();
    if (session->state() == State::kClosed && session->connect_failure() != ConnectFailure::kNone)
      co_return session->connect_failure();
    if (session->Open(s, fields, has_body)) {
      if (reused) stats_.connections_reused.Add();
      co_return ConnectFailure::kNone;
    }
  }
  co_return ConnectFailure::kRefused;
}

ConnectFailureReply UpstreamLease::ConnectFailed(ConnectFailure f) {
  acct_.upstream_end = worker_.now();
  return DescribeConnectFailure(f, stats_);
}

void UpstreamLease::Fail(observe::UpstreamError e) {
  acct_.upstream_end = worker_.now();
  stats_.Count(e);
}

void UpstreamLease::GiveBack(std::unique_ptr<upstream::UpstreamConnection> conn) {
  conn->requests++;
  worker_.upstream_pool().GiveBack(slot_, std::move(conn), up_.max_idle_per_endpoint,
                                   up_.idle_timeout, worker_.now());
}

}  // namespace rampart::server
