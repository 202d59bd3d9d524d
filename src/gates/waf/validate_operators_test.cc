// @validateByteRange, @validateUrlEncoding, @validateUtf8Encoding: true means "not valid".
#include <gtest/gtest.h>

#include <string>

#include "gates/waf/operator.h"

namespace rampart::waf {
namespace {

using namespace std::string_literals;

std::unique_ptr<Operator> Make(std::string_view name, std::string_view param = {}) {
  std::string error;
  auto op = MakeOperator(name, param, OperatorEnv{}, &error);
  EXPECT_NE(op, nullptr) << "@" << name << " " << param << ": " << error;
  return op;
}

bool M(const Operator& op, std::string_view value) { return op.Match(value, {}, nullptr); }

TEST(ValidateByteRangeTest, OneToTwoFiftyFiveRejectsOnlyNul) {
  auto op = Make("validateByteRange", "1-255");
  EXPECT_FALSE(M(*op, "normal text \x01\x7f\xff"));
  EXPECT_TRUE(M(*op, "a\0b"s));
  EXPECT_TRUE(M(*op, "\0"s));
  EXPECT_FALSE(M(*op, ""));
}

TEST(ValidateByteRangeTest, ListsOfValuesAndRanges) {
  // CRS 920271's set.
  auto op = Make("validateByteRange", "9,10,13,32-126,128-255");
  EXPECT_FALSE(M(*op, "GET /index.html\r\n\t~"));
  EXPECT_FALSE(M(*op, "\x80\xff"));
  EXPECT_TRUE(M(*op, "\x7f"));
  EXPECT_TRUE(M(*op, "\x1b[31m"));
  EXPECT_TRUE(M(*op, "ok\x0b"));
  auto spaced = Make("validateByteRange", " 38, 44-46 ,48-58");
  EXPECT_FALSE(M(*spaced, "&,-.0:"));
  EXPECT_TRUE(M(*spaced, "/"));
  auto single = Make("validateByteRange", "0");
  EXPECT_FALSE(M(*single, "\0\0"s));
  EXPECT_TRUE(M(*single, "a"));
}

TEST(ValidateByteRangeTest, MalformedRangesAreRefused) {
  for (const char* bad : {"", "256", "1-256", "10-5", "a-b", "1-", "-5", "1,,2", "1.5", "-1"}) {
    std::string error;
    EXPECT_EQ(MakeOperator("validateByteRange", bad, OperatorEnv{}, &error), nullptr) << bad;
    EXPECT_EQ(error.rfind("@validateByteRange: ", 0), 0u) << error;
  }
}

TEST(ValidateUrlEncodingTest, PercentNeedsTwoHexDigits) {
  auto op = Make("validateUrlEncoding");
  EXPECT_FALSE(M(*op, ""));
  EXPECT_FALSE(M(*op, "a=1&b=2"));
  EXPECT_FALSE(M(*op, "%41%2f%2F%aB"));
  EXPECT_FALSE(M(*op, "100%25"));
  EXPECT_TRUE(M(*op, "100%"));
  EXPECT_TRUE(M(*op, "%4"));
  EXPECT_TRUE(M(*op, "%4g"));
  EXPECT_TRUE(M(*op, "%g4"));
  EXPECT_TRUE(M(*op, "a%%41"));
  EXPECT_TRUE(M(*op,
                "%\0"
                "0"s));
  EXPECT_FALSE(M(*op, "%00\0"s));
  EXPECT_TRUE(M(*op, std::string(1 << 20, 'a') + "%"));
}

TEST(ValidateUtf8EncodingTest, ValidText) {
  auto op = Make("validateUtf8Encoding");
  EXPECT_FALSE(M(*op, ""));
  EXPECT_FALSE(M(*op, "plain ascii \x7f"));
  EXPECT_FALSE(M(*op, "\0"s));
  EXPECT_FALSE(M(*op, "caf\xC3\xA9"));       // U+00E9
  EXPECT_FALSE(M(*op, "\xE2\x82\xAC"));      // U+20AC
  EXPECT_FALSE(M(*op, "\xF0\x9F\x98\x80"));  // U+1F600
  EXPECT_FALSE(M(*op, "\xF4\x8F\xBF\xBF"));  // U+10FFFF
  EXPECT_FALSE(M(*op, "\xEF\xBF\xBF"));      // U+FFFF
  EXPECT_FALSE(M(*op, "\xC2\x80"));          // U+0080
}

TEST(ValidateUtf8EncodingTest, InvalidSequences) {
  auto op = Make("validateUtf8Encoding");
  EXPECT_TRUE(M(*op, "\x80"));  // continuation byte as lead
  EXPECT_TRUE(M(*op, "abc\xBF"));
  EXPECT_TRUE(M(*op, "\xC3"));  // truncated
  EXPECT_TRUE(M(*op, "\xE2\x82"));
  EXPECT_TRUE(M(*op, "\xF0\x9F\x98"));
  EXPECT_TRUE(M(*op, "\xC3\x28"));  // bad continuation
  EXPECT_TRUE(M(*op, "\xE2\x28\xA1"));
  EXPECT_TRUE(M(*op, "\xF0\x9F\x28\x80"));
  EXPECT_TRUE(M(*op, "\xC0\xAF"));  // overlong '/'
  EXPECT_TRUE(M(*op, "\xC1\xBF"));
  EXPECT_TRUE(M(*op, "\xE0\x80\xAF"));
  EXPECT_TRUE(M(*op, "\xF0\x80\x80\xAF"));
  EXPECT_TRUE(M(*op, "\xED\xA0\x80"));          // surrogate U+D800
  EXPECT_TRUE(M(*op, "\xED\xBF\xBF"));          // U+DFFF
  EXPECT_TRUE(M(*op, "\xF5\x80\x80\x80"));      // lead byte out of range
  EXPECT_TRUE(M(*op, "\xF4\x90\x80\x80"));      // U+110000 (accepted by v3)
  EXPECT_TRUE(M(*op, "\xF8\x88\x80\x80\x80"));  // 5-byte form
  EXPECT_TRUE(M(*op, "\xFF"));
  EXPECT_TRUE(M(*op, std::string(1 << 20, 'a') + "\xC3"));
  EXPECT_TRUE(M(*op, "\xC3\xA9\0\xC3"s));
}

}  // namespace
}  // namespace rampart::waf
