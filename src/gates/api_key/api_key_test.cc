#include <gtest/gtest.h>

#include <boost/asio.hpp>
#include <fstream>

#include "gates/api_key/api_key_gate.h"
#include "pipeline/gate_test_util.h"
#include "state/kv/local_kv.h"

namespace rampart::api_key {
namespace {

namespace asio = boost::asio;

std::int64_t g_now = 1'800'000'000;
std::int64_t FakeSeconds() { return g_now; }

TEST(KeyRecord, JsonRoundTripAndExpiry) {
  ApiKey k;
  k.id = "ci-bot";
  k.hash = Sha256("rk_secret");
  k.principal = "ci \"bot\"";
  k.tier = "gold";
  k.roles = {"deployer"};
  k.scopes = {"deploy", "read"};
  k.expires = 1900000000;
  ApiKey back;
  std::string error;
  ASSERT_TRUE(FromJson(ToJson(k, true), back, error)) << error;
  EXPECT_EQ(back.principal, k.principal);
  EXPECT_EQ(back.hash, k.hash);
  EXPECT_EQ(back.scopes, k.scopes);
  EXPECT_EQ(ToJson(k, false).find("sha256"), std::string::npos);  // listings never show it
  std::int64_t t = 0;
  EXPECT_TRUE(ParseExpiry("2027-01-01T00:00:00Z", t));
  EXPECT_EQ(t, 1798761600);
  EXPECT_TRUE(ParseExpiry("1798761600", t));
  EXPECT_FALSE(ParseExpiry("2027-01-01", t));
  EXPECT_FALSE(ParseExpiry("2027-13-01T00:00:00Z", t));
  EXPECT_FALSE(ParseExpiry("-5", t));
  EXPECT_TRUE(ValidId("ci-bot.v2_1"));
  EXPECT_FALSE(ValidId("a b"));
  EXPECT_FALSE(ValidId(std::string(65, 'a')));
  EXPECT_FALSE(FromJson(R"({"principal":"a","principal":"b"})", back, error));
}

TEST(KeysFile, ReadsHashesAndRefusesSecrets) {
  const std::string path = ::testing::TempDir() + "api_keys_test.yaml";
  std::ofstream(path)
      << "keys:\n"
         "  - { id: ci, sha256: "
      << Hex(Sha256("rk_one"))
      << ", principal: ci, tier: gold, roles: [deployer], expires: 2027-01-01T00:00:00Z }\n"
         "  - { id: bad, sha256: rk_plaintext_key, principal: x }\n";
  std::vector<ApiKey> keys;
  std::vector<config::ConfigError> errors;
  EXPECT_FALSE(ReadKeysFile(path, keys, errors));
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].line, 3);
  EXPECT_NE(errors[0].message.find("never the key itself"), std::string::npos);
}

class ApiKeyGateTest : public ::testing::Test {
 protected:
  std::unique_ptr<ApiKeyGate> Make(ApiKeyConfig c, bool with_store) {
    auto index = std::make_shared<KeyIndex>();
    ApiKey k;
    k.id = "file-key";
    k.hash = Sha256("rk_file");
    k.principal = "svc-a";
    k.tier = "gold";
    k.roles = {"reader"};
    index->emplace(k.hash, Know(k));
    ApiKey old = k;
    old.id = "old";
    old.hash = Sha256("rk_old");
    old.expires = g_now - 1;
    index->emplace(old.hash, Know(old));
    if (with_store) store_ = std::make_shared<state::LocalKv>(100);
    return std::make_unique<ApiKeyGate>(c, index, store_, observe::OutcomeCounters{}, FakeSeconds);
  }
  Decision Run(ApiKeyGate& g, Exchange& ex) { return rampart::testing::RunRequestPhase(g, ex); }
  Exchange& Ex(std::initializer_list<std::pair<const char*, const char*>> headers,
               std::string_view query = "") {
    h_.clear();
    for (auto [n, v] : headers) h_.Add(n, v);
    ex_.Reset();
    ex_.request_headers = &h_;
    ex_.query = query;
    return ex_;
  }
  std::string_view Reason(ApiKeyGate& g, Exchange& ex) {
    Decision d = Run(g, ex);
    return d.is_continue() ? "pass" : d.reason;
  }
  std::shared_ptr<state::LocalKv> store_;
  http::HeaderList h_;
  Exchange ex_;
};

TEST_F(ApiKeyGateTest, FileKeysMakeTheIdentityAndNeverReachTheUpstream) {
  ApiKeyConfig c;
  c.forward_header = "x-api-key-id";
  auto g = Make(c, false);
  Exchange& ex = Ex({{"x-api-key", "rk_file"}});
  EXPECT_EQ(Reason(*g, ex), "pass");
  EXPECT_EQ(ex.identity.principal, "svc-a");
  EXPECT_EQ(ex.identity.method, "api_key");
  EXPECT_EQ(ex.identity.api_key, "file-key");
  EXPECT_EQ(ex.identity.Attribute("tier"), "gold");
  EXPECT_EQ(ex.upstream_headers, (std::vector<std::pair<std::string, std::string>>{
                                     {"x-api-key", ""}, {"x-api-key-id", "file-key"}}));
  EXPECT_EQ(Reason(*g, Ex({{"x-api-key", "rk_filf"}})), "invalid_key");
  EXPECT_EQ(Reason(*g, Ex({{"x-api-key", "rk_old"}})), "expired_key");
  EXPECT_EQ(Reason(*g, Ex({})), "missing_key");
  EXPECT_EQ(Reason(*g, Ex({{"x-api-key", "rk_file"}, {"x-api-key", "rk_other"}})), "malformed");
  const std::string huge(100'000, 'k');
  EXPECT_EQ(Reason(*g, Ex({{"x-api-key", huge.c_str()}})), "invalid_key");
}

TEST_F(ApiKeyGateTest, StoreKeysAreLookedUpByHashEveryRequest) {
  ApiKeyConfig c;
  c.query = "api_key";
  auto g = Make(c, true);
  ApiKey k;
  k.id = "added";
  k.hash = Sha256("rk_added");
  k.principal = "partner";
  store_->SetNow(StoreKey(k.hash), ToJson(k, true), std::chrono::hours(1), false);
  Exchange& ex = Ex({}, "a=1&api_key=rk_added");
  EXPECT_EQ(Reason(*g, ex), "pass");
  EXPECT_EQ(ex.identity.principal, "partner");
  EXPECT_EQ(ex.query_remove, std::vector<std::string_view>{"api_key"});
  EXPECT_EQ(Reason(*g, Ex({}, "api_key=rk_added&api_key=x")), "malformed");
  // The name as the origin's form decoder reads it; a second key after an empty one.
  EXPECT_EQ(Reason(*g, Ex({}, "api%5Fkey=rk_added")), "pass");
  EXPECT_EQ(Reason(*g, Ex({}, "api_key=&api_key=rk_added")), "malformed");
  EXPECT_EQ(Reason(*g, Ex({}, "api_key=rk_added&api%5fkey=x")), "malformed");
  store_->DeleteNow(StoreKey(k.hash));  // revoked: the next request is refused
  EXPECT_EQ(Reason(*g, Ex({}, "api_key=rk_added")), "invalid_key");
}

}  // namespace
}  // namespace rampart::api_key
