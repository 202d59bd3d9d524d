// IPv4/IPv6 networks ("10.0.0.0/8", "::1/128", "192.0.2.7") and membership tests.
#pragma once

#include <array>
#include <boost/asio/ip/address.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace rampart {

// A strict address literal, IPv4 ("192.0.2.7") or, when `v6`, IPv6 ("2001:db8::1"): no scope
// ids, spaces or brackets, which make_address would take. For addresses an attacker writes
// (PROXY headers, forwarding chains, admin requests).
std::optional<boost::asio::ip::address> ParseIpLiteral(std::string_view s, bool v6);
// An address with IPv4-mapped IPv6 (::ffff:a.b.c.d) turned into IPv4.
boost::asio::ip::address Unmapped(const boost::asio::ip::address& a) noexcept;

class Cidr {
 public:
  static std::optional<Cidr> Parse(std::string_view text);
  bool Contains(const boost::asio::ip::address& addr) const noexcept;
  std::string ToString() const;

 private:
  bool v6_ = false;
  std::array<unsigned char, 16> bytes_{};
  int prefix_ = 0;
};

class CidrSet {
 public:
  void Add(const Cidr& c) { nets_.push_back(c); }
  bool Contains(const boost::asio::ip::address& addr) const noexcept;
  bool empty() const noexcept { return nets_.empty(); }

 private:
  std::vector<Cidr> nets_;
};

}  // namespace rampart
