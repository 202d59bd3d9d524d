// Reading a PROXY protocol header off a freshly accepted socket, byte-exact: the bytes after it
// (a TLS ClientHello, an HTTP request) stay in the socket for whoever reads next. Peeks at what
// has arrived, then takes exactly the part that is header (net/proxy_protocol.h). The caller
// bounds the wait (cancelling the socket ends it).
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>

#include "net/proxy_protocol.h"

namespace rampart::downstream {

enum class ProxyReadStatus : std::uint8_t { kOk, kMalformed, kClosed };

struct ProxyReadResult {
  ProxyReadStatus status = ProxyReadStatus::kClosed;
  std::string_view error;  // kMalformed: what was wrong (static text)
};

boost::asio::awaitable<ProxyReadResult> ReadProxyHeader(boost::asio::ip::tcp::socket& socket,
                                                        net::ProxyHeader& out);

}  // namespace rampart::downstream
