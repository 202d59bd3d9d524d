// What a listener does with connections before any request: the PROXY protocol header and the
// refusals at accept, by reason. Created at snapshot build, kept across reloads (the series
// live in the process's metrics).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "net/deadline.h"
#include "observe/metrics.h"

namespace rampart::downstream {

// Why a connection was closed before rampart sent it a byte.
enum class ConnectionRefusal : std::uint8_t {
  kProxyUntrusted,  // a PROXY protocol listener, and the peer is not in proxy_protocol.from
  kProxyMalformed,  // the PROXY header was malformed or truncated
  kProxyTimeout,    // the PROXY header did not arrive within header_timeout
  kMaxConnections,  // the listener already holds connections.max
  kMaxPerSource,    // the client already holds connections.max_per_source
  kRatePerSource,   // the client opened connections faster than connections.rate_per_source
  kIpDenied,        // the listener's ip_list denies the client
  kBlackholed,      // the client is blackholed (gates/blackhole)
  kCount
};

constexpr std::string_view ConnectionRefusalToken(ConnectionRefusal r) noexcept {
  constexpr std::array<std::string_view, static_cast<std::size_t>(ConnectionRefusal::kCount)>
      kNames = {"proxy_protocol_untrusted",
                "proxy_protocol_malformed",
                "proxy_protocol_timeout",
                "max_connections",
                "max_per_source",
                "rate_per_source",
                "ip_denied",
                "blackholed"};
  return kNames[static_cast<std::size_t>(r)];
}

// What a well-formed PROXY header said.
enum class ProxyHeaderResult : std::uint8_t { kProxy, kLocal, kUnknown, kCount };

constexpr std::string_view ProxyHeaderResultToken(ProxyHeaderResult r) noexcept {
  constexpr std::array<std::string_view, static_cast<std::size_t>(ProxyHeaderResult::kCount)>
      kNames = {"proxy", "local", "unknown"};
  return kNames[static_cast<std::size_t>(r)];
}

// Where a slow client was cut (net/rate_floor.h, the listener's timeouts): waiting for its request
// head (header_timeout), its request body (body_timeout or min_request_body_rate), or for it to
// read the response (send_timeout or min_response_rate).
enum class SlowPhase : std::uint8_t { kHead, kBody, kResponse, kCount };

constexpr std::string_view SlowPhaseToken(SlowPhase p) noexcept {
  constexpr std::array<std::string_view, static_cast<std::size_t>(SlowPhase::kCount)> kNames = {
      "head", "body", "response"};
  return kNames[static_cast<std::size_t>(p)];
}

struct ListenerCounters {
  // rampart_slow_clients_total{listener,phase}
  std::array<observe::CounterSeries*, static_cast<std::size_t>(SlowPhase::kCount)> slow{};
  // rampart_connections_refused_total{listener,reason}
  std::array<observe::CounterSeries*, static_cast<std::size_t>(ConnectionRefusal::kCount)>
      refused{};
  // rampart_proxy_protocol_headers_total{listener,result}
  std::array<observe::CounterSeries*, static_cast<std::size_t>(ProxyHeaderResult::kCount)>
      proxy_headers{};

  // Counts a deadline that expired on a client wait; other kinds (idle, upstream) are not slow
  // clients.
  void CountExpired(net::TimeoutKind kind, int worker) const noexcept {
    SlowPhase p = SlowPhase::kCount;
    if (kind == net::TimeoutKind::kHeader) p = SlowPhase::kHead;
    if (kind == net::TimeoutKind::kBody) p = SlowPhase::kBody;
    if (kind == net::TimeoutKind::kSend) p = SlowPhase::kResponse;
    if (p == SlowPhase::kCount) return;
    if (auto* c = slow[static_cast<std::size_t>(p)]) c->Add(worker);
  }
};

}  // namespace rampart::downstream
