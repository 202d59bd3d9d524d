// What went wrong in one exchange, on either side, as one type: which side, at which step,
// whether the upstream may have received the request, and whether sending it again is safe.
// The status and reason token rampart answers with, the access log's reason and the upstream
// error metric's label all come from it.
#pragma once

#include <cstdint>
#include <string_view>

namespace rampart::http {

enum class Side : std::uint8_t { kNone, kDownstream, kUpstream };

enum class Step : std::uint8_t {
  kNone,
  kPick,             // choosing an endpoint (none may be tried)
  kConnect,          // TCP connect, TLS handshake, or an HTTP/2 session to open a stream on
  kSendHead,         // the request head (with the body bytes held so far)
  kSendBody,         // the rest of the request body
  kReadHead,         // the response head
  kReadBody,         // the response body
  kReadRequestBody,  // the client's request body
  kWriteResponse,    // the response to the client
};

enum class ErrorKind : std::uint8_t {
  kNone,
  // Upstream side.
  kNoEndpoint,          // no endpoint may be tried: a policy refused, or none is available
  kCircuitOpen,         // the upstream's circuit breaker is open: it is not tried
  kBulkheadFull,        // the upstream's bulkhead has no place (and none came in time)
  kConcurrencyLimited,  // the upstream is at its adaptive concurrency limit (for this priority)
  kConnectRefused,      // TCP connect failed, or the HTTP/2 session could not open
  kConnectTimeout,      // connect (or TLS handshake) past connect_timeout
  kTls,                 // the TLS handshake with the upstream failed
  kStale,               // a pooled connection the origin had closed: nothing was processed
  kRefusedStream,       // HTTP/2 REFUSED_STREAM or above a GOAWAY's last stream: not processed
  kTimeout,             // no response (or no more of it) within response_timeout
  kReset,               // the upstream closed or reset the connection or stream mid-exchange
  kBadResponse,         // unparsable, too large, or a status the protocol does not allow
  kUnexpectedSwitch,    // a 101 that the request did not ask for
  // Downstream side.
  kClientClosed,      // the client closed while rampart was still reading the request
  kClientReset,       // the client reset the stream (HTTP/2) or the connection
  kRequestTimeout,    // the request body stopped arriving (body_timeout)
  kBadRequestBody,    // the request body is malformed (chunked framing)
  kBodyTooLarge,      // the request body is over max_body
  kTrailersTooLarge,  // the request trailer section is over max_header_bytes
  kSendFailed,        // writing the response to the client failed or timed out
};

struct ExchangeError {
  ErrorKind kind = ErrorKind::kNone;
  Side side = Side::kNone;
  Step step = Step::kNone;
  bool request_sent = false;  // the upstream may have received some of the request
  bool retry_safe = false;    // the upstream did not act on it: it may be sent again
  std::string_view detail;    // a more precise message (static storage), else message()'s

  explicit operator bool() const noexcept { return kind != ErrorKind::kNone; }
  bool upstream() const noexcept { return side == Side::kUpstream; }

  static constexpr ExchangeError Upstream(ErrorKind k, Step s, bool sent, bool safe) noexcept {
    return {k, Side::kUpstream, s, sent, safe, {}};
  }
  static constexpr ExchangeError Downstream(ErrorKind k, Step s,
                                            std::string_view detail = {}) noexcept {
    return {k, Side::kDownstream, s, false, false, detail};
  }

  // rampart shed the request to spare the upstream: the answer carries Retry-After.
  constexpr bool overload() const noexcept {
    return kind == ErrorKind::kCircuitOpen || kind == ErrorKind::kBulkheadFull ||
           kind == ErrorKind::kConcurrencyLimited;
  }
  // The status rampart answers with when nothing of the response has been sent yet.
  constexpr int status() const noexcept {
    switch (kind) {
      case ErrorKind::kConnectTimeout:
      case ErrorKind::kTimeout:
        return 504;
      case ErrorKind::kNoEndpoint:
      case ErrorKind::kCircuitOpen:
      case ErrorKind::kBulkheadFull:
      case ErrorKind::kConcurrencyLimited:
        return 503;
      case ErrorKind::kRequestTimeout:
        return 408;
      case ErrorKind::kBadRequestBody:
        return 400;
      case ErrorKind::kBodyTooLarge:
        return 413;
      case ErrorKind::kTrailersTooLarge:
        return 431;
      case ErrorKind::kClientClosed:
      case ErrorKind::kClientReset:
      case ErrorKind::kSendFailed:
        return 0;  // nobody to answer
      default:
        return 502;
    }
  }
  // The reason token: the JSON error body's "error", the access log's "reason".
  constexpr std::string_view token() const noexcept {
    switch (kind) {
      case ErrorKind::kNone:
        return {};
      case ErrorKind::kConnectTimeout:
      case ErrorKind::kTimeout:
        return "upstream_timeout";
      case ErrorKind::kNoEndpoint:
        return "upstream_unavailable";
      case ErrorKind::kCircuitOpen:
        return "upstream_circuit_open";
      case ErrorKind::kBulkheadFull:
        return "upstream_overloaded";
      case ErrorKind::kConcurrencyLimited:
        return "concurrency_limited";
      case ErrorKind::kBadResponse:
      case ErrorKind::kUnexpectedSwitch:
        return "upstream_bad_response";
      case ErrorKind::kRequestTimeout:
        return "request_timeout";
      case ErrorKind::kBadRequestBody:
        return "bad_request";
      case ErrorKind::kBodyTooLarge:
        return "body_too_large";
      case ErrorKind::kTrailersTooLarge:
        return "headers_too_large";
      case ErrorKind::kClientClosed:
        return "client_closed";
      case ErrorKind::kClientReset:
        return "client_reset";
      case ErrorKind::kSendFailed:
        return "client_write_failed";
      default:
        return "upstream_unavailable";
    }
  }
  // rampart_upstream_errors_total{kind}: connect_failure, timeout, reset or bad_response.
  constexpr std::string_view upstream_label() const noexcept {
    switch (kind) {
      case ErrorKind::kConnectRefused:
      case ErrorKind::kTls:
      case ErrorKind::kNoEndpoint:
        return "connect_failure";
      case ErrorKind::kConnectTimeout:
      case ErrorKind::kTimeout:
        return "timeout";
      case ErrorKind::kBadResponse:
      case ErrorKind::kUnexpectedSwitch:
        return "bad_response";
      default:
        return "reset";
    }
  }
  // For the JSON error body.
  constexpr std::string_view message() const noexcept {
    if (!detail.empty()) return detail;
    switch (kind) {
      case ErrorKind::kNoEndpoint:
        return "no upstream endpoint is available";
      case ErrorKind::kCircuitOpen:
        return "the upstream is failing: its circuit breaker is open, so it is not tried";
      case ErrorKind::kBulkheadFull:
        return "the upstream has as many requests in flight as it may take";
      case ErrorKind::kConcurrencyLimited:
        return "the upstream is at the concurrency its latency allows: try again shortly";
      case ErrorKind::kConnectRefused:
        return "cannot connect to the upstream";
      case ErrorKind::kConnectTimeout:
        return "the upstream did not accept the connection in time";
      case ErrorKind::kTls:
        return "the TLS handshake with the upstream failed";
      case ErrorKind::kStale:
      case ErrorKind::kReset:
        return step == Step::kReadHead || step == Step::kReadBody
                   ? "the upstream closed the connection without a response"
                   : "the upstream closed the connection";
      case ErrorKind::kRefusedStream:
        return "the upstream reset the stream without a response";
      case ErrorKind::kTimeout:
        return "the upstream did not respond in time";
      case ErrorKind::kBadResponse:
        return "the upstream sent an invalid response";
      case ErrorKind::kUnexpectedSwitch:
        return "unexpected protocol switch";
      case ErrorKind::kRequestTimeout:
        return "the request body did not arrive in time";
      case ErrorKind::kBodyTooLarge:
        return "request body too large";
      case ErrorKind::kBadRequestBody:
        return "malformed request body";
      default:
        return "the exchange failed";
    }
  }
};

}  // namespace rampart::http
