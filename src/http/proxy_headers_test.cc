#include "http/proxy_headers.h"

#include <gtest/gtest.h>

#include "http/h1/message_parser.h"

namespace rampart::http {
namespace {

struct Parsed {
  std::string wire;  // the header views point into it
  HeaderList headers;
  std::string body;
  void Parse(std::string_view message) {
    wire = message;
    h1::RequestParser p({}, headers, body);
    p.Feed(wire.data(), wire.size());
    ASSERT_TRUE(p.header_done());
  }
};

// `method /` to host "a", from an untrusted peer, with the fields `p` parsed.
// The head rampart sends a client for the origin's head `wire`, built with `d`'s settings (its
// fields and Via "rampart" filled in here).
std::string Forwarded(std::string_view wire, DownstreamResponse d) {
  HeaderList h;
  std::string body;
  h1::ResponseParser p({}, h, body);
  p.Feed(wire.data(), wire.size());
  EXPECT_TRUE(p.header_done()) << wire;
  d.headers = &h;
  d.via = "rampart";
  std::string out;
  BuildDownstreamResponseHead(out, d);
  return out;
}

UpstreamRequest ToA(const Parsed& p, std::string_view method = "GET") {
  UpstreamRequest r;
  r.method = method;
  r.path_and_query = "/";
  r.host = "a";
  r.headers = &p.headers;
  r.via = "rampart";
  return r;
}

TEST(ProxyHeaders, UpstreamHeadFromUntrustedPeer) {
  std::string wire =
      "GET / HTTP/1.1\r\nHost: a.test\r\nConnection: close, X-Hop\r\nX-Hop: 1\r\nTE: trailers\r\n"
      "X-Forwarded-For: 6.6.6.6\r\nX-Request-Id: fake\r\nVia: 1.0 edge\r\nExpect: 100-continue\r\n"
      "Accept: */*\r\nX-Remove: y\r\n\r\n";
  Parsed p;
  p.Parse(wire);
  config::HeaderRules rules;
  rules.remove = {"x-remove"};
  rules.add = {{"X-Add", "1"}};
  std::vector<std::pair<std::string, std::string>> extra = {{"X-Identity", "spiffe://t/a"}};
  UpstreamRequest r;
  r.method = "GET";
  r.path_and_query = "/v2/x?q=1";
  r.host = "internal";
  r.headers = &p.headers;
  r.rules = &rules;
  r.extra = &extra;
  r.client_ip = "192.0.2.1";
  r.original_host = "a.test";
  r.request_id_header = "x-request-id";
  r.request_id = "rid";
  r.via = "rampart";
  std::string out;
  BuildUpstreamRequestHead(out, r);
  EXPECT_EQ(out,
            "GET /v2/x?q=1 HTTP/1.1\r\nHost: internal\r\nAccept: */*\r\n"
            "X-Forwarded-For: 192.0.2.1\r\nX-Forwarded-Proto: http\r\nX-Forwarded-Host: a.test\r\n"
            "Via: 1.0 edge, 1.1 rampart\r\nX-Request-Id: rid\r\nX-Add: 1\r\n"
            "X-Identity: spiffe://t/a\r\n\r\n");
  r.trusted_peer = true;
  r.chunked = true;
  BuildUpstreamRequestHead(out, r);
  EXPECT_NE(out.find("X-Forwarded-For: 6.6.6.6, 192.0.2.1\r\n"), std::string::npos);
  EXPECT_NE(out.find("Transfer-Encoding: chunked\r\n"), std::string::npos);
  // Via names the protocol the request arrived in (RFC 9110 section 7.6.3).
  r.received_protocol = "2";
  BuildUpstreamRequestHead(out, r);
  EXPECT_NE(out.find("Via: 1.0 edge, 2 rampart\r\n"), std::string::npos);
}

TEST(ProxyHeaders, FieldsOnlyAProxySetsAreDroppedFromAnUntrustedPeer) {
  Parsed p;
  p.Parse(
      "GET / HTTP/1.1\r\nHost: a\r\nForwarded: for=1.1.1.1;host=evil.com;proto=https\r\n"
      "X-Real-IP: 1.2.3.4\r\nX-Original-URL: /admin\r\nX-Forwarded-Port: 443\r\n"
      "True-Client-IP: 9.9.9.9\r\nX-Kept: 1\r\n\r\n");
  UpstreamRequest r = ToA(p);
  r.client_ip = "192.0.2.1";
  std::string out;
  BuildUpstreamRequestHead(out, r);
  for (const char* gone : {"Forwarded:", "X-Real-IP", "X-Original-URL", "X-Forwarded-Port",
                           "True-Client-IP", "evil.com"}) {
    EXPECT_EQ(out.find(gone), std::string::npos) << gone << "\n" << out;
  }
  EXPECT_NE(out.find("X-Kept: 1\r\n"), std::string::npos) << out;
  // Their '_' spellings (CGI-style origins read X_Real_IP as X-Real-IP), and the '_' spellings
  // of the fields rampart writes itself, from anyone.
  Parsed q;
  q.Parse(
      "GET / HTTP/1.1\r\nHost: a\r\nX_Real_IP: 127.0.0.1\r\nX_Forwarded_For: 10.0.0.1\r\n"
      "X_Forwarded_Ssl: on\r\nCF_Connecting_IP: 1.2.3.4\r\nX_Kept: 2\r\n\r\n");
  r.headers = &q.headers;
  BuildUpstreamRequestHead(out, r);
  for (const char* gone : {"X_Real_IP", "X_Forwarded_For", "X_Forwarded_Ssl", "CF_Connecting"}) {
    EXPECT_EQ(out.find(gone), std::string::npos) << gone << "\n" << out;
  }
  EXPECT_NE(out.find("X_Kept: 2\r\n"), std::string::npos) << out;
  r.trusted_peer = true;
  BuildUpstreamRequestHead(out, r);
  EXPECT_EQ(out.find("X_Forwarded_For"), std::string::npos) << out;
  r.headers = &p.headers;
  r.trusted_peer = true;  // a trusted proxy's word stands
  BuildUpstreamRequestHead(out, r);
  EXPECT_NE(out.find("Forwarded: for=1.1.1.1;host=evil.com;proto=https\r\n"), std::string::npos)
      << out;
  EXPECT_NE(out.find("X-Real-IP: 1.2.3.4\r\n"), std::string::npos) << out;
}

TEST(ProxyHeaders, AGateSetFieldDropsTheClientsLookAlikes) {
  // CGI, WSGI, PHP and Rack origins read X_Identity as X-Identity (both HTTP_X_IDENTITY): the
  // client's spelling with '_' must not ride beside the identity a gate set.
  Parsed p;
  p.Parse(
      "GET / HTTP/1.1\r\nHost: a\r\nX_Identity: mallory\r\nx-identity: mallory2\r\n"
      "X_Other: kept\r\nX-Identityx: kept2\r\n\r\n");
  std::vector<std::pair<std::string, std::string>> extra = {{"X-Identity", "alice"}};
  UpstreamRequest r = ToA(p);
  r.extra = &extra;
  std::string out;
  BuildUpstreamRequestHead(out, r);
  EXPECT_EQ(out.find("mallory"), std::string::npos) << out;
  EXPECT_NE(out.find("X-Identity: alice\r\n"), std::string::npos) << out;
  EXPECT_NE(out.find("X_Other: kept\r\n"), std::string::npos) << out;
  EXPECT_NE(out.find("X-Identityx: kept2\r\n"), std::string::npos) << out;
}

TEST(ProxyHeaders, UpstreamFramingIsRampartsOwn) {
  // The client's Content-Length and Transfer-Encoding are never copied: rampart writes the
  // framing it parsed the body by, so nothing the client lists in Connection can remove it.
  Parsed p;
  p.Parse("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nConnection: X-A\r\nX-A: 1\r\n\r\n");
  UpstreamRequest r = ToA(p, "POST");
  r.content_length = 5;
  std::string out;
  BuildUpstreamRequestHead(out, r);
  EXPECT_NE(out.find("\r\nContent-Length: 5\r\n"), std::string::npos) << out;
  EXPECT_EQ(out.find("X-A"), std::string::npos) << out;
  r.chunked = true;  // chunked wins: never both
  BuildUpstreamRequestHead(out, r);
  EXPECT_EQ(out.find("Content-Length"), std::string::npos) << out;
  EXPECT_NE(out.find("\r\nTransfer-Encoding: chunked\r\n"), std::string::npos) << out;
  r.chunked = false;
  r.content_length.reset();  // no body: no framing header at all, whatever the client sent
  BuildUpstreamRequestHead(out, r);
  EXPECT_EQ(out.find("Content-Length"), std::string::npos) << out;
}

TEST(ProxyHeaders, ResponseContentLengthSurvivesConnectionToken) {
  // An origin that lists Content-Length in Connection must not leave the client's keep-alive
  // response without framing.
  EXPECT_EQ(Forwarded("HTTP/1.1 200 OK\r\nConnection: content-length, transfer-encoding\r\n"
                      "Content-Length: 3\r\n\r\nabc",
                      {}),
            "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nVia: 1.1 rampart\r\n\r\n");
}

TEST(ProxyHeaders, InterimHeadKeepsItsFieldsButNoFraming) {
  // A 103 as an origin might send it, with fields a 1xx must not carry on: only Link and Via.
  DownstreamResponse d;
  d.status = 103;
  d.framing = DownstreamResponse::Framing::kNone;
  EXPECT_EQ(
      Forwarded(
          "HTTP/1.1 103 Early Hints\r\nLink: </app.css>; rel=preload\r\nConnection: "
          "keep-alive, X-Hop\r\nX-Hop: 1\r\nContent-Length: 0\r\nKeep-Alive: timeout=5\r\n\r\n",
          d),
      "HTTP/1.1 103 Early Hints\r\nLink: </app.css>; rel=preload\r\nVia: 1.1 rampart\r\n\r\n");
}

TEST(ProxyHeaders, ReasonPhrases) {
  EXPECT_EQ(ReasonPhrase(200), "OK");
  EXPECT_EQ(ReasonPhrase(103), "Early Hints");
  EXPECT_EQ(ReasonPhrase(102), "Processing");
  // A code without a registered phrase gets none ("HTTP/1.1 299 \r\n" is a valid status line).
  EXPECT_EQ(ReasonPhrase(299), "");
  EXPECT_EQ(ReasonPhrase(199), "");
}

TEST(ProxyHeaders, ConnectionTokensIncludingMany) {
  Parsed p;
  std::string many = "Connection: keep-alive, X-A\r\nConnection: ";
  for (int i = 0; i < 20; ++i) many += (i ? ", X-" : "X-") + std::to_string(i);
  p.Parse("GET / HTTP/1.1\r\nHost: a\r\n" + many + "\r\n\r\n");
  ConnectionTokens t(p.headers);
  EXPECT_TRUE(t.Contains("KEEP-ALIVE"));
  EXPECT_TRUE(t.Contains("x-a"));
  EXPECT_TRUE(t.Contains("x-0"));
  EXPECT_TRUE(t.Contains("x-19"));  // past the first 16: found by the fallback scan
  EXPECT_FALSE(t.Contains("x-20"));
  EXPECT_FALSE(t.Contains("host"));
}

TEST(ProxyHeaders, DownstreamHead) {
  HeaderList h;
  std::string body;
  h1::ResponseParser p({}, h, body);
  std::string_view wire =
      "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nConnection: keep-alive, X-Hop\r\nX-Hop: a\r\n"
      "Server: o\r\n\r\nabc";
  p.Feed(wire.data(), wire.size());
  DownstreamResponse d;
  d.status = 200;
  d.headers = &h;
  d.via = "rampart";
  std::string out;
  BuildDownstreamResponseHead(out, d);
  EXPECT_EQ(out, "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nServer: o\r\nVia: 1.1 rampart\r\n\r\n");
  d.framing = DownstreamResponse::Framing::kClose;
  d.keep_alive = false;
  BuildDownstreamResponseHead(out, d);
  EXPECT_EQ(out, "HTTP/1.1 200 OK\r\nServer: o\r\nVia: 1.1 rampart\r\nConnection: close\r\n\r\n");
  d.received_protocol = "2";  // the answer came from an HTTP/2 upstream
  BuildDownstreamResponseHead(out, d);
  EXPECT_EQ(out, "HTTP/1.1 200 OK\r\nServer: o\r\nVia: 2 rampart\r\nConnection: close\r\n\r\n");
}

TEST(ProxyHeaders, LocalReplyIsJson) {
  std::string out;
  BuildLocalReply(out, 429, "rate_limited", "too \"many\"", "id-1", true, "Retry-After: 2\r\n");
  EXPECT_EQ(
      out,
      "HTTP/1.1 429 Too Many Requests\r\nContent-Type: application/json\r\n"
      "Content-Length: 70\r\nX-Request-Id: id-1\r\nRetry-After: 2\r\n\r\n"
      "{\"error\":\"rate_limited\",\"message\":\"too \\\"many\\\"\",\"request_id\":\"id-1\"}\n");
}

}  // namespace
}  // namespace rampart::http
