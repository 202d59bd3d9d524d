// A downstream HTTP/1.1 connection: the TLS handshake on TLS listeners (and the switch to HTTP/2
// when ALPN picks h2, or on the h2c preface), then requests in order (pipelined ones too), each
// read and checked here and forwarded by the driver (pipeline/forward.h) through the
// connection's Http1Exchange. One coroutine per connection on its worker's loop; no locks.
//
// Timeouts: the connection sets a deadline (`dl_`) before each wait; the worker's tick checks it
// and cancels the connection's socket and the exchange's upstream stream when it passes, so
// arming a timeout costs two stores.
#pragma once

#include <boost/asio.hpp>
#include <memory>
#include <string>

#include "downstream/http1_exchange.h"
#include "net/deadline.h"
#include "net/io_buffer.h"
#include "net/socket_io.h"
#include "net/tls/server_tls.h"
#include "observe/metrics.h"
#include "pipeline/exchange_state.h"
#include "pipeline/forward.h"
#include "server/snapshot.h"

namespace rampart::server {
class Worker;
}

namespace rampart::downstream {

class Http2Connection;

class Http1Connection {
 public:
  Http1Connection(server::Worker& worker, boost::asio::ip::tcp::socket socket,
                  const boost::asio::ip::tcp::endpoint& peer, std::string listener);
  ~Http1Connection();
  Http1Connection(const Http1Connection&) = delete;
  Http1Connection& operator=(const Http1Connection&) = delete;

  // The connection's coroutine. It owns the connection: Loop's frame holds `self` (one frame
  // for the whole connection, not a wrapper frame around it).
  static boost::asio::awaitable<void> Run(std::unique_ptr<Http1Connection> self) {
    Http1Connection* c = self.get();
    return c->Loop(std::move(self));
  }

  // Worker tick (same thread).
  void CheckDeadline(SteadyTime now) noexcept;
  // Draining: closes the connection now when it is between requests.
  void CloseIfIdle() noexcept;

  Http1Connection* next_ = nullptr;
  Http1Connection* prev_ = nullptr;

 private:
  friend class Http1Exchange;

  boost::asio::awaitable<void> Loop(std::unique_ptr<Http1Connection> self);
  // Reads the next request head into st_ (taken from the worker) and its parser.
  boost::asio::awaitable<bool> ReadHead();
  // A head the parser refused (or that never completed): the JSON error, logged; the
  // connection then closes.
  boost::asio::awaitable<void> RefuseHead(observe::LocalReason reason, std::string_view message);
  boost::asio::awaitable<void> HandleRequest();
  boost::asio::awaitable<void> LingeringClose();
  // The client side: through TLS on TLS listeners, else straight to the socket.
  boost::asio::awaitable<std::size_t> DownRead(std::span<char> into, boost::system::error_code& ec);
  boost::asio::awaitable<void> DownWrite(std::span<boost::asio::const_buffer> bufs,
                                         boost::system::error_code& ec);
  // HTTP/2 on this connection (ALPN h2, or the h2c preface): runs it to the end.
  boost::asio::awaitable<void> ServeHttp2(std::string_view already_read);
  // PROXY protocol listeners: the header, from an allowed source, bounded by header_timeout;
  // the client's address replaces the peer's. False: close without a byte.
  boost::asio::awaitable<bool> AcceptProxyHeader();
  // Connection caps (gates/connection_limits): false when refused (counted).
  bool AdmitGlobal() noexcept;
  bool AdmitSource();
  bool RefuseConnection(ConnectionRefusal why) noexcept;
  // TLS listeners: the handshake, bounded by header_timeout. False: close.
  boost::asio::awaitable<bool> Handshake(tls::TlsSlot& slot);
  ForwardEnv Env();

  void SetDeadline(net::TimeoutKind kind, std::chrono::microseconds d) noexcept;
  void ClearDeadline() noexcept { dl_.Clear(); }
  void Adopt(std::shared_ptr<const server::Snapshot> snap);

  server::Worker& worker_;
  boost::asio::ip::tcp::socket socket_;
  std::string listener_name_;
  std::shared_ptr<const server::Snapshot> snap_;
  const config::Listener* listener_ = nullptr;
  boost::asio::ip::address peer_address_;
  std::uint16_t peer_port_ = 0;
  std::string peer_ip_;
  bool trusted_peer_ = false;
  bool relayed_without_address_ = false;  // a PROXY header with no address (LOCAL, UNKNOWN)
  const server::Snapshot::ListenerEdge* edge_ = nullptr;  // in snap_
  std::shared_ptr<gates::ConnectionLimiter> limiter_;     // holds ticket_'s counts
  gates::ConnectionLimiter::Ticket ticket_;
  // TLS: the contexts the handshake used (kept for the connection) and the stream over socket_.
  std::shared_ptr<const tls::ServerTls> tls_ctx_;
  std::unique_ptr<net::TlsStream> tls_;
  tls::PeerIdentity peer_identity_;
  net::IoBuffer in_;
  std::unique_ptr<Http2Connection> h2_;
  bool h2c_preface_ = false;  // ReadHead saw "PRI * HTTP/2.0", or a line that is not HTTP/1.x
  std::unique_ptr<ExchangeState> st_;
  Http1Exchange exchange_{*this};

  net::Deadline dl_;
  bool idle_ = false;
  bool linger_ = false;  // a refused head: drain before closing
  std::uint64_t requests_ = 0;
  std::size_t head_consumed_ = 0;  // bytes at in_'s front that belong to the current request
};

}  // namespace rampart::downstream
