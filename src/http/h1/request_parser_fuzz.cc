// libFuzzer target: arbitrary bytes as an HTTP/1.1 request stream, fed whole and byte by byte
// into a moving buffer; the parser must never crash, and both feedings must agree. The Host and
// absolute-form authorities of accepted heads go through the authority check.
#include <cstdint>
#include <string>

#include "http/h1/message_parser.h"
#include "http/request_target.h"

namespace {

using rampart::http::HeaderList;
using rampart::http::h1::ParserLimits;
using rampart::http::h1::RequestParser;

struct Outcome {
  rampart::http::ParseFailure failure;
  bool done;
  std::string body;
};

Outcome ParseWhole(const std::string& in, const ParserLimits& limits) {
  HeaderList headers;
  std::string body;
  RequestParser p(limits, headers, body);
  std::size_t used = p.Feed(in.data(), in.size());
  if (p.header_done() && p.failure() == rampart::http::ParseFailure::kNone && used < in.size()) {
    p.Feed(in.data() + used, in.size() - used);
  }
  if (p.header_done() && p.failure() == rampart::http::ParseFailure::kNone) {
    // What the session checks next: the authority of Host and of an absolute-form target.
    std::string_view authority, path, query;
    rampart::http::SplitTarget(p.target(), authority, path, query);
    (void)rampart::http::IsValidAuthority(authority);
    (void)rampart::http::IsValidAuthority(headers.Get("host"));
  }
  return {p.failure(), p.done(), body};
}

Outcome ParseBytewise(const std::string& in, const ParserLimits& limits) {
  HeaderList headers;
  std::string body;
  RequestParser p(limits, headers, body);
  std::string buf;
  std::size_t used = 0;
  for (char c : in) {
    std::string moved = buf + c;
    buf.swap(moved);
    used += p.Feed(buf.data() + used, buf.size() - used);
    if (p.failure() != rampart::http::ParseFailure::kNone || p.done()) break;
  }
  return {p.failure(), p.done(), body};
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size > 64 * 1024) return 0;
  std::string in(reinterpret_cast<const char*>(data), size);
  ParserLimits limits;
  limits.max_request_line_bytes = 512;
  limits.max_header_bytes = 2048;
  limits.max_headers = 20;
  limits.max_body_bytes = 4096;
  Outcome a = ParseWhole(in, limits);
  if (size <= 4096) {
    Outcome b = ParseBytewise(in, limits);
    // A message accepted whole is accepted in pieces with the same body.
    if (a.done && a.failure == rampart::http::ParseFailure::kNone &&
        (b.failure != a.failure || b.body != a.body)) {
      __builtin_trap();
    }
  }
  return 0;
}
