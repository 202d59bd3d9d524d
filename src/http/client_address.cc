#include "http/client_address.h"

#include <cstring>

#include "core/strings.h"

namespace rampart::http {

namespace asio_ip = boost::asio::ip;

namespace {

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool AllDigits(std::string_view s) {
  if (s.empty() || s.size() > 5) return false;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

std::optional<asio_ip::address> Literal(std::string_view s, bool v6) {
  const auto a = ParseIpLiteral(s, v6);
  if (!a) return std::nullopt;
  return Unmapped(*a);
}

// The value of a Forwarded element's `for` parameter, unquoted; empty when absent or malformed.
std::string_view ForwardedFor(std::string_view element) {
  while (!element.empty()) {
    const std::size_t semi = element.find(';');
    std::string_view pair = Trim(element.substr(0, semi));
    element = semi == std::string_view::npos ? std::string_view() : element.substr(semi + 1);
    const std::size_t eq = pair.find('=');
    if (eq == std::string_view::npos) continue;
    if (!IEquals(Trim(pair.substr(0, eq)), "for")) continue;
    std::string_view v = Trim(pair.substr(eq + 1));
    if (v.size() >= 2 && v.front() == '"' && v.back() == '"') {
      v = v.substr(1, v.size() - 2);
      if (v.find_first_of("\"\\") != std::string_view::npos) return {};  // escapes: not an address
    }
    return v;
  }
  return {};
}

}  // namespace

std::optional<asio_ip::address> ParseForwardedAddress(std::string_view s) {
  s = Trim(s);
  if (s.empty()) return std::nullopt;
  if (s.front() == '[') {
    const std::size_t close = s.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    const std::string_view rest = s.substr(close + 1);
    if (!rest.empty() && (rest.front() != ':' || !AllDigits(rest.substr(1)))) return std::nullopt;
    return Literal(s.substr(1, close - 1), true);
  }
  const std::size_t colon = s.find(':');
  if (colon == std::string_view::npos) return Literal(s, false);
  if (s.find(':', colon + 1) == std::string_view::npos) {  // a.b.c.d:port
    if (!AllDigits(s.substr(colon + 1))) return std::nullopt;
    return Literal(s.substr(0, colon), false);
  }
  return Literal(s, true);  // bare IPv6
}

asio_ip::address ResolveClientAddress(const HeaderList& headers, ClientIpHeader header,
                                      const CidrSet& trusted, const asio_ip::address& peer) {
  asio_ip::address client = Unmapped(peer);
  if (header == ClientIpHeader::kNone || trusted.empty() || !trusted.Contains(client))
    return client;
  const std::string_view name =
      header == ClientIpHeader::kForwarded ? "forwarded" : "x-forwarded-for";
  // Fields in order form one list (RFC 9110 section 5.3): walk the last field first.
  for (std::size_t i = headers.size(); i-- > 0;) {
    if (!IEquals(headers[i].name, name)) continue;
    std::string_view list = headers[i].value;
    while (!list.empty()) {
      const std::size_t comma = list.rfind(',');
      const std::string_view entry =
          comma == std::string_view::npos ? list : list.substr(comma + 1);
      list = comma == std::string_view::npos ? std::string_view() : list.substr(0, comma);
      if (Trim(entry).empty()) continue;  // empty list elements are allowed (RFC 9110 5.6.1)
      const std::optional<asio_ip::address> a =
          ParseForwardedAddress(header == ClientIpHeader::kForwarded ? ForwardedFor(entry) : entry);
      if (!a) return client;  // a hop that does not say who: stop at the last one that did
      client = *a;
      if (!trusted.Contains(client)) return client;
    }
  }
  return client;
}

}  // namespace rampart::http
