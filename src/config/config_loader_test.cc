#include <gtest/gtest.h>

#include "config/config.h"

namespace rampart::config {
namespace {

constexpr const char* kGood = R"(workers: 2
listeners:
  - name: public
    address: 127.0.0.1:8080
    trusted_proxies: [10.0.0.0/8]
    limits: { max_header_bytes: 16KiB, header_timeout: 5s, max_body: 1MiB }
routes:
  - name: api
    match: { host: [api.example.com, "*.example.org"], path_prefix: /api, methods: [GET, POST] }
    upstream: app
    rewrite: { path_prefix: /v1 }
    request_headers: { add: { X-Env: prod }, remove: [X-Debug] }
upstreams:
  app:
    endpoints: [127.0.0.1:9001, "[::1]:9002"]
    load_balancer: least_request
    timeouts: { connect: 250ms, response: 5s }
admin: { address: 127.0.0.1:9901 }
)";

TEST(ConfigLoader, ReadsEverything) {
  auto r = LoadConfigText(kGood, "good.yaml");
  ASSERT_TRUE(r.errors.empty()) << r.errors[0].ToString();
  const Config& c = *r.config;
  EXPECT_EQ(c.workers, 2);
  ASSERT_EQ(c.listeners.size(), 1u);
  EXPECT_EQ(c.listeners[0].port, 8080);
  EXPECT_EQ(c.listeners[0].limits.max_header_bytes, 16u * 1024);
  EXPECT_EQ(c.listeners[0].limits.header_timeout, std::chrono::seconds(5));
  EXPECT_EQ(c.listeners[0].limits.max_body_bytes, 1024u * 1024);
  EXPECT_EQ(c.listeners[0].limits.idle_timeout, std::chrono::seconds(60));  // default
  ASSERT_EQ(c.routes.size(), 1u);
  EXPECT_EQ(c.routes[0].match.hosts[1], "*.example.org");
  EXPECT_EQ(*c.routes[0].path_prefix_rewrite, "/v1");
  EXPECT_EQ(c.routes[0].request_headers.remove[0], "x-debug");
  const Upstream& u = c.upstreams.at("app");
  EXPECT_EQ(u.endpoints[1].host, "::1");
  EXPECT_EQ(u.endpoints[1].port, 9002);
  EXPECT_EQ(u.load_balancer, LoadBalancer::kLeastRequest);
  EXPECT_EQ(u.connect_timeout, std::chrono::milliseconds(250));
}

std::vector<std::string> Errors(const std::string& yaml) {
  auto r = LoadConfigText(yaml, "bad.yaml");
  std::vector<std::string> out;
  for (const auto& e : r.errors) out.push_back(e.ToString());
  EXPECT_FALSE(r.config.has_value());
  return out;
}

TEST(ConfigLoader, UnknownKeyHasFileLine) {
  auto errs = Errors("listeners:\n  - address: 127.0.0.1:1\n    limitz: {}\nroutes: []\n");
  ASSERT_EQ(errs.size(), 1u);
  EXPECT_EQ(errs[0].rfind("bad.yaml:3: unknown key 'limitz' in listeners[0]", 0), 0u) << errs[0];
}

TEST(ConfigLoader, WrongTypesAndUnitsAreReportedTogether) {
  auto errs = Errors(
      "listeners:\n"
      "  - address: 127.0.0.1:1\n"
      "    limits: { header_timeout: 10, max_body: lots, max_headers: [1] }\n"
      "upstreams:\n"
      "  a: { endpoints: [nohostport] }\n"
      "routes:\n"
      "  - upstream: missing\n");
  ASSERT_EQ(errs.size(), 5u);
  auto has = [&](std::string_view needle) {
    for (const auto& e : errs) {
      if (e.find(needle) != std::string::npos) return true;
    }
    return false;
  };
  EXPECT_TRUE(has("bad.yaml:3: listeners[0].limits.max_body: expected a size"));
  EXPECT_TRUE(has("bad.yaml:3: listeners[0].limits.header_timeout: expected a duration"));
  EXPECT_TRUE(has("bad.yaml:3: listeners[0].limits.max_headers: expected a whole number"));
  EXPECT_TRUE(has("bad.yaml:5: upstreams.a.endpoints: 'nohostport' is not host:port"));
  EXPECT_TRUE(has("bad.yaml:7: route 'route0': upstream 'missing' is not defined"));
}

TEST(ConfigLoader, BusyPoll) {
  constexpr const char* kListener = "listeners:\n  - address: 127.0.0.1:1\n";
  auto def = LoadConfigText(kListener, "a.yaml");
  ASSERT_TRUE(def.config.has_value());
  EXPECT_EQ(def.config->busy_poll, std::chrono::microseconds(30));
  auto off = LoadConfigText(std::string("busy_poll: 0s\n") + kListener, "a.yaml");
  ASSERT_TRUE(off.config.has_value());
  EXPECT_EQ(off.config->busy_poll, std::chrono::microseconds(0));
  auto errs = Errors(std::string("busy_poll: 5ms\n") + kListener);
  ASSERT_EQ(errs.size(), 1u);
  EXPECT_EQ(errs[0], "bad.yaml:1: busy_poll: at most 1ms (0s turns polling off)");
}

TEST(ConfigLoader, SyntaxErrorHasLine) {
  auto errs = Errors("listeners:\n  - address: [unclosed\n");
  ASSERT_EQ(errs.size(), 1u);
  EXPECT_NE(errs[0].find("YAML syntax"), std::string::npos);
}

TEST(ConfigLoader, RequiresListener) {
  auto errs = Errors("routes: []\n");
  ASSERT_FALSE(errs.empty());
  EXPECT_NE(errs[0].find("at least one listener"), std::string::npos);
}

TEST(ConfigLoader, RejectsConflictingPathMatchersAndBadHosts) {
  auto errs = Errors(
      "listeners: [{address: '127.0.0.1:1'}]\n"
      "upstreams: { a: { endpoints: ['127.0.0.1:2'] } }\n"
      "routes:\n"
      "  - match: { path: /a, path_prefix: /b, host: 'a.*.com' }\n"
      "    upstream: a\n");
  ASSERT_EQ(errs.size(), 2u);
}

TEST(ConfigLoader, UpstreamProtocol) {
  auto r = LoadConfigText(
      "listeners: [{address: '127.0.0.1:1'}]\n"
      "upstreams:\n"
      "  a: { endpoints: ['127.0.0.1:2'] }\n"
      "  g: { endpoints: ['127.0.0.1:3'], protocol: h2 }\n"
      "routes: [{ match: { path_prefix: / }, upstream: g }]\n",
      "p.yaml");
  ASSERT_TRUE(r.errors.empty()) << r.errors[0].ToString();
  EXPECT_EQ(r.config->upstreams.at("a").protocol, UpstreamProtocol::kHttp1);  // default
  EXPECT_EQ(r.config->upstreams.at("g").protocol, UpstreamProtocol::kHttp2);

  auto errs = Errors(
      "listeners: [{address: '127.0.0.1:1'}]\n"
      "upstreams: { g: { endpoints: ['127.0.0.1:3'], protocol: h2 } }\n"
      "routes:\n"
      "  - match: { path_prefix: / }\n"
      "    upstream: g\n"
      "    websocket: true\n");
  ASSERT_EQ(errs.size(), 1u);
  EXPECT_NE(errs[0].find("bad.yaml:4"), std::string::npos) << errs[0];
  EXPECT_NE(errs[0].find("websocket needs an HTTP/1.1 upstream"), std::string::npos) << errs[0];
}

TEST(ConfigLoader, SplitHostPort) {
  std::string h;
  std::uint16_t p = 0;
  EXPECT_TRUE(SplitHostPort("127.0.0.1:80", h, p));
  EXPECT_EQ(h, "127.0.0.1");
  EXPECT_TRUE(SplitHostPort("[::1]:8080", h, p));
  EXPECT_EQ(h, "::1");
  EXPECT_EQ(p, 8080);
  EXPECT_FALSE(SplitHostPort("::1:80", h, p));
  EXPECT_FALSE(SplitHostPort("host:99999", h, p));
  EXPECT_FALSE(SplitHostPort("host:", h, p));
}

}  // namespace
}  // namespace rampart::config
