#include "http/h2/fields.h"

#include "core/strings.h"

namespace rampart::http::h2 {

bool IsConnectionSpecific(std::string_view n) noexcept {
  return n == "connection" || n == "keep-alive" || n == "proxy-connection" ||
         n == "transfer-encoding" || n == "upgrade";
}

namespace {

// The header lines of `head` from `pos` on, lower-cased, without the fields RFC 9113 section
// 8.2.2 forbids. `host` receives the Host value (not added to `out`) when asked for.
void HeaderLinesToFields(std::string_view head, std::size_t pos, std::vector<Field>& out,
                         std::string& names, std::string_view* host) {
  while (pos < head.size()) {
    std::size_t eol = head.find("\r\n", pos);
    if (eol == std::string_view::npos) eol = head.size();
    std::string_view line = head.substr(pos, eol - pos);
    pos = eol + 2;
    if (line.empty()) break;
    auto colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    std::string_view value = line.substr(colon + 1);
    while (!value.empty() && (value.front() == ' ' || value.front() == '\t'))
      value.remove_prefix(1);
    const std::size_t start = names.size();
    for (char c : line.substr(0, colon)) names.push_back(AsciiLower(c));
    std::string_view name(names.data() + start, colon);
    if (host != nullptr && name == "host") {
      *host = value;
      names.resize(start);
      continue;
    }
    if (IsConnectionSpecific(name) || name == "te") {
      names.resize(start);
      continue;
    }
    out.push_back({name, value});
  }
}

}  // namespace

void ResponseHeadToFields(std::string_view head, std::vector<Field>& out, std::string& names) {
  out.clear();
  names.clear();
  names.reserve(head.size());
  auto eol = head.find("\r\n");
  std::string_view status_line = head.substr(0, eol);
  // "HTTP/1.1 200 OK": the code is the second token.
  std::string_view code = status_line.size() >= 12 ? status_line.substr(9, 3) : "502";
  out.push_back({":status", code});
  HeaderLinesToFields(head, eol == std::string_view::npos ? head.size() : eol + 2, out, names,
                      nullptr);
}

void RequestHeadToFields(std::string_view head, std::string_view scheme, std::vector<Field>& out,
                         std::string& names) {
  out.clear();
  names.clear();
  names.reserve(head.size());
  auto eol = head.find("\r\n");
  std::string_view line = head.substr(0, eol);
  // "GET /path HTTP/1.1"
  const auto sp1 = line.find(' ');
  const auto sp2 = line.rfind(' ');
  std::string_view method = line.substr(0, sp1);
  std::string_view target =
      sp1 == std::string_view::npos || sp2 <= sp1 ? "/" : line.substr(sp1 + 1, sp2 - sp1 - 1);
  out.push_back({":method", method});
  out.push_back({":scheme", scheme});
  out.push_back({":authority", {}});
  out.push_back({":path", target});
  std::string_view host;
  HeaderLinesToFields(head, eol == std::string_view::npos ? head.size() : eol + 2, out, names,
                      &host);
  out[2].value = host;
}

bool IsForbiddenTrailer(std::string_view n) noexcept {
  return IsConnectionSpecific(n) || n == "content-length" || n == "host" || n == "te" ||
         n == "trailer";
}

void ToNv(std::span<const Field> fields, std::vector<nghttp2_nv>& out) {
  out.clear();
  out.reserve(fields.size());
  for (const Field& f : fields) {
    out.push_back({const_cast<std::uint8_t*>(reinterpret_cast<const std::uint8_t*>(f.name.data())),
                   const_cast<std::uint8_t*>(reinterpret_cast<const std::uint8_t*>(f.value.data())),
                   f.name.size(), f.value.size(), NGHTTP2_NV_FLAG_NONE});
  }
}

std::vector<nghttp2_nv> ToNv(std::span<const Field> fields) {
  std::vector<nghttp2_nv> nv;
  ToNv(fields, nv);
  return nv;
}

bool AuthorityConflicts(std::string_view authority, std::string_view host) noexcept {
  return !authority.empty() && !host.empty() && !IEquals(authority, host);
}

}  // namespace rampart::http::h2
