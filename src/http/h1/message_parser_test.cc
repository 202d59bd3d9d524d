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

TEST(RequestParser, HeadArrivingInPiecesSurvivesBufferMoves) {
  std::string wire = "GET /path HTTP/1.1\r\nHost: example\r\nX-Long: value\r\n\r\n";
  HeaderList headers;
  std::string body;
  RequestParser p({}, headers, body);
  std::string buf;
  std::size_t consumed = 0;
  for (char c : wire) {
    std::string moved = buf + c;  // a new allocation each time: the bytes move
    buf.swap(moved);
    consumed += p.Feed(buf.data() + consumed, buf.size() - consumed);
    ASSERT_EQ(p.failure(), ParseFailure::kNone);
  }
  ASSERT_TRUE(p.done());
  EXPECT_EQ(p.method(), "GET");
  EXPECT_EQ(p.target(), "/path");
  EXPECT_EQ(headers.Get("x-long"), "value");
  EXPECT_EQ(headers.Get("HOST"), "example");
  EXPECT_EQ(consumed, wire.size());
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
        BadCase{"body_too_large_chunked",
                "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nb\r\nhello "
                "world\r\n0\r\n\r\n",
                ParseFailure::kBodyTooLarge}),
    [](const auto& info) { return std::string(info.param.name); });

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
