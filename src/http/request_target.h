// Request-target handling shared by the HTTP/1.1 and HTTP/2 front ends (RFC 9112 section 3.2,
// RFC 9113 section 8.3.1).
#pragma once

#include <string>
#include <string_view>

namespace rampart::http {

// Splits a request target into path and query; absolute-form gives its authority as well.
void SplitTarget(std::string_view target, std::string_view& authority, std::string_view& path,
                 std::string_view& query);

// RFC 9112 section 3.2 / RFC 3986 section 3.2: `uri-host [":" port]` with no userinfo, path or
// whitespace, a non-empty host (reg-name, IPv4 or a bracketed IPv6 literal) and a port of at most
// five digits below 65536. Host headers, absolute-form authorities and :authority all follow it.
bool IsValidAuthority(std::string_view authority) noexcept;

// "host:port" → "host"; "[v6]:port" → "[v6]".
std::string_view StripPort(std::string_view host);

// The host routes match: the authority without its port, and without the trailing dot of the
// absolute form ("api.example." names api.example, RFC 1034 section 3.1), so neither spelling
// slips past a host route.
std::string_view RouteHost(std::string_view authority);

// The path as routes, gates and the origin see it: percent-escapes of unreserved characters
// decoded (`/%61dmin` is `/admin`, RFC 3986 section 6.2.2.2) and runs of '/' merged (`//admin`
// is `/admin`, as nginx's merge_slashes and most frameworks read it), so no spelling of a path
// slips past the route (and its gates) that the origin will take it for. Other escapes, `%2F`
// among them, stay as sent. False when the path is already normal (`out` untouched).
bool NormalizePath(std::string_view path, std::string& out);

// True for a path with "." or ".." segments, their dots written as '.' or "%2e" and the segments
// ended by '/', a backslash or their escapes ("%2f", "%5c"), or with a backslash at all. Refused:
// routing decisions on them could be bypassed by an origin that decodes or normalizes them after
// rampart matched the raw path (`/public/%2e%2e/admin`, `/public/..\\admin` on a Windows origin).
bool HasDotSegment(std::string_view path);

// Why a request's path is refused (400), or empty: asterisk-form with a method other than
// OPTIONS (RFC 9112 section 3.2.4), or a dot segment as above.
std::string_view PathProblem(std::string_view method, std::string_view path);

// TRACE (RFC 9110 section 9.3.8) and IIS's TRACK, in any case: an origin that echoes the request
// hands a script the credentials it carries (Cross-Site Tracing), so they are answered 405 and
// never forwarded, as nginx answers TRACE.
bool IsTraceMethod(std::string_view method) noexcept;

// One chunk of a chunked body (RFC 9112 section 7.1): size line, data, CRLF.
void AppendChunk(std::string& out, std::string_view data);

}  // namespace rampart::http
