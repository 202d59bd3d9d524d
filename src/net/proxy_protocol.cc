#include "net/proxy_protocol.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <cstring>

#include "core/cidr.h"

namespace rampart::net {

namespace {

constexpr std::string_view kV2Signature("\r\n\r\n\0\r\nQUIT\n", 12);
constexpr std::string_view kV1Prefix = "PROXY ";
constexpr std::size_t kDecide = 6;  // bytes that tell v1 from v2 (and both never end sooner)

ProxyParseResult Malformed(std::string_view why) { return {ProxyParseStatus::kMalformed, 0, why}; }

ProxyParseResult NeedMore(std::size_t n) { return {ProxyParseStatus::kNeedMore, n, {}}; }

// A decimal port 0..65535 without sign, leading zeros or spaces.
bool ParsePort(std::string_view s, std::uint16_t& out) {
  if (s.empty() || s.size() > 5 || (s.size() > 1 && s[0] == '0')) return false;
  unsigned v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || v > 65535) return false;
  out = static_cast<std::uint16_t>(v);
  return true;
}

bool ParseAddress(std::string_view s, bool v6, boost::asio::ip::address& out) {
  const auto a = ParseIpLiteral(s, v6);
  if (a) out = *a;
  return a.has_value();
}

ProxyParseResult ParseV1(std::string_view in, ProxyHeader& out) {
  const std::size_t lf = in.find('\n');
  if (lf == std::string_view::npos) {
    if (in.size() >= kMaxProxyV1) return Malformed("version 1 line too long");
    return NeedMore(kMaxProxyV1 - in.size());
  }
  if (lf + 1 > kMaxProxyV1) return Malformed("version 1 line too long");
  if (lf == 0 || in[lf - 1] != '\r') return Malformed("version 1 line does not end in CRLF");
  std::string_view line = in.substr(kV1Prefix.size(), lf - 1 - kV1Prefix.size());
  out = {};
  out.version = 1;
  if (line == "UNKNOWN" || line.starts_with("UNKNOWN ")) {
    // The specification: whatever follows UNKNOWN up to the CRLF is ignored.
    out.kind = ProxyHeader::Kind::kUnknown;
    return {ProxyParseStatus::kDone, lf + 1, {}};
  }
  std::array<std::string_view, 5> f{};
  std::size_t n = 0;
  while (!line.empty()) {
    const std::size_t sp = line.find(' ');
    const std::string_view tok = line.substr(0, sp);
    if (tok.empty()) return Malformed("version 1 fields separated by more than one space");
    if (n == f.size()) return Malformed("version 1 line has too many fields");
    f[n++] = tok;
    if (sp == std::string_view::npos) break;
    line.remove_prefix(sp + 1);
    if (line.empty()) return Malformed("version 1 line ends in a space");
  }
  if (n != 5 || (f[0] != "TCP4" && f[0] != "TCP6"))
    return Malformed("version 1 needs TCP4, TCP6 or UNKNOWN and four fields");
  const bool v6 = f[0] == "TCP6";
  if (!ParseAddress(f[1], v6, out.source) || !ParseAddress(f[2], v6, out.destination))
    return Malformed("version 1 address does not match its family");
  if (!ParsePort(f[3], out.source_port) || !ParsePort(f[4], out.destination_port))
    return Malformed("version 1 port is not 0-65535");
  out.kind = ProxyHeader::Kind::kProxy;
  return {ProxyParseStatus::kDone, lf + 1, {}};
}

ProxyParseResult ParseV2(std::string_view in, ProxyHeader& out) {
  if (in.size() < 16) return NeedMore(16 - in.size());
  const auto byte = [&](std::size_t i) { return static_cast<std::uint8_t>(in[i]); };
  const std::size_t len = (std::size_t{byte(14)} << 8) | byte(15);
  if (16 + len > kMaxProxyV2) return Malformed("version 2 header too long");
  if ((byte(12) >> 4) != 2) return Malformed("version 2 header with a version other than 2");
  const int command = byte(12) & 0x0f;
  if (command > 1) return Malformed("version 2 command is neither LOCAL nor PROXY");
  if (in.size() < 16 + len) return NeedMore(16 + len - in.size());
  out = {};
  out.version = 2;
  const std::size_t total = 16 + len;
  const std::uint8_t family = byte(13);
  if (command == 0) {  // LOCAL: the address block, if any, is ignored
    out.kind = ProxyHeader::Kind::kLocal;
    return {ProxyParseStatus::kDone, total, {}};
  }
  const auto* p = reinterpret_cast<const std::uint8_t*>(in.data()) + 16;
  if (family == 0x11) {  // TCP over IPv4
    if (len < 12) return Malformed("version 2 TCP4 address block is short");
    out.source = boost::asio::ip::address_v4({p[0], p[1], p[2], p[3]});
    out.destination = boost::asio::ip::address_v4({p[4], p[5], p[6], p[7]});
    out.source_port = static_cast<std::uint16_t>((p[8] << 8) | p[9]);
    out.destination_port = static_cast<std::uint16_t>((p[10] << 8) | p[11]);
    out.kind = ProxyHeader::Kind::kProxy;
  } else if (family == 0x21) {  // TCP over IPv6
    if (len < 36) return Malformed("version 2 TCP6 address block is short");
    std::array<unsigned char, 16> a{}, b{};
    std::memcpy(a.data(), p, 16);
    std::memcpy(b.data(), p + 16, 16);
    out.source = boost::asio::ip::address_v6(a);
    out.destination = boost::asio::ip::address_v6(b);
    out.source_port = static_cast<std::uint16_t>((p[32] << 8) | p[33]);
    out.destination_port = static_cast<std::uint16_t>((p[34] << 8) | p[35]);
    out.kind = ProxyHeader::Kind::kProxy;
  } else {
    // UNSPEC, UDP or UNIX sockets: nothing rampart can use as a client address.
    out.kind = ProxyHeader::Kind::kUnknown;
  }
  // Whatever follows the addresses (TLVs: ALPN, authority, CRC, vendor data) is skipped.
  return {ProxyParseStatus::kDone, total, {}};
}

}  // namespace

ProxyParseResult ParseProxyHeader(std::string_view in, ProxyHeader& out) {
  if (in.size() < kDecide) {
    // Both forms must agree with what arrived so far.
    const bool v1 = kV1Prefix.starts_with(in);
    const bool v2 = kV2Signature.starts_with(in);
    if (!v1 && !v2) return Malformed("not a PROXY protocol header");
    return NeedMore(kDecide - in.size());
  }
  if (in.starts_with(kV1Prefix)) return ParseV1(in, out);
  const std::size_t sig = std::min(in.size(), kV2Signature.size());
  if (in.substr(0, sig) != kV2Signature.substr(0, sig)) {
    return Malformed("not a PROXY protocol header");
  }
  if (in.size() < kV2Signature.size()) return NeedMore(16 - in.size());
  return ParseV2(in, out);
}

std::size_t ProxyV1Take(std::string_view more) noexcept {
  const std::size_t lf = more.find('\n');
  return lf == std::string_view::npos ? more.size() : lf + 1;
}

}  // namespace rampart::net
