// Who the client is, when rampart sits behind other proxies: the rightmost address of the
// forwarding chain that is not one of the listener's trusted proxies (the way nginx's realip
// module with `real_ip_recursive on` and Envoy's trusted-hops walk read it). Addresses to the
// left of that one were written by the client itself and prove nothing.
#pragma once

#include <boost/asio/ip/address.hpp>
#include <cstdint>
#include <optional>
#include <string_view>

#include "core/cidr.h"
#include "http/client_ip_header.h"
#include "http/message.h"

namespace rampart::http {

// `peer` is the connection's (or the PROXY protocol's) source. Only a peer in `trusted` is
// believed; then the chain is read right to left, skipping trusted addresses. A malformed entry
// ("unknown", an obfuscated name, garbage) ends the walk at the address to its right. When every
// address is trusted, the leftmost is the client. IPv4-mapped IPv6 addresses come out as IPv4.
boost::asio::ip::address ResolveClientAddress(const HeaderList& headers, ClientIpHeader header,
                                              const CidrSet& trusted,
                                              const boost::asio::ip::address& peer);

// One chain entry: "192.0.2.7", "192.0.2.7:80", "2001:db8::1", "[2001:db8::1]", "[2001:db8::1]:80".
std::optional<boost::asio::ip::address> ParseForwardedAddress(std::string_view text);

}  // namespace rampart::http
