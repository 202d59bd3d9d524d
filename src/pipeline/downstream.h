// The client side of one exchange, as the forwarding driver sees it: an HTTP/1.1 request on its
// connection (downstream/http1_exchange.h) or an HTTP/2 stream (downstream/http2_stream.h).
// The codec translates bytes to the Exchange and back; the driver decides everything else.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "http/exchange_error.h"
#include "http/message.h"
#include "net/deadline.h"
#include "pipeline/decision.h"
#include "upstream/stream.h"

namespace rampart {

class Downstream {
 public:
  virtual ~Downstream() = default;

  // --- Request ---
  // A body follows the head (some of it may have come with the head).
  virtual bool has_body() const noexcept = 0;
  // Every body byte has been handed out (with the head, or by ReadBody): none is to come.
  virtual bool body_done() const noexcept = 0;
  // The body's length when the client declared one (Content-Length).
  virtual std::optional<std::uint64_t> declared_length() const noexcept = 0;
  // Appends the body bytes already received to `out`, without waiting.
  virtual void TakeBody(std::string& out) noexcept { (void)out; }
  // Appends the next body bytes to `out` (waiting for some); `end` once the body is complete.
  // Errors are the client's: a body that stops arriving, malformed framing, too large, gone.
  virtual boost::asio::awaitable<http::ExchangeError> ReadBody(std::string& out, bool& end) = 0;
  // `n` body bytes have been taken by the upstream (HTTP/2: the client's window opens by n).
  virtual void BodyForwarded(std::size_t n) noexcept { (void)n; }
  // Body bytes the body phase holds before the upstream is connected: an HTTP/2 client gets its
  // window back for them, so a body larger than the stream window can be held whole.
  virtual void BodyHeld(std::size_t n) noexcept { (void)n; }
  // The answer no longer depends on the rest of the body: stop reading it.
  virtual void DiscardBody() noexcept {}
  // HTTP/1.1 `Expect: 100-continue`: the interim response, once, when the client waits for it.
  virtual boost::asio::awaitable<bool> Continue() { co_return true; }
  // HTTP/1.1: the upgrade the client asks for ("websocket"), when it may be passed through.
  virtual std::string_view upgrade() const noexcept { return {}; }
  // The client's protocol as Via names it: "1.0", "1.1", "2".
  virtual std::string_view received_protocol() const noexcept = 0;

  // --- Response ---
  // The origin's head (with the route's and gates' header rules), and body bytes that may
  // follow in the same write; `end` when they are the whole body. A downstream that keeps body
  // bytes until the client takes them (HTTP/2) takes the string's buffer instead of copying it,
  // leaving `body` empty; its size is the caller's to note before the call.
  virtual boost::asio::awaitable<bool> SendHead(const upstream::ResponseHead& head,
                                                std::string& body, bool end) = 0;
  virtual boost::asio::awaitable<bool> SendBody(std::string& body, bool end,
                                                const http::HeaderList* trailers) = 0;
  // An interim (1xx) response from the origin, before the final one (RFC 9110 section 15.2):
  // its fields without hop-by-hop and framing ones, with Via. False when the client is gone.
  // Dropped by default, and for HTTP/1.0 clients (a server must not send them 1xx).
  virtual boost::asio::awaitable<bool> SendInterim(const upstream::ResponseHead& head) {
    (void)head;
    co_return true;
  }
  // SendHead without a coroutine frame, when this downstream can send without waiting: its
  // result; nullopt (nothing done) when the caller must co_await SendHead instead.
  virtual std::optional<bool> SendHeadNow(const upstream::ResponseHead& head, std::string& body,
                                          bool end) {
    (void)head, (void)body, (void)end;
    return std::nullopt;
  }
  // rampart's JSON error answer; `headers` are extra lines ("Name: value\r\n").
  virtual boost::asio::awaitable<bool> SendLocal(int status, std::string_view reason,
                                                 std::string_view message,
                                                 std::string_view headers) = 0;
  // A stored response, served whole.
  virtual boost::asio::awaitable<bool> SendStored(const StoredResponse& response,
                                                  std::string_view headers) = 0;
  // The response cannot complete: end it so the client cannot take it for whole (HTTP/1.1
  // closes the connection; HTTP/2 resets the stream).
  virtual void Abort() noexcept = 0;
  // After a 101 (HTTP/1.1 only): the head to the client, then bytes both ways until either side
  // ends. Returns the reason token it ended with, if any.
  virtual boost::asio::awaitable<std::string_view> Tunnel(upstream::Stream& up) {
    (void)up;
    co_return std::string_view("upgrade_unsupported");
  }

  // --- Lifetime ---
  // The exchange's deadline: the driver and its streams arm it before each wait; the owner's
  // tick fires it and cancels the watched stream.
  virtual net::Deadline& deadline() noexcept = 0;
  virtual void Watch(upstream::Stream* s) noexcept = 0;
  // The client left (HTTP/2: reset the stream): nothing more can be sent.
  virtual bool gone() const noexcept { return false; }
  // Why it is gone, for the access log: "client_reset", or the error rampart ended the client's
  // connection with (HTTP/2: "http2_protocol_error", "http2_control_flood", ...).
  virtual std::string_view gone_reason() const noexcept { return "client_reset"; }

  // Both directions at once (HTTP/2 streams): null when unsupported.
  class Duplex;
  virtual Duplex* duplex() noexcept { return nullptr; }
};

// An HTTP/2 stream: request and response bytes sit in buffers that nghttp2's callbacks fill and
// drain, and one timer wakes the stream for events on either side.
class Downstream::Duplex {
 public:
  virtual ~Duplex() = default;
  virtual boost::asio::steady_timer* wake() noexcept = 0;
  virtual boost::asio::awaitable<void> Wait() = 0;
  // Request body received and not yet taken (swap it out, then BodyForwarded once sent).
  virtual std::string& body_in() noexcept = 0;
  virtual bool request_ended() const noexcept = 0;  // END_STREAM: every body byte has arrived
  virtual bool body_too_large() const noexcept = 0;
  // Response: the head (nothing else follows when `end`), then body pieces, then the end.
  virtual bool QueueHead(const upstream::ResponseHead& head, bool end) = 0;
  virtual void QueueBody(std::string& data) = 0;  // takes the bytes (leaves `data` empty)
  virtual void QueueEnd(const http::HeaderList* trailers) = 0;
  // More response bytes are queued than the client has taken (high-water mark).
  virtual bool backlogged() const noexcept = 0;
  virtual bool head_queued() const noexcept = 0;
  // How long the driver's next wait on the client may last: for request body bytes (the
  // listener's body_timeout and min_request_body_rate), or for it to read the response
  // (send_timeout and min_response_rate). Each call says the driver waits on the client now.
  virtual std::chrono::microseconds BodyWait() noexcept = 0;
  virtual std::chrono::microseconds SendWait() noexcept = 0;
};

}  // namespace rampart
