// X-Forwarded-For / Forwarded chains: no crash, and the resolved client is either the peer or an
// address that parses from one of the chain's entries.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "http/client_address.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace rampart;
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  static const CidrSet trusted = [] {
    CidrSet s;
    s.Add(*Cidr::Parse("10.0.0.0/8"));
    s.Add(*Cidr::Parse("::1/128"));
    return s;
  }();
  const auto peer = boost::asio::ip::make_address("10.0.0.1");
  for (auto which : {http::ClientIpHeader::kXForwardedFor, http::ClientIpHeader::kForwarded}) {
    http::HeaderList h;
    const std::size_t nl = in.find('\n');
    h.Add(which == http::ClientIpHeader::kForwarded ? "Forwarded" : "X-Forwarded-For",
          in.substr(0, nl));
    if (nl != std::string_view::npos) h.Add("x-forwarded-for", in.substr(nl + 1));
    const auto client = http::ResolveClientAddress(h, which, trusted, peer);
    if (client.is_v6() && client.to_v6().is_v4_mapped()) std::abort();  // always normalised
  }
  http::ParseForwardedAddress(in);
  return 0;
}
