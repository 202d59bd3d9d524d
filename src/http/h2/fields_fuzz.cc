// libFuzzer target: arbitrary bytes as an upstream response head and as a client request head.
// Whatever the origin sends, the head rampart gives an HTTP/2 client must be a valid HTTP/2 field
// list: ":status" first with three digits, then lower-case names and values nghttp2 accepts, and
// no connection-specific field (RFC 9113 section 8.2.2). Whatever an HTTP/1.1 client sends, the
// request rampart gives an HTTP/2 upstream must be one too, its four pseudo-headers first. The
// response's fields written straight from it (h2::ResponseFields) equal the text head's.
#include <nghttp2/nghttp2.h>

#include <cstdint>
#include <string>
#include <vector>

#include "http/h1/message_parser.h"
#include "http/h2/fields.h"
#include "http/proxy_headers.h"

namespace {

void Check(bool ok) {
  if (!ok) __builtin_trap();
}

void CheckRegularFields(const std::vector<rampart::http::h2::Field>& fields, std::size_t from) {
  using namespace rampart::http;
  for (std::size_t i = from; i < fields.size(); ++i) {
    const h2::Field& f = fields[i];
    Check(!f.name.empty() && !h2::IsConnectionSpecific(f.name));
    for (char c : f.name) Check(!(c >= 'A' && c <= 'Z'));
    Check(nghttp2_check_header_name(reinterpret_cast<const std::uint8_t*>(f.name.data()),
                                    f.name.size()) == 1);
    Check(nghttp2_check_header_value(reinterpret_cast<const std::uint8_t*>(f.value.data()),
                                     f.value.size()) == 1);
  }
}

// The request path: parsed as rampart parses client requests, rebuilt for the upstream.
void RequestToFields(const std::uint8_t* data, std::size_t size) {
  using namespace rampart::http;
  HeaderList headers;
  std::string body;
  h1::RequestParser p(h1::ParserLimits{8192, 8192, 64, 0}, headers, body);
  p.Feed(reinterpret_cast<const char*>(data), size);
  if (!p.header_done() || p.failure() != ParseFailure::kNone) return;
  UpstreamRequest ur;
  ur.method = p.method();
  ur.path_and_query = p.target();
  ur.host = headers.Get("host");
  ur.headers = &headers;
  ur.client_ip = "10.0.0.1";
  ur.via = "rampart";
  std::string head;
  BuildUpstreamRequestHead(head, ur);
  std::vector<h2::Field> fields;
  std::string names;
  h2::RequestHeadToFields(head, "http", fields, names);
  Check(fields.size() >= 4 && fields[0].name == ":method" && fields[1].name == ":scheme" &&
        fields[2].name == ":authority" && fields[3].name == ":path");
  Check(!fields[0].value.empty() && fields[3].value == p.target());
  for (std::size_t i = 4; i < fields.size(); ++i) Check(fields[i].name != "host");  // :authority
  CheckRegularFields(fields, 4);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace rampart::http;
  if (size > 16 * 1024) return 0;
  RequestToFields(data, size);
  HeaderList headers;
  std::string body;
  h1::ResponseParser p(h1::ParserLimits{0, 8192, 64, 0}, headers, body);
  p.Feed(reinterpret_cast<const char*>(data), size);
  if (!p.header_done() || p.failure() != ParseFailure::kNone) return 0;
  DownstreamResponse dr;
  dr.status = p.status();
  dr.headers = &headers;
  dr.via = "rampart";
  dr.extra = "X-Gate: 1\r\n";
  std::string head;
  BuildDownstreamResponseHead(head, dr);
  std::vector<h2::Field> fields;
  std::string names;
  h2::ResponseHeadToFields(head, fields, names);
  Check(!fields.empty() && fields[0].name == ":status" && fields[0].value.size() == 3);
  for (char c : fields[0].value) Check(c >= '0' && c <= '9');
  CheckRegularFields(fields, 1);
  // The fields written straight from the response (what an HTTP/2 client gets) are the text
  // head's, read back, and that head's size.
  std::vector<h2::Field> direct;
  std::string direct_names;
  Check(h2::ResponseFields(dr, direct, direct_names) == head.size());
  Check(direct.size() == fields.size());
  for (std::size_t i = 0; i < direct.size(); ++i) {
    Check(direct[i].name == fields[i].name && direct[i].value == fields[i].value);
  }
  return 0;
}
