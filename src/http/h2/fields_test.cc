#include "http/h2/fields.h"

#include <gtest/gtest.h>

namespace rampart::http::h2 {
namespace {

TEST(H2Headers, ResponseHeadBecomesLowerCaseFieldsWithStatusFirst) {
  std::vector<Field> f;
  std::string names;
  ResponseHeadToFields(
      "HTTP/1.1 404 Not Found\r\nContent-Type: text/plain\r\nX-Multi: a\r\nX-Multi: b\r\n"
      "Connection: close\r\nKeep-Alive: timeout=5\r\nTransfer-Encoding: chunked\r\n"
      "Upgrade: h2c\r\nVia: 1.1 rampart\r\n\r\n",
      f, names);
  ASSERT_EQ(f.size(), 5u);
  EXPECT_EQ(f[0].name, ":status");
  EXPECT_EQ(f[0].value, "404");
  EXPECT_EQ(f[1].name, "content-type");
  EXPECT_EQ(f[1].value, "text/plain");
  EXPECT_EQ(f[2].name, "x-multi");
  EXPECT_EQ(f[3].value, "b");
  EXPECT_EQ(f[4].name, "via");
}

// ResponseFields writes the fields straight from the response: exactly what the HTTP/1.1 head
// built from it reads back as (names, values, order), and that head's size, for every shape of
// response: hop-by-hop fields and Connection tokens (which may not take Content-Length away),
// each framing, the route's and the gates' removals and additions, an upgrade, an HTTP/1.0
// client, names in any case, a status without a reason phrase.
TEST(H2Headers, ResponseFieldsAreTheTextHeadsFieldsWithoutTheText) {
  HeaderList origin;
  origin.Add("Content-Type", "text/plain");
  origin.Add("Connection", "X-Secret, content-length, Keep-Alive");
  origin.Add("X-Secret", "s");
  origin.Add("Keep-Alive", "timeout=5");
  origin.Add("Content-Length", "12");
  origin.Add("TE", "trailers");
  origin.Add("X-MULTI", "a");
  origin.Add("x-multi", "b");
  origin.Add("Set-Cookie", "k=v");
  origin.Add("Proxy-Connection", "keep-alive");
  origin.Add("Transfer-Encoding", "chunked");
  config::HeaderRules rules;
  rules.remove = {"set-cookie"};
  rules.add = {{"X-Route", "r1"}, {"Strict-Transport-Security", "max-age=60"}, {"X-Pad", " \t p"}};
  const std::vector<std::string_view> removed = {"X-MULTI"};
  for (const int status : {200, 204, 304, 404, 418, 599}) {
    for (const auto framing :
         {DownstreamResponse::Framing::kAsIs, DownstreamResponse::Framing::kChunked,
          DownstreamResponse::Framing::kClose}) {
      for (int shape = 0; shape < 4; ++shape) {
        DownstreamResponse r;
        r.status = status;
        r.headers = &origin;
        r.framing = framing;
        r.via = "rampart";
        r.received_protocol = shape % 2 ? "2" : "1.1";
        if (shape >= 1) r.rules = &rules;
        if (shape >= 2) {
          r.remove = &removed;
          r.extra = "X-Request-Id: abc\r\nRateLimit: limit=10\r\nConnection: close\r\n";
        }
        r.keep_alive = shape != 3;
        r.client_http10 = shape == 2;
        if (shape == 3 && status == 200) r.upgrade = "websocket";
        std::string text;
        BuildDownstreamResponseHead(text, r);
        std::vector<Field> want;
        std::string want_names;
        ResponseHeadToFields(text, want, want_names);
        std::vector<Field> got;
        std::string got_names;
        const std::size_t size = ResponseFields(r, got, got_names);
        const std::string where = "status " + std::to_string(status) + ", framing " +
                                  std::to_string(static_cast<int>(framing)) + ", shape " +
                                  std::to_string(shape);
        EXPECT_EQ(size, text.size()) << where;
        ASSERT_EQ(got.size(), want.size()) << where;
        for (std::size_t i = 0; i < got.size(); ++i) {
          EXPECT_EQ(got[i].name, want[i].name) << where << ", field " << i;
          EXPECT_EQ(got[i].value, want[i].value) << where << ", field " << i;
        }
      }
    }
  }
}

TEST(H2Headers, UpstreamRequestHeadBecomesPseudoHeadersAndFields) {
  std::vector<Field> f;
  std::string names;
  RequestHeadToFields(
      "POST /pkg.Svc/Call?x=1 HTTP/1.1\r\nHost: api.test:8443\r\nContent-Type: "
      "application/grpc\r\nTE: trailers\r\nTransfer-Encoding: chunked\r\n"
      "X-Forwarded-For: 10.0.0.1\r\n\r\n",
      "https", f, names);
  ASSERT_EQ(f.size(), 6u);
  EXPECT_EQ(f[0].name, ":method");
  EXPECT_EQ(f[0].value, "POST");
  EXPECT_EQ(f[1].name, ":scheme");
  EXPECT_EQ(f[1].value, "https");
  EXPECT_EQ(f[2].name, ":authority");
  EXPECT_EQ(f[2].value, "api.test:8443");
  EXPECT_EQ(f[3].name, ":path");
  EXPECT_EQ(f[3].value, "/pkg.Svc/Call?x=1");
  EXPECT_EQ(f[4].name, "content-type");
  EXPECT_EQ(f[5].name, "x-forwarded-for");
  EXPECT_EQ(f[5].value, "10.0.0.1");
}

TEST(H2Headers, ConnectionSpecificFields) {
  for (const char* n :
       {"connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade"}) {
    EXPECT_TRUE(IsConnectionSpecific(n)) << n;
  }
  EXPECT_FALSE(IsConnectionSpecific("te"));
  EXPECT_FALSE(IsConnectionSpecific("content-length"));
}

TEST(H2Headers, HostMustNameTheAuthority) {
  EXPECT_FALSE(AuthorityConflicts("api.test:443", ""));
  EXPECT_FALSE(AuthorityConflicts("", "api.test"));
  EXPECT_FALSE(AuthorityConflicts("API.test:443", "api.TEST:443"));
  EXPECT_TRUE(AuthorityConflicts("api.test", "evil.test"));
  EXPECT_TRUE(AuthorityConflicts("api.test:443", "api.test:8443"));
}

}  // namespace
}  // namespace rampart::http::h2
