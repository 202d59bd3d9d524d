// Which request header carries the forwarding chain a trusted proxy wrote (http/client_address.h).
#pragma once

#include <cstdint>

namespace rampart::http {

enum class ClientIpHeader : std::uint8_t {
  kXForwardedFor,  // X-Forwarded-For: 192.0.2.7, 10.0.0.2
  kForwarded,      // RFC 7239 Forwarded: for=192.0.2.7;proto=https, for="[2001:db8::1]:4711"
  kNone,           // the connection's peer is the client
};

}  // namespace rampart::http
