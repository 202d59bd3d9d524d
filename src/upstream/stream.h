// One attempt's stream to an upstream endpoint, whatever carries it: a pooled HTTP/1.1
// connection (http1_stream.h) or a stream on an HTTP/2 session (http2_stream.h). The forwarding
// driver (pipeline/forward.cc) sends the request and reads the response through it.
//
// Body bytes move decoded in both directions; each side frames them for its own protocol.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "http/exchange_error.h"
#include "http/message.h"
#include "http/proxy_headers.h"
#include "net/tls_stream.h"

namespace rampart::upstream {

// RFC 9110 section 15.2: a proxy forwards the 1xx responses it did not ask for itself, here at
// most kMaxInterimHeads from each attempt (an origin cannot keep a client reading 1xx heads
// forever). 100 Continue is rampart's own to send: it answers the client's Expect itself.
inline constexpr std::size_t kMaxInterimHeads = 8;
constexpr bool ForwardsInterim(int status, std::size_t forwarded) noexcept {
  return status != 100 && forwarded < kMaxInterimHeads;
}

// A final response head, as the attempt received it. `headers` is the exchange's response
// header list; its views stay valid until the next ReadBody.
struct ResponseHead {
  int status = 0;
  const http::HeaderList* headers = nullptr;
  std::optional<std::uint64_t> content_length;  // the origin's Content-Length, when it sent one
  bool no_body = false;                         // HEAD, 204, 304: no body whatever the headers say
  bool until_close = false;                     // HTTP/1.1: the body ends when the origin closes
  bool switching = false;                       // 101 to the upgrade the request asked for
  bool interim = false;       // a 1xx other than 100 and 101: forward it, then ReadHead again
  std::string_view protocol;  // "1.1" or "2", for Via
};

// How an attempt's stream ends.
enum class StreamEnd : std::uint8_t {
  kComplete,  // request and response whole: the connection may be reused
  kClose,     // the exchange is over but the connection is not reusable: close it
  kAbort,     // the request was abandoned part-way: reset, so the origin sees an aborted request
};

class Stream {
 public:
  virtual ~Stream() = default;

  // The request head and the body bytes in hand, the body's end when `end`. The head's framing
  // (Content-Length or chunked) is in `request`.
  virtual boost::asio::awaitable<http::ExchangeError> SendHead(const http::UpstreamRequest& request,
                                                               std::string_view body, bool end) = 0;
  virtual boost::asio::awaitable<http::ExchangeError> SendBody(std::string_view body, bool end) = 0;
  // The next response head: an interim one (head.interim: 102, 103, ...; its fields stay valid
  // until the next ReadHead), else the final one. 100 Continue is dropped (rampart answers the
  // client's Expect itself). Body bytes that came with a final head are appended to `body`;
  // `end` is set when they are the whole body (an interim head leaves both alone).
  virtual boost::asio::awaitable<http::ExchangeError> ReadHead(ResponseHead& head,
                                                               std::string& body, bool& end) = 0;
  // Appends the next body bytes to `body`; `end` once the body (and trailers) are complete.
  virtual boost::asio::awaitable<http::ExchangeError> ReadBody(std::string& body, bool& end) = 0;
  // Body bytes taken by ReadHead/ReadBody have been written to the client (flow control).
  virtual void Consumed(std::size_t n) noexcept { (void)n; }
  // Trailer fields that came after the body, if any (names lower case).
  virtual const http::HeaderList* trailers() const noexcept { return nullptr; }
  // The exchange's deadline passed: stop what is waiting (the owner's tick calls this).
  virtual void Cancel() noexcept = 0;
  virtual void End(StreamEnd how) noexcept = 0;
  // The attempt ran over a connection that served earlier requests.
  virtual bool reused() const noexcept = 0;

  // WebSocket (HTTP/1.1 only): after a 101, the raw connection and the bytes read past the head.
  struct Tunnel {
    boost::asio::ip::tcp::socket* socket = nullptr;
    net::TlsStream* tls = nullptr;
    std::string_view early;  // bytes after the 101 head (already WebSocket frames)
  };
  virtual Tunnel TakeTunnel() noexcept { return {}; }

  // Both directions at once (HTTP/2): the driver moves request and response bytes as each side
  // allows, waking on one timer that the stream cancels on every event. Null when unsupported.
  class Duplex;
  virtual Duplex* duplex() noexcept { return nullptr; }
};

class Stream::Duplex {
 public:
  virtual ~Duplex() = default;
  // Request body: queued without waiting; unsent() says how much the origin has not taken.
  virtual void Write(std::string_view data) = 0;
  virtual void EndRequest() = 0;
  virtual std::size_t unsent() const noexcept = 0;
  // Response, as it stands now.
  virtual bool head_done() const noexcept = 0;
  virtual std::string& body() noexcept = 0;  // received, not yet taken (swap it out)
  virtual bool ended() const noexcept = 0;   // body and trailers complete
  // The stream failed: its error (refused streams are retry_safe).
  virtual http::ExchangeError failure() const noexcept = 0;
  // Fills `head` once head_done().
  virtual void Head(ResponseHead& head) const noexcept = 0;
  // An interim head (head.interim: 102, 103, ...) that came before the final one, in order; its
  // fields stay valid until the next TakeInterim or ReadHead. False when none is waiting. `head`
  // alone is written.
  virtual bool TakeInterim(ResponseHead& head) noexcept = 0;
};

}  // namespace rampart::upstream
