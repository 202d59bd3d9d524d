// Header translation between HTTP/2 streams and the HTTP/1.1 heads the rest of rampart builds.
// A proxied response's fields are filtered once, by http::VisitDownstreamResponse (hop-by-hop
// removal, route rules, gate headers, Via), and written here as an HTTP/2 field list
// (ResponseFields) as they are written as text for HTTP/1.1: one filtering path for both
// protocols. Heads rampart holds as text (its own replies, stored answers) are translated.
#pragma once

#include <nghttp2/nghttp2.h>

#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "http/proxy_headers.h"

namespace rampart::http::h2 {

struct Field {
  std::string_view name;  // lower case
  std::string_view value;
};

// "HTTP/1.1 200 OK\r\nName: value\r\n...\r\n" into ":status" and lower-cased fields. Fields that
// RFC 9113 section 8.2.2 forbids in HTTP/2 (Connection and the headers it implies) are dropped.
// Lower-cased names are written to `names`, which the fields point into (reserved here, so it
// must not be touched until the fields are used). `status` receives the three digits.
void ResponseHeadToFields(std::string_view head, std::vector<Field>& out, std::string& names);

// The same fields straight from the response rampart sends (http::VisitDownstreamResponse: the
// one filtering path), without building and reading back a text head. Returns the size that head
// would have had as HTTP/1.1 text (what the access log counts for every protocol). `names` as
// above.
std::size_t ResponseFields(const DownstreamResponse& r, std::vector<Field>& out,
                           std::string& names);

// "GET /path HTTP/1.1\r\nHost: h\r\n..." (a head built by http::BuildUpstreamRequestHead) into
// the request pseudo-headers (:authority from Host) and lower-cased fields, for an HTTP/2
// upstream. Connection-specific fields and TE are dropped (the caller adds "te: trailers" when
// the client asked for trailers). `names` as above.
void RequestHeadToFields(std::string_view head, std::string_view scheme, std::vector<Field>& out,
                         std::string& names);

// RFC 9113 section 8.2.2: fields a server must not accept in an HTTP/2 request (nghttp2 already
// refuses them; kept as a second check for the translated request) and TE other than "trailers".
bool IsConnectionSpecific(std::string_view lower_name) noexcept;

// RFC 9110 section 6.5.1: fields a trailer section must not carry (framing, routing), besides the
// connection-specific ones. `lower_name` as in IsConnectionSpecific.
bool IsForbiddenTrailer(std::string_view lower_name) noexcept;

// The fields as nghttp2's name/value array (pointing into the fields' bytes; nghttp2 copies them
// when a frame is submitted).
std::vector<nghttp2_nv> ToNv(std::span<const Field> fields);
// The same into `out` (cleared first), so a caller can keep its capacity from one use to the next.
void ToNv(std::span<const Field> fields, std::vector<nghttp2_nv>& out);

// RFC 9113 section 8.3.1: a Host field that names another authority than :authority makes the
// request malformed (a proxy would otherwise route on one and forward the other).
bool AuthorityConflicts(std::string_view authority, std::string_view host) noexcept;

}  // namespace rampart::http::h2
