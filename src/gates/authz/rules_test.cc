#include "gates/authz/rules.h"

#include <gtest/gtest.h>

#include "gates/authz/authz_gate.h"

namespace rampart::authz {
namespace {

class RulesTest : public ::testing::Test {
 protected:
  bool Load(const std::string& yaml) {
    errors_.clear();
    policy_ = Policy{};
    config::YamlReader reader("authz.yaml", errors_);
    return ReadPolicy(reader, YAML::Load(yaml), "gate", policy_);
  }
  std::string Errors() const {
    std::string out;
    for (const auto& e : errors_) out += e.ToString() + "\n";
    return out;
  }
  // "allow <rule>" or "deny <rule>".
  std::string Decide() {
    in_.roles = &roles_;
    in_.scopes = &scopes_;
    in_.attributes = &attrs_;
    const Outcome o = Evaluate(policy_, in_);
    return std::string(o.verdict == Verdict::kAllow ? "allow " : "deny ") +
           (o.rule ? o.rule->name : "(default)");
  }
  void As(std::string principal, std::vector<std::string> roles,
          std::vector<std::string> scopes = {}) {
    principal_ = std::move(principal);
    in_.principal = principal_;
    in_.auth_method = principal_.empty() ? "" : "jwt";
    roles_ = std::move(roles);
    scopes_ = std::move(scopes);
  }
  void Request(std::string_view method, std::string_view path, const char* ip = "192.0.2.1") {
    in_.method = method;
    in_.path = path;
    in_.client = boost::asio::ip::make_address(ip);
  }

  Policy policy_;
  std::vector<config::ConfigError> errors_;
  Input in_;
  std::string principal_;
  std::vector<std::string> roles_, scopes_;
  std::vector<std::pair<std::string, std::string>> attrs_;
};

constexpr const char* kRbac = R"(
roles:
  admin: ["orders:*"]
  clerk: [orders:read, orders:write]
  viewer: [orders:read]
rules:
  - { name: health, match: { paths: [/health], methods: [GET] }, allow: true }
  - name: orders-write
    match: { paths: [/api/orders/], methods: [POST, PUT, DELETE] }
    require: { permissions: [orders:write] }
  - name: orders-read
    match: { paths: [/api/orders/] }
    require: { permissions: [orders:read] }
  - name: reports
    match: { paths: ["/api/reports*"] }
    require: { all: [ { roles: [admin] }, { scopes: [reports, read] } ] }
)";

TEST_F(RulesTest, RolesMapToPermissions) {
  ASSERT_TRUE(Load(kRbac)) << Errors();
  Request("GET", "/health");
  As("", {});
  EXPECT_EQ(Decide(), "allow health");
  Request("GET", "/api/orders/7");
  EXPECT_EQ(Decide(), "deny orders-read");
  As("v", {"viewer"});
  EXPECT_EQ(Decide(), "allow orders-read");
  Request("DELETE", "/api/orders/7");
  EXPECT_EQ(Decide(), "deny orders-write");
  As("c", {"clerk"});
  EXPECT_EQ(Decide(), "allow orders-write");
  As("a", {"admin"});  // orders:* grants orders:write
  EXPECT_EQ(Decide(), "allow orders-write");
  As("x", {"orders:write"});  // a role named like a permission grants nothing
  EXPECT_EQ(Decide(), "deny orders-write");
  // Unmatched paths fall to the default: deny.
  Request("GET", "/api/other");
  EXPECT_EQ(Decide(), "deny (default)");
  // Paths: "/api/orders/" is a prefix; "/api/ordersX" is not under it.
  Request("GET", "/api/ordersX");
  EXPECT_EQ(Decide(), "deny (default)");
  // Scopes are all required, roles any.
  Request("GET", "/api/reports/q1");
  As("a", {"admin"}, {"reports"});
  EXPECT_EQ(Decide(), "deny reports");
  As("a", {"admin"}, {"read", "reports"});
  EXPECT_EQ(Decide(), "allow reports");
}

TEST_F(RulesTest, AttributeConditions) {
  ASSERT_TRUE(Load(R"(
default: allow
rules:
  - name: blocked-tenants
    deny_if: { claim: { name: tenant, in: [blocked, banned] } }
  - name: internal
    match: { paths: ["/internal*"] }
    require:
      any:
        - client_ip: [10.0.0.0/8, "2001:db8::/32"]
        - mtls: { trust_domains: [example.org] }
  - name: staff
    match: { paths: ["/staff*"] }
    require: { all: [ { principal: { prefix: [staff-] } }, { not: { claim: { name: contractor, present: true } } } ] }
  - name: office-hours
    match: { paths: ["/payroll*"] }
    require: { time: { days: [mon, tue, wed, thu, fri], from: "09:00", to: "17:00", utc_offset: "+02:00" } }
)")) << Errors();
  As("alice", {});
  Request("GET", "/x");
  attrs_ = {{"claim.tenant", "acme"}};
  EXPECT_EQ(Decide(), "allow (default)");
  attrs_ = {{"claim.tenant", "acme"}, {"claim.tenant", "banned"}};  // an array claim's item
  EXPECT_EQ(Decide(), "deny blocked-tenants");
  attrs_ = {{"claim.tenant_id", "banned"}};  // another claim
  EXPECT_EQ(Decide(), "allow (default)");
  attrs_.clear();
  Request("GET", "/internal/x", "10.9.8.7");
  EXPECT_EQ(Decide(), "allow internal");
  Request("GET", "/internal/x", "2001:db8::1");
  EXPECT_EQ(Decide(), "allow internal");
  Request("GET", "/internal/x", "192.0.2.1");
  EXPECT_EQ(Decide(), "deny internal");
  in_.mtls = true;
  in_.trust_domain = "example.org";
  EXPECT_EQ(Decide(), "allow internal");
  in_.trust_domain = "evil.org";
  EXPECT_EQ(Decide(), "deny internal");
  in_.mtls = false;
  Request("GET", "/staff/x");
  As("staff-bob", {});
  EXPECT_EQ(Decide(), "allow staff");
  attrs_ = {{"claim.contractor", "true"}};
  EXPECT_EQ(Decide(), "deny staff");
  attrs_.clear();
  As("bob", {});
  EXPECT_EQ(Decide(), "deny staff");
  // 2026-12-04 is a Friday; 07:30 UTC is 09:30 at +02:00.
  Request("GET", "/payroll");
  in_.now = 1796369400;  // 2026-12-04T07:30:00Z
  EXPECT_EQ(Decide(), "allow office-hours");
  in_.now = 1796369400 - 3600;  // 08:30 local
  EXPECT_EQ(Decide(), "deny office-hours");
  in_.now = 1796369400 + 86400;  // Saturday
  EXPECT_EQ(Decide(), "deny office-hours");
  // A window past midnight: Friday 22:00 to 02:00 covers Saturday 01:00, not Sunday's.
  ASSERT_TRUE(Load(R"(
rules:
  - { name: night, require: { time: { days: [fri], from: "22:00", to: "02:00" } } }
)")) << Errors();
  in_.now = 1796369400 + 14 * 3600 + 30 * 60;  // Friday 22:00 UTC
  EXPECT_EQ(Decide(), "allow night");
  in_.now += 3 * 3600;  // Saturday 01:00
  EXPECT_EQ(Decide(), "allow night");
  in_.now += 2 * 3600;  // Saturday 03:00
  EXPECT_EQ(Decide(), "deny night");
  in_.now += 22 * 3600;  // Sunday 01:00
  EXPECT_EQ(Decide(), "deny night");
}

TEST_F(RulesTest, ShadowRulesAreReportedNotEnforced) {
  ASSERT_TRUE(Load(R"(
default: allow
rules:
  - { name: new-policy, deny_if: { method: [DELETE] }, shadow: true }
  - { name: everyone, allow: true }
)")) << Errors();
  As("a", {});
  Request("DELETE", "/x");
  in_.roles = &roles_;
  const Outcome o = Evaluate(policy_, in_);
  EXPECT_EQ(o.verdict, Verdict::kAllow);
  ASSERT_EQ(o.shadowed.size(), 1u);
  EXPECT_EQ(o.shadowed[0].first->name, "new-policy");
  EXPECT_EQ(o.shadowed[0].second, Verdict::kDeny);
  Request("GET", "/x");
  EXPECT_TRUE(Evaluate(policy_, in_).shadowed.empty());
}

TEST_F(RulesTest, BadRulesAreRefusedWithTheirPlace) {
  EXPECT_FALSE(Load("rules: [ { name: a } ]"));
  EXPECT_NE(Errors().find("exactly one of allow, require or deny_if"), std::string::npos);
  EXPECT_FALSE(Load("rules: [ { name: a, require: { rol: [x] } } ]"));
  EXPECT_NE(Errors().find("unknown condition 'rol'"), std::string::npos);
  EXPECT_NE(Errors().find("authz.yaml:1"), std::string::npos);
  EXPECT_FALSE(Load("rules: [ { name: a, require: { client_ip: [10.0.0.0/33] } } ]"));
  EXPECT_FALSE(Load("rules: [ { name: a, require: { time: { from: '25:00' } } } ]"));
  EXPECT_FALSE(Load("rules: [ { name: a, require: { time: { days: [funday] } } } ]"));
  EXPECT_FALSE(Load("rules: [ { name: a, require: { claim: { name: t } } } ]"));
  EXPECT_FALSE(Load("rules: [ { name: a, require: { claim: { name: t, equals: x, in: [y] } } } ]"));
  EXPECT_FALSE(Load("rules: [ { name: a, allow: false } ]"));
  EXPECT_FALSE(Load("rules: [ { name: a, allow: true }, { name: a, allow: true } ]"));
  EXPECT_FALSE(Load("rules: [ { name: a, match: { paths: [api] }, allow: true } ]"));
  EXPECT_FALSE(Load("rules: [ { name: a, require: { auth_method: [password] } } ]"));
  EXPECT_FALSE(Load("default: maybe"));
  EXPECT_FALSE(Load("rules: [ { name: a, match: { paths: [] }, allow: true } ]"));
  EXPECT_FALSE(Load("rules: [ { name: a, match: { methods: [] }, allow: true } ]"));
  EXPECT_FALSE(Load("rules: [ { name: a, require: { mtls: { spiffe_ids: [] } } } ]"));
  EXPECT_FALSE(Load("rules: [ { name: a, require: { time: { from: '09:00', to: '09:00' } } } ]"));
  EXPECT_FALSE(Load("rules: [ { name: a, require: { time: { days: [] } } } ]"));
  EXPECT_FALSE(Load("roles: [admin]"));
  EXPECT_FALSE(Load("rules: [ { name: a, require: { all: [] } } ]"));
  std::string deep = "{ authenticated: true }";
  for (int i = 0; i < 40; ++i) deep = "{ not: " + deep + " }";
  EXPECT_FALSE(Load("rules: [ { name: a, require: " + deep + " } ]"));
  EXPECT_NE(Errors().find("nested deeper"), std::string::npos);
}

TEST(NormalizePath, EverySpellingOfAPathIsThatPath) {
  auto norm = [](std::string_view in) {
    std::string out;
    return NormalizePath(in, out) ? out : std::string("REFUSED");
  };
  EXPECT_EQ(norm("/api/orders/"), "/api/orders/");
  EXPECT_EQ(norm("/"), "/");
  EXPECT_EQ(norm("/api//admin"), "/api/admin");
  EXPECT_EQ(norm("/api/./admin"), "/api/admin");
  EXPECT_EQ(norm("/api/x/../admin"), "/api/admin");
  EXPECT_EQ(norm("/api/%2e%2e/admin"), "/admin");
  EXPECT_EQ(norm("/api/%2E/admin"), "/api/admin");
  EXPECT_EQ(norm("/%61dmin"), "/admin");
  EXPECT_EQ(norm("/admin;jsessionid=1/x"), "/admin/x");
  EXPECT_EQ(norm("/public;/../admin"), "/admin");
  EXPECT_EQ(norm("/../../admin"), "/admin");
  EXPECT_EQ(norm("/api%2Fadmin"), "REFUSED");
  EXPECT_EQ(norm("/api%5cadmin"), "REFUSED");
  EXPECT_EQ(norm("/api\\admin"), "REFUSED");
  EXPECT_EQ(norm("/api%00"), "REFUSED");
  EXPECT_EQ(norm("/api%2"), "REFUSED");
  EXPECT_EQ(norm("/api%zz"), "REFUSED");
}

TEST_F(RulesTest, AnonymousRequestsHaveNoRolesOrClaims) {
  ASSERT_TRUE(Load(R"(
rules:
  - { name: who, require: { any: [ { authenticated: true }, { path: { prefix: [/public/] } } ] } }
)")) << Errors();
  As("", {});
  Request("GET", "/public/x");
  EXPECT_EQ(Decide(), "allow who");
  Request("GET", "/private");
  EXPECT_EQ(Decide(), "deny who");
  As("p", {});
  EXPECT_EQ(Decide(), "allow who");
}

}  // namespace
}  // namespace rampart::authz
