#include <gtest/gtest.h>

#include <boost/asio.hpp>

#include "gates/session/session_gate.h"
#include "pipeline/gate_test_util.h"
#include "state/kv/local_kv.h"

namespace rampart::session {
namespace {

namespace asio = boost::asio;

std::int64_t g_now = 1'800'000'000'000;
std::int64_t FakeMillis() { return g_now; }

class SessionGateTest : public ::testing::Test {
 protected:
  void SetUp() override {
    g_now = 1'800'000'000'000;
    // The store's expiry follows the same scripted clock as the gate.
    store_ = std::make_shared<state::LocalKv>(
        1000, [] { return SteadyTime{} + std::chrono::milliseconds(g_now); });
    SessionConfig c;
    c.idle_timeout = std::chrono::seconds(600);
    c.absolute_timeout = std::chrono::seconds(3600);
    c.forward_header = "x-user";
    gate_ = std::make_unique<SessionGate>(c, store_, observe::OutcomeCounters{}, FakeMillis);
    c.allow_anonymous = true;  // the login route
    c.login = true;
    login_ = std::make_unique<SessionGate>(c, store_, observe::OutcomeCounters{}, FakeMillis);
  }
  // One exchange: the request with `cookie`, and an origin response with `response` fields.
  Decision Exchange(const std::string& cookie,
                    std::vector<std::pair<std::string, std::string>> response = {},
                    SessionGate* via = nullptr) {
    SessionGate* gate = via != nullptr ? via : gate_.get();
    cookie_ = cookie;
    req_.clear();
    if (!cookie_.empty()) req_.Add("cookie", cookie_);
    ex_.Reset();
    ex_.request_headers = &req_;
    ex_.slots.resize(1);
    ex_.gate_index = 0;
    Decision d = rampart::testing::RunRequestPhase(*gate, ex_);
    if (!d.is_continue()) return d;
    resp_fields_ = std::move(response);
    resp_.clear();
    for (const auto& [n, v] : resp_fields_) resp_.Add(n, v);
    ex_.response = {200, &resp_, {}};
    d = rampart::testing::RunResponsePhase(*gate, ex_);
    return d;
  }
  // The session id the last response set (empty when it cleared or set none).
  std::string SetId() const {
    const std::string& h = ex_.response_headers;
    const auto at = h.find("rampart_session=");
    if (at == std::string::npos) return {};
    const auto end = h.find(';', at);
    return h.substr(at + 16, end - at - 16);
  }
  std::string Login(std::string principal, std::string roles = "", std::string cookie = "") {
    EXPECT_TRUE(
        Exchange(cookie,
                 {{"x-rampart-session-principal", principal}, {"x-rampart-session-roles", roles}},
                 login_.get())
            .is_continue());
    return SetId();
  }

  std::shared_ptr<state::LocalKv> store_;
  std::unique_ptr<SessionGate> gate_;
  std::unique_ptr<SessionGate> login_;
  std::string cookie_;
  std::vector<std::pair<std::string, std::string>> resp_fields_;
  http::HeaderList req_, resp_;
  rampart::Exchange ex_;
};

TEST_F(SessionGateTest, LoginMakesASessionTheCookieCarries) {
  EXPECT_EQ(Exchange("").reason, "missing_session");
  const std::string id = Login("alice", "admin, ops");
  ASSERT_EQ(id.size(), 60u);  // 43 characters of id, '.', the principal's 16-digit tag
  // The login headers never reach the client; the cookie is HttpOnly, Secure, SameSite.
  EXPECT_EQ(ex_.response_remove.size(), 2u);
  EXPECT_NE(ex_.response_headers.find("; HttpOnly; Secure; SameSite=Lax"), std::string::npos);
  EXPECT_NE(ex_.response_headers.find("Max-Age=3600"), std::string::npos);
  // The store holds the session under the id's hash, not the id.
  EXPECT_EQ(store_->GetNow("s:" + id).status, state::KvStatus::kNotFound);
  EXPECT_EQ(store_->GetNow(SessionKey(id)).status, state::KvStatus::kOk);
  ASSERT_TRUE(Exchange("theme=dark; rampart_session=" + id + "; lang=en").is_continue());
  EXPECT_EQ(ex_.identity.principal, "alice");
  EXPECT_EQ(ex_.identity.method, "session");
  EXPECT_EQ(ex_.identity.roles(), (std::vector<std::string>{"admin", "ops"}));
  // The upstream gets the other cookies and the principal, never the session id.
  EXPECT_EQ(ex_.upstream_headers,
            (std::vector<std::pair<std::string, std::string>>{{"x-user", "alice"},
                                                              {"x-rampart-session-principal", ""},
                                                              {"x-rampart-session-roles", ""},
                                                              {"x-rampart-session-scopes", ""},
                                                              {"x-rampart-session-logout", ""},
                                                              {"cookie", "theme=dark; lang=en"}}));
  EXPECT_EQ(Exchange("rampart_session=" + std::string(43, 'A')).reason, "invalid_session");
  EXPECT_EQ(Exchange("rampart_session=short").reason, "invalid_session");
  // Two session cookies: refused, and neither cleared (one may be a sibling domain's planted
  // copy; clearing would delete the user's real one and keep the planted one).
  const Decision twice = Exchange("rampart_session=junk; rampart_session=" + id);
  EXPECT_EQ(twice.reason, "malformed");
  EXPECT_EQ(twice.headers.find("Set-Cookie"), std::string::npos) << twice.headers;
  EXPECT_NE(Exchange("rampart_session=" + std::string(43, 'A')).headers.find("Max-Age=0"),
            std::string::npos);
  // The tag names the principal's cut-off: a cookie carrying another principal's tag (to read a
  // cut-off that is not there) is no session.
  EXPECT_EQ(Exchange("rampart_session=" + id.substr(0, 44) + PrincipalTag("bob")).reason,
            "invalid_session");
  EXPECT_EQ(id.substr(44), PrincipalTag("alice"));
}

TEST_F(SessionGateTest, IdleAndAbsoluteTimeouts) {
  const std::string id = Login("alice");
  const std::string c = "rampart_session=" + id;
  // Used within the idle timeout: the record's `last` moves and its TTL is pushed back.
  g_now += 500'000;
  ASSERT_TRUE(Exchange(c).is_continue());
  Record r;
  ASSERT_TRUE(Decode(store_->GetNow(SessionKey(id)).value, r));
  EXPECT_EQ(r.last, g_now);
  // In use all along, it still ends at the absolute timeout (3600 s after login): the record's
  // TTL never reaches past it, and the gate checks the time itself too.
  for (int i = 0; i < 5; ++i) {
    g_now += 500'000;
    ASSERT_TRUE(Exchange(c).is_continue()) << i;
  }
  g_now += 599'000;  // 3599 s
  ASSERT_TRUE(Exchange(c).is_continue());
  g_now += 1'000;
  Decision d = Exchange(c);
  EXPECT_EQ(d.reason, "invalid_session");
  EXPECT_NE(d.headers.find("rampart_session=; Path=/; Max-Age=0"), std::string::npos);
  // A store whose clock lags (a record still there past the absolute time) changes nothing.
  const std::string late = Login("lea");
  Record rec;
  ASSERT_TRUE(Decode(store_->GetNow(SessionKey(late)).value, rec));
  rec.created -= 3'600'000;
  store_->SetNow(SessionKey(late), Encode(rec), std::chrono::hours(1), false);
  d = Exchange("rampart_session=" + late);
  EXPECT_EQ(d.reason, "expired_session");
  EXPECT_EQ(store_->GetNow(SessionKey(late)).status, state::KvStatus::kNotFound);
}

TEST_F(SessionGateTest, IdleTimeoutEndsAnUnusedSession) {
  const std::string idle = "rampart_session=" + Login("ida");
  g_now += 599'000;
  EXPECT_TRUE(Exchange(idle).is_continue());  // used: 600 s more from now
  g_now += 599'000;
  EXPECT_TRUE(Exchange(idle).is_continue());
  g_now += 600'000;  // unused for the idle timeout: the store let it go
  EXPECT_EQ(Exchange(idle).reason, "invalid_session");
}

TEST_F(SessionGateTest, RotationOnLoginAndLogout) {
  const std::string first = Login("alice", "viewer");
  // A new login on a request that carries a session (privileges change): a new id, the old one
  // gone.
  const std::string second = Login("alice", "admin", "rampart_session=" + first);
  ASSERT_EQ(second.size(), 60u);
  EXPECT_NE(first, second);
  EXPECT_EQ(Exchange("rampart_session=" + first).reason, "invalid_session");
  ASSERT_TRUE(Exchange("rampart_session=" + second).is_continue());
  EXPECT_EQ(ex_.identity.roles(), std::vector<std::string>{"admin"});
  // Logout: the session ends and the cookie is cleared.
  ASSERT_TRUE(
      Exchange("rampart_session=" + second, {{"x-rampart-session-logout", "1"}}).is_continue());
  EXPECT_NE(ex_.response_headers.find("Max-Age=0"), std::string::npos);
  EXPECT_EQ(Exchange("rampart_session=" + second).reason, "invalid_session");
  // A login header with no usable principal is the login service's fault.
  EXPECT_EQ(Exchange("rampart_session=" + Login("bob"),
                     {{"x-rampart-session-principal", "evil\x01"}}, login_.get())
                .reason,
            "bad_login");
}

TEST_F(SessionGateTest, OnlyTheLoginRouteBeginsSessions) {
  // An endpoint that echoes request headers into its response, on an ordinary route: the login
  // header it reflects is removed and begins nothing.
  const std::string mine = "rampart_session=" + Login("eve");
  ASSERT_TRUE(Exchange(mine, {{"x-rampart-session-principal", "admin"},
                              {"x-rampart-session-roles", "root"}})
                  .is_continue());
  EXPECT_EQ(ex_.response_headers.find("Set-Cookie"), std::string::npos);
  EXPECT_EQ(ex_.response_remove.size(), 2u);
  // And the client's own copies of those headers never reach any upstream.
  int claimed = 0;
  for (const auto& [name, value] : ex_.upstream_headers) {
    if (name.starts_with("x-rampart-session-") && value.empty()) ++claimed;
  }
  EXPECT_EQ(claimed, 4);
}

TEST_F(SessionGateTest, RevokingAPrincipalEndsEverySessionBegunBefore) {
  const std::string a = Login("alice");
  const std::string b = Login("alice");
  const std::string other = Login("bob");
  g_now += 1000;
  store_->SetNow(PrincipalKey("alice"), std::to_string(g_now), std::chrono::hours(2), false);
  EXPECT_EQ(Exchange("rampart_session=" + a).reason, "revoked_session");
  EXPECT_EQ(Exchange("rampart_session=" + b).reason, "revoked_session");
  EXPECT_TRUE(Exchange("rampart_session=" + other).is_continue());
  g_now += 1;
  const std::string later = Login("alice");
  EXPECT_TRUE(Exchange("rampart_session=" + later).is_continue());
}

TEST(SessionRecord, EncodeDecode) {
  Record r{"a\"b", {"x"}, {"s1", "s2"}, 5, 6};
  Record back;
  ASSERT_TRUE(Decode(Encode(r), back));
  EXPECT_EQ(back.principal, r.principal);
  EXPECT_EQ(back.scopes, r.scopes);
  EXPECT_EQ(back.last, 6);
  EXPECT_FALSE(Decode(R"({"p":"a","p":"b","c":1,"l":1})", back));
  EXPECT_FALSE(Decode(R"({"p":"","c":1,"l":1})", back));
}

}  // namespace
}  // namespace rampart::session
