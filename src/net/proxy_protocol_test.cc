#include "net/proxy_protocol.h"

#include <gtest/gtest.h>

#include <string>

namespace rampart::net {
namespace {

using S = ProxyParseStatus;
using K = ProxyHeader::Kind;

std::string V2(std::uint8_t ver_cmd, std::uint8_t family, std::string payload) {
  std::string h("\r\n\r\n\0\r\nQUIT\n", 12);
  h.push_back(static_cast<char>(ver_cmd));
  h.push_back(static_cast<char>(family));
  h.push_back(static_cast<char>(payload.size() >> 8));
  h.push_back(static_cast<char>(payload.size() & 0xff));
  return h + payload;
}

std::string V4Block() {
  return std::string("\xc0\x00\x02\x07\x0a\x00\x00\x01\x30\x39\x01\xbb", 12);  // :12345 -> :443
}

TEST(ProxyProtocol, Version1Tcp4AndTcp6) {
  ProxyHeader h;
  std::string in = "PROXY TCP4 192.0.2.7 10.0.0.1 56324 443\r\nGET / HTTP/1.1\r\n";
  auto r = ParseProxyHeader(in, h);
  ASSERT_EQ(r.status, S::kDone);
  EXPECT_EQ(r.length, in.find("GET"));
  EXPECT_EQ(h.kind, K::kProxy);
  EXPECT_EQ(h.version, 1);
  EXPECT_EQ(h.source.to_string(), "192.0.2.7");
  EXPECT_EQ(h.source_port, 56324);
  EXPECT_EQ(h.destination_port, 443);
  r = ParseProxyHeader("PROXY TCP6 2001:db8::1 2001:db8::2 1 65535\r\n", h);
  ASSERT_EQ(r.status, S::kDone);
  EXPECT_EQ(h.source.to_string(), "2001:db8::1");
  EXPECT_EQ(h.destination_port, 65535);
}

TEST(ProxyProtocol, Version1UnknownKeepsThePeer) {
  ProxyHeader h;
  auto r = ParseProxyHeader("PROXY UNKNOWN\r\n", h);
  ASSERT_EQ(r.status, S::kDone);
  EXPECT_EQ(r.length, 15u);
  EXPECT_EQ(h.kind, K::kUnknown);
  r = ParseProxyHeader("PROXY UNKNOWN ffff::1 ffff::2 1 2\r\n", h);
  ASSERT_EQ(r.status, S::kDone);
  EXPECT_EQ(h.kind, K::kUnknown);
  // Whatever follows UNKNOWN is ignored, however it is spaced.
  r = ParseProxyHeader("PROXY UNKNOWN  a  b c d e f g\r\n", h);
  ASSERT_EQ(r.status, S::kDone);
  EXPECT_EQ(h.kind, K::kUnknown);
}

TEST(ProxyProtocol, Version1LiesAreMalformed) {
  for (std::string bad : {
           "PROXY TCP4 192.0.2.7 10.0.0.1 56324 443\n",      // no CR
           "PROXY TCP4 192.0.2.7  10.0.0.1 56324 443\r\n",   // two spaces
           "PROXY TCP4 192.0.2.7 10.0.0.1 56324 443 \r\n",   // trailing space
           "PROXY TCP4 192.0.2.7 10.0.0.1 56324\r\n",        // a field short
           "PROXY TCP4 192.0.2.7 10.0.0.1 56324 443 9\r\n",  // a field more
           "PROXY TCP4 2001:db8::1 10.0.0.1 1 2\r\n",        // family mismatch
           "PROXY TCP6 192.0.2.7 2001:db8::2 1 2\r\n",       // family mismatch
           "PROXY TCP6 fe80::1%eth0 2001:db8::2 1 2\r\n",    // scope id
           "PROXY TCP4 192.0.2.7 10.0.0.1 65536 443\r\n",    // port out of range
           "PROXY TCP4 192.0.2.7 10.0.0.1 +1 443\r\n",       // signed port
           "PROXY TCP4 192.0.2.7 10.0.0.1 0443 443\r\n",     // leading zero
           "PROXY TCP4 192.0.2.300 10.0.0.1 1 2\r\n",        // not an address
           "PROXY UDP4 192.0.2.7 10.0.0.1 1 2\r\n",          // not TCP
           "PROXY tcp4 192.0.2.7 10.0.0.1 1 2\r\n",          // case
           "PROXY \r\n",                                     // nothing
           "proxy TCP4 192.0.2.7 10.0.0.1 1 2\r\n",          // not the prefix
           "GET / HTTP/1.1\r\n",                             // no header at all
           "\x16\x03\x01\x02\x00\x01",                       // a TLS ClientHello
       }) {
    ProxyHeader h;
    EXPECT_EQ(ParseProxyHeader(bad, h).status, S::kMalformed) << bad;
  }
  ProxyHeader h;
  EXPECT_EQ(ParseProxyHeader("PROXY TCP4 " + std::string(100, '1'), h).status, S::kMalformed);
}

TEST(ProxyProtocol, IncompleteHeadersAskOnlyForBytesThatAreHeader) {
  ProxyHeader h;
  const std::string full = "PROXY TCP4 192.0.2.7 10.0.0.1 56324 443\r\n";
  for (std::size_t i = 0; i < full.size(); ++i) {
    auto r = ParseProxyHeader(full.substr(0, i), h);
    ASSERT_EQ(r.status, S::kNeedMore) << i;
    EXPECT_GE(r.length, 1u);
    if (i < 6) {
      EXPECT_EQ(r.length, 6 - i);  // never past the shortest header
    }
  }
  const std::string v2 = V2(0x21, 0x11, V4Block());
  for (std::size_t i = 0; i < v2.size(); ++i) {
    auto r = ParseProxyHeader(v2.substr(0, i), h);
    ASSERT_EQ(r.status, S::kNeedMore) << i;
    EXPECT_LE(i + r.length, v2.size()) << i;  // exact: never a byte of what follows
  }
  EXPECT_EQ(ProxyV1Take("443\r\nGET"), 5u);
  EXPECT_EQ(ProxyV1Take("443"), 3u);
}

TEST(ProxyProtocol, Version2ProxyLocalAndUnspec) {
  ProxyHeader h;
  std::string in = V2(0x21, 0x11, V4Block()) + "\x16\x03\x01";
  auto r = ParseProxyHeader(in, h);
  ASSERT_EQ(r.status, S::kDone);
  EXPECT_EQ(r.length, 28u);
  EXPECT_EQ(h.kind, K::kProxy);
  EXPECT_EQ(h.source.to_string(), "192.0.2.7");
  EXPECT_EQ(h.source_port, 12345);
  EXPECT_EQ(h.destination.to_string(), "10.0.0.1");
  std::string v6(36, '\0');
  v6[0] = '\x20';
  v6[1] = '\x01';
  v6[15] = '\x09';
  v6[33] = '\x50';
  r = ParseProxyHeader(V2(0x21, 0x21, v6), h);
  ASSERT_EQ(r.status, S::kDone);
  EXPECT_EQ(h.source.to_string(), "2001::9");
  EXPECT_EQ(h.source_port, 0x50);
  r = ParseProxyHeader(V2(0x20, 0x00, ""), h);  // LOCAL: a health check from the balancer
  ASSERT_EQ(r.status, S::kDone);
  EXPECT_EQ(h.kind, K::kLocal);
  r = ParseProxyHeader(V2(0x21, 0x00, ""), h);  // PROXY with UNSPEC
  ASSERT_EQ(r.status, S::kDone);
  EXPECT_EQ(h.kind, K::kUnknown);
  r = ParseProxyHeader(V2(0x21, 0x12, V4Block()), h);  // UDP over IPv4
  ASSERT_EQ(r.status, S::kDone);
  EXPECT_EQ(h.kind, K::kUnknown);
}

TEST(ProxyProtocol, Version2TlvsAreSkipped) {
  ProxyHeader h;
  // ALPN (0x01), authority (0x02) and a vendor TLV after the addresses.
  const std::string tlvs = std::string(
      "\x01\x00\x02h2\x02\x00\x03"
      "a.b\xea\x00\x01x",
      16);
  auto r = ParseProxyHeader(V2(0x21, 0x11, V4Block() + tlvs), h);
  ASSERT_EQ(r.status, S::kDone);
  EXPECT_EQ(r.length, 16u + 12 + tlvs.size());
  EXPECT_EQ(h.source.to_string(), "192.0.2.7");
}

TEST(ProxyProtocol, Version2LiesAreMalformed) {
  ProxyHeader h;
  EXPECT_EQ(ParseProxyHeader(V2(0x11, 0x11, V4Block()), h).status, S::kMalformed);  // version 1
  EXPECT_EQ(ParseProxyHeader(V2(0x22, 0x11, V4Block()), h).status, S::kMalformed);  // command 2
  EXPECT_EQ(ParseProxyHeader(V2(0x21, 0x11, "\x01\x02\x03"), h).status, S::kMalformed);
  EXPECT_EQ(ParseProxyHeader(V2(0x21, 0x21, V4Block()), h).status, S::kMalformed);  // short v6
  std::string huge = V2(0x21, 0x11, std::string(2000, 'x'));
  EXPECT_EQ(ParseProxyHeader(huge.substr(0, 16), h).status, S::kMalformed);  // before reading it
  std::string bad_sig = V2(0x21, 0x11, V4Block());
  bad_sig[11] = 'X';
  EXPECT_EQ(ParseProxyHeader(bad_sig, h).status, S::kMalformed);
}

}  // namespace
}  // namespace rampart::net
