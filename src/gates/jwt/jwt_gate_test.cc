#include "gates/jwt/jwt_gate.h"

#include <gtest/gtest.h>

#include <boost/asio.hpp>
#include <fstream>

#include "gates/jwt/test_tokens.h"
#include "pipeline/gate_test_util.h"
#include "state/kv/local_kv.h"

namespace rampart::jwt {
namespace {

namespace asio = boost::asio;
using namespace testing;

std::int64_t g_now = 1'800'000'000;
std::int64_t FakeSeconds() { return g_now; }

class JwtGateTest : public ::testing::Test {
 protected:
  void SetUp() override { g_now = 1'800'000'000; }

  // A gate with one provider "https://id" (ES256 and EdDSA keys "e1", "d1") and a second,
  // "https://other" (its own ES256 key).
  std::unique_ptr<JwtGate> Make(JwtConfig c = {}, bool revocation = false,
                                std::string audience = "api") {
    std::vector<JwtGate::Provider> providers;
    for (auto [iss, jwks] : {std::pair{"https://id", Jwks({&es_, &ed_})},
                             std::pair{"https://other", Jwks({&other_})}}) {
      ProviderConfig pc;
      pc.name = iss;
      pc.issuer = iss;
      pc.audiences = {audience};
      pc.algorithms = {Alg::kES256, Alg::kEdDSA};
      pc.max_lifetime = std::chrono::seconds(86400);
      if (sources_.empty()) {  // the first provider's keys come from a file tests rewrite
        pc.jwks.file = ::testing::TempDir() + "jwt_gate_test_jwks.json";
        WriteKeys(jwks);
      } else {
        pc.jwks.inline_json = jwks;
      }
      JwtGate::Provider p;
      p.rules = pc.Rules();
      p.keys = std::make_shared<JwksSource>(pc.jwks, Services{});
      std::string error;
      EXPECT_TRUE(p.keys->Load(error)) << error;
      sources_.push_back(p.keys);
      p.config = pc;
      c.providers.push_back(pc);
      providers.push_back(std::move(p));
    }
    std::shared_ptr<Revocations> rev;
    if (revocation) {
      kv_ = std::make_shared<state::LocalKv>(1000);
      rev =
          std::make_shared<Revocations>(kv_, std::chrono::seconds(3600), std::chrono::seconds(330));
    }
    return std::make_unique<JwtGate>(std::move(c), std::move(providers), rev,
                                     observe::OutcomeCounters{}, FakeSeconds);
  }

  std::string Token(std::string_view claims_extra = "", const TestKey* key = nullptr,
                    std::string_view kid = "e1", Alg alg = Alg::kES256) {
    const std::string payload = R"({"iss":"https://id","aud":"api","sub":"alice","iat":)" +
                                std::to_string(g_now) + R"(,"exp":)" + std::to_string(g_now + 600) +
                                std::string(claims_extra) + "}";
    return Sign(key ? *key : es_, alg, Header(AlgName(alg), kid), payload);
  }

  // Runs the gate as the driver does: the fast path, then the slow one when asked.
  Decision Run(JwtGate& g, Exchange& ex) { return rampart::testing::RunRequestPhase(g, ex); }

  Exchange& Ex(std::string auth, std::string_view query = "") {
    auth_ = std::move(auth);
    headers_.clear();
    if (!auth_.empty()) headers_.Add("authorization", auth_);
    ex_.Reset();
    ex_.request_headers = &headers_;
    ex_.query = query;
    return ex_;
  }

  std::string_view Reason(JwtGate& g, const std::string& token) {
    Decision d = Run(g, Ex("Bearer " + token));
    return d.is_continue() ? "pass" : d.reason;
  }

  void WriteKeys(const std::string& jwks) {
    std::ofstream(::testing::TempDir() + "jwt_gate_test_jwks.json", std::ios::trunc) << jwks;
  }

  std::vector<std::shared_ptr<JwksSource>> sources_;
  TestKey es_ = MakeEc("e1");
  TestKey ed_ = MakeEd25519("d1");
  TestKey other_ = MakeEc("o1");
  std::shared_ptr<state::LocalKv> kv_;
  std::string auth_;
  http::HeaderList headers_;
  Exchange ex_;
};

TEST_F(JwtGateTest, AValidTokenMakesTheIdentity) {
  JwtConfig c;
  c.forward_claims = {{"sub", "x-user"}, {"roles", "x-roles"}};
  auto g = Make(c);
  Exchange& ex = Ex("Bearer " + Token(R"(,"roles":["admin","ops"],"scope":"read write")"));
  ASSERT_TRUE(Run(*g, ex).is_continue());
  EXPECT_EQ(ex.identity.principal, "alice");
  EXPECT_EQ(ex.identity.method, "jwt");
  EXPECT_TRUE(ex.identity.HasRole("ops"));
  EXPECT_TRUE(ex.identity.HasScope("write"));
  EXPECT_EQ(ex.identity.Attribute("claim.aud"), "api");
  EXPECT_EQ(ex.upstream_headers, (std::vector<std::pair<std::string, std::string>>{
                                     {"x-user", "alice"}, {"x-roles", "admin,ops"}}));
  // EdDSA from the same provider.
  EXPECT_EQ(Reason(*g, Token("", &ed_, "d1", Alg::kEdDSA)), "pass");
}

TEST_F(JwtGateTest, ForwardedHeadersAreClaimedEvenWhenRefused) {
  JwtConfig c;
  c.forward_claims = {{"sub", "x-user"}};
  c.allow_anonymous = true;
  auto g = Make(c);
  Exchange& ex = Ex("");
  ASSERT_TRUE(Run(*g, ex).is_continue());
  EXPECT_TRUE(ex.identity.principal.empty());
  ASSERT_EQ(ex.upstream_headers.size(), 1u);
  EXPECT_EQ(ex.upstream_headers[0].second, "");  // a client-sent X-User is removed
}

TEST_F(JwtGateTest, TheStandardAttacksAreRefusedWithTheirReasons) {
  auto g = Make();
  const std::string good = Token();
  EXPECT_EQ(Reason(*g, good), "pass");
  const std::string payload = good.substr(good.find('.') + 1, good.rfind('.') - good.find('.') - 1);
  // alg none, signature stripped or not.
  EXPECT_EQ(Reason(*g, B64(R"({"alg":"none"})") + "." + payload + "."), "malformed");
  EXPECT_EQ(Reason(*g, B64(R"({"alg":"nOnE"})") + "." + payload + ".c2ln"), "alg_none");
  // HS256 signed with the provider's public key as the secret.
  const TestKey confused = MakeOct("e1", es_.jwk);
  EXPECT_EQ(Reason(*g, Token("", &confused, "e1", Alg::kHS256)), "alg_not_allowed");
  // ES256 with a zero signature.
  EXPECT_EQ(Reason(*g, good.substr(0, good.rfind('.') + 1) + B64(std::string(64, '\0'))),
            "bad_signature");
  // Tampered payload, stripped signature.
  EXPECT_EQ(
      Reason(*g, good.substr(0, good.find('.') + 1) +
                     B64(R"({"iss":"https://id","aud":"api","sub":"admin","exp":1800000600})") +
                     good.substr(good.rfind('.'))),
      "bad_signature");
  EXPECT_EQ(Reason(*g, good.substr(0, good.rfind('.') + 1)), "malformed");
  // Keys: unknown kid, kid as a path or SQL, a key from another provider, jku to the attacker.
  const TestKey attacker = MakeEc("evil");
  EXPECT_EQ(Reason(*g, Token("", &attacker, "evil")), "unknown_kid");
  EXPECT_EQ(Reason(*g, Token("", &attacker, "../../../dev/null")), "unknown_kid");
  EXPECT_EQ(Reason(*g, Token("", &attacker, "x' UNION SELECT 'key")), "unknown_kid");
  EXPECT_EQ(Reason(*g, Token("", &attacker, "e1")), "bad_signature");
  EXPECT_EQ(Reason(*g, Token("", &other_, "o1")), "unknown_kid");  // o1 is the other's key
  const std::string jku = R"({"alg":"ES256","kid":"evil","jku":"https://evil.example/k"})";
  const std::string jwk = R"({"alg":"ES256","jwk":)" + attacker.jwk + "}";
  const std::string p = R"({"iss":"https://id","aud":"api","sub":"a","exp":1800000600})";
  EXPECT_EQ(Reason(*g, Sign(attacker, Alg::kES256, jku, p)), "unknown_kid");
  EXPECT_EQ(Reason(*g, Sign(attacker, Alg::kES256, jwk, p)), "bad_signature");
  // Claims.
  EXPECT_EQ(Reason(*g, Sign(es_, Alg::kES256, Header("ES256", "e1"),
                            R"({"iss":"https://id","aud":"api","exp":1799999000})")),
            "expired");
  EXPECT_EQ(
      Reason(*g, Sign(es_, Alg::kES256, Header("ES256", "e1"),
                      R"({"iss":"https://id","aud":"api","nbf":1800000100,"exp":1800000600})")),
      "not_yet_valid");
  EXPECT_EQ(Reason(*g, Sign(es_, Alg::kES256, Header("ES256", "e1"),
                            R"({"iss":"https://id","aud":"api"})")),
            "missing_exp");
  EXPECT_EQ(Reason(*g, Sign(es_, Alg::kES256, Header("ES256", "e1"),
                            R"({"iss":"https://id","aud":"web","exp":1800000600})")),
            "wrong_audience");
  EXPECT_EQ(Reason(*g, Sign(es_, Alg::kES256, Header("ES256", "e1"),
                            R"({"iss":"https://evil","aud":"api","exp":1800000600})")),
            "unknown_issuer");
  EXPECT_EQ(Reason(*g, Sign(es_, Alg::kES256, Header("ES256", "e1"),
                            R"({"iss":"https://id","sub":"a","sub":"admin","exp":1800000600})")),
            "bad_json");
  // A token of another provider, signed by that provider, is valid for that provider only.
  EXPECT_EQ(Reason(*g, Sign(other_, Alg::kES256, Header("ES256", "o1"),
                            R"({"iss":"https://other","aud":"api","exp":1800000600})")),
            "pass");
  EXPECT_EQ(Reason(*g, Sign(other_, Alg::kES256, Header("ES256", "o1"),
                            R"({"iss":"https://id","aud":"api","exp":1800000600})")),
            "unknown_kid");
  // Size cap, bad base64url.
  EXPECT_EQ(Reason(*g, std::string(100 * 1024, 'a')), "token_too_large");
  EXPECT_EQ(Reason(*g, good + "="), "bad_base64");
}

TEST_F(JwtGateTest, ExplicitTypingKeepsIdTokensOut) {
  auto g = Make();
  const std::string id_token = Sign(es_, Alg::kES256, R"({"alg":"ES256","kid":"e1","typ":"JWT"})",
                                    R"({"iss":"https://id","aud":"api","exp":1800000600})");
  EXPECT_EQ(Reason(*g, id_token), "pass");  // no typ configured: any
  // A provider that names its tokens' type.
  std::vector<JwtGate::Provider> providers;
  ProviderConfig pc;
  pc.issuer = "https://id";
  pc.audiences = {"api"};
  pc.algorithms = {Alg::kES256};
  pc.typ = "at+jwt";
  pc.jwks.inline_json = Jwks({&es_});
  JwtGate::Provider p;
  p.rules = pc.Rules();
  p.keys = std::make_shared<JwksSource>(pc.jwks, Services{});
  std::string error;
  ASSERT_TRUE(p.keys->Load(error));
  p.config = pc;
  providers.push_back(std::move(p));
  JwtGate strict(JwtConfig{}, std::move(providers), nullptr, {}, FakeSeconds);
  EXPECT_EQ(Reason(strict, id_token), "wrong_type");
  const std::string access =
      Sign(es_, Alg::kES256, R"({"alg":"ES256","kid":"e1","typ":"application/AT+JWT"})",
           R"({"iss":"https://id","aud":"api","exp":1800000600})");
  EXPECT_EQ(Reason(strict, access), "pass");
}

TEST_F(JwtGateTest, WhereTheTokenComesFrom) {
  JwtConfig c;
  c.cookie = "session_jwt";
  c.query = "access_token";
  auto g = Make(c);
  const std::string t = Token();
  EXPECT_EQ(Run(*g, Ex("")).reason, "missing_token");
  Decision d = Run(*g, Ex(""));
  EXPECT_EQ(d.status, 401);
  EXPECT_EQ(d.headers, "WWW-Authenticate: Bearer\r\n");
  d = Run(*g, Ex("Bearer abc"));
  EXPECT_EQ(d.headers.rfind("WWW-Authenticate: Bearer error=\"invalid_token\"", 0), 0u);
  EXPECT_EQ(d.headers.find("abc"), std::string::npos);  // never echoed
  // Basic credentials are not a bearer token.
  EXPECT_EQ(Run(*g, Ex("Basic YTpi")).reason, "missing_token");
  // Two Authorization fields: refused.
  Exchange& two = Ex("Bearer " + t);
  headers_.Add("authorization", auth_);
  EXPECT_EQ(Run(*g, two).reason, "malformed");
  // Cookie.
  Exchange& ck = Ex("");
  const std::string cookie = "a=1; session_jwt=" + t + "; b=2";
  headers_.Add("cookie", cookie);
  EXPECT_TRUE(Run(*g, ck).is_continue());
  // The same cookie twice: refused.
  Exchange& ck2 = Ex("");
  const std::string cookie2 = "session_jwt=" + t + "; session_jwt=x";
  headers_.Add("cookie", cookie2);
  EXPECT_EQ(Run(*g, ck2).reason, "malformed");
  // Query, which is then removed before forwarding.
  const std::string q = "x=1&access_token=" + t;
  Exchange& qx = Ex("", q);
  EXPECT_TRUE(Run(*g, qx).is_continue());
  EXPECT_EQ(qx.query_remove, std::vector<std::string_view>{"access_token"});
}

TEST_F(JwtGateTest, CacheSkipsTheSignatureUntilExp) {
  auto g = Make();
  const std::string t = Token();
  EXPECT_EQ(Reason(*g, t), "pass");
  EXPECT_EQ(g->cache()->entries(), 1u);
  EXPECT_EQ(Reason(*g, t), "pass");
  EXPECT_EQ(g->cache()->entries(), 1u);
  g_now += 600 + 30;  // exp + leeway
  EXPECT_EQ(Reason(*g, t), "expired");
}

TEST_F(JwtGateTest, TwoGatesNeverShareAVerification) {
  auto a = Make();
  const std::string t = Token();
  EXPECT_EQ(Reason(*a, t), "pass");
  EXPECT_EQ(Reason(*a, t), "pass");  // from this worker's recent tokens
  // Another gate (another route, or the next config) decides for itself.
  auto b = Make({}, false, "web");
  EXPECT_EQ(Reason(*b, t), "wrong_audience");
  g_now += 630;
  EXPECT_EQ(Reason(*a, t), "expired");  // a recent token still ends at its exp
}

TEST(TokenCache, BoundedInEntriesAndBytes) {
  TokenCache c(16 * 4, 1 << 20);  // 4 entries a shard
  std::vector<Digest> ds;
  for (int i = 0; i < 1000; ++i) {
    ds.push_back(TokenDigest(std::to_string(i)));
    auto v = std::make_shared<Verified>();
    v->exp = 2000;
    c.Insert(ds.back(), v);
  }
  EXPECT_LE(c.entries(), 64u);
  EXPECT_NE(c.Find(ds.back(), 1000), nullptr);  // the newest stays
  EXPECT_EQ(c.Find(ds.front(), 1000), nullptr);
  EXPECT_EQ(c.Find(ds.back(), 2000), nullptr);  // ends at exp
  TokenCache small(1000, 16 * 2048);
  for (int i = 0; i < 1000; ++i) {
    auto v = std::make_shared<Verified>();
    v->exp = 2000;
    v->sub.assign(500, 'x');
    small.Insert(TokenDigest(std::to_string(i)), v);
  }
  EXPECT_LT(small.entries(), 16u * 4);
}

TEST_F(JwtGateTest, RevocationByJtiAndSubjectOnEveryRequest) {
  auto g = Make({}, true);
  const std::string a = Token(R"(,"jti":"t-1")");
  EXPECT_EQ(Reason(*g, a), "pass");
  asio::io_context io;
  Revocations rev(kv_, std::chrono::seconds(3600), std::chrono::seconds(330));
  auto run = [&](asio::awaitable<state::KvStatus> op) {
    state::KvStatus s{};
    asio::co_spawn(io, std::move(op), [&](std::exception_ptr, state::KvStatus r) { s = r; });
    io.restart();
    io.run();
    return s;
  };
  EXPECT_EQ(run(rev.RevokeJti("https://id", "t-1", g_now + 600, g_now, 0)), state::KvStatus::kOk);
  EXPECT_EQ(Reason(*g, a), "revoked");  // cached, and still refused
  const std::string b = Token(R"(,"jti":"t-2")");
  EXPECT_EQ(Reason(*g, b), "pass");
  // Every token of alice issued before now + 1.
  EXPECT_EQ(run(rev.RevokeSubject("https://id", "alice", g_now + 1, 0)), state::KvStatus::kOk);
  EXPECT_EQ(Reason(*g, b), "revoked");
  g_now += 2;
  EXPECT_EQ(Reason(*g, Token(R"(,"jti":"t-3")")), "pass");  // issued after the cut-off
  // Another issuer's alice is someone else.
  EXPECT_EQ(Reason(*g, Sign(other_, Alg::kES256, Header("ES256", "o1"),
                            R"({"iss":"https://other","aud":"api","sub":"alice","iat":1800000000,)"
                            R"("exp":1800000600})")),
            "pass");
}

TEST_F(JwtGateTest, KeyChangesInvalidateCachedVerifications) {
  auto g = Make();
  const std::string t = Token();
  EXPECT_EQ(Reason(*g, t), "pass");
  EXPECT_EQ(g->cache()->entries(), 1u);
  // e1 leaves the set: the cached verification is not trusted any more.
  WriteKeys(Jwks({&ed_}));
  std::string error;
  ASSERT_TRUE(sources_[0]->Load(error)) << error;
  EXPECT_EQ(Reason(*g, t), "unknown_kid");
  // A broken file keeps the last good set.
  WriteKeys("{\"keys\": [");
  EXPECT_FALSE(sources_[0]->Load(error));
  EXPECT_EQ(sources_[0]->key_count(), 1u);
  EXPECT_EQ(Reason(*g, Token("", &ed_, "d1", Alg::kEdDSA)), "pass");
}

}  // namespace
}  // namespace rampart::jwt
