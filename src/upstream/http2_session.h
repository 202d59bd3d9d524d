// HTTP/2 to upstreams (`upstreams.NAME.protocol: h2`): one nghttp2 client session per worker and
// endpoint, over TLS with ALPN h2 or cleartext h2c with prior knowledge, multiplexing every
// request the worker sends there. A second session opens when the first has as many streams as
// the origin's SETTINGS_MAX_CONCURRENT_STREAMS allows. Requests that find a session still
// connecting wait for it rather than open their own.
//
// Flow control both ways: response bytes give their window back only once the front end has
// written them to its client (Http2Call::Consume), so a slow client holds at most one stream
// window of its response here; request bytes wait in the stream until the origin's window takes
// them. A GOAWAY from the origin retires the session: it takes no new stream, and streams it did
// not process are refused (RFC 9113 section 6.8), which the front ends retry once.
#pragma once

#include <nghttp2/nghttp2.h>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "http/exchange_error.h"
#include "http/h2/fields.h"
#include "http/message.h"
#include "net/deadline.h"
#include "net/h2_frame_io.h"
#include "net/loop_context.h"
#include "upstream/connection_pool.h"
#include "upstream/stream.h"
#include "upstream/upstream_spec.h"

namespace rampart::upstream {

class Http2Session;

// One request on an upstream session, owned by the coroutine of the exchange that sends it (an
// HTTP/1.1 session or an HTTP/2 stream). Destroying it before the response ended resets the
// stream (CANCEL) and gives back the window of bytes nobody took.
class Http2Call {
 public:
  static constexpr std::size_t kRequestHighWater = 256 * 1024;

  // The response head goes into `response_headers` (the exchange's RequestState). Events wake
  // `wake` when given (an HTTP/2 stream's own timer: it waits for its client and its upstream
  // at once), else the stream's own timer, which Wait() waits on.
  Http2Call(boost::asio::io_context& io, http::HeaderList& response_headers,
            boost::asio::steady_timer* wake = nullptr);
  ~Http2Call();
  Http2Call(const Http2Call&) = delete;
  Http2Call& operator=(const Http2Call&) = delete;

  // Request body, after Open with has_body: queued for DATA frames as the origin's window allows.
  void Write(std::string_view data);
  void EndRequest();
  std::size_t unsent() const noexcept { return req_.size() - req_off_; }

  // Waits until something changed (response head, body, end, reset, request bytes sent) or
  // Wake(); the caller re-checks what it waits for and its deadline.
  boost::asio::awaitable<void> Wait();
  void Wake() noexcept { wake_->cancel(); }

  // The response. Body bytes arrive in body(); the caller takes them (swap) and calls Consume
  // with their count once written to its client.
  bool head_done() const noexcept { return head_done_; }
  int status() const noexcept { return status_; }
  const http::HeaderList& headers() const noexcept { return headers_; }
  std::optional<std::uint64_t> content_length() const noexcept { return content_length_; }
  std::string& body() noexcept { return body_; }
  void Consume(std::size_t n) noexcept;
  bool ended() const noexcept { return ended_; }  // END_STREAM: body and trailers complete
  // Reset by the origin or the session was lost before the end.
  bool failed() const noexcept { return closed_ && !ended_; }
  // Not processed by the origin (refused, above a GOAWAY's last stream, or never sent): a request
  // whose body is whole may be sent again on another session.
  bool refused() const noexcept { return failed() && refused_; }
  bool head_too_large() const noexcept { return head_too_large_; }
  const http::HeaderList& trailers() const noexcept { return trailers_; }
  // Interim (1xx) heads to forward (ForwardsInterim), in the order they came. The caller takes
  // one at a time; what it took stays valid until it calls TakeInterim again, which
  // frees it (and all of them once the final head is here and none is left).
  struct InterimHead {
    int status = 0;
    http::HeaderList headers;
    std::string bytes;
  };
  const InterimHead* TakeInterim() noexcept;
  // Leaves the session: a stream that has not ended is reset (CANCEL), and the window of bytes
  // nobody took is given back.
  void Detach() noexcept;

 private:
  friend class Http2Session;

  std::shared_ptr<Http2Session> session_;
  std::int32_t id_ = -1;
  Http2Call* next_ = nullptr;
  Http2Call* prev_ = nullptr;
  boost::asio::steady_timer own_wake_;
  boost::asio::steady_timer* wake_;
  http::HeaderList& headers_;
  std::string head_bytes_;
  std::size_t head_list_bytes_ = 0;
  http::HeaderList trailers_;
  std::string trailer_bytes_;
  std::string body_;
  std::vector<InterimHead> interim_;  // reserved whole at the first: the views stay put
  std::size_t interim_taken_ = 0;
  bool responded_ = false;  // a HEADERS frame came: the origin processed the request
  std::uint64_t unconsumed_ = 0;
  std::string req_;
  std::size_t req_off_ = 0;
  bool req_end_ = false;
  bool head_sent_ = false;
  bool head_done_ = false;
  std::optional<std::uint64_t> content_length_;
  bool head_too_large_ = false;
  bool ended_ = false;
  bool closed_ = false;
  bool refused_ = false;
  int status_ = 0;
};

class Http2Session : public std::enable_shared_from_this<Http2Session> {
 public:
  enum class State : std::uint8_t { kConnecting, kReady, kClosed };

  // `up` and `ep` are copied: a session outlives the snapshot it was opened under.
  Http2Session(net::LoopContext& loop, int worker, const UpstreamSpec& up, const EndpointSpec& ep);
  ~Http2Session();
  Http2Session(const Http2Session&) = delete;
  Http2Session& operator=(const Http2Session&) = delete;

  // Connects (TCP, TLS with ALPN h2), then serves until the connection ends. Spawned once.
  static boost::asio::awaitable<void> Run(std::shared_ptr<Http2Session> self);
  // Until the session is ready or has failed to connect.
  boost::asio::awaitable<void> WaitReady();
  State state() const noexcept { return state_; }
  std::size_t open_streams() const noexcept { return open_; }
  const http::ExchangeError& connect_failure() const noexcept { return connect_failure_; }
  // Ready, not retired by a GOAWAY, and under the origin's concurrent-stream limit.
  bool TakesStreams() const noexcept;
  bool ready_or_connecting() const noexcept { return state_ != State::kClosed && !goaway_; }
  // For reuse: a session opened under the same TLS context (the same snapshot's settings).
  const void* tls_identity() const noexcept { return up_.tls.get(); }

  // Sends the request head; the body follows through `s` when has_body. False: this session
  // takes no more streams (the caller asks for another).
  bool Open(Http2Call& s, std::span<const http::h2::Field> fields, bool has_body);
  // Worker tick: connect and write deadlines, idle_timeout without streams.
  void CheckDeadlines(SteadyTime now) noexcept;
  // Takes no new stream; once the streams in flight have finished, GOAWAY(NO_ERROR) and close.
  void Retire() noexcept;
  // Its endpoint's drain ran past its timeout: the connection closes now and its streams fail.
  // Returns how many streams it carried (0 when it was already cut or closed).
  std::size_t Cut() noexcept;

 private:
  friend class Http2Call;
  bool Setup();
  void Kick() noexcept { io_.Kick(); }
  void Unlink(Http2Call& s) noexcept;
  void CloseAll() noexcept;
  void ArmIdle() noexcept;

  static int OnHeader(nghttp2_session*, const nghttp2_frame*, const std::uint8_t*, std::size_t,
                      const std::uint8_t*, std::size_t, std::uint8_t, void*);
  static int OnFrameRecv(nghttp2_session*, const nghttp2_frame*, void*);
  static int OnDataChunk(nghttp2_session*, std::uint8_t, std::int32_t, const std::uint8_t*,
                         std::size_t, void*);
  static int OnStreamClose(nghttp2_session*, std::int32_t, std::uint32_t, void*);
  static int OnFrameSend(nghttp2_session*, const nghttp2_frame*, void*);
  static int OnFrameNotSend(nghttp2_session*, const nghttp2_frame*, int, void*);
  static ssize_t ReadRequest(nghttp2_session*, std::int32_t, std::uint8_t*, std::size_t,
                             std::uint32_t*, nghttp2_data_source*, void*);

  net::LoopContext& loop_;
  int worker_;
  UpstreamSpec up_;
  EndpointSpec ep_;
  std::unique_ptr<UpstreamConnection> conn_;
  net::FrameIo io_;
  nghttp2_session* session_ = nullptr;
  State state_ = State::kConnecting;
  http::ExchangeError connect_failure_;
  bool goaway_ = false;
  bool cut_ = false;
  boost::asio::steady_timer ready_;
  Http2Call* streams_ = nullptr;  // attached streams
  std::size_t open_ = 0;
  net::Deadline connect_dl_;
  net::Deadline idle_dl_;
};

// This worker's HTTP/2 upstream sessions, by endpoint key.
class Http2Sessions {
 public:
  // A session that takes streams, else one still connecting, else a new one (started here).
  std::shared_ptr<Http2Session> Get(net::LoopContext& loop, int worker, const UpstreamSpec& up,
                                    const EndpointSpec& ep);
  void CheckDeadlines(SteadyTime now) noexcept;
  // Draining: every session is retired.
  void RetireAll() noexcept;
  // An endpoint being drained: its sessions finish their streams and take no more.
  void Retire(std::string_view key);
  // Its drain timed out: its sessions close now. Returns how many streams they carried.
  std::size_t Cut(std::string_view key);
  // After a reload: sessions to endpoints `kept` says no finish their streams and take no more.
  void RetireExcept(const std::function<bool(std::string_view)>& kept);

 private:
  std::unordered_map<std::string, std::vector<std::shared_ptr<Http2Session>>> by_key_;
};

}  // namespace rampart::upstream
