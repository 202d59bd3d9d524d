#include "gates/rate_limit/rate_limit_gate.h"

#include <gtest/gtest.h>

#include "gates/rate_limit/key.h"
#include "observe/metrics.h"
#include "pipeline/router.h"
#include "state/stores.h"

namespace rampart::rate_limit {
namespace {

std::int64_t g_now = 1'790'000'000LL * 1'000'000;
std::int64_t FakeClock() { return g_now; }

class GateTest : public ::testing::Test {
 protected:
  std::unique_ptr<RateLimitGate> Make(const std::string& yaml) {
    YAML::Node n = YAML::Load(yaml);
    config::YamlReader reader("test.yaml", errors_);
    auto cfg = ReadRateLimitConfig(n, reader, "gate", "r", false);
    EXPECT_TRUE(cfg.has_value());
    if (!cfg) {
      for (const auto& e : errors_) ADD_FAILURE() << e.ToString();
      return nullptr;
    }
    std::vector<RateLimitGate::LimitState> limits;
    for (const auto& l : cfg->limits) {
      RateLimitGate::LimitState st;
      st.local = std::make_shared<LocalLimit>(l.policy, 1 << 16);
      constexpr observe::CounterDef<2> kDecisions{
          "test_decisions_total", "", {"limit", "decision"}};
      st.allowed = metrics_.Counter(kDecisions, {l.name, "allowed"});
      st.refused = metrics_.Counter(kDecisions, {l.name, "refused"});
      st.shadow_refused = metrics_.Counter(kDecisions, {l.name, "shadow_refused"});
      st.skipped = metrics_.Counter(kDecisions, {l.name, "skipped"});
      st.ambiguous = metrics_.Counter(kDecisions, {l.name, "ambiguous"});
      st.fallback = metrics_.Counter(kDecisions, {l.name, "fallback"});
      limits.push_back(st);
    }
    return std::make_unique<RateLimitGate>(std::move(*cfg), std::move(limits), nullptr, FakeClock);
  }

  Exchange Ex(const char* ip = "10.1.2.3") {
    Exchange ex;
    ex.client_address = boost::asio::ip::make_address(ip);
    ex.method = "GET";
    return ex;
  }

  std::vector<config::ConfigError> errors_;
  observe::Metrics metrics_{1};
};

TEST_F(GateTest, ClientIpPrefixGroupsANetwork) {
  auto g = Make("{ rate: 2/h, key: [{ client_ip_prefix: { v4: 24, v6: 64 } }] }");
  auto a = Ex("10.1.2.3"), b = Ex("10.1.2.200"), c = Ex("10.1.3.1");
  EXPECT_TRUE(g->OnRequestHeaders(a).is_continue());
  EXPECT_TRUE(g->OnRequestHeaders(b).is_continue());
  EXPECT_FALSE(g->OnRequestHeaders(a).is_continue());  // same /24
  EXPECT_TRUE(g->OnRequestHeaders(c).is_continue());   // another /24
  auto v6a = Ex("2001:db8:1:2::1"), v6b = Ex("2001:db8:1:2:ffff::9");
  EXPECT_TRUE(g->OnRequestHeaders(v6a).is_continue());
  EXPECT_TRUE(g->OnRequestHeaders(v6b).is_continue());
  EXPECT_FALSE(g->OnRequestHeaders(v6a).is_continue());
  // An IPv4-mapped IPv6 peer is its IPv4 address.
  auto mapped = Ex("::ffff:10.1.2.9");
  EXPECT_FALSE(g->OnRequestHeaders(mapped).is_continue());
}

TEST_F(GateTest, KeysFromIdentityAndQuery) {
  auto g = Make("{ rate: 1/h, key: [{ claim: org }, { query: page }, method] }");
  auto ex = Ex();
  ex.identity.grants = std::make_shared<Grants>(Grants{{}, {}, {{"claim.org", "acme"}}});
  ex.query = "a=1&page=2";
  EXPECT_TRUE(g->OnRequestHeaders(ex).is_continue());
  EXPECT_FALSE(g->OnRequestHeaders(ex).is_continue());
  ex.query = "page=3";
  EXPECT_TRUE(g->OnRequestHeaders(ex).is_continue());
  ex.identity.grants = std::make_shared<Grants>(Grants{{}, {}, {{"claim.org", "other"}}});
  EXPECT_TRUE(g->OnRequestHeaders(ex).is_continue());
  std::string v;
  EXPECT_EQ(QueryParam("x=1&page=22&page=22", "page", v), KeyResult::kComplete);
  EXPECT_EQ(v, "22");
  EXPECT_EQ(QueryParam("x=1&page=22&page=3", "page", v), KeyResult::kAmbiguous);
  EXPECT_EQ(QueryParam("pages=1", "page", v), KeyResult::kMissing);
  EXPECT_EQ(QueryParam("p%61ge=%32%32&page=2+2", "page", v), KeyResult::kAmbiguous);
  EXPECT_EQ(QueryParam("p%61ge=%32%32", "page", v), KeyResult::kComplete);
  EXPECT_EQ(v, "22");
}

TEST_F(GateTest, EverySpellingOfAKeyIsOneBucketAndTwoValuesAreRefused) {
  // The origin's form decoder reads us%65r=b%6fb as user=bob: one bucket with user=bob.
  auto g = Make("{ rate: 1/h, key: [{ query: user }] }");
  auto ex = Ex();
  ex.query = "user=bob";
  EXPECT_TRUE(g->OnRequestHeaders(ex).is_continue());
  for (const char* q : {"user=b%6fb", "us%65r=bob", "user=bob&user=bob"}) {
    ex.query = q;
    EXPECT_FALSE(g->OnRequestHeaders(ex).is_continue()) << q;
  }
  // A second, different value would be a fresh bucket for whichever the origin reads: refused.
  ex.query = "user=x&user=bob";
  const Decision d = g->OnRequestHeaders(ex);
  ASSERT_FALSE(d.is_continue());
  EXPECT_EQ(d.status, 400);
  EXPECT_EQ(d.reason, "ambiguous_key");
}

TEST_F(GateTest, AHeaderKeySentTwiceWithDifferentValuesIsRefused) {
  auto g = Make("{ rate: 5/h, key: [{ header: X-Api-Key }] }");
  http::HeaderList one, two, same;
  one.Add("X-Api-Key", "abc");
  two.Add("X-Api-Key", "zzz");
  two.Add("x-api-key", "abc");
  same.Add("X-Api-Key", "abc");
  same.Add("X-API-KEY", "abc");
  auto ex = Ex();
  ex.request_headers = &one;
  EXPECT_TRUE(g->OnRequestHeaders(ex).is_continue());
  ex.request_headers = &same;
  EXPECT_TRUE(g->OnRequestHeaders(ex).is_continue());
  ex.request_headers = &two;
  const Decision d = g->OnRequestHeaders(ex);
  ASSERT_FALSE(d.is_continue());
  EXPECT_EQ(d.status, 400);
  // The '_' spelling is the same field to a CGI-style origin.
  http::HeaderList cgi;
  cgi.Add("X-Api-Key", "random");
  cgi.Add("X_Api_Key", "abc");
  ex.request_headers = &cgi;
  EXPECT_EQ(g->OnRequestHeaders(ex).status, 400);
}

TEST_F(GateTest, AShadowLimitRefusesNothingEvenForAnAmbiguousKey) {
  auto g = Make("{ shadow: true, rate: 1/h, key: [{ query: user }] }");
  auto ex = Ex();
  ex.query = "user=x&user=bob";
  EXPECT_TRUE(g->OnRequestHeaders(ex).is_continue());
  EXPECT_TRUE(g->OnRequestHeaders(ex).is_continue());
}

TEST_F(GateTest, TiersPickTheLimitByPrincipalAttribute) {
  auto g = Make(R"({ default_tier: free, limits: [
      { name: free, tiers: [free], key: [principal], rate: 1/h },
      { name: pro, tiers: [pro], key: [principal], rate: 3/h } ] })");
  auto anon = Ex();
  anon.identity.principal = "ann";  // no tier attribute: the default tier
  EXPECT_TRUE(g->OnRequestHeaders(anon).is_continue());
  EXPECT_FALSE(g->OnRequestHeaders(anon).is_continue());
  auto pro = Ex();
  pro.identity.principal = "pat";
  pro.identity.grants = std::make_shared<Grants>(Grants{{}, {}, {{"tier", "pro"}}});
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(g->OnRequestHeaders(pro).is_continue()) << i;
  Decision d = g->OnRequestHeaders(pro);
  EXPECT_EQ(d.status, 429);
  EXPECT_NE(d.headers.find("\"pro\";q=3;w=3600"), std::string::npos) << d.headers;
}

TEST_F(GateTest, RetryAfterFollowsTheInjectedClock) {
  auto g = Make("{ rate: 10/s, burst: 1, algorithm: gcra }");
  auto ex = Ex();
  EXPECT_TRUE(g->OnRequestHeaders(ex).is_continue());
  Decision d = g->OnRequestHeaders(ex);
  ASSERT_EQ(d.status, 429);
  EXPECT_NE(d.headers.find("Retry-After: 1\r\n"), std::string::npos);  // 100 ms, rounded up
  g_now += 100'000;
  EXPECT_TRUE(g->OnRequestHeaders(ex).is_continue());
}

TEST_F(GateTest, RetryAfterJitterStaysInItsBand) {
  auto g = Make("{ rate: 1/m, algorithm: fixed_window, retry_after_jitter: 20% }");
  std::set<long> seen;
  g_now = 1'790'000'000LL / 60 * 60 * 1'000'000;  // the start of a minute: 60 s to wait
  for (int i = 0; i < 200; ++i) {
    auto ex = Ex(fmt::format("10.0.{}.{}", i / 250, i % 250 + 1).c_str());
    ASSERT_TRUE(g->OnRequestHeaders(ex).is_continue());
    Decision d = g->OnRequestHeaders(ex);
    auto pos = d.headers.find("Retry-After: ");
    ASSERT_NE(pos, std::string::npos);
    long s = std::stol(d.headers.substr(pos + 13));
    EXPECT_GE(s, 48);
    EXPECT_LE(s, 72);
    seen.insert(s);
  }
  EXPECT_GT(seen.size(), 10u);  // spread out, not one herd
}

TEST_F(GateTest, WindowJitterMovesEachKeysBoundary) {
  auto g = Make("{ rate: 1/m, algorithm: fixed_window, window_jitter: 50% }");
  std::set<long> waits;
  for (int i = 0; i < 50; ++i) {
    auto ex = Ex(fmt::format("10.9.0.{}", i + 1).c_str());
    ASSERT_TRUE(g->OnRequestHeaders(ex).is_continue());
    Decision d = g->OnRequestHeaders(ex);
    waits.insert(std::stol(d.headers.substr(d.headers.find("Retry-After: ") + 13)));
  }
  EXPECT_GT(waits.size(), 10u);
}

TEST_F(GateTest, ShadowAddsNoHeadersAndContinues) {
  auto g = Make("{ rate: 1/h, shadow: true }");
  auto ex = Ex();
  EXPECT_TRUE(g->OnRequestHeaders(ex).is_continue());
  ex.notes.clear();
  EXPECT_TRUE(g->OnRequestHeaders(ex).is_continue());
  ASSERT_EQ(ex.notes.size(), 1u);
  EXPECT_EQ(ex.notes[0].outcome, "shadow:rate_limited");
  EXPECT_TRUE(ex.response_headers.empty());
}

}  // namespace
}  // namespace rampart::rate_limit
