#include "http/h2/fields.h"

#include "core/copy_lower.h"
#include "core/strings.h"

namespace rampart::http::h2 {

bool IsConnectionSpecific(std::string_view n) noexcept {
  return n == "connection" || n == "keep-alive" || n == "proxy-connection" ||
         n == "transfer-encoding" || n == "upgrade";
}

namespace {

// (name, value) as an HTTP/2 field in `out`: the name lower-cased into `names` (its room reserved
// by the caller, as the fields point into it), the value without leading spaces or tabs (RFC 9113
// section 8.2.1: a route's added value may start with them). Nothing for the fields section 8.2.2
// forbids; `host`, when asked for, receives the Host value instead of `out`.
void AddField(std::string_view name, std::string_view value, std::vector<Field>& out,
              std::string& names, std::string_view* host) {
  while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
  const std::size_t start = names.size();
  names.resize(start + name.size());
  CopyLower(names.data() + start, name);
  const std::string_view lower(names.data() + start, name.size());
  if (host != nullptr && lower == "host") {
    *host = value;
    names.resize(start);
    return;
  }
  if (IsConnectionSpecific(lower) || lower == "te") {
    names.resize(start);
    return;
  }
  out.push_back({lower, value});
}

// The header lines of `head` from `pos` on, each through AddField.
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
    AddField(line.substr(0, colon), line.substr(colon + 1), out, names, host);
  }
}

// VisitDownstreamResponse's fields as HTTP/2 fields (AddField), the HTTP/1.1 size counted.
struct FieldSink {
  std::vector<Field>& out;
  std::string& names;
  std::size_t h1_size = 0;

  void Add(std::string_view name, std::string_view value) {
    h1_size += name.size() + value.size() + 4;  // "Name: value\r\n"
    AddField(name, value, out, names, nullptr);
  }
  void AddLines(std::string_view lines) {
    h1_size += lines.size();
    HeaderLinesToFields(lines, 0, out, names, nullptr);
  }
  void AddVia(std::string_view protocol, std::string_view pseudonym) {
    h1_size += 5 + protocol.size() + 1 + pseudonym.size() + 2;  // "Via: 1.1 rampart\r\n"
    const std::size_t start = names.size();
    names.append(protocol);
    names.push_back(' ');
    names.append(pseudonym);
    out.push_back({"via", std::string_view(names.data() + start, names.size() - start)});
  }
};

}  // namespace

std::size_t ResponseFields(const DownstreamResponse& r, std::vector<Field>& out,
                           std::string& names) {
  out.clear();
  names.clear();
  // Every byte written to `names` (the fields point into it, so it must not move): the status,
  // each field's name, the gates' lines, the Via value, and the fixed names framing adds.
  std::size_t room = 3 + r.extra.size() + r.received_protocol.size() + 1 + r.via.size() + 64;
  for (const auto& f : *r.headers) room += f.name.size();
  if (r.rules != nullptr) {
    for (const auto& [n, v] : r.rules->add) room += n.size();
  }
  names.reserve(room);
  const int status = r.status >= 100 && r.status <= 999 ? r.status : 502;
  names.push_back(static_cast<char>('0' + status / 100));
  names.push_back(static_cast<char>('0' + status / 10 % 10));
  names.push_back(static_cast<char>('0' + status % 10));
  out.push_back({":status", std::string_view(names.data(), 3)});
  FieldSink sink{out, names};
  VisitDownstreamResponse(r, sink);
  // "HTTP/1.1 200 OK\r\n", the fields, "\r\n".
  return 9 + 4 + ReasonPhrase(status).size() + 2 + sink.h1_size + 2;
}

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
