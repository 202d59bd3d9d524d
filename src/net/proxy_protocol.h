// The PROXY protocol header (HAProxy's specification, versions 1 and 2) that a load balancer in
// front of rampart sends before the client's own bytes, naming the client's address.
//
// The parser is incremental and never asks for a byte past the header: `Parse` says either that
// the header is complete (and how long it is), that it is malformed, or how many more bytes are
// certainly part of it, so the reader can take exactly those from the socket and leave the
// client's first bytes (a TLS ClientHello, an HTTP request) where they are.
#pragma once

#include <boost/asio/ip/address.hpp>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace rampart::net {

struct ProxyHeader {
  // kProxy with an address: the client is `source`. kLocal (v2 LOCAL, the balancer's own
  // health check) and kUnknown (v1 UNKNOWN, v2 UNSPEC or a family other than TCP over IPv4/IPv6):
  // the connection's own peer stands.
  enum class Kind : std::uint8_t { kProxy, kLocal, kUnknown } kind = Kind::kUnknown;
  int version = 0;  // 1 or 2
  boost::asio::ip::address source;
  boost::asio::ip::address destination;
  std::uint16_t source_port = 0;
  std::uint16_t destination_port = 0;
};

enum class ProxyParseStatus : std::uint8_t { kNeedMore, kDone, kMalformed };

struct ProxyParseResult {
  ProxyParseStatus status = ProxyParseStatus::kNeedMore;
  // kDone: the header's length. kNeedMore: how many more bytes, at most, are certainly header
  // (a version 1 header ends at its CRLF: the reader may take fewer, up to the line's end).
  std::size_t length = 0;
  std::string_view error;  // kMalformed: what was wrong (static text)
};

// Version 1 lines are at most 107 bytes; version 2 headers are refused above this size (their
// TLVs are skipped, never interpreted).
inline constexpr std::size_t kMaxProxyV1 = 107;
inline constexpr std::size_t kMaxProxyV2 = 16 + 1024;

// `in` holds the connection's first bytes, all of them header so far.
ProxyParseResult ParseProxyHeader(std::string_view in, ProxyHeader& out);

// For a version 1 header in progress: of `more` (bytes that followed `in` on the socket, read
// without consuming them), how many belong to the header: through the first LF, else all.
std::size_t ProxyV1Take(std::string_view more) noexcept;

}  // namespace rampart::net
