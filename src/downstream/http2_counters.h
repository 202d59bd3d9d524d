// rampart_http2_* counters of one listener, created at snapshot build and kept across reloads.
#pragma once

#include <array>
#include <cstdint>
#include <string_view>

#include "observe/metrics.h"

namespace rampart::downstream {

// Why rampart sent a connection GOAWAY with an error, or closed a connection.
enum class GoawayReason : std::uint8_t {
  kRapidReset,         // the client's RST_STREAM rate exceeded reset_burst/resets_per_second
  kContinuationFlood,  // more than max_continuations CONTINUATION frames after one HEADERS
  kControlFlood,       // PING/SETTINGS/PRIORITY/empty DATA/invalid frames over the per-second cap
  kStreamFlood,        // a stream opened past max_concurrent_streams (nghttp2: connection error)
  kProtocolError,      // any other connection error (bad preface, frame size, HPACK, ...)
  kStreamClosed,       // DATA or HEADERS on a stream the client had already ended
  kIdle,               // no stream for idle_timeout: GOAWAY(NO_ERROR)
  kCount
};

constexpr std::string_view GoawayReasonToken(GoawayReason r) noexcept {
  constexpr std::array<std::string_view, static_cast<std::size_t>(GoawayReason::kCount)> kNames = {
      "rapid_reset",    "continuation_flood", "control_flood", "stream_flood",
      "protocol_error", "stream_closed",      "idle"};
  return kNames[static_cast<std::size_t>(r)];
}

// The access log's reason for a stream cut short by the connection error `r`.
constexpr std::string_view GoawayStreamReason(GoawayReason r) noexcept {
  constexpr std::array<std::string_view, static_cast<std::size_t>(GoawayReason::kCount)> kNames = {
      "http2_rapid_reset",  "http2_continuation_flood", "http2_control_flood",
      "http2_stream_flood", "http2_protocol_error",     "http2_stream_closed",
      "http2_idle"};
  return kNames[static_cast<std::size_t>(r)];
}

struct Http2Counters {
  observe::CounterSeries* connections = nullptr;  // rampart_http2_connections_total
  observe::CounterSeries* streams = nullptr;      // rampart_http2_streams_total
  observe::CounterSeries* resets = nullptr;       // rampart_http2_client_resets_total
  // rampart_http2_goaways_total{reason}
  std::array<observe::CounterSeries*, static_cast<std::size_t>(GoawayReason::kCount)> goaways{};
};

}  // namespace rampart::downstream
