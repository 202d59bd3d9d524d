#include "http/proxy_headers.h"

#include <fmt/format.h>

#include <boost/beast/http/status.hpp>
#include <cstring>

namespace rampart::http {

using namespace std::string_view_literals;

namespace {

bool InRules(const config::HeaderRules* rules, std::string_view name) noexcept {
  if (rules == nullptr) return false;
  for (const auto& r : rules->remove) {
    if (SameFieldForCgi(r, name)) return true;  // and its '_' spelling, which origins read alike
  }
  return false;
}

// A field a gate sets (or removes) drops the client's of the same name, and its look-alike
// with '_' for '-', so a client cannot send an identity header the origin would take for it.
bool InExtra(const std::vector<std::pair<std::string, std::string>>& extra,
             std::string_view name) noexcept {
  for (const auto& [n, _] : extra) {
    if (SameFieldForCgi(n, name)) return true;
  }
  return false;
}

bool InList(const std::vector<std::string_view>& names, std::string_view name) noexcept {
  for (std::string_view n : names) {
    if (IEquals(n, name)) return true;
  }
  return false;
}

// "Name: value\r\n", written in one piece.
void AddLine(std::string& out, std::string_view name, std::string_view value) {
  const std::size_t at = out.size();
  out.resize(at + name.size() + value.size() + 4);
  char* p = out.data() + at;
  if (!name.empty()) std::memcpy(p, name.data(), name.size());  // (an empty view may be null)
  p += name.size();
  *p++ = ':';
  *p++ = ' ';
  if (!value.empty()) std::memcpy(p, value.data(), value.size());
  p += value.size();
  *p++ = '\r';
  *p = '\n';
}

// VisitDownstreamResponse's fields as HTTP/1.1 text.
struct TextSink {
  std::string& out;
  void Add(std::string_view name, std::string_view value) { AddLine(out, name, value); }
  void AddLines(std::string_view lines) { out.append(lines); }
  void AddVia(std::string_view protocol, std::string_view pseudonym) {
    out.append("Via: "sv);
    out.append(protocol);
    out.push_back(' ');
    out.append(pseudonym);
    out.append("\r\n"sv);
  }
};

void AppendStatusLine(std::string& out, int status) {
  char code[4] = {static_cast<char>('0' + status / 100), static_cast<char>('0' + status / 10 % 10),
                  static_cast<char>('0' + status % 10), ' '};
  out.append("HTTP/1.1 "sv);
  out.append(code, 4);
  out.append(ReasonPhrase(status));
  out.append("\r\n"sv);
}

}  // namespace

bool RemovedFromResponse(std::string_view name, const config::HeaderRules* rules,
                         const std::vector<std::string_view>* remove) noexcept {
  return InRules(rules, name) || (remove != nullptr && InList(*remove, name));
}

bool IsHopByHop(std::string_view n) noexcept {
  switch (n.size()) {
    case 2:
      return IEquals(n, "te");
    case 7:
      return IEquals(n, "trailer") || IEquals(n, "upgrade");
    case 10:
      return IEquals(n, "connection") || IEquals(n, "keep-alive");
    case 16:
      return IEquals(n, "proxy-connection");
    case 17:
      return IEquals(n, "transfer-encoding");
    default:
      return false;
  }
}

ConnectionTokens::ConnectionTokens(const HeaderList& headers) noexcept {
  for (const auto& h : headers) {
    if (!IEquals(h.name, "connection")) continue;
    ForEachListToken(h.value, [&](std::string_view tok) {
      if (size_ < kMax)
        tokens_[size_++] = tok;
      else
        unusual_ = &headers;
    });
  }
}

bool ConnectionTokens::Contains(std::string_view name) const noexcept {
  for (std::size_t i = 0; i < size_; ++i) {
    if (IEquals(tokens_[i], name)) return true;
  }
  if (unusual_ == nullptr) return false;
  bool listed = false;
  for (const auto& h : *unusual_) {
    if (IEquals(h.name, "connection")) {
      ForEachListToken(h.value,
                       [&](std::string_view tok) { listed = listed || IEquals(tok, name); });
    }
  }
  return listed;
}

namespace {

// Fields only a proxy may set, about the client or the URL it asked for. From a peer that is
// not a trusted proxy they are forgeries: an origin that builds links, redirects or access
// decisions from them (Forwarded host/proto, X-Real-IP, IIS-style X-Original-URL) would take
// them for rampart's word. X-Forwarded-For, -Proto and -Host are rewritten below.
bool IsClaimedByProxies(std::string_view n) noexcept {
  for (std::string_view f : {"forwarded"sv,          "x-real-ip"sv,
                             "x-forwarded-port"sv,   "x-forwarded-prefix"sv,
                             "x-forwarded-scheme"sv, "x-forwarded-server"sv,
                             "x-forwarded-ssl"sv,    "x-forwarded-protocol"sv,
                             "x-forwarded-uri"sv,    "front-end-https"sv,
                             "x-url-scheme"sv,       "x-original-url"sv,
                             "x-original-uri"sv,     "x-original-host"sv,
                             "x-rewrite-url"sv,      "x-host"sv,
                             "x-client-ip"sv,        "true-client-ip"sv,
                             "cf-connecting-ip"sv,   "fastly-client-ip"sv,
                             "x-cluster-client-ip"sv}) {
    if (SameFieldForCgi(n, f)) return true;
  }
  return false;
}

// A client's spelling with '_' of a field rampart writes itself (X_Forwarded_For beside
// rampart's X-Forwarded-For): a CGI-style origin reads both as one, so it never passes.
bool ShadowsRewrittenField(std::string_view n, std::string_view request_id_header) noexcept {
  if (n.find('_') == std::string_view::npos) return false;
  for (std::string_view f : {"x-forwarded-for"sv, "x-forwarded-proto"sv, "x-forwarded-host"sv,
                             "via"sv, "host"sv, "content-length"sv, "transfer-encoding"sv}) {
    if (SameFieldForCgi(n, f)) return true;
  }
  return SameFieldForCgi(n, request_id_header);
}

void AppendFraming(std::string& out, const UpstreamRequest& r) {
  if (r.chunked) {
    out.append("Transfer-Encoding: chunked\r\n"sv);
  } else if (r.content_length) {
    fmt::format_to(std::back_inserter(out), "Content-Length: {}\r\n", *r.content_length);
  }
}

}  // namespace

void BuildUpstreamRequestHead(std::string& out, const UpstreamRequest& r) {
  out.clear();
  out.append(r.method);
  out.push_back(' ');
  out.append(r.path_and_query);
  out.append(" HTTP/1.1\r\n"sv);
  AddLine(out, "Host", r.host);
  const ConnectionTokens listed(*r.headers);
  std::string_view prior_xff, prior_proto, prior_host, prior_via, prior_id;
  for (const auto& h : *r.headers) {
    std::string_view n = h.name;
    if (IsHopByHop(n) || IEquals(n, "host") || IEquals(n, "expect") ||
        IEquals(n, "content-length") || listed.Contains(n))
      continue;
    if (IEquals(n, "x-forwarded-for")) {
      if (prior_xff.empty()) prior_xff = h.value;
      continue;
    }
    if (!r.trusted_peer && IsClaimedByProxies(n)) continue;
    if (ShadowsRewrittenField(n, r.request_id_header)) continue;
    if (IEquals(n, "x-forwarded-proto")) {
      if (prior_proto.empty()) prior_proto = h.value;
      continue;
    }
    if (IEquals(n, "x-forwarded-host")) {
      if (prior_host.empty()) prior_host = h.value;
      continue;
    }
    if (IEquals(n, "via")) {
      if (prior_via.empty()) prior_via = h.value;
      continue;
    }
    if (IEquals(n, r.request_id_header)) {
      if (prior_id.empty()) prior_id = h.value;
      continue;
    }
    if (InRules(r.rules, n)) continue;
    if (r.extra && InExtra(*r.extra, n)) continue;  // set by a gate: the client's is dropped
    AddLine(out, h.name, h.value);
  }
  if (!r.forwarding) {
    AppendFraming(out, r);
    if (r.rules) {
      for (const auto& [n, v] : r.rules->add) AddLine(out, n, v);
    }
    out.append("\r\n"sv);
    return;
  }
  // Forwarding headers: a trusted proxy's chain is extended; anyone else's is replaced, so an
  // untrusted client cannot plant addresses that the upstream would believe.
  out.append("X-Forwarded-For: "sv);
  if (r.trusted_peer && !prior_xff.empty()) {
    out.append(prior_xff);
    out.append(", "sv);
  }
  out.append(r.client_ip);
  out.append("\r\n"sv);
  AddLine(out, "X-Forwarded-Proto", r.trusted_peer && !prior_proto.empty() ? prior_proto : r.proto);
  AddLine(out, "X-Forwarded-Host",
          r.trusted_peer && !prior_host.empty() ? prior_host : r.original_host);
  out.append("Via: "sv);
  if (!prior_via.empty()) {
    out.append(prior_via);
    out.append(", "sv);
  }
  out.append(r.received_protocol);
  out.push_back(' ');
  out.append(r.via);
  out.append("\r\n"sv);
  AddLine(out, "X-Request-Id", r.request_id);
  AppendFraming(out, r);
  if (!r.upgrade.empty()) {
    out.append("Connection: Upgrade\r\n"sv);
    AddLine(out, "Upgrade", r.upgrade);
  }
  if (r.rules) {
    for (const auto& [n, v] : r.rules->add) AddLine(out, n, v);
  }
  if (r.extra) {
    for (const auto& [n, v] : *r.extra) {
      if (!v.empty()) AddLine(out, n, v);
    }
  }
  out.append("\r\n"sv);
}

void BuildDownstreamResponseHead(std::string& out, const DownstreamResponse& r) {
  out.clear();
  AppendStatusLine(out, r.status);
  TextSink sink{out};
  VisitDownstreamResponse(r, sink);
  out.append("\r\n"sv);
}

void BuildLocalReply(std::string& out, int status, std::string_view reason,
                     std::string_view message, std::string_view request_id, bool keep_alive,
                     std::string_view extra_headers) {
  std::string body;
  body.reserve(96 + message.size() + request_id.size());
  body.append("{\"error\":\""sv);
  AppendJsonEscaped(body, reason);
  body.append("\",\"message\":\""sv);
  AppendJsonEscaped(body, message);
  body.append("\",\"request_id\":\""sv);
  AppendJsonEscaped(body, request_id);
  body.append("\"}\n"sv);
  out.clear();
  AppendStatusLine(out, status);
  out.append("Content-Type: application/json\r\n"sv);
  fmt::format_to(std::back_inserter(out), "Content-Length: {}\r\n", body.size());
  if (!request_id.empty()) AddLine(out, "X-Request-Id", request_id);
  out.append(extra_headers);
  out.append(keep_alive ? "" : "Connection: close\r\n");
  out.append("\r\n"sv);
  out.append(body);
}

void BuildWholeResponseHead(std::string& out, int status,
                            const std::vector<std::pair<std::string, std::string>>& fields,
                            std::string_view extra, std::string_view request_id,
                            std::size_t content_length, bool keep_alive) {
  out.clear();
  AppendStatusLine(out, status);
  for (const auto& [n, v] : fields) {
    if (IsHopByHop(n) || IEquals(n, "content-length") || IEquals(n, "x-request-id")) continue;
    AddLine(out, n, v);
  }
  out.append(extra);
  if (!request_id.empty()) AddLine(out, "X-Request-Id", request_id);
  // RFC 9110 section 8.6: never on a 204, and on a 304 only the 200's length, which a stored
  // answer does not know.
  if (status != 204 && status != 304) {
    fmt::format_to(std::back_inserter(out), "Content-Length: {}\r\n", content_length);
  }
  if (!keep_alive) out.append("Connection: close\r\n"sv);
  out.append("\r\n"sv);
}

std::string_view ReasonPhrase(int status) noexcept {
  if (status == 103) return "Early Hints";  // RFC 8297; not in Beast's table
  auto s = boost::beast::http::obsolete_reason(static_cast<boost::beast::http::status>(status));
  const std::string_view phrase(s.data(), s.size());
  // A code Beast does not know keeps an empty reason phrase (RFC 9112 section 4 allows it).
  return phrase == "<unknown-status>" ? std::string_view() : phrase;
}

}  // namespace rampart::http
