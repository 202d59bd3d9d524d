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
