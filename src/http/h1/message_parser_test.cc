#include "http/h1/message_parser.h"

#include <gtest/gtest.h>

namespace rampart::http::h1 {
namespace {

struct Parsed {
  ParseFailure failure = ParseFailure::kNone;
  bool header_done = false;
  bool done = false;
  std::string body;
  std::size_t consumed = 0;
  std::string method, target;
  BodyFraming framing = BodyFraming::kNone;
  std::size_t header_count = 0;
};

Parsed ParseRequest(std::string_view wire, ParserLimits limits = {}, bool rechunk = true) {
  HeaderList headers;
  std::string body;
  RequestParser p(limits, headers, body);
  p.set_rechunk(rechunk);
  Parsed out;
  out.consumed = p.Feed(wire.data(), wire.size());
  if (p.header_done() && p.failure() == ParseFailure::kNone && out.consumed < wire.size()) {
    out.consumed += p.Feed(wire.data() + out.consumed, wire.size() - out.consumed);
  }
  out.failure = p.failure();
  out.header_done = p.header_done();
  out.done = p.done();
  out.body = body;
  out.method = std::string(p.method());
  out.target = std::string(p.target());
  out.framing = p.framing();
  out.header_count = headers.size();
  return out;
}

TEST(RequestParser, SimpleGet) {
  auto r = ParseRequest("GET /a?b=1 HTTP/1.1\r\nHost: x\r\nAccept: */*\r\n\r\n");
  EXPECT_EQ(r.failure, ParseFailure::kNone);
  EXPECT_TRUE(r.done);
  EXPECT_EQ(r.method, "GET");
  EXPECT_EQ(r.target, "/a?b=1");
  EXPECT_EQ(r.header_count, 2u);
  EXPECT_EQ(r.framing, BodyFraming::kNone);
}

// Feeds `wire` one byte at a time into `buf`, reallocated before each (its bytes move), until
// the parser fails; returns the bytes consumed. The parser's views point into `buf`.
std::size_t FeedByteByByte(RequestParser& p, std::string_view wire, std::string& buf) {
  std::size_t consumed = 0;
  for (char c : wire) {
    std::string moved = buf + c;  // a new allocation each time: the bytes move
    buf.swap(moved);
    consumed += p.Feed(buf.data() + consumed, buf.size() - consumed);
    if (p.failure() != ParseFailure::kNone) break;
  }
  return consumed;
}

TEST(RequestParser, HeadArrivingInPiecesSurvivesBufferMoves) {
  std::string wire = "GET /path HTTP/1.1\r\nHost: example\r\nX-Long: value\r\n\r\n";
  HeaderList headers;
  std::string body;
  RequestParser p({}, headers, body);
  std::string buf;
  const std::size_t consumed = FeedByteByByte(p, wire, buf);
  ASSERT_EQ(p.failure(), ParseFailure::kNone);
  ASSERT_TRUE(p.done());
  EXPECT_EQ(p.method(), "GET");
  EXPECT_EQ(p.target(), "/path");
  EXPECT_EQ(headers.Get("x-long"), "value");
  EXPECT_EQ(headers.Get("HOST"), "example");
  EXPECT_EQ(consumed, wire.size());
}

TEST(RequestParser, FoldAfterAnEmptyFirstLineIsRefusedWhenTheHeadArrivesInPieces) {
  const std::string wire = "POST / HTTP/1.1\r\nHost: x\r\nContent-Length:\r\n 5\r\n\r\nhello";
  HeaderList headers;
  std::string body;
  RequestParser p({}, headers, body);
  std::string buf;
  FeedByteByByte(p, wire, buf);
  EXPECT_EQ(p.failure(), ParseFailure::kBadRequest);
  EXPECT_FALSE(p.done());
}

TEST(RequestParser, ContentLengthBody) {
  auto r = ParseRequest("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhelloGET");
  EXPECT_EQ(r.failure, ParseFailure::kNone);
  EXPECT_TRUE(r.done);
  EXPECT_EQ(r.body, "hello");
  EXPECT_EQ(r.framing, BodyFraming::kContentLength);
  EXPECT_EQ(
      r.consumed,
      std::string_view("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello").size());
}

TEST(RequestParser, ChunkedBodyIsRechunkedWithoutExtensionsOrTrailers) {
  auto r = ParseRequest(
      "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
      "5;ext=1\r\nhello\r\n3\r\nabc\r\n0\r\nTrailer: t\r\n\r\n");
  EXPECT_EQ(r.failure, ParseFailure::kNone);
  EXPECT_TRUE(r.done);
  EXPECT_EQ(r.body, "5\r\nhello\r\n3\r\nabc\r\n0\r\n\r\n");
}

TEST(RequestParser, ChunkedBodyDecoded) {
  auto r = ParseRequest(
      "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n", {},
      /*rechunk=*/false);
  EXPECT_TRUE(r.done);
  EXPECT_EQ(r.body, "hello");
}

struct BadCase {
  const char* name;
  const char* wire;
  ParseFailure expected;
};

class RequestParserRejects : public ::testing::TestWithParam<BadCase> {};

TEST_P(RequestParserRejects, WithStatus) {
  ParserLimits limits;
  limits.max_request_line_bytes = 64;
  limits.max_header_bytes = 256;
  limits.max_headers = 4;
  limits.max_body_bytes = 10;
  limits.max_chunk_extension_bytes = 16;
  auto r = ParseRequest(GetParam().wire, limits);
  EXPECT_EQ(r.failure, GetParam().expected) << GetParam().name;
}

INSTANTIATE_TEST_SUITE_P(
    Smuggling, RequestParserRejects,
    ::testing::Values(
        BadCase{"cl_and_te",
                "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: "
                "chunked\r\n\r\n0\r\n\r\n",
                ParseFailure::kBadRequest},
        BadCase{"te_and_cl",
                "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: "
                "3\r\n\r\n0\r\n\r\n",
                ParseFailure::kBadRequest},
        BadCase{"cl_repeated_same",
                "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabc",
                ParseFailure::kBadRequest},
        BadCase{"cl_conflicting",
                "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd",
                ParseFailure::kBadRequest},
        BadCase{"cl_list", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3, 3\r\n\r\nabc",
                ParseFailure::kBadRequest},
        BadCase{"cl_negative", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n",
                ParseFailure::kBadRequest},
        BadCase{"cl_plus", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: +3\r\n\r\nabc",
                ParseFailure::kBadRequest},
        BadCase{"te_gzip_chunked",
                "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n",
                ParseFailure::kBadRequest},
        BadCase{"te_chunked_gzip",
                "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, gzip\r\n\r\n",
                ParseFailure::kBadRequest},
        BadCase{"te_identity", "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: identity\r\n\r\n",
                ParseFailure::kBadRequest},
        BadCase{"te_repeated",
                "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: "
                "chunked\r\n\r\n0\r\n\r\n",
                ParseFailure::kBadRequest},
        BadCase{"te_vertical_tab",
                "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding:\x0b"
                "chunked\r\n\r\n0\r\n\r\n",
                ParseFailure::kBadRequest},
        BadCase{"te_in_http10", "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
                ParseFailure::kBadRequest},
        BadCase{"obs_fold", "GET / HTTP/1.1\r\nHost: x\r\nX-A: a\r\n b\r\n\r\n",
                ParseFailure::kBadRequest},
        // A fold after an empty first line: a front proxy that does not unfold sees an empty
        // Content-Length or Transfer-Encoding where rampart would see 5 or chunked.
        BadCase{"obs_fold_after_empty_content_length",
                "POST / HTTP/1.1\r\nHost: x\r\nContent-Length:\r\n 5\r\n\r\nhello",
                ParseFailure::kBadRequest},
        BadCase{"obs_fold_after_empty_transfer_encoding",
                "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: \r\n\tchunked\r\n\r\n0\r\n\r\n",
                ParseFailure::kBadRequest},
        BadCase{"obs_fold_after_empty_host", "GET / HTTP/1.1\r\nHost:\r\n x\r\n\r\n",
                ParseFailure::kBadRequest},
        BadCase{"obs_fold_after_empty_value", "GET / HTTP/1.1\r\nHost: x\r\nX-A:\r\n b\r\n\r\n",
                ParseFailure::kBadRequest},
        BadCase{"space_before_colon", "GET / HTTP/1.1\r\nHost: x\r\nX-A : a\r\n\r\n",
                ParseFailure::kBadRequest},
        BadCase{"bad_name_char", "GET / HTTP/1.1\r\nHost: x\r\nX(A): a\r\n\r\n",
                ParseFailure::kBadRequest},
        BadCase{"bare_cr_in_value", "GET / HTTP/1.1\r\nHost: x\r\nX-A: a\rb\r\n\r\n",
                ParseFailure::kBadRequest},
        BadCase{"bare_lf_line_end", "GET / HTTP/1.1\nHost: x\n\n", ParseFailure::kBadRequest},
        BadCase{"bad_chunk_size",
                "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: "
                "chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n",
                ParseFailure::kBadRequest},
        BadCase{
            "chunk_size_overflow",
            "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nfffffffffffffffff\r\n",
            ParseFailure::kBadRequest},
        BadCase{"chunk_missing_crlf",
                "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: "
                "chunked\r\n\r\n3\r\nabcX\r\n0\r\n\r\n",
                ParseFailure::kBadRequest},
        BadCase{"bad_request_line", "GET  / HTTP/1.1\r\nHost: x\r\n\r\n",
                ParseFailure::kBadRequest},
        BadCase{"bad_version", "GET / HTTP/2.0\r\nHost: x\r\n\r\n", ParseFailure::kBadRequest},
        BadCase{"bad_target", "GET a HTTP/1.1\r\nHost: x\r\n\r\n", ParseFailure::kBadRequest},
        BadCase{"fragment_in_target", "GET /a#b HTTP/1.1\r\nHost: x\r\n\r\n",
                ParseFailure::kBadRequest},
        BadCase{"fragment_in_absolute_target",
                "GET http://x/a?q=1#frag HTTP/1.1\r\nHost: x\r\n\r\n", ParseFailure::kBadRequest},
        BadCase{"missing_host", "GET / HTTP/1.1\r\n\r\n", ParseFailure::kBadRequest},
        BadCase{"two_hosts", "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
                ParseFailure::kBadRequest},
        BadCase{
            "uri_too_long",
            "GET /aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa "
            "HTTP/1.1\r\nHost: x\r\n\r\n",
            ParseFailure::kUriTooLong},
        BadCase{"too_many_headers",
                "GET / HTTP/1.1\r\nHost: x\r\nA: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\n\r\n",
                ParseFailure::kHeadersTooLarge},
        BadCase{"headers_too_large",
                "GET / HTTP/1.1\r\nHost: x\r\nA: "
                "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
                "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
                "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
                "xxxxxxxxxxxxxxxxxxxxx\r\n\r\n",
                ParseFailure::kHeadersTooLarge},
        BadCase{"body_too_large_cl", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 11\r\n\r\n",
                ParseFailure::kBodyTooLarge},
        // A hop-by-hop token naming a framing or routing field (CL.0 desync through the next
        // hop dropping Content-Length), in every spelling and position.
        BadCase{"connection_content_length",
                "POST / HTTP/1.1\r\nHost: x\r\nConnection: Content-Length\r\nContent-Length: "
                "3\r\n\r\nabc",
                ParseFailure::kBadRequest},
        BadCase{"connection_content_length_listed_late",
                "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nConnection: keep-alive, "
                "CONTENT-length\r\n\r\nabc",
                ParseFailure::kBadRequest},
        BadCase{"connection_transfer_encoding",
                "POST / HTTP/1.1\r\nHost: x\r\nConnection: transfer-encoding\r\nTransfer-Encoding: "
                "chunked\r\n\r\n0\r\n\r\n",
                ParseFailure::kBadRequest},
        BadCase{"connection_host", "GET / HTTP/1.1\r\nHost: x\r\nConnection: close,host\r\n\r\n",
                ParseFailure::kBadRequest},
        BadCase{"proxy_connection_content_length",
                "POST / HTTP/1.1\r\nHost: x\r\nProxy-Connection: content-length\r\n"
                "Content-Length: 0\r\n\r\n",
                ParseFailure::kBadRequest},
        BadCase{"chunk_extension_too_long",
                "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n1;"
                "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
                "\r\nx\r\n0\r\n\r\n",
                ParseFailure::kBadRequest},
        BadCase{"chunk_line_too_long_unfinished",
                "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n1;"
                "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
                ParseFailure::kBadRequest},
        BadCase{"chunk_line_leading_zeros_too_long",
                "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                "0000000000000000000000000000000000000000000000000000000000000000000001\r\nx\r\n"
                "0\r\n\r\n",
                ParseFailure::kBadRequest},
        BadCase{"body_too_large_chunked",
                "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nb\r\nhello "
                "world\r\n0\r\n\r\n",
                ParseFailure::kBodyTooLarge}),
    [](const auto& info) { return std::string(info.param.name); });

// Feeds `wire` in pieces of `step` bytes into a buffer that keeps every byte (the parser's
// contract: consumed bytes stay before the next input while the head arrives), as a session's
// read buffer does.
Parsed ParseInPieces(std::string_view wire, std::size_t step, ParserLimits limits = {}) {
  HeaderList headers;
  std::string body;
  RequestParser p(limits, headers, body);
  p.set_rechunk(false);
  std::string buf;
  std::size_t pos = 0;
  std::size_t used = 0;
  while (pos < wire.size() && !p.done() && p.failure() == ParseFailure::kNone) {
    const std::size_t n = std::min(step, wire.size() - pos);
    buf.append(wire.substr(pos, n));
    pos += n;
    used += p.Feed(buf.data() + used, buf.size() - used);
  }
  Parsed out;
  out.failure = p.failure();
  out.done = p.done();
  out.body = body;
  return out;
}

TEST(RequestParser, ManySmallChunksWithExtensionsAreAcceptedWhole) {
  // 4,000 one-byte chunks with a 16-byte extension each: valid, and forwarded whole by nginx
  // and HAProxy. Whatever the read boundaries, the body comes out complete.
  std::string wire = "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n";
  for (int i = 0; i < 4000; ++i) wire += "1;ext=0123456789\r\nz\r\n";
  wire += "0\r\n\r\n";
  for (std::size_t step : {std::size_t{1}, std::size_t{7}, std::size_t{4096}, wire.size()}) {
    auto r = ParseInPieces(wire, step);
    EXPECT_EQ(r.failure, ParseFailure::kNone) << step;
    EXPECT_TRUE(r.done) << step;
    EXPECT_EQ(r.body, std::string(4000, 'z')) << step;
  }
}

TEST(RequestParser, ChunkExtensionBoundsHoldInPieces) {
  ParserLimits limits;
  limits.max_chunk_extension_bytes = 100;
  limits.max_chunk_extensions_total = 1000;
  const std::string head = "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n";
  // One line longer than its bound fails while it is still arriving: the parser never waits for
  // the end of an unbounded line.
  auto r = ParseInPieces(head + "1;" + std::string(200, 'a'), 16, limits);
  EXPECT_EQ(r.failure, ParseFailure::kBadRequest);
  EXPECT_FALSE(r.done);
  // Within the bound per line, over it in total.
  std::string many = head;
  for (int i = 0; i < 20; ++i) many += "1;" + std::string(90, 'e') + "\r\nz\r\n";
  many += "0\r\n\r\n";
  EXPECT_EQ(ParseInPieces(many, 64, limits).failure, ParseFailure::kBadRequest);
  EXPECT_EQ(ParseInPieces(many, many.size(), limits).failure, ParseFailure::kBadRequest);
  // Exactly at the bound: accepted.
  const std::string at = head + "1;" + std::string(99, 'a') + "\r\nz\r\n0\r\n\r\n";
  EXPECT_TRUE(ParseInPieces(at, 5, limits).done);
  EXPECT_TRUE(ParseInPieces(at, at.size(), limits).done);
}

TEST(RequestParser, LongHeaderAfterShortRequestLineIs431) {
  // The request line is short; a header value past the header limit is 431, however the bytes
  // arrive (the request line may have come in an earlier read).
  ParserLimits limits;
  limits.max_request_line_bytes = 64;
  limits.max_header_bytes = 1024;
  const std::string wire =
      "GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(4096, 'v') + "\r\n\r\n";
  for (std::size_t step : {std::size_t{20}, std::size_t{512}, wire.size()}) {
    EXPECT_EQ(ParseInPieces(wire, step, limits).failure, ParseFailure::kHeadersTooLarge) << step;
  }
  // A request line that never ends is 414.
  const std::string line = "GET /" + std::string(4096, 'a');
  EXPECT_EQ(ParseInPieces(line, 100, limits).failure, ParseFailure::kUriTooLong);
}

TEST(RequestParser, NulInValueRejected) {
  const char wire[] = "GET / HTTP/1.1\r\nHost: x\r\nX-A: a\0b\r\n\r\n";
  auto r = ParseRequest(std::string_view(wire, sizeof(wire) - 1));
  EXPECT_EQ(r.failure, ParseFailure::kBadRequest);
}

TEST(RequestParser, Http10WithoutHost) {
  auto r = ParseRequest("GET / HTTP/1.0\r\n\r\n");
  EXPECT_EQ(r.failure, ParseFailure::kNone);
  EXPECT_TRUE(r.done);
}

TEST(ResponseParser, UntilCloseBody) {
  HeaderList headers;
  std::string body;
  ResponseParser p({}, headers, body);
  std::string_view wire = "HTTP/1.1 200 OK\r\nServer: x\r\n\r\nabc";
  std::size_t n = p.Feed(wire.data(), wire.size());
  n += p.Feed(wire.data() + n, wire.size() - n);
  EXPECT_EQ(p.framing(), BodyFraming::kUntilClose);
  EXPECT_FALSE(p.done());
  p.FeedEof();
  EXPECT_TRUE(p.done());
  EXPECT_EQ(body, "abc");
  EXPECT_EQ(p.status(), 200);
}

TEST(ResponseParser, HeadResponseHasNoBody) {
  HeaderList headers;
  std::string body;
  ResponseParser p({}, headers, body);
  p.set_no_body();
  std::string_view wire = "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n";
  p.Feed(wire.data(), wire.size());
  EXPECT_TRUE(p.done());
}

}  // namespace
}  // namespace rampart::http::h1
