// A downstream HTTP/1.1 connection: reads requests (pipelined ones in order), routes them, runs
// the gates and proxies them upstream, streaming bodies both ways. One coroutine per connection
// on its worker's loop; no locks.
//
// Timeouts: the session sets a deadline (`expiry_`) before each wait; the worker's tick checks
// it and cancels the session's sockets when it passes, so arming a timeout costs two stores.
#pragma once

#include <boost/asio.hpp>
#include <memory>
#include <optional>
#include <string>

#include "http/h1/message_parser.h"
#include "net/io_buffer.h"
#include "net/tls/server_tls.h"
#include "observe/metrics.h"
#include "pipeline/exchange.h"
#include "server/deadline.h"
#include "server/request_state.h"
#include "server/snapshot.h"
#include "server/socket_io.h"
#include "upstream/connection_pool.h"

namespace rampart::server {

namespace h2 {
class Connection;
class UpstreamStream;
}  // namespace h2
class Worker;

class Session {
 public:
  Session(Worker& worker, boost::asio::ip::tcp::socket socket,
          const boost::asio::ip::tcp::endpoint& peer, std::string listener);
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  // The connection's coroutine. It owns the session: Loop's frame holds `self` (one frame for
  // the whole connection, not a wrapper frame around it).
  static boost::asio::awaitable<void> Run(std::unique_ptr<Session> self) {
    Session* s = self.get();
    return s->Loop(std::move(self));
  }

  // Worker tick (same thread).
  void CheckDeadline(SteadyTime now) noexcept;
  // Draining: closes the connection now when it is between requests.
  void CloseIfIdle() noexcept;

  Session* next_ = nullptr;
  Session* prev_ = nullptr;

 private:
  boost::asio::awaitable<void> Loop(std::unique_ptr<Session> self);
  // Reads the next request head into st_ (taken from the worker) and its parser.
  boost::asio::awaitable<bool> ReadHead();
  boost::asio::awaitable<bool> HandleRequest(http::h1::RequestParser& parser);
  boost::asio::awaitable<bool> Proxy(http::h1::RequestParser& parser, const CompiledRoute& route);
  // Reads and parses the next piece of the request body into st_->body_out. False: the exchange
  // is over (answered with 408 or the parse failure's status, or the client left).
  boost::asio::awaitable<bool> ReadBodyPiece(http::h1::RequestParser& parser);
  // Moves body bytes that arrived with the head (past what the parser consumed) to st_->aux.
  void TakeBodyLeftover();
  // Reads until a chunk line that the head's read cut off is complete (bounded). False as above.
  boost::asio::awaitable<bool> CompleteChunkLine(http::h1::RequestParser& parser);
  // The same to an HTTP/2 upstream (session_h2_upstream.cc).
  boost::asio::awaitable<bool> ProxyH2(http::h1::RequestParser& parser, const CompiledRoute& route);
  boost::asio::awaitable<bool> LocalReply(int status, std::string_view reason,
                                          std::string_view message, bool keep_alive,
                                          std::string_view extra_headers = {});
  // A core local reply: counts `reason` and derives its status and token from it.
  boost::asio::awaitable<bool> Reply(observe::LocalReason reason, std::string_view message,
                                     bool keep_alive);
  boost::asio::awaitable<bool> ParseFailureReply(http::ParseFailure f, std::string_view detail);
  boost::asio::awaitable<void> LingeringClose();
  // After a 101 from the upstream: the head to the client, then bytes both ways until either side
  // closes or neither sends for the route's websocket.idle_timeout.
  boost::asio::awaitable<void> WebSocketTunnel(const CompiledRoute& route,
                                               upstream::UpstreamConnection& up,
                                               std::size_t head_bytes);
  boost::asio::awaitable<void> Pump(bool from_client, upstream::UpstreamConnection& up,
                                    std::chrono::microseconds idle);
  // The client side: through TLS on TLS listeners, else straight to the socket.
  boost::asio::awaitable<std::size_t> DownRead(std::span<char> into,
                                               boost::system::error_code& ec) {
    return ReadFrom(worker_, socket_, tls_.get(), into, ec);
  }
  boost::asio::awaitable<void> DownWrite(std::span<boost::asio::const_buffer> bufs,
                                         boost::system::error_code& ec) {
    return WriteTo(worker_, socket_, tls_.get(), bufs, ec);
  }
  boost::asio::awaitable<std::size_t> UpRead(upstream::UpstreamConnection& c, std::span<char> into,
                                             boost::system::error_code& ec) {
    return ReadFrom(worker_, c.socket, c.tls.get(), into, ec);
  }
  boost::asio::awaitable<void> UpWrite(upstream::UpstreamConnection& c,
                                       std::span<boost::asio::const_buffer> bufs,
                                       boost::system::error_code& ec) {
    return WriteTo(worker_, c.socket, c.tls.get(), bufs, ec);
  }
  // HTTP/2 on this connection (ALPN h2, or the h2c preface): runs it to the end.
  boost::asio::awaitable<void> ServeHttp2(std::string_view already_read);
  // TLS listeners: the handshake, bounded by header_timeout. False: close.
  boost::asio::awaitable<bool> Handshake(tls::TlsSlot& slot);

  void SetDeadline(TimeoutKind kind, std::chrono::microseconds d) noexcept;
  void ClearDeadline() noexcept { dl_.Clear(); }
  void Finish(int status, std::string_view reason);
  void Adopt(std::shared_ptr<const Snapshot> snap);

  Worker& worker_;
  boost::asio::ip::tcp::socket socket_;
  std::string listener_name_;
  std::shared_ptr<const Snapshot> snap_;
  const config::Listener* listener_ = nullptr;
  boost::asio::ip::address peer_address_;
  std::uint16_t peer_port_ = 0;
  std::string peer_ip_;
  bool trusted_peer_ = false;
  // TLS: the contexts the handshake used (kept for the connection) and the stream over socket_.
  std::shared_ptr<const tls::ServerTls> tls_ctx_;
  std::unique_ptr<TlsStream> tls_;
  tls::PeerIdentity peer_identity_;
  net::IoBuffer in_;
  std::unique_ptr<h2::Connection> h2_;
  bool h2c_preface_ = false;  // ReadHead saw "PRI * HTTP/2.0"
  std::unique_ptr<RequestState> st_;
  upstream::UpstreamConnection* upstream_ = nullptr;  // the one in use, for cancellation
  h2::UpstreamStream* h2_upstream_ = nullptr;         // the same on an HTTP/2 upstream

  Deadline dl_;
  bool idle_ = false;
  bool linger_ = false;  // a local reply refused the request: drain before closing
  std::uint64_t requests_ = 0;
  std::size_t head_consumed_ = 0;  // bytes at in_'s front that belong to the current request
  std::size_t gates_ran_ = 0;
};

}  // namespace rampart::server
