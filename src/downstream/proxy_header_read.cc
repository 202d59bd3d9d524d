#include "downstream/proxy_header_read.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <string>

namespace rampart::downstream {

namespace asio = boost::asio;

asio::awaitable<ProxyReadResult> ReadProxyHeader(asio::ip::tcp::socket& socket,
                                                 net::ProxyHeader& out) {
  std::string header;  // what was taken so far: all of it header
  char peeked[256];
  for (;;) {
    const net::ProxyParseResult r = net::ParseProxyHeader(header, out);
    if (r.status == net::ProxyParseStatus::kDone) co_return ProxyReadResult{ProxyReadStatus::kOk};
    if (r.status == net::ProxyParseStatus::kMalformed)
      co_return ProxyReadResult{ProxyReadStatus::kMalformed, r.error};
    auto [ec, n] = co_await socket.async_receive(
        asio::buffer(peeked, std::min(r.length, sizeof(peeked))),
        asio::ip::tcp::socket::message_peek, asio::as_tuple(asio::use_awaitable));
    // A balancer's TCP health check connects and closes: not a malformed header.
    if ((ec == asio::error::eof || (!ec && n == 0)) && header.empty())
      co_return ProxyReadResult{ProxyReadStatus::kClosed};
    if (ec == asio::error::eof || (!ec && n == 0))
      co_return ProxyReadResult{ProxyReadStatus::kMalformed, "truncated header"};
    if (ec) co_return ProxyReadResult{ProxyReadStatus::kClosed};
    // Version 2 (and the first bytes of either) ask for an exact count; version 1 ends at LF.
    const std::string_view seen(peeked, n);
    const std::size_t take = header.starts_with("PROXY ") ? net::ProxyV1Take(seen) : n;
    boost::system::error_code rec;
    const std::size_t got = socket.receive(asio::buffer(peeked, take), 0, rec);
    if (rec || got != take) co_return ProxyReadResult{ProxyReadStatus::kClosed};
    header.append(peeked, got);
  }
}

}  // namespace rampart::downstream
