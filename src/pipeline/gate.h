// A gate: one security or reliability check on an exchange. Built once per config snapshot,
// immutable, shared by all workers; methods are noexcept and must not block.
//
// The forwarding driver (forward.cc) calls, for the gates of the exchange's route:
//   OnRequestHeaders   in gate order, until one does not continue
//   OnRequestBody      gates that asked for the body, once it is held (before any upstream I/O;
//                      also for a request without one), or OnRequestBodyAsync when it awaits
//   OnResponseHeaders  reverse order, gates whose request phase ran: the origin's head, or
//                      rampart's own answer (a local reply, a 502/504, a stored response)
//   OnResponseBody     gates that asked for it, each piece as it goes to the client
//   OnComplete         every gate whose request phase ran, exactly once, however it ended
// docs/writing_a_gate.md has the details and an example.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "pipeline/decision.h"
#include "pipeline/exchange.h"

namespace rampart {

// What a gate needs of the driver, declared once per snapshot (the route adds them up).
struct GateNeeds {
  bool async_request = false;  // OnRequestHeadersAsync is awaited instead of OnRequestHeaders
  // Hold up to this many request body bytes before the upstream gets a byte, then call
  // OnRequestBody with them.
  std::size_t request_body = 0;
  // A body longer than request_body: inspect the prefix that was held, or refuse it with 413.
  enum class Overflow : std::uint8_t { kInspectPrefix, kRefuse } overflow = Overflow::kRefuse;
  bool response_body = false;  // OnResponseBody for every piece of the response body
};

// How the exchange ended, for OnComplete.
struct Completion {
  int status = 0;  // sent to the client; 0 when none was (dropped, client gone)
  // Empty when the origin's response went through whole; else the reason token of rampart's own
  // answer ("rate_limited", "upstream_timeout", ...) or of the early end ("client_reset").
  std::string_view error;
  std::chrono::microseconds total{};     // from the request head to the end
  std::chrono::microseconds upstream{};  // from the first attempt to the response's end
  int attempts = 0;                      // upstream attempts made
  // Some attempt sent the origin a byte of the request: it may have acted on it. False when
  // every attempt failed to connect, or none was made.
  bool request_sent = false;
};

class Gate {
 public:
  virtual ~Gate() = default;
  virtual std::string_view Name() const noexcept = 0;
  virtual GateNeeds Needs() const noexcept { return {}; }
  // Reason tokens this gate answers with (Decision::reason), so that local replies are counted
  // by their real reason in rampart_http_local_replies_total. Static storage.
  virtual std::span<const std::string_view> Reasons() const noexcept { return {}; }

  // The synchronous path: most gates decide from memory and return here without allocating. A
  // gate that must sometimes wait returns Decision::Await(), and the driver awaits
  // OnRequestHeadersAsync instead (a token already verified answers here; one whose keys must
  // be fetched waits).
  virtual Decision OnRequestHeaders(Exchange&) noexcept { return Decision::Continue(); }
  // Gates that always wait for I/O (a shared store) declare async_request; it is awaited alone.
  virtual boost::asio::awaitable<Decision> OnRequestHeadersAsync(Exchange& ex) noexcept {
    co_return OnRequestHeaders(ex);
  }
  // `body`: what was held (all of it when `complete`; empty for a request without a body).
  // Returning Decision::Await() makes the driver await OnRequestBodyAsync with the same body (a
  // store to ask with the body's hash: idempotency keys).
  virtual Decision OnRequestBody(Exchange&, std::string_view body, bool complete) noexcept {
    (void)body, (void)complete;
    return Decision::Continue();
  }
  virtual boost::asio::awaitable<Decision> OnRequestBodyAsync(Exchange&, std::string_view body,
                                                              bool complete) noexcept {
    (void)body, (void)complete;
    co_return Decision::Continue();
  }
  // ex.response says what is about to be sent; the gate may add headers (ex.response_headers),
  // remove the origin's (ex.response_remove), or replace the answer (Respond or Serve).
  // Returning Decision::Await() (for this response only: a session to write to a store) makes
  // the driver await OnResponseHeadersAsync for this gate, which may not ask again.
  virtual Decision OnResponseHeaders(Exchange&) noexcept { return Decision::Continue(); }
  virtual boost::asio::awaitable<Decision> OnResponseHeadersAsync(Exchange&) noexcept {
    co_return Decision::Continue();
  }
  virtual void OnResponseBody(Exchange&, std::string_view piece, bool end) noexcept {
    (void)piece, (void)end;
  }
  virtual void OnComplete(const Exchange&, const Completion&) noexcept {}
};

}  // namespace rampart
