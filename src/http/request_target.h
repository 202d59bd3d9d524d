// Request-target handling shared by the HTTP/1.1 and HTTP/2 front ends (RFC 9112 section 3.2,
// RFC 9113 section 8.3.1).
#pragma once

#include <string>
#include <string_view>

namespace rampart::http {

// Splits a request target into path and query; absolute-form gives its authority as well.
void SplitTarget(std::string_view target, std::string_view& authority, std::string_view& path,
                 std::string_view& query);

// "host:port" → "host"; "[v6]:port" → "[v6]".
std::string_view StripPort(std::string_view host);

// True for a path with "." or ".." segments. Such paths are refused: routing decisions on them
// could be bypassed by an origin that normalizes them after rampart matched the raw path.
bool HasDotSegment(std::string_view path);

// One chunk of a chunked body (RFC 9112 section 7.1): size line, data, CRLF.
void AppendChunk(std::string& out, std::string_view data);

}  // namespace rampart::http
