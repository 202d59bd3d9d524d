#include "http/request_target.h"

#include <arpa/inet.h>
#include <fmt/format.h>

#include <algorithm>
#include <iterator>

#include "core/strings.h"

namespace rampart::http {

namespace {

constexpr bool IsHexDigit(char c) noexcept {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

// reg-name = *( unreserved / pct-encoded / sub-delims ), which covers IPv4address too.
bool IsRegName(std::string_view s) noexcept {
  constexpr std::string_view kMarks = "-._~!$&'()*+,;=";  // unreserved marks and sub-delims
  for (std::size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
        kMarks.find(c) != std::string_view::npos) {
      continue;
    }
    if (c != '%' || i + 2 >= s.size() || !IsHexDigit(s[i + 1]) || !IsHexDigit(s[i + 2])) {
      return false;
    }
    i += 2;
  }
  return true;
}

bool IsIpv6Literal(std::string_view inner) noexcept {
  char text[64];
  if (inner.empty() || inner.size() >= sizeof(text)) return false;
  for (char c : inner) {
    if (!IsHexDigit(c) && c != ':' && c != '.') return false;  // no zone id, no IPvFuture
  }
  inner.copy(text, inner.size());
  text[inner.size()] = '\0';
  unsigned char addr[16];
  return inet_pton(AF_INET6, text, addr) == 1;
}

}  // namespace

bool IsValidAuthority(std::string_view a) noexcept {
  std::string_view host = a;
  std::string_view port;
  if (a.starts_with('[')) {
    const auto close = a.find(']');
    if (close == std::string_view::npos || !IsIpv6Literal(a.substr(1, close - 1))) return false;
    host = a.substr(0, close + 1);
    std::string_view rest = a.substr(close + 1);
    if (!rest.empty()) {
      if (rest[0] != ':') return false;
      port = rest.substr(1);
    }
  } else {
    const auto colon = a.find(':');
    if (colon != std::string_view::npos) {
      host = a.substr(0, colon);
      port = a.substr(colon + 1);
    }
    if (host.empty() || !IsRegName(host)) return false;
  }
  // port = *DIGIT; an empty port after the colon is allowed by the grammar.
  if (port.size() > 5) return false;
  unsigned value = 0;
  for (char c : port) {
    if (c < '0' || c > '9') return false;
    value = value * 10 + static_cast<unsigned>(c - '0');
  }
  return value <= 65535;
}

void SplitTarget(std::string_view target, std::string_view& authority, std::string_view& path,
                 std::string_view& query) {
  authority = {};
  if (!target.empty() && target[0] != '/') {
    if (target == "*") {
      path = target;
      query = {};
      return;
    }
    auto scheme_end = target.find("://");
    if (scheme_end == std::string_view::npos) {
      // Neither origin-form nor absolute-form (an HTTP/2 :path of another scheme): the callers
      // refuse a path that does not start with '/'.
      path = target;
      query = {};
      return;
    }
    std::string_view rest = target.substr(scheme_end + 3);
    auto slash = rest.find_first_of("/?");
    authority = rest.substr(0, slash);
    target = slash == std::string_view::npos ? std::string_view("/") : rest.substr(slash);
  }
  auto q = target.find('?');
  path = target.substr(0, q);
  query = q == std::string_view::npos ? std::string_view() : target.substr(q + 1);
}

std::string_view StripPort(std::string_view host) {
  if (host.starts_with("[")) {
    auto close = host.find(']');
    return close == std::string_view::npos ? host : host.substr(0, close + 1);
  }
  auto colon = host.rfind(':');
  return colon == std::string_view::npos ? host : host.substr(0, colon);
}

namespace {
// The length of the escape "%hh" at `i` when it decodes to `c` (either case), else 0.
std::size_t EscapeOf(std::string_view s, std::size_t i, char c) noexcept {
  return EscapedByteAt(s, i) == static_cast<unsigned char>(c) ? 3 : 0;
}

bool Unreserved(int c) noexcept {  // RFC 3986 section 2.3
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '.' || c == '_' || c == '~';
}
}  // namespace

bool NormalizePath(std::string_view path, std::string& out) {
  // Most paths need nothing: find the first place that does before copying.
  std::size_t i = 0;
  while (i < path.size() && !(path[i] == '/' && i + 1 < path.size() && path[i + 1] == '/') &&
         !Unreserved(EscapedByteAt(path, i))) {
    ++i;
  }
  if (i == path.size()) return false;
  out.assign(path.substr(0, i));
  for (; i < path.size(); ++i) {
    if (const int d = EscapedByteAt(path, i); Unreserved(d)) {
      out.push_back(static_cast<char>(d));
      i += 2;
    } else if (path[i] != '/' || out.empty() || out.back() != '/') {
      out.push_back(path[i]);
    }
  }
  return true;
}

std::string_view RouteHost(std::string_view authority) {
  std::string_view host = StripPort(authority);
  if (host.size() > 1 && host.back() == '.') host.remove_suffix(1);
  return host;
}

bool HasDotSegment(std::string_view path) {
  if (path.find('\\') != std::string_view::npos) return true;
  // Walks segments: `dots` counts the dots of the current one (-1 once it holds anything else).
  int dots = 0;
  std::size_t i = 0;
  while (i <= path.size()) {
    std::size_t sep = 0;
    if (i == path.size()) {
      sep = 1;  // the end closes the last segment
    } else if (path[i] == '/') {
      sep = 1;
    } else {
      sep = std::max(EscapeOf(path, i, '/'), EscapeOf(path, i, '\\'));
    }
    if (sep != 0) {
      if (dots == 1 || dots == 2) return true;
      dots = 0;
      i += sep;
      continue;
    }
    const std::size_t dot = path[i] == '.' ? 1 : EscapeOf(path, i, '.');
    if (dot != 0 && dots >= 0) {
      ++dots;
      i += dot;
    } else {
      dots = -1;
      ++i;
    }
  }
  return false;
}

std::string_view PathProblem(std::string_view method, std::string_view path) {
  if (path == "*") return method == "OPTIONS" ? "" : "'*' is a target for OPTIONS only";
  if (HasDotSegment(path)) return "path has '.' or '..' segments, or a backslash";
  return {};
}

bool IsTraceMethod(std::string_view method) noexcept {
  return method.size() == 5 && (IEquals(method, "TRACE") || IEquals(method, "TRACK"));
}

void AppendChunk(std::string& out, std::string_view data) {
  fmt::format_to(std::back_inserter(out), "{:x}\r\n", data.size());
  out.append(data);
  out.append("\r\n");
}

}  // namespace rampart::http
