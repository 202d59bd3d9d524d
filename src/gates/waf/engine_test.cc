// The SecLang engine: reading, parsing and evaluating rules with ModSecurity v3's semantics, and
// loading the OWASP CRS v4 shipped with rampart.
#include <gtest/gtest.h>

#include <algorithm>

#include "gates/waf/ruleset.h"
#include "gates/waf/seclang_reader.h"
#include "gates/waf/transaction.h"

#ifndef RAMPART_SOURCE_DIR
#define RAMPART_SOURCE_DIR "."
#endif

namespace rampart::waf {
namespace {

std::shared_ptr<const RuleSet> Load(std::string_view text, std::string* error = nullptr) {
  std::vector<Directive> ds;
  std::string e;
  if (!ReadSecLangText(text, "test.conf", ds, e)) {
    if (error) *error = e;
    return nullptr;
  }
  auto set = RuleSet::Build(ds, e);
  if (error) *error = e;
  return set;
}

struct Outcome {
  std::vector<std::int64_t> ids;
  Intervention in;
  std::string tx_score;
};

Outcome Request(const RuleSet& set, const std::string& target,
                std::vector<std::pair<std::string_view, std::string_view>> headers = {},
                std::string_view body = {}, std::string_view content_type = {}) {
  Transaction tx(set);
  RequestInfo r;
  r.method = body.empty() ? "GET" : "POST";
  r.target = target;
  r.protocol = "HTTP/1.1";
  r.headers = std::move(headers);
  r.client_addr = "192.0.2.1";
  tx.SetRequest(r);
  tx.RunPhase(1);
  tx.SetRequestBody(body, true, content_type);
  Outcome out;
  out.in = tx.RunPhase(2);
  for (const auto& m : tx.matches()) out.ids.push_back(m.id);
  out.tx_score = std::string(tx.Tx("score"));
  return out;
}

// A GET of `target` through phase 1 on a transaction of the test's own.
const Intervention& GetThroughPhase1(Transaction& tx, const std::string& target = "/") {
  RequestInfo req;
  req.method = "GET";
  req.target = target;
  req.protocol = "HTTP/1.1";
  tx.SetRequest(req);
  return tx.RunPhase(1);
}

// A GET through phases 1 and 2 with a transaction of the test's own (detection forced or not):
// its logged matches.
std::vector<MatchRecord> Matches(const RuleSet& set, const std::string& target,
                                 bool detection_only = false) {
  Transaction tx(set);
  if (detection_only) tx.ForceDetectionOnly();
  EXPECT_FALSE(GetThroughPhase1(tx, target).intercepted && detection_only);
  tx.SetRequestBody({}, true, {});
  EXPECT_FALSE(tx.RunPhase(2).intercepted && detection_only);
  return tx.matches();
}

bool Has(const Outcome& r, std::int64_t id) {
  return std::find(r.ids.begin(), r.ids.end(), id) != r.ids.end();
}

TEST(SecLangReader, JoinsContinuationsAndDropsComments) {
  std::vector<Directive> ds;
  std::string error;
  ASSERT_TRUE(
      ReadSecLangText("# a comment\nSecRule ARGS \"@rx a\\\\\"b\" \\\n    \"id:1,\\\n"
                      "    phase:2\"\n\nSecMarker END\n",
                      "x.conf", ds, error))
      << error;
  ASSERT_EQ(ds.size(), 2u);
  EXPECT_EQ(ds[0].name, "SecRule");
  ASSERT_EQ(ds[0].args.size(), 3u);
  EXPECT_EQ(ds[0].args[1], "@rx a\\\"b");  // only \" is unescaped; other backslashes are kept
  EXPECT_EQ(ds[0].args[2], "id:1,phase:2");
  EXPECT_EQ(ds[0].line, 2);
  EXPECT_EQ(ds[1].line, 6);
}

TEST(SecLangReader, UnclosedQuoteNamesTheLine) {
  std::vector<Directive> ds;
  std::string error;
  EXPECT_FALSE(ReadSecLangText("\nSecRule ARGS \"@rx a", "x.conf", ds, error));
  EXPECT_EQ(error, "x.conf:2: a quoted argument is not closed");
}

TEST(RuleSetBuild, RefusesWhatItDoesNotKnow) {
  std::string error;
  EXPECT_EQ(Load("SecFooBar On\n", &error), nullptr);
  EXPECT_EQ(error, "test.conf:1: unknown directive SecFooBar");
  EXPECT_EQ(Load("SecRule ARGS \"@rx a\" \"id:1,exec:/bin/sh\"\n", &error), nullptr);
  EXPECT_NE(error.find("exec"), std::string::npos);
  EXPECT_EQ(Load("SecRule NOPE \"@rx a\" \"id:1\"\n", &error), nullptr);
  EXPECT_NE(error.find("unknown variable NOPE"), std::string::npos);
  EXPECT_EQ(Load("SecRule ARGS \"@rx (\" \"id:1\"\n", &error), nullptr);
  EXPECT_NE(error.find("test.conf:1"), std::string::npos);
  EXPECT_EQ(Load("SecRule ARGS \"@rx a\" \"phase:1\"\n", &error), nullptr);
  EXPECT_NE(error.find("needs an id"), std::string::npos);
  EXPECT_EQ(Load("SecRule ARGS \"@rx a\" \"id:1\"\nSecRule ARGS \"@rx b\" \"id:1\"\n", &error),
            nullptr);
  EXPECT_NE(error.find("used twice"), std::string::npos);
  EXPECT_EQ(Load("SecRule ARGS \"@rx a\" \"id:1,chain\"\n", &error), nullptr);
  EXPECT_NE(error.find("chain"), std::string::npos);
}

TEST(Transaction, SetvarRunsForEveryMatchingValue) {
  // ModSecurity v3 runs setvar per matching value (executeActionsIndependentOfChainedRuleResult).
  auto set = Load("SecRule ARGS \"@rx ^x\" \"id:1,phase:2,pass,setvar:tx.score=+5\"\n");
  ASSERT_TRUE(set);
  EXPECT_EQ(Request(*set, "/?a=x1&b=x2&c=y").tx_score, "10");
}

// Every form of setvar on TX: set, set to 1, add, subtract, delete, a value read from TX (set
// earlier in the same rule, or never set), a name built from macros, and a non-TX collection
// (not kept).
TEST(Transaction, SetvarForms) {
  auto set = Load(
      "SecAction \"id:1,phase:1,pass,nolog,setvar:tx.a=7,setvar:tx.b,setvar:tx.c=10,"
      "setvar:tx.c=-3,setvar:tx.c=+1,setvar:tx.d=gone,setvar:!tx.d,setvar:tx.e=%{tx.a},"
      "setvar:tx.f=%{tx.never},setvar:'tx.%{tx.a}-x=%{tx.c}',setvar:ip.g=1,"
      "setvar:tx.h=%{tx.a}%{tx.b}\"\n");
  ASSERT_TRUE(set);
  Transaction tx(*set);
  GetThroughPhase1(tx);
  EXPECT_EQ(tx.Tx("a"), "7");
  EXPECT_EQ(tx.Tx("b"), "1");
  EXPECT_EQ(tx.Tx("c"), "8");
  EXPECT_EQ(tx.Tx("d"), "");
  EXPECT_EQ(tx.Tx("e"), "7");
  EXPECT_EQ(tx.Tx("f"), "");
  EXPECT_EQ(tx.Tx("7-x"), "8");
  EXPECT_EQ(tx.Tx("g"), "");
  EXPECT_EQ(tx.Tx("h"), "71");
}

// A value read from TX and set under a new name while TX grows (its values move): each of 400
// setvars copies the one before, so the last holds the first's value.
TEST(Transaction, SetvarCopiesTxValuesAsTxGrows) {
  std::string rules =
      "SecAction \"id:1,phase:1,pass,nolog,setvar:tx.v0=start-value-longer-than-sso\"\n";
  for (int i = 1; i <= 400; ++i) {
    rules += "SecAction \"id:" + std::to_string(1 + i) + ",phase:1,pass,nolog,setvar:tx.v" +
             std::to_string(i) + "=%{tx.v" + std::to_string(i - 1) + "}\"\n";
  }
  auto set = Load(rules);
  ASSERT_TRUE(set);
  Transaction tx(*set);
  GetThroughPhase1(tx);
  EXPECT_EQ(tx.Tx("v400"), "start-value-longer-than-sso");
  EXPECT_EQ(tx.Tx("v200"), "start-value-longer-than-sso");
}

TEST(Transaction, ChainMatchesOnlyWhenEveryLinkDoes) {
  auto set = Load(
      "SecRule REQUEST_METHOD \"@streq GET\" \"id:1,phase:1,deny,status:403,chain\"\n"
      "  SecRule ARGS:q \"@contains evil\" \"setvar:tx.score=1\"\n");
  ASSERT_TRUE(set);
  EXPECT_FALSE(Request(*set, "/?q=good").in.intercepted);
  const Outcome r = Request(*set, "/?q=so-evil");
  EXPECT_TRUE(r.in.intercepted);
  EXPECT_EQ(r.in.status, 403);
  EXPECT_EQ(r.in.rule_id, 1);
  EXPECT_EQ(r.ids, std::vector<std::int64_t>{1});
}

TEST(Transaction, TNoneDropsEarlierAndDefaultTransformations) {
  auto set = Load(
      "SecDefaultAction \"phase:2,log,pass,t:lowercase\"\n"
      "SecRule ARGS \"@streq abc\" \"id:1,phase:2\"\n"
      "SecRule ARGS \"@streq abc\" \"id:2,phase:2,t:none\"\n"
      "SecRule ARGS \"@streq abc\" \"id:3,phase:2,t:urlDecodeUni,t:none,t:lowercase\"\n");
  ASSERT_TRUE(set);
  const Outcome r = Request(*set, "/?a=ABC");
  EXPECT_TRUE(Has(r, 1));
  EXPECT_FALSE(Has(r, 2));
  EXPECT_TRUE(Has(r, 3));
}

TEST(Transaction, ExclusionsAndCounting) {
  auto set = Load(
      "SecRule ARGS|!ARGS:safe \"@contains bad\" \"id:1,phase:2,pass\"\n"
      "SecRule &ARGS \"@eq 2\" \"id:2,phase:2,pass\"\n"
      "SecRule REQUEST_COOKIES|!REQUEST_COOKIES:/^__utm/ \"@contains bad\" \"id:3,phase:1,pass\"\n"
      "SecRule &REQUEST_HEADERS:X-Missing \"@eq 0\" \"id:4,phase:1,pass\"\n");
  ASSERT_TRUE(set);
  const Outcome r = Request(*set, "/?safe=bad&b=ok", {{"Cookie", "__utma=bad; x=fine"}});
  EXPECT_FALSE(Has(r, 1));
  EXPECT_TRUE(Has(r, 2));
  EXPECT_FALSE(Has(r, 3));
  EXPECT_TRUE(Has(r, 4));
  EXPECT_TRUE(Has(Request(*set, "/?b=bad"), 1));
  EXPECT_TRUE(Has(Request(*set, "/", {{"Cookie", "x=bad"}}), 3));
}

TEST(Transaction, SkipAfterRunsToTheMarker) {
  auto set = Load(
      "SecRule ARGS:go \"@streq 1\" \"id:1,phase:1,pass,nolog,skipAfter:END\"\n"
      "SecRule ARGS \"@unconditionalMatch\" \"id:2,phase:1,pass\"\n"
      "SecMarker END\n"
      "SecRule ARGS \"@unconditionalMatch\" \"id:3,phase:1,pass\"\n"
      "SecAction \"id:4,phase:1,pass,skip:1\"\n"
      "SecAction \"id:5,phase:1,pass\"\n"
      "SecAction \"id:6,phase:1,pass\"\n");
  ASSERT_TRUE(set);
  const Outcome r = Request(*set, "/?go=1");
  EXPECT_EQ(r.ids, (std::vector<std::int64_t>{3, 4, 6}));
}

TEST(Transaction, CtlRemovesRulesAndTargetsForThisRequestOnly) {
  auto set = Load(
      "SecRule ARGS:off \"@streq 1\" \"id:1,phase:1,pass,nolog,ctl:ruleRemoveById=10,"
      "ctl:ruleRemoveTargetById=11;ARGS:pw\"\n"
      "SecRule ARGS \"@contains x\" \"id:10,phase:2,pass\"\n"
      "SecRule ARGS \"@contains x\" \"id:11,phase:2,pass\"\n");
  ASSERT_TRUE(set);
  const Outcome a = Request(*set, "/?off=1&pw=x");
  EXPECT_FALSE(Has(a, 10));
  EXPECT_FALSE(Has(a, 11));
  const Outcome b = Request(*set, "/?off=1&pw=x&other=x");
  EXPECT_TRUE(Has(b, 11));
  const Outcome c = Request(*set, "/?pw=x");
  EXPECT_TRUE(Has(c, 10));
  EXPECT_TRUE(Has(c, 11));
}

// As CRS's 941010 does: by tag, a rule or one of its targets; other rules keep theirs, a tag no
// rule has removes nothing, and a later ctl still applies to a rule already asked about.
TEST(Transaction, CtlRemovesByTag) {
  auto set = Load(
      "SecRule ARGS:t \"@streq 1\" \"id:1,phase:1,pass,nolog,"
      "ctl:ruleRemoveTargetByTag=perf;ARGS:pw,ctl:ruleRemoveByTag=gone,"
      "ctl:ruleRemoveByTag=nothing-has-it\"\n"
      "SecRule ARGS \"@contains x\" \"id:10,phase:2,pass,tag:'a',tag:'perf'\"\n"
      "SecRule ARGS \"@contains x\" \"id:11,phase:2,pass,tag:'other'\"\n"
      "SecRule ARGS \"@contains x\" \"id:12,phase:2,pass,tag:'gone'\"\n"
      "SecRule ARGS \"@contains x\" \"id:13,phase:2,pass,tag:'perf'\"\n"
      "SecRule ARGS:late \"@streq 1\" \"id:14,phase:2,pass,nolog,"
      "ctl:ruleRemoveTargetByTag=other;ARGS:pw\"\n"
      "SecRule ARGS \"@contains x\" \"id:15,phase:2,pass,tag:'other'\"\n");
  ASSERT_TRUE(set);
  const Outcome a = Request(*set, "/?t=1&pw=x");
  EXPECT_FALSE(Has(a, 10));
  EXPECT_TRUE(Has(a, 11));
  EXPECT_FALSE(Has(a, 12));
  EXPECT_FALSE(Has(a, 13));
  const Outcome b = Request(*set, "/?t=1&pw=x&q=x");
  EXPECT_TRUE(Has(b, 10));
  EXPECT_TRUE(Has(b, 13));
  const Outcome c = Request(*set, "/?pw=x");
  for (const std::int64_t id : {10, 11, 12, 13, 15}) EXPECT_TRUE(Has(c, id)) << id;
  const Outcome d = Request(*set, "/?late=1&pw=x");
  EXPECT_TRUE(Has(d, 11));
  EXPECT_FALSE(Has(d, 15));
}

TEST(Transaction, CaptureAndMacros) {
  auto set = Load(
      "SecRule ARGS:v \"@rx ^(\\w+)-(\\d+)$\" \"id:1,phase:2,pass,capture,"
      "setvar:'tx.name=%{tx.1}',setvar:tx.num=%{TX.2},msg:'got %{tx.1} in %{MATCHED_VAR_NAME}',"
      "chain\"\n"
      "  SecRule TX:num \"@gt 10\" \"setvar:tx.score=%{tx.num}\"\n");
  ASSERT_TRUE(set);
  EXPECT_EQ(Request(*set, "/?v=abc-42").tx_score, "42");
  EXPECT_EQ(Request(*set, "/?v=abc-7").tx_score, "");
}

TEST(Transaction, DetectionOnlyLogsButDoesNotIntercept) {
  auto set = Load(
      "SecRuleEngine DetectionOnly\n"
      "SecRule ARGS \"@contains bad\" \"id:1,phase:2,deny\"\n");
  ASSERT_TRUE(set);
  const Outcome r = Request(*set, "/?a=bad");
  EXPECT_FALSE(r.in.intercepted);
  EXPECT_TRUE(Has(r, 1));
}

TEST(Transaction, BlockTakesTheDefaultActionsDisruptive) {
  auto pass = Load("SecRule ARGS \"@contains bad\" \"id:1,phase:2,block\"\n");
  auto deny = Load(
      "SecDefaultAction \"phase:2,log,deny,status:418\"\n"
      "SecRule ARGS \"@contains bad\" \"id:1,phase:2,block\"\n");
  ASSERT_TRUE(pass && deny);
  EXPECT_FALSE(Request(*pass, "/?a=bad").in.intercepted);
  EXPECT_TRUE(Request(*deny, "/?a=bad").in.intercepted);
}

TEST(Transaction, UrlencodedBodyFillsArgsPost) {
  auto set = Load(
      "SecRule ARGS_POST:user \"@streq admin'--\" \"id:1,phase:2,pass\"\n"
      "SecRule REQUEST_BODY \"@contains user=\" \"id:2,phase:2,pass\"\n"
      "SecRule ARGS_GET:user \"@unconditionalMatch\" \"id:3,phase:2,pass\"\n");
  ASSERT_TRUE(set);
  const Outcome r =
      Request(*set, "/login", {}, "user=admin%27--&x=1", "application/x-www-form-urlencoded");
  EXPECT_TRUE(Has(r, 1));
  EXPECT_TRUE(Has(r, 2));
  EXPECT_FALSE(Has(r, 3));
}

TEST(Transaction, RequestVariablesFollowModSecurityV3) {
  auto set = Load(
      "SecRule REQUEST_FILENAME \"@streq /a b/c.php\" \"id:1,phase:1,pass\"\n"
      "SecRule REQUEST_BASENAME \"@streq c.php\" \"id:2,phase:1,pass\"\n"
      "SecRule QUERY_STRING \"@streq x=%41\" \"id:3,phase:1,pass\"\n"
      "SecRule REQUEST_LINE \"@streq GET /a%20b/c.php?x=%41 HTTP/1.1\" \"id:4,phase:1,pass\"\n"
      "SecRule REQUEST_URI \"@streq /a b/c.php?x=A\" \"id:5,phase:1,pass\"\n"
      "SecRule ARGS:x \"@streq A\" \"id:6,phase:1,pass\"\n"
      "SecRule REMOTE_ADDR \"@ipMatch 192.0.2.0/24\" \"id:7,phase:1,pass\"\n");
  ASSERT_TRUE(set);
  const Outcome r = Request(*set, "/a%20b/c.php?x=%41");
  EXPECT_EQ(r.ids, (std::vector<std::int64_t>{1, 2, 3, 4, 5, 6, 7}));
}

TEST(Transaction, RegexMatchLimitIsVisibleToRules) {
  // A value padded to make a pattern backtrack must not slip past it silently, nor a multiMatch
  // variant that backtracks where the value itself does not (only its lowercased form is a's).
  const struct {
    const char* actions;
    char letter;
  } cases[] = {{"id:1,phase:2,pass", 'a'},
               {"id:1,phase:2,pass,t:none,t:lowercase,multiMatch", 'A'}};
  for (const auto& c : cases) {
    auto set = Load(std::string("SecRule ARGS \"@rx ^(a+)+$\" \"") + c.actions +
                    "\"\n"
                    "SecRule TX:MSC_PCRE_LIMITS_EXCEEDED \"@eq 1\" \"id:2,phase:2,pass\"\n");
    ASSERT_TRUE(set) << c.actions;
    const Outcome r = Request(*set, "/?x=" + std::string(40, c.letter) + "!");
    EXPECT_FALSE(Has(r, 1)) << c.actions;
    EXPECT_TRUE(Has(r, 2)) << c.actions;
    EXPECT_FALSE(Has(Request(*set, "/?x=" + std::string(3, c.letter) + "!"), 2)) << c.actions;
  }
}

TEST(Transaction, MultiMatchPrefiltersEachVariantByItsOwnBytes) {
  // The literal is only in the decoded variant; the raw one lacks it and is ruled out, the
  // decoded one is not. Prefilter on or off, the same rules match.
  auto set = Load(
      "SecRule ARGS \"@rx union\\s+select\" "
      "\"id:1,phase:2,pass,t:none,t:urlDecodeUni,multiMatch\"\n"
      "SecRule ARGS \"@rx ^union%20select$\" "
      "\"id:2,phase:2,pass,t:none,t:urlDecodeUni,multiMatch\"\n");
  ASSERT_TRUE(set);
  for (bool prefilter : {true, false}) {
    Transaction tx(*set);
    tx.UsePrefilter(prefilter);
    RequestInfo info;
    info.method = "GET";
    info.target = "/?q=union%2520select";  // ARGS holds "union%20select"
    info.protocol = "HTTP/1.1";
    tx.SetRequest(info);
    tx.RunPhase(1);
    tx.SetRequestBody({}, true, {});
    tx.RunPhase(2);
    std::vector<std::int64_t> ids;
    for (const auto& m : tx.matches()) ids.push_back(m.id);
    EXPECT_EQ(ids, (std::vector<std::int64_t>{1, 2})) << "prefilter " << prefilter;
    if (prefilter) {
      EXPECT_GE(tx.prefilter_stats().values_ruled_out, 1u);
    }
  }
}

TEST(Transaction, TooManyArgumentsIsABodyError) {
  auto set = Load(
      "SecArgumentsLimit 3\n"
      "SecRule REQBODY_ERROR \"!@eq 0\" \"id:1,phase:2,pass\"\n"
      "SecRule &ARGS \"@gt 3\" \"id:2,phase:2,pass\"\n");
  ASSERT_TRUE(set);
  const Outcome r =
      Request(*set, "/?a=1", {}, "b=2&c=3&d=4&e=5", "application/x-www-form-urlencoded");
  EXPECT_TRUE(Has(r, 1));
  EXPECT_FALSE(Has(r, 2));
  EXPECT_FALSE(Has(Request(*set, "/?a=1", {}, "b=2", "application/x-www-form-urlencoded"), 1));
}

TEST(Transaction, ScalarsThatChangeAreNotServedFromTheTransformationCache) {
  // REQBODY_ERROR is "0" in phase 1 and "1" after a bad body: the same chain must see both.
  auto set = Load(
      "SecRule REQBODY_ERROR \"@streq b6589fc6ab0dc82cf12099d1c2d40ab994e8410c\" "
      "\"id:1,phase:1,pass,t:sha1,t:hexEncode\"\n"
      "SecRule REQBODY_ERROR \"@streq 356a192b7913b04c54574d18c28d46e6395428ab\" "
      "\"id:2,phase:2,pass,t:sha1,t:hexEncode\"\n");
  ASSERT_TRUE(set);
  const Outcome r = Request(*set, "/", {}, "{\"a\":", "application/json");
  EXPECT_TRUE(Has(r, 1));
  EXPECT_TRUE(Has(r, 2));
}

TEST(Transaction, TheFirstContentTypeDecidesTheBodyProcessor) {
  auto set = Load(
      "SecRule REQBODY_PROCESSOR \"@streq JSON\" \"id:1,phase:2,pass\"\n"
      "SecRule ARGS_POST:a \"@unconditionalMatch\" \"id:2,phase:2,pass\"\n");
  ASSERT_TRUE(set);
  const Outcome r = Request(
      *set, "/",
      {{"Content-Type", "application/json"}, {"Content-Type", "application/x-www-form-urlencoded"}},
      "a=b", "application/json");
  EXPECT_TRUE(Has(r, 1));
  EXPECT_FALSE(Has(r, 2));
}

TEST(Transaction, ForcedDetectionRunsEveryPhaseAndAllowDoesNotStopIt) {
  auto set = Load(
      "SecRule ARGS:a \"@streq x\" \"id:1,phase:1,deny\"\n"
      "SecRule ARGS:a \"@streq x\" \"id:2,phase:1,allow\"\n"
      "SecRule ARGS:b \"@streq y\" \"id:3,phase:2,deny\"\n");
  ASSERT_TRUE(set);
  std::vector<std::int64_t> ids;
  for (const auto& m : Matches(*set, "/?a=x&b=y", true)) ids.push_back(m.id);
  EXPECT_EQ(ids, (std::vector<std::int64_t>{1, 2, 3}));
}

TEST(Transaction, TargetsAreNamedAsTheRuleNamedThem) {
  // ModSecurity v3 names a value by the collection the rule walked: ARGS_GET:x, ARGS_NAMES:x.
  auto set = Load(
      "SecRule ARGS:off \"@streq 1\" "
      "\"id:1,phase:1,pass,nolog,ctl:ruleRemoveTargetById=10;ARGS_GET:pw\"\n"
      "SecRule ARGS_GET \"@contains x\" \"id:10,phase:2,pass,msg:'%{MATCHED_VAR_NAME}'\"\n"
      "SecRule ARGS_NAMES \"@streq pw\" \"id:11,phase:2,pass,msg:'%{MATCHED_VAR_NAME}'\"\n");
  ASSERT_TRUE(set);
  std::vector<std::string> seen;
  for (const auto& m : Matches(*set, "/?off=1&pw=x&other=x")) {
    seen.push_back(std::to_string(m.id) + " " + m.var + " " + m.msg);
  }
  EXPECT_EQ(seen, (std::vector<std::string>{"10 ARGS_GET:other ARGS_GET:other",
                                            "11 ARGS_NAMES:pw ARGS_NAMES:pw"}));
}

TEST(RuleSetBuild, RemovalsAndUpdatesApplyWhateverTheirOrder) {
  // As ModSecurity v3's exceptions: a directive before the rule it names still applies.
  auto set = Load(
      "SecRuleRemoveByTag \"drop-me\"\n"
      "SecRuleRemoveByMsg \"gone\"\n"
      "SecRuleUpdateActionById 4 \"t:lowercase,status:418\"\n"
      "SecRuleUpdateTargetByTag \"retarget\" \"ARGS:b\" \"ARGS:a\"\n"
      "SecRule ARGS \"@contains x\" \"id:1,phase:2,pass,tag:'drop-me'\"\n"
      "SecRule ARGS \"@contains x\" \"id:2,phase:2,pass,msg:'gone'\"\n"
      "SecRule ARGS:a \"@contains x\" \"id:3,phase:2,pass,tag:'retarget'\"\n"
      "SecRule ARGS:c \"@streq abc\" \"id:4,phase:2,deny,t:none\"\n");
  ASSERT_TRUE(set);
  const Outcome a = Request(*set, "/?a=x");
  EXPECT_TRUE(a.ids.empty());  // 1 and 2 removed, 3 moved from ARGS:a to ARGS:b
  EXPECT_EQ(Request(*set, "/?b=x").ids, std::vector<std::int64_t>{3});
  const Outcome c = Request(*set, "/?c=ABC");
  EXPECT_TRUE(c.in.intercepted);
  EXPECT_EQ(c.in.status, 418);
}

TEST(Transaction, MultiMatchTestsEveryStepThatChangedTheValue) {
  // "%3Cb" decodes to "<b"; with multiMatch the raw value is tested too.
  auto set = Load(
      "SecRule ARGS \"@beginsWith %3C\" \"id:1,phase:2,pass,t:urlDecodeUni,multiMatch\"\n"
      "SecRule ARGS \"@beginsWith %3C\" \"id:2,phase:2,pass,t:urlDecodeUni\"\n");
  ASSERT_TRUE(set);
  const Outcome r = Request(*set, "/?a=%253Cb");
  EXPECT_TRUE(Has(r, 1));
  EXPECT_FALSE(Has(r, 2));
}

// The literal prefilter changes nothing a rule does: RULE: targets are the rule's own, a
// negated rule that matches stores no stale captures, and a multiMatch rule may delete the TX
// variable it reads between its values.
TEST(Transaction, PrefilteredRulesAnswerAsTheirOperators) {
  auto set = Load(
      "SecRule RULE:id \"@rx ^1234$\" \"id:1234,phase:1,pass,log\"\n"
      "SecRule ARGS:a \"@rx (abc)\" \"id:1,phase:1,pass,nolog,capture\"\n"
      "SecAction \"id:2,phase:1,pass,nolog,setvar:tx.0=clean,setvar:tx.foo=Ab\"\n"
      "SecRule ARGS:b \"!@rx xyz\" \"id:3,phase:1,pass,nolog,capture,setvar:tx.score=%{tx.0}\"\n"
      "SecRule TX:foo \"@rx b\" \"id:4,phase:1,pass,log,multiMatch,t:lowercase,setvar:!tx.foo\"\n");
  ASSERT_TRUE(set);
  const Outcome r = Request(*set, "/?a=abc&b=hello");
  EXPECT_TRUE(Has(r, 1234));
  EXPECT_EQ(r.tx_score, "clean");
  EXPECT_TRUE(Has(r, 4));
}

TEST(CoreRuleSet, LoadsUnmodifiedAndBlocksAnAttack) {
  std::vector<Directive> ds;
  std::string error;
  const std::string crs = std::string(RAMPART_SOURCE_DIR) + "/rules/crs";
  ASSERT_TRUE(ReadSecLangFiles(crs + "/crs-setup.conf.example", ds, error)) << error;
  ASSERT_TRUE(ReadSecLangFiles(crs + "/rules/*.conf", ds, error)) << error;
  auto set = RuleSet::Build(ds, error);
  ASSERT_TRUE(set) << error;
  EXPECT_GT(set->rule_count(), 600u);
  const Outcome attack = Request(*set, "/?file=../../etc/passwd", {{"Host", "localhost"}});
  EXPECT_TRUE(Has(attack, 930120));
  EXPECT_TRUE(attack.in.intercepted);
  EXPECT_EQ(attack.in.rule_id, 949110);
  const Outcome benign =
      Request(*set, "/products?id=42&sort=price",
              {{"Host", "localhost"}, {"User-Agent", "Mozilla/5.0"}, {"Accept", "text/html"}});
  EXPECT_FALSE(benign.in.intercepted);
  EXPECT_TRUE(benign.ids.empty());
}

}  // namespace
}  // namespace rampart::waf
