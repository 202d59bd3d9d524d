// @rx, @rxGlobal and @verifyCC.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "gates/waf/operator.h"

namespace rampart::waf {
namespace {

using namespace std::string_literals;

std::unique_ptr<Operator> Make(std::string_view name, std::string_view param,
                               std::uint32_t match_limit = kDefaultPcreMatchLimit) {
  OperatorEnv env;
  env.pcre_match_limit = match_limit;
  std::string error;
  auto op = MakeOperator(name, param, env, &error);
  EXPECT_NE(op, nullptr) << "@" << name << " " << param << ": " << error;
  return op;
}

bool M(const Operator& op, std::string_view value, std::string_view runtime = {}) {
  return op.Match(value, runtime, nullptr);
}

// A pattern that turns the JIT off at its start ((*NO_JIT)) matches the same, through the
// interpreter.
TEST(RxTest, MatchesAnywhere) {
  for (const char* pattern : {"(?i)union\\s+select", "(*NO_JIT)(?i)union\\s+select"}) {
    auto op = Make("rx", pattern);
    EXPECT_TRUE(M(*op, "1 UNION  SELECT password")) << pattern;
    EXPECT_FALSE(M(*op, "union all")) << pattern;
    EXPECT_EQ(LastRegexStatus(), RegexStatus::kOk) << pattern;
  }
  auto anchored = Make("rx", "^(?:GET|HEAD)$");
  EXPECT_TRUE(M(*anchored, "GET"));
  EXPECT_FALSE(M(*anchored, "GETS"));
}

// A pattern that turns UTF on at its start ((*UTF)) matches through the interpreter, which checks
// the subject (invalid UTF-8 is an error, not a match, as in v3).
TEST(RxTest, PatternsInUtfMode) {
  auto utf = Make("rx", "(*UTF)caf\u00e9|\\x{263a}");
  EXPECT_TRUE(M(*utf, "un caf\u00e9"));
  EXPECT_TRUE(M(*utf, "smile \u263a"));
  EXPECT_FALSE(M(*utf, "cafe"));
  EXPECT_FALSE(M(*utf, "caf\xc3"));  // invalid UTF-8: refused, never read past the value
}

TEST(RxTest, DotAllAndMultilineAsInV3) {
  // PCRE2_DOTALL: '.' crosses newlines.
  EXPECT_TRUE(M(*Make("rx", "a.b"), "a\nb"));
  // PCRE2_MULTILINE: ^ and $ match at every line.
  EXPECT_TRUE(M(*Make("rx", "^admin$"), "user\nadmin\nguest"));
  // No PCRE2_DOLLAR_ENDONLY: $ also matches before a final newline.
  EXPECT_TRUE(M(*Make("rx", "\\d$"), "123\n"));
  // Case-sensitive unless the pattern says otherwise.
  EXPECT_FALSE(M(*Make("rx", "select"), "SELECT"));
  // Not UTF mode: bytes, so invalid UTF-8 is just bytes.
  EXPECT_TRUE(M(*Make("rx", "\\xff\\xfe"), "a\xff\xfe"));
  EXPECT_TRUE(M(*Make("rx", "^.$"), "\xe9"));
}

TEST(RxTest, NulBytesInValuesAndPatterns) {
  EXPECT_TRUE(M(*Make("rx", "\\x00"), "a\0b"s));
  EXPECT_TRUE(M(*Make("rx", "b$"), "a\0b"s));  // the value does not end at the NUL
  EXPECT_FALSE(M(*Make("rx", "^a$"), "a\0"s));
  EXPECT_TRUE(M(*Make("rx", "x"), std::string(1 << 20, '\0') + "x"));
}

TEST(RxTest, EmptyParameterMatchesEverything) {
  // v3 Rx::evaluate returns true for an empty parameter without running a regex.
  auto op = Make("rx", "");
  CaptureSet captures;
  EXPECT_TRUE(op->Match("anything", {}, &captures));
  EXPECT_EQ(captures.count, 0);
  EXPECT_TRUE(op->Match("", {}, &captures));
}

TEST(RxTest, CapturesGroupsZeroToNine) {
  auto op = Make("rx", "(\\w+)=(\\d+)");
  CaptureSet captures;
  ASSERT_TRUE(op->Match("x a=12 b=3", {}, &captures));
  ASSERT_EQ(captures.count, 3);
  EXPECT_EQ(captures.groups[0], "a=12");
  EXPECT_EQ(captures.groups[1], "a");
  EXPECT_EQ(captures.groups[2], "12");
  // No match: the count is reset.
  EXPECT_FALSE(op->Match("nothing", {}, &captures));
  EXPECT_EQ(captures.count, 0);
}

TEST(RxTest, UnsetGroupsAreEmptyAndTrailingOnesAreNotCounted) {
  auto op = Make("rx", "(a)|(b)(c)?");
  CaptureSet captures;
  ASSERT_TRUE(op->Match("b", {}, &captures));
  ASSERT_EQ(captures.count, 3);  // group 3 did not take part: not counted
  EXPECT_EQ(captures.groups[0], "b");
  EXPECT_EQ(captures.groups[1], "");
  EXPECT_EQ(captures.groups[2], "b");
}

TEST(RxTest, MoreThanTenGroupsStillMatchAndCaptureTheFirstTen) {
  auto op = Make("rx", "(a)(b)(c)(d)(e)(f)(g)(h)(i)(j)(k)(l)");
  CaptureSet captures;
  ASSERT_TRUE(op->Match("xabcdefghijklx", {}, &captures));
  ASSERT_EQ(captures.count, 10);
  EXPECT_EQ(captures.groups[0], "abcdefghijkl");
  EXPECT_EQ(captures.groups[9], "i");
}

TEST(RxTest, CatastrophicBacktrackingHitsTheMatchLimit) {
  auto op = Make("rx", "^(a+)+$");
  const std::string value = std::string(40, 'a') + "!";
  const auto start = std::chrono::steady_clock::now();
  EXPECT_FALSE(M(*op, value));
  EXPECT_EQ(LastRegexStatus(), RegexStatus::kMatchLimit);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(2));
  // The status is per evaluation.
  EXPECT_FALSE(M(*op, "b"));
  EXPECT_EQ(LastRegexStatus(), RegexStatus::kOk);
  // A SecPcreMatchLimit of 1000 (v3's recommended configuration) stops it sooner.
  auto strict = Make("rx", "^(\\w+\\s?)*$", 1000);
  EXPECT_FALSE(M(*strict, std::string(60, 'a') + " !"));
  EXPECT_EQ(LastRegexStatus(), RegexStatus::kMatchLimit);
  EXPECT_TRUE(M(*strict, "short words"));
}

TEST(RxTest, HugeValues) {
  const std::string big = std::string(8 << 20, 'x') + "<script>";
  EXPECT_TRUE(M(*Make("rx", "<script"), big));
  EXPECT_FALSE(M(*Make("rx", "<iframe"), big));
  EXPECT_EQ(LastRegexStatus(), RegexStatus::kOk);
}

TEST(RxTest, InvalidPatternsAreRefusedAtLoad) {
  std::string error;
  EXPECT_EQ(MakeOperator("rx", "a(?<n>b", OperatorEnv{}, &error), nullptr);
  EXPECT_NE(error.find("@rx: "), std::string::npos);
  EXPECT_NE(error.find("at offset"), std::string::npos);
  EXPECT_EQ(MakeOperator("rxGlobal", "[z-a]", OperatorEnv{}, &error), nullptr);
  EXPECT_NE(error.find("@rxGlobal: "), std::string::npos);
}

TEST(RxTest, MacroParametersCompileAtRunTime) {
  auto op = Make("rx", "^%{tx.prefix}");
  // The engine passes the whole expanded parameter.
  EXPECT_TRUE(M(*op, "abc", "^a"));
  EXPECT_FALSE(M(*op, "abc", "^b"));
  EXPECT_TRUE(M(*op, "abc", "^a"));  // from the cache
  // An expansion that is not a valid regex is a regex error, not a match.
  EXPECT_FALSE(M(*op, "(", "("));
  EXPECT_EQ(LastRegexStatus(), RegexStatus::kError);
  EXPECT_FALSE(M(*op, "(", "("));  // remembered
  EXPECT_EQ(LastRegexStatus(), RegexStatus::kError);
  // v3 compiles an empty expansion as ".*".
  CaptureSet captures;
  EXPECT_TRUE(op->Match("whole value", "", &captures));
  ASSERT_EQ(captures.count, 1);
  EXPECT_EQ(captures.groups[0], "whole value");
  // Many distinct expansions: the cache stays small and answers stay right.
  for (int i = 0; i < 100; ++i) {
    const std::string n = std::to_string(i);
    EXPECT_TRUE(M(*op, "v" + n, "v" + n + "$"));
    EXPECT_FALSE(M(*op, "v" + n + "x", "v" + n + "$"));
  }
}

TEST(RxTest, ThreadsShareOneOperator) {
  auto op = Make("rx", "(\\d+)-(\\d+)");
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      CaptureSet captures;
      for (int i = 0; i < 2000; ++i) {
        const std::string a = std::to_string(t), b = std::to_string(i);
        if (!op->Match("x" + a + "-" + b + "y", {}, &captures) || captures.groups[1] != a ||
            captures.groups[2] != b) {
          ++failures;
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
}

TEST(RxGlobalTest, CapturesOfSuccessiveMatchesAreNumberedOn) {
  auto op = Make("rxGlobal", "(\\d)");
  CaptureSet captures;
  ASSERT_TRUE(op->Match("a1b2c3", {}, &captures));
  ASSERT_EQ(captures.count, 6);
  const char* want[] = {"1", "1", "2", "2", "3", "3"};
  for (int i = 0; i < 6; ++i) EXPECT_EQ(captures.groups[i], want[i]) << i;
  EXPECT_FALSE(op->Match("abc", {}, &captures));
  EXPECT_EQ(captures.count, 0);
}

TEST(RxGlobalTest, StopsAtTenCaptures) {
  auto op = Make("rxGlobal", "\\d");
  CaptureSet captures;
  ASSERT_TRUE(op->Match("0123456789abc0123", {}, &captures));
  EXPECT_EQ(captures.count, 10);
  EXPECT_EQ(captures.groups[9], "9");
}

TEST(RxGlobalTest, EmptyMatchesAdvance) {
  auto op = Make("rxGlobal", "x*");
  CaptureSet captures;
  ASSERT_TRUE(op->Match("axxb", {}, &captures));
  // "" at 0, "xx" at 1, "" at 3, "" at 4.
  ASSERT_EQ(captures.count, 4);
  EXPECT_EQ(captures.groups[0], "");
  EXPECT_EQ(captures.groups[1], "xx");
  EXPECT_EQ(captures.groups[2], "");
  EXPECT_EQ(captures.groups[3], "");
  EXPECT_TRUE(M(*op, ""));
  EXPECT_TRUE(M(*Make("rxGlobal", "(?=b)"), "aaab"));
  EXPECT_FALSE(M(*Make("rxGlobal", "(?=c)"), "aaab"));
}

TEST(RxGlobalTest, TruthValueAsRx) {
  for (const char* value : {"", "abc", "SELECT 1", "\n", "a\0b"}) {
    for (const char* pattern : {"b", "^$", "(?i)select", "\\n", "^a"}) {
      EXPECT_EQ(M(*Make("rxGlobal", pattern), value), M(*Make("rx", pattern), value))
          << pattern << " / " << value;
    }
  }
}

TEST(VerifyCCTest, LuhnValidCandidatesMatch) {
  auto op = Make("verifyCC", "(?:4\\d{3}[- ]?\\d{4}[- ]?\\d{4}[- ]?\\d{4})");
  CaptureSet captures;
  ASSERT_TRUE(op->Match("card: 4111 1111 1111 1111 exp", {}, &captures));
  ASSERT_EQ(captures.count, 1);
  EXPECT_EQ(captures.groups[0], "4111 1111 1111 1111");
  EXPECT_FALSE(M(*op, "card: 4111 1111 1111 1112"));
  // A failing candidate does not hide a later valid one.
  EXPECT_TRUE(M(*op, "4111111111111112 4012888888881881"));
  EXPECT_FALSE(M(*op, "no numbers"));
  // Candidates overlapping a failed one are tried too (v3 retries from every offset).
  EXPECT_TRUE(M(*op, "44111111111111111"));
}

TEST(VerifyCCTest, RejectsBadOrEmptyPatterns) {
  std::string error;
  EXPECT_EQ(MakeOperator("verifyCC", "", OperatorEnv{}, &error), nullptr);
  EXPECT_EQ(MakeOperator("verifyCC", "(\\d", OperatorEnv{}, &error), nullptr);
  EXPECT_NE(error.find("@verifyCC: "), std::string::npos);
}

}  // namespace
}  // namespace rampart::waf
