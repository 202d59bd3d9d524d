#include "core/cidr.h"

#include <charconv>
#include <cstring>

namespace rampart {

std::optional<boost::asio::ip::address> ParseIpLiteral(std::string_view s, bool v6) {
  if (s.empty() || s.size() > 45) return std::nullopt;
  for (char c : s) {
    const bool ok = (c >= '0' && c <= '9') || c == '.' ||
                    (v6 && (c == ':' || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')));
    if (!ok) return std::nullopt;
  }
  char buf[46];
  std::memcpy(buf, s.data(), s.size());
  buf[s.size()] = '\0';
  boost::system::error_code ec;
  boost::asio::ip::address a;
  if (v6) {
    a = boost::asio::ip::make_address_v6(buf, ec);
  } else {
    a = boost::asio::ip::make_address_v4(buf, ec);
  }
  if (ec) return std::nullopt;
  return a;
}

boost::asio::ip::address Unmapped(const boost::asio::ip::address& a) noexcept {
  if (a.is_v6() && a.to_v6().is_v4_mapped())
    return boost::asio::ip::make_address_v4(boost::asio::ip::v4_mapped, a.to_v6());
  return a;
}

std::optional<Cidr> Cidr::Parse(std::string_view text) {
  std::string_view addr_text = text;
  int prefix = -1;
  if (auto slash = text.find('/'); slash != std::string_view::npos) {
    addr_text = text.substr(0, slash);
    std::string_view p = text.substr(slash + 1);
    // Digits only: from_chars would take "-1" (and then the address as a /32).
    if (p.empty() || p.size() > 3 || p.find_first_not_of("0123456789") != std::string_view::npos)
      return std::nullopt;
    auto [ptr, ec] = std::from_chars(p.data(), p.data() + p.size(), prefix);
    if (ec != std::errc() || ptr != p.data() + p.size()) return std::nullopt;
  }
  boost::system::error_code ec;
  auto addr = boost::asio::ip::make_address(std::string(addr_text), ec);
  if (ec) return std::nullopt;
  Cidr c;
  c.v6_ = addr.is_v6();
  int max_prefix = c.v6_ ? 128 : 32;
  if (prefix < 0) prefix = max_prefix;
  if (prefix > max_prefix) return std::nullopt;
  c.prefix_ = prefix;
  if (c.v6_) {
    c.bytes_ = addr.to_v6().to_bytes();
  } else {
    auto b = addr.to_v4().to_bytes();
    std::copy(b.begin(), b.end(), c.bytes_.begin());
  }
  return c;
}

bool Cidr::Contains(const boost::asio::ip::address& in) const noexcept {
  boost::asio::ip::address addr = in;
  // An IPv4-mapped IPv6 peer (::ffff:a.b.c.d) matches IPv4 networks.
  if (addr.is_v6() && addr.to_v6().is_v4_mapped() && !v6_) {
    addr = boost::asio::ip::make_address_v4(boost::asio::ip::v4_mapped, addr.to_v6());
  }
  if (addr.is_v6() != v6_) return false;
  std::array<unsigned char, 16> b{};
  if (v6_) {
    b = addr.to_v6().to_bytes();
  } else {
    auto v4 = addr.to_v4().to_bytes();
    std::copy(v4.begin(), v4.end(), b.begin());
  }
  int full = prefix_ / 8;
  for (int i = 0; i < full; ++i) {
    if (b[i] != bytes_[i]) return false;
  }
  int rem = prefix_ % 8;
  if (rem == 0) return true;
  auto mask = static_cast<unsigned char>(0xFF << (8 - rem));
  return (b[full] & mask) == (bytes_[full] & mask);
}

std::string Cidr::ToString() const {
  boost::asio::ip::address addr;
  if (v6_) {
    addr = boost::asio::ip::address_v6(bytes_);
  } else {
    addr = boost::asio::ip::address_v4({bytes_[0], bytes_[1], bytes_[2], bytes_[3]});
  }
  return addr.to_string() + "/" + std::to_string(prefix_);
}

bool CidrSet::Contains(const boost::asio::ip::address& addr) const noexcept {
  for (const auto& n : nets_) {
    if (n.Contains(addr)) return true;
  }
  return false;
}

}  // namespace rampart
