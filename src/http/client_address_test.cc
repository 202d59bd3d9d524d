#include "http/client_address.h"

#include <gtest/gtest.h>

namespace rampart::http {
namespace {

namespace ip = boost::asio::ip;

CidrSet Trusted(std::initializer_list<const char*> nets) {
  CidrSet s;
  for (const char* n : nets) s.Add(*Cidr::Parse(n));
  return s;
}

std::string Resolve(std::vector<std::pair<std::string_view, std::string_view>> fields,
                    const char* peer, ClientIpHeader which = ClientIpHeader::kXForwardedFor,
                    const CidrSet& trusted = Trusted({"10.0.0.0/8", "2001:db8:ffff::/48"})) {
  HeaderList h;
  for (auto& [n, v] : fields) h.Add(n, v);
  return ResolveClientAddress(h, which, trusted, ip::make_address(peer)).to_string();
}

TEST(ClientAddress, AnUntrustedPeerIsTheClientWhateverItClaims) {
  EXPECT_EQ(Resolve({{"X-Forwarded-For", "1.2.3.4"}}, "192.0.2.9"), "192.0.2.9");
  EXPECT_EQ(Resolve({{"Forwarded", "for=1.2.3.4"}}, "192.0.2.9", ClientIpHeader::kForwarded),
            "192.0.2.9");
  // No trusted proxies configured: nobody is believed.
  EXPECT_EQ(Resolve({{"X-Forwarded-For", "1.2.3.4"}}, "10.0.0.1", ClientIpHeader::kXForwardedFor,
                    CidrSet()),
            "10.0.0.1");
}

TEST(ClientAddress, RightmostUntrustedAddressOfATrustedPeersChain) {
  // The client forged 6.6.6.6; the balancer at 10.0.0.2 appended what it saw.
  EXPECT_EQ(Resolve({{"X-Forwarded-For", "6.6.6.6, 198.51.100.7, 10.0.0.2"}}, "10.0.0.1"),
            "198.51.100.7");
  // Several fields form one list, in order.
  EXPECT_EQ(
      Resolve({{"X-Forwarded-For", "6.6.6.6"}, {"x-forwarded-for", "198.51.100.7"}}, "10.0.0.1"),
      "198.51.100.7");
  // Every hop trusted: the leftmost is the client.
  EXPECT_EQ(Resolve({{"X-Forwarded-For", "10.9.9.9, 10.0.0.2"}}, "10.0.0.1"), "10.9.9.9");
  // A trusted peer that sent no chain is itself the client.
  EXPECT_EQ(Resolve({}, "10.0.0.1"), "10.0.0.1");
  EXPECT_EQ(Resolve({{"X-Forwarded-For", "198.51.100.7"}}, "10.0.0.1", ClientIpHeader::kNone),
            "10.0.0.1");
}

TEST(ClientAddress, AMalformedHopStopsTheWalkAtTheLastAddressThatWasSaid) {
  EXPECT_EQ(Resolve({{"X-Forwarded-For", "198.51.100.7, garbage, 10.0.0.2"}}, "10.0.0.1"),
            "10.0.0.2");
  EXPECT_EQ(Resolve({{"X-Forwarded-For", "198.51.100.7, unknown"}}, "10.0.0.1"), "10.0.0.1");
  EXPECT_EQ(Resolve({{"X-Forwarded-For", "198.51.100.7, 10.0.0.2 10.0.0.3"}}, "10.0.0.1"),
            "10.0.0.1");
  // Empty elements are allowed and skipped.
  EXPECT_EQ(Resolve({{"X-Forwarded-For", "198.51.100.7,, 10.0.0.2,"}}, "10.0.0.1"), "198.51.100.7");
}

TEST(ClientAddress, AddressFormsAndNormalisation) {
  EXPECT_EQ(Resolve({{"X-Forwarded-For", "198.51.100.7:4711"}}, "10.0.0.1"), "198.51.100.7");
  EXPECT_EQ(Resolve({{"X-Forwarded-For", "[2001:db8::7]:4711"}}, "10.0.0.1"), "2001:db8::7");
  EXPECT_EQ(Resolve({{"X-Forwarded-For", "2001:db8::7"}}, "10.0.0.1"), "2001:db8::7");
  EXPECT_EQ(Resolve({{"X-Forwarded-For", "::ffff:198.51.100.7"}}, "10.0.0.1"), "198.51.100.7");
  // An IPv4-mapped trusted peer is trusted, and comes out as IPv4.
  EXPECT_EQ(Resolve({{"X-Forwarded-For", "198.51.100.7"}}, "::ffff:10.0.0.1"), "198.51.100.7");
  EXPECT_EQ(Resolve({}, "::ffff:192.0.2.1"), "192.0.2.1");
  // A mapped address cannot smuggle a trusted one past the check, nor a scope id be used.
  EXPECT_EQ(Resolve({{"X-Forwarded-For", "198.51.100.7, ::ffff:10.0.0.5"}}, "10.0.0.1"),
            "198.51.100.7");
  EXPECT_EQ(Resolve({{"X-Forwarded-For", "fe80::1%eth0"}}, "10.0.0.1"), "10.0.0.1");
  for (const char* bad : {"", "[2001:db8::7", "[2001:db8::7]x", "1.2.3.4:", "1.2.3.4:x",
                          "1.2.3.4:123456", "1.2.3", "01.2.3.4x", "[1.2.3.4]", "1.2.3.4 "}) {
    if (std::string_view(bad) == "1.2.3.4 ") {
      EXPECT_TRUE(ParseForwardedAddress(bad).has_value());  // surrounding blanks are trimmed
      continue;
    }
    EXPECT_FALSE(ParseForwardedAddress(bad).has_value()) << bad;
  }
}

TEST(ClientAddress, ForwardedHeaderForParameters) {
  const auto F = ClientIpHeader::kForwarded;
  EXPECT_EQ(Resolve({{"Forwarded", "for=6.6.6.6, for=198.51.100.7;proto=https, for=10.0.0.2"}},
                    "10.0.0.1", F),
            "198.51.100.7");
  EXPECT_EQ(Resolve({{"Forwarded", "proto=https;For=\"[2001:db8::7]:4711\""}}, "10.0.0.1", F),
            "2001:db8::7");
  EXPECT_EQ(Resolve({{"Forwarded", "for=198.51.100.7, for=_hidden"}}, "10.0.0.1", F), "10.0.0.1");
  EXPECT_EQ(Resolve({{"Forwarded", "for=198.51.100.7, by=10.0.0.2"}}, "10.0.0.1", F),
            "10.0.0.1");  // an element without `for` says nothing about the client
  // X-Forwarded-For is not read when Forwarded is the chosen header, and the reverse.
  EXPECT_EQ(Resolve({{"X-Forwarded-For", "198.51.100.7"}}, "10.0.0.1", F), "10.0.0.1");
  EXPECT_EQ(Resolve({{"Forwarded", "for=198.51.100.7"}}, "10.0.0.1"), "10.0.0.1");
}

}  // namespace
}  // namespace rampart::http
