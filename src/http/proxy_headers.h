// Building the heads a proxy sends: the upstream request and the downstream response, with
// hop-by-hop headers removed (RFC 9110 section 7.6.1), forwarding headers set, and the route's
// header rules applied. Pure functions over views; the output string is reused by the caller.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "config/config.h"
#include "core/strings.h"
#include "http/message.h"

namespace rampart::http {

bool IsHopByHop(std::string_view name) noexcept;
// A field of the origin's response that the client does not get because the route's
// `response_headers.remove` or a gate (`remove`, may be null) took it out.
bool RemovedFromResponse(std::string_view name, const config::HeaderRules* rules,
                         const std::vector<std::string_view>* remove) noexcept;

// The field names listed in a message's Connection headers (RFC 9110 section 7.6.1), collected
// once so that filtering the other headers does not re-parse Connection for each of them.
class ConnectionTokens {
 public:
  explicit ConnectionTokens(const HeaderList& headers) noexcept;
  bool Contains(std::string_view name) const noexcept;

 private:
  static constexpr std::size_t kMax = 16;
  std::array<std::string_view, kMax> tokens_{};
  std::size_t size_ = 0;
  const HeaderList* unusual_ = nullptr;  // more than kMax tokens: scan the headers instead
};

struct UpstreamRequest {
  std::string_view method;
  std::string_view path_and_query;  // origin-form, after rewrite
  std::string_view host;            // Host to send (after rewrite)
  const HeaderList* headers = nullptr;
  const config::HeaderRules* rules = nullptr;
  const std::vector<std::pair<std::string, std::string>>* extra = nullptr;  // from gates
  std::string_view client_ip;
  std::string_view original_host;      // for X-Forwarded-Host
  bool trusted_peer = false;           // keep the client's X-Forwarded-*, X-Request-Id
  std::string_view request_id_header;  // lower case
  std::string_view request_id;
  std::string_view via;                        // pseudonym, e.g. "rampart"
  std::string_view received_protocol = "1.1";  // the client's HTTP version, for Via: "1.0", "2"
  std::string_view proto = "http";             // X-Forwarded-Proto: the client's scheme
  // The body's framing, written by rampart whatever the client sent: Content-Length with this
  // value, or chunked. The client's own Content-Length and Transfer-Encoding are never copied, so
  // no header (or Connection token) can make the upstream frame the body differently.
  std::optional<std::uint64_t> content_length;
  bool chunked = false;      // body goes re-chunked
  std::string_view upgrade;  // "websocket": ask the upstream to switch (Connection: Upgrade)
  // A proxied request carries X-Forwarded-*, Via and X-Request-Id; rampart's own outbound
  // requests (upstream/http_client.h) do not.
  bool forwarding = true;
};
void BuildUpstreamRequestHead(std::string& out, const UpstreamRequest& r);

struct DownstreamResponse {
  int status = 200;
  const HeaderList* headers = nullptr;
  const config::HeaderRules* rules = nullptr;
  std::string_view via;
  std::string_view extra;  // header lines added by gates, each "Name: value\r\n"
  const std::vector<std::string_view>* remove = nullptr;  // fields gates removed
  // kNone: an interim (1xx) head, which has no body and carries no framing fields.
  enum class Framing { kAsIs, kChunked, kClose, kNone } framing = Framing::kAsIs;
  bool keep_alive = true;
  bool client_http10 = false;
  std::string_view upgrade;  // a 101 passed through: Connection: Upgrade, Upgrade: <this>
  std::string_view received_protocol = "1.1";  // the upstream's HTTP version, for Via: "2"
};
void BuildDownstreamResponseHead(std::string& out, const DownstreamResponse& r);

// The fields of a downstream response head, in order, handed to `sink`: sink.Add(name, value)
// for each field, sink.AddLines(text) for the gates' extra lines ("Name: value\r\n" each), and
// sink.AddVia(protocol, pseudonym). The one filtering path of both protocols (hop-by-hop fields,
// Connection tokens, framing, the route's and the gates' removals and additions): HTTP/1.1
// writes the fields as text (BuildDownstreamResponseHead), HTTP/2 as its field list
// (h2::ResponseFields), with no text head in between.
template <typename Sink>
void VisitDownstreamResponse(const DownstreamResponse& r, Sink& sink) {
  const ConnectionTokens listed(*r.headers);
  for (const auto& h : *r.headers) {
    const std::string_view n = h.name;
    // Content-Length is framing (or, after HEAD and 304, the selected representation's length):
    // a Connection token naming it must not remove it.
    const bool content_length = IEquals(n, "content-length");
    if (IsHopByHop(n) || (listed.Contains(n) && !content_length)) continue;
    if (r.framing != DownstreamResponse::Framing::kAsIs && content_length) continue;
    if (RemovedFromResponse(n, r.rules, r.remove)) continue;
    sink.Add(n, h.value);
  }
  if (r.framing == DownstreamResponse::Framing::kChunked) sink.Add("Transfer-Encoding", "chunked");
  if (r.rules) {
    for (const auto& [n, v] : r.rules->add) sink.Add(n, v);
  }
  sink.AddLines(r.extra);
  sink.AddVia(r.received_protocol, r.via);
  if (!r.upgrade.empty()) {
    sink.Add("Connection", "Upgrade");
    sink.Add("Upgrade", r.upgrade);
  } else if (!r.keep_alive) {
    sink.Add("Connection", "close");
  } else if (r.client_http10) {
    sink.Add("Connection", "keep-alive");
  }
}

// A response rampart writes itself: {"error":..., "message":..., "request_id":...}.
void BuildLocalReply(std::string& out, int status, std::string_view reason,
                     std::string_view message, std::string_view request_id, bool keep_alive,
                     std::string_view extra_headers);

// A response rampart holds whole (a stored one): its fields (framing and hop-by-hop ones are
// dropped: rampart frames it), `extra` lines from gates, X-Request-Id, Content-Length, and
// Connection: close when the connection ends after it.
void BuildWholeResponseHead(std::string& out, int status,
                            const std::vector<std::pair<std::string, std::string>>& fields,
                            std::string_view extra, std::string_view request_id,
                            std::size_t content_length, bool keep_alive);

std::string_view ReasonPhrase(int status) noexcept;

}  // namespace rampart::http
