// An HTTP/2 server connection (RFC 9113): an nghttp2 session over the client's socket (TLS with
// ALPN h2, or cleartext with prior knowledge). One reader and one writer coroutine move bytes
// between the socket and nghttp2; each stream runs its own coroutine through the same routes,
// gates and upstream pools as an HTTP/1.1 request (http2_stream.cc). All on the worker's loop.
//
// Defences, each ending the connection with GOAWAY and counted in rampart_http2_goaways_total:
// rapid reset (nghttp2's RST_STREAM token bucket, CVE-2023-44487), CONTINUATION floods (nghttp2's
// cap on CONTINUATION frames per header block), streams past max_concurrent_streams (nghttp2's
// connection error), and a per-second cap on PING, SETTINGS, PRIORITY, empty DATA and invalid
// frames (ping and settings floods). Header lists over the listener's max_header_bytes or
// max_headers get 431 on their stream. DATA or HEADERS on a stream that is already closed gets
// STREAM_CLOSED, and HEADERS reopening a lower stream id PROTOCOL_ERROR (closed_streams.h).
#pragma once

#include <nghttp2/nghttp2.h>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <memory>
#include <string>
#include <string_view>

#include "config/config.h"
#include "downstream/closed_streams.h"
#include "downstream/http2_counters.h"
#include "downstream/listener_counters.h"
#include "net/deadline.h"
#include "net/h2_frame_io.h"
#include "net/socket_io.h"

namespace rampart::tls {
struct PeerIdentity;
}

namespace rampart::server {
class Worker;
struct Snapshot;
}  // namespace rampart::server

namespace rampart::downstream {

struct Http2Stream;

// The client side of the connection, fixed for its life.
struct Peer {
  boost::asio::ip::address address;
  std::uint16_t port = 0;
  std::string_view ip;                          // address as text
  const tls::PeerIdentity* identity = nullptr;  // verified client certificate, if any
  bool tls = false;
};

class Http2Connection {
 public:
  Http2Connection(server::Worker& worker, boost::asio::ip::tcp::socket& socket, net::TlsStream* tls,
                  std::string_view listener, Peer peer);
  ~Http2Connection();
  Http2Connection(const Http2Connection&) = delete;
  Http2Connection& operator=(const Http2Connection&) = delete;

  // Runs until the connection ends and every stream has finished. `already_read`: bytes the
  // HTTP/1.1 reader took before it saw the h2c preface.
  boost::asio::awaitable<void> Serve(std::string_view already_read);

  // Worker tick: connection and stream deadlines.
  void CheckDeadlines(SteadyTime now) noexcept;
  // Draining: GOAWAY(NO_ERROR) naming the last stream; streams in flight finish.
  void Drain() noexcept;

  // For streams.
  server::Worker& worker() noexcept { return worker_; }
  nghttp2_session* session() noexcept { return session_; }
  const Peer& peer() const noexcept { return peer_; }
  std::string_view listener() const noexcept { return listener_; }
  const std::shared_ptr<const server::Snapshot>& snapshot() const noexcept { return snap_; }
  // Output is pending: wakes the writer.
  void Kick() noexcept;
  // Called by a stream's coroutine as its last act: forgets (and frees) the stream.
  void StreamDone(Http2Stream* s) noexcept;
  // Response bytes the streams hold for the client, all together: at most the listener's
  // http2.connection_window (or one stream's high-water mark, if larger), so a client that reads
  // slowly over many streams holds no more of rampart's memory than one window. Streams are held
  // back while the connection is full, and all are woken when it drains to half.
  bool response_full() const noexcept {
    if (resp_buffered_ < resp_cap_) return false;
    held_back_ = true;
    return true;
  }
  void ResponseQueued(std::size_t n) noexcept { resp_buffered_ += n; }
  void ResponseSent(std::size_t n) noexcept;
  // The access log's reason for streams cut short because rampart ended the connection with an
  // error ("http2_protocol_error", ...); empty when it did not.
  std::string_view connection_error() const noexcept { return connection_error_; }

 private:
  boost::asio::awaitable<void> ReadLoop(std::string already_read);
  bool Setup();
  void Adopt();
  void Terminate(GoawayReason reason, std::uint32_t error_code) noexcept;
  void CountGoaway(GoawayReason reason) noexcept;
  // A control-type frame arrived: false once the per-second cap is passed (the caller ends the
  // connection).
  bool SpendControlBudget() noexcept;
  void MirrorResetBucket() noexcept;
  void StartStream(Http2Stream& s);
  void ArmIdle() noexcept;

  // A DATA or HEADERS frame's header, before nghttp2 sees the frame (FrameIo's watch).
  static void OnFrameHeader(void* ctx, std::uint8_t type, std::int32_t stream_id);
  // nghttp2 callbacks (user_data is the Connection).
  static int OnBeginHeaders(nghttp2_session*, const nghttp2_frame*, void*);
  static int OnHeader(nghttp2_session*, const nghttp2_frame*, const std::uint8_t*, std::size_t,
                      const std::uint8_t*, std::size_t, std::uint8_t, void*);
  static int OnFrameRecv(nghttp2_session*, const nghttp2_frame*, void*);
  static int OnInvalidFrame(nghttp2_session*, const nghttp2_frame*, int, void*);
  static int OnDataChunk(nghttp2_session*, std::uint8_t, std::int32_t, const std::uint8_t*,
                         std::size_t, void*);
  static int OnStreamClose(nghttp2_session*, std::int32_t, std::uint32_t, void*);
  static int OnFrameSend(nghttp2_session*, const nghttp2_frame*, void*);

  server::Worker& worker_;
  boost::asio::ip::tcp::socket& socket_;
  net::TlsStream* tls_;
  std::string listener_;
  Peer peer_;
  std::shared_ptr<const server::Snapshot> snap_;
  const config::Listener* listener_cfg_ = nullptr;
  const Http2Counters* counters_ = nullptr;
  const ListenerCounters* listener_counters_ = nullptr;  // in snap_: slow clients
  nghttp2_session* session_ = nullptr;

  Http2Stream* streams_ = nullptr;      // intrusive list of every stream nghttp2 told us about
  std::size_t resp_buffered_ = 0;       // response bytes the streams hold
  std::size_t resp_cap_ = 1024 * 1024;  // the listener's http2.connection_window
  mutable bool held_back_ = false;      // a stream waited for the cap: wake on drain
  std::size_t running_ = 0;    // streams started and not yet done (a detached one has no coroutine)
  std::uint64_t started_ = 0;  // streams started, for max_requests_per_connection
  std::int32_t last_started_ = 0;
  net::FrameIo io_;
  boost::asio::steady_timer streams_gone_;
  bool draining_ = false;
  bool counted_goaway_ = false;
  std::string_view connection_error_;  // static storage
  // Recently closed streams, to answer frames that arrive on them (RFC 9113 section 5.1).
  ClosedStreams closed_;
  std::int32_t last_client_reset_ = 0;  // the stream of the last RST_STREAM received
  // A mirror of nghttp2's RST_STREAM token bucket, to name the reason when nghttp2 ends the
  // connection itself: set once the client's resets outran reset_burst/resets_per_second.
  double reset_tokens_ = 0;
  SteadyTime reset_refill_{};
  bool reset_limit_hit_ = false;

  // Per-second budget of control-type frames.
  SteadyTime budget_window_{};
  std::uint32_t budget_used_ = 0;

  net::Deadline idle_dl_;  // no stream: idle_timeout (header_timeout before the first)
};

}  // namespace rampart::downstream
