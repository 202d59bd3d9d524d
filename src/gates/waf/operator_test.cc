// MakeOperator's dispatch and errors, ParamHasMacros, the string and numeric operators.
#include "gates/waf/operator.h"

#include <gtest/gtest.h>

#include <climits>
#include <string>

namespace rampart::waf {
namespace {

using namespace std::string_literals;

std::unique_ptr<Operator> Make(std::string_view name, std::string_view param) {
  std::string error;
  auto op = MakeOperator(name, param, OperatorEnv{}, &error);
  EXPECT_NE(op, nullptr) << "@" << name << " " << param << ": " << error;
  return op;
}

bool M(const Operator& op, std::string_view value, std::string_view runtime = {}) {
  return op.Match(value, runtime, nullptr);
}

TEST(ParamHasMacrosTest, FindsPercentBraceMacros) {
  EXPECT_TRUE(ParamHasMacros("%{tx.allowed_methods}"));
  EXPECT_TRUE(ParamHasMacros(".%{request_headers.host}"));
  EXPECT_TRUE(ParamHasMacros("a %{TX.2} b"));
  EXPECT_FALSE(ParamHasMacros("GET HEAD POST"));
  EXPECT_FALSE(ParamHasMacros("100%"));
  EXPECT_FALSE(ParamHasMacros("%{}"));
  EXPECT_FALSE(ParamHasMacros("%{unterminated"));
  EXPECT_FALSE(ParamHasMacros("^(?:%[0-9a-f]{2})+$"));
  EXPECT_TRUE(ParamHasMacros("%{} then %{x}"));
}

TEST(MakeOperatorTest, NamesAreCaseInsensitiveWithV3Aliases) {
  for (const char* name :
       {"rx", "RX", "rxGlobal", "streq", "StrEq", "beginsWith", "within", "unconditionalMatch",
        "noMatch", "validateUrlEncoding", "validateUtf8Encoding", "pm", "PM"}) {
    std::string error;
    EXPECT_NE(MakeOperator(name, "x", OperatorEnv{}, &error), nullptr) << name << ": " << error;
  }
  std::string error;
  EXPECT_NE(MakeOperator("IPMATCH", "127.0.0.1", OperatorEnv{}, &error), nullptr) << error;
  // v3's "ipMatchF" is ipMatchFromFile, not ipMatch.
  EXPECT_EQ(MakeOperator("ipMatchF", "127.0.0.1", OperatorEnv{}, &error), nullptr);
  EXPECT_EQ(error, "@ipMatchF: cannot read 127.0.0.1: No such file or directory");
}

TEST(MakeOperatorTest, DetectOperatorsAreLeftToTheEngine) {
  for (const char* name : {"detectSQLi", "detectXSS", "detectsqli"}) {
    std::string error;
    EXPECT_EQ(MakeOperator(name, "", OperatorEnv{}, &error), nullptr);
    EXPECT_EQ(error, "not handled here");
  }
}

TEST(MakeOperatorTest, ErrorsNameTheOperator) {
  std::string error;
  EXPECT_EQ(MakeOperator("rx", "(abc", OperatorEnv{}, &error), nullptr);
  EXPECT_EQ(error, "@rx: missing closing parenthesis at offset 4");
  EXPECT_EQ(MakeOperator("bogus", "", OperatorEnv{}, &error), nullptr);
  EXPECT_EQ(error, "@bogus: unknown operator");
  for (const char* name :
       {"verifyCPF", "verifySSN", "verifySVNR", "inspectFile", "rbl", "rsub", "geoLookup",
        "gsbLookup", "fuzzyHash", "validateDTD", "validateSchema", "validateHash"}) {
    EXPECT_EQ(MakeOperator(name, "x", OperatorEnv{}, &error), nullptr) << name;
    EXPECT_EQ(error, "@"s + name + ": operator not supported");
  }
}

TEST(StringOperatorsTest, StrEqIsExactAndCaseSensitive) {
  auto op = Make("streq", "POST");
  EXPECT_TRUE(M(*op, "POST"));
  EXPECT_FALSE(M(*op, "post"));
  EXPECT_FALSE(M(*op, "POST "));
  EXPECT_FALSE(M(*op, "POST\0"s));
  auto empty = Make("streq", "");
  EXPECT_TRUE(M(*empty, ""));
  EXPECT_FALSE(M(*empty, "x"));
}

TEST(StringOperatorsTest, ContainsAndStrMatchAreSubstringSearches) {
  for (const char* name : {"contains", "strmatch"}) {
    auto op = Make(name, "php");
    EXPECT_TRUE(M(*op, "index.php")) << name;
    EXPECT_TRUE(M(*op, "php")) << name;
    EXPECT_FALSE(M(*op, "index.PHP")) << name;
    EXPECT_TRUE(M(*op, "a\0php"s)) << name;
    EXPECT_TRUE(M(*Make(name, ""), "anything")) << name;  // v3: find("") == 0
  }
  auto nul = Make("contains", "a\0b"s);
  EXPECT_TRUE(M(*nul, "xa\0bx"s));
  EXPECT_FALSE(M(*nul, "xabx"));
}

TEST(StringOperatorsTest, BeginsWithAndEndsWith) {
  auto begins = Make("beginsWith", "/admin");
  EXPECT_TRUE(M(*begins, "/admin/users"));
  EXPECT_TRUE(M(*begins, "/admin"));
  EXPECT_FALSE(M(*begins, "/adm"));
  EXPECT_FALSE(M(*begins, "x/admin"));
  auto ends = Make("endsWith", "(internal dummy connection)");
  EXPECT_TRUE(M(*ends, "Apache/2.4 (internal dummy connection)"));
  EXPECT_FALSE(M(*ends, "(internal dummy connection) x"));
  EXPECT_FALSE(M(*ends, "connection)"));
  EXPECT_TRUE(M(*Make("endsWith", ""), ""));
}

TEST(StringOperatorsTest, WithinFindsTheValueInTheParameter) {
  auto op = Make("within", "GET HEAD POST OPTIONS");
  EXPECT_TRUE(M(*op, "GET"));
  EXPECT_TRUE(M(*op, "POST"));
  EXPECT_FALSE(M(*op, "DELETE"));
  EXPECT_FALSE(M(*op, "get"));
  EXPECT_TRUE(M(*op, "GE"));       // v3: a substring, not a word
  EXPECT_TRUE(M(*op, "T HEA"));    // likewise
  EXPECT_TRUE(M(*op, ""));         // v3: an empty value is always within
  EXPECT_FALSE(M(*op, "GET\0"s));  // the NUL byte is part of the value
}

TEST(StringOperatorsTest, MacroParametersUseTheExpandedText) {
  auto within = Make("within", "%{tx.allowed_methods}");
  EXPECT_TRUE(M(*within, "GET", "GET HEAD"));
  EXPECT_FALSE(M(*within, "PUT", "GET HEAD"));
  EXPECT_FALSE(M(*within, "tx", "GET HEAD"));  // the compiled text is not used
  // An expansion to nothing replaces the parameter too.
  EXPECT_FALSE(M(*within, "GET", ""));
  EXPECT_TRUE(M(*within, "", ""));
  auto ends = Make("endsWith", ".%{request_headers.host}");
  EXPECT_TRUE(M(*ends, "http://evil.example.com", ".example.com"));
  EXPECT_FALSE(M(*ends, "http://example.com", ".example.com"));
  auto streq = Make("streq", "%{TX.2}");
  EXPECT_TRUE(M(*streq, "abc", "abc"));
  EXPECT_FALSE(M(*streq, "abc", "abd"));
}

TEST(StringOperatorsTest, ContainsWordFollowsV3Boundaries) {
  auto op = Make("containsWord", "select");
  EXPECT_TRUE(M(*op, "select"));
  EXPECT_TRUE(M(*op, "select * from t"));
  EXPECT_TRUE(M(*op, "1 select"));
  EXPECT_TRUE(M(*op, "(select)"));
  EXPECT_FALSE(M(*op, "selected"));
  EXPECT_FALSE(M(*op, "unselect"));
  EXPECT_FALSE(M(*op, "SELECT"));
  // Only ASCII letters are word characters in v3: digits and '_' are boundaries.
  EXPECT_TRUE(M(*op, "1select2"));
  EXPECT_TRUE(M(*op, "_select_"));
  EXPECT_TRUE(M(*op, "\xC3select"));
  // A later occurrence counts when the first is inside a word.
  EXPECT_TRUE(M(*op, "selects select"));
  EXPECT_FALSE(M(*op, ""));
  EXPECT_TRUE(M(*Make("containsWord", ""), "anything"));
}

TEST(StringOperatorsTest, UnconditionalAndNoMatch) {
  EXPECT_TRUE(M(*Make("unconditionalMatch", ""), ""));
  EXPECT_TRUE(M(*Make("unconditionalMatch", ""), "x"));
  EXPECT_FALSE(M(*Make("noMatch", ""), "x"));
  EXPECT_FALSE(M(*Make("noMatch", ""), ""));
}

TEST(StringOperatorsTest, CaptureNothingAndResetTheCount) {
  CaptureSet captures;
  captures.count = 3;
  auto op = Make("contains", "a");
  EXPECT_TRUE(op->Match("cat", {}, &captures));
  EXPECT_EQ(captures.count, 0);
}

TEST(CompareOperatorsTest, TruthTables) {
  struct Case {
    const char* op;
    const char* param;
    const char* value;
    bool want;
  };
  const Case cases[] = {
      {"eq", "0", "0", true},  {"eq", "0", "1", false},  {"eq", "5", "5", true},
      {"ge", "5", "5", true},  {"ge", "5", "4", false},  {"ge", "5", "6", true},
      {"gt", "5", "5", false}, {"gt", "5", "6", true},   {"le", "5", "5", true},
      {"le", "5", "6", false}, {"lt", "1", "0", true},   {"lt", "1", "1", false},
      {"lt", "2", "-7", true}, {"gt", "-3", "-2", true}, {"eq", "-1", "-1", true},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(M(*Make(c.op, c.param), c.value), c.want)
        << "@" << c.op << " " << c.param << " against " << c.value;
  }
}

TEST(CompareOperatorsTest, NonNumbersAreZeroAndTrailingTextIsIgnored) {
  EXPECT_TRUE(M(*Make("eq", "0"), "abc"));
  EXPECT_TRUE(M(*Make("eq", "0"), ""));
  EXPECT_TRUE(M(*Make("eq", "abc"), "0"));
  EXPECT_TRUE(M(*Make("eq", "12"), "12abc"));
  EXPECT_TRUE(M(*Make("eq", "12"), "  \t+12"));
  EXPECT_TRUE(M(*Make("eq", "0"), "0x1F"));
  EXPECT_TRUE(M(*Make("lt", "1"), "abc"));
  EXPECT_TRUE(M(*Make("ge", "3"), "3.9"));
  EXPECT_FALSE(M(*Make("ge", "4"), "3.9"));
  // Conversion stops at a NUL byte, as atoll/stoi on c_str() do.
  EXPECT_TRUE(M(*Make("eq", "1"),
                "1\0"s
                "23"));
  EXPECT_TRUE(M(*Make("eq", "0"),
                "\0"s
                "5"));
}

TEST(CompareOperatorsTest, OverflowFollowsStoiForEqAndAtollForTheRest) {
  // @eq: std::stoi throws outside int, v3 catches it and uses 0.
  EXPECT_TRUE(M(*Make("eq", "0"), "4294967296"));
  EXPECT_TRUE(M(*Make("eq", "0"), "2147483648"));
  EXPECT_TRUE(M(*Make("eq", "2147483647"), "2147483647"));
  EXPECT_TRUE(M(*Make("eq", "-2147483648"), "-2147483648"));
  // The others: long long, saturating like glibc's atoll.
  EXPECT_TRUE(M(*Make("gt", "2147483647"), "4294967296"));
  EXPECT_TRUE(M(*Make("ge", "9223372036854775807"), "99999999999999999999999"));
  EXPECT_FALSE(M(*Make("gt", "9223372036854775807"), "99999999999999999999999"));
  EXPECT_TRUE(M(*Make("le", "-9223372036854775808"), "-99999999999999999999999"));
  EXPECT_TRUE(M(*Make("lt", "-9223372036854775807"), "-9223372036854775808"));
  std::string huge(1 << 20, '9');
  EXPECT_TRUE(M(*Make("gt", "1"), huge));
  EXPECT_TRUE(M(*Make("eq", "0"), huge));
}

TEST(CompareOperatorsTest, MacroParameters) {
  auto op = Make("ge", "%{tx.inbound_anomaly_score_threshold}");
  EXPECT_TRUE(M(*op, "5", "5"));
  EXPECT_FALSE(M(*op, "4", "5"));
  EXPECT_TRUE(M(*op, "0", ""));  // nothing expands to 0
}

}  // namespace
}  // namespace rampart::waf
