#include "gates/waf/urlencoded.h"

#include <gtest/gtest.h>

namespace rampart::waf {
namespace {

std::vector<Arg> Parse(std::string_view text, int* invalid = nullptr, char sep = '&') {
  std::vector<Arg> out;
  ParseUrlEncoded(text, sep, out, invalid);
  return out;
}

TEST(UrlEncodedTest, SplitsNameValuePairs) {
  EXPECT_EQ(Parse("a=1&b=2"), (std::vector<Arg>{{"a", "1"}, {"b", "2"}}));
}

TEST(UrlEncodedTest, SplitsAtFirstEqualsOnly) {
  EXPECT_EQ(Parse("a=b=c"), (std::vector<Arg>{{"a", "b=c"}}));
  EXPECT_EQ(Parse("=v"), (std::vector<Arg>{{"", "v"}}));
  EXPECT_EQ(Parse("="), (std::vector<Arg>{{"", ""}}));
}

TEST(UrlEncodedTest, PartWithoutEqualsHasEmptyValue) {
  EXPECT_EQ(Parse("flag&x=1"), (std::vector<Arg>{{"flag", ""}, {"x", "1"}}));
  EXPECT_EQ(Parse("key=value&secondkey=&key3=val3"),
            (std::vector<Arg>{{"key", "value"}, {"secondkey", ""}, {"key3", "val3"}}));
}

// v3's getline-based split: inner and leading empty parts become empty args; one trailing empty
// part is dropped.
TEST(UrlEncodedTest, EmptyPartsFollowV3) {
  EXPECT_TRUE(Parse("").empty());
  EXPECT_EQ(Parse("a=1&"), (std::vector<Arg>{{"a", "1"}}));
  EXPECT_EQ(Parse("a=1&&"), (std::vector<Arg>{{"a", "1"}, {"", ""}}));
  EXPECT_EQ(Parse("a&&b"), (std::vector<Arg>{{"a", ""}, {"", ""}, {"b", ""}}));
  EXPECT_EQ(Parse("&a"), (std::vector<Arg>{{"", ""}, {"a", ""}}));
  EXPECT_EQ(Parse("&"), (std::vector<Arg>{{"", ""}}));
}

TEST(UrlEncodedTest, DecodesPercentAndPlus) {
  EXPECT_EQ(Parse("na%6De=a+b%20c%2B"), (std::vector<Arg>{{"name", "a b c+"}}));
  EXPECT_EQ(Parse("a=%EC%A7%84%20%EB%A7%88"),
            (std::vector<Arg>{{"a", "\xEC\xA7\x84 \xEB\xA7\x88"}}));
  // Decoding happens after splitting: encoded separators stay inside the value.
  EXPECT_EQ(Parse("a=1%262%3D3"), (std::vector<Arg>{{"a", "1&2=3"}}));
}

TEST(UrlEncodedTest, DecodesNulBytes) {
  const auto args = Parse("a%00b=c%00");
  ASSERT_EQ(args.size(), 1u);
  EXPECT_EQ(args[0].name, std::string("a\0b", 3));
  EXPECT_EQ(args[0].value, std::string("c\0", 2));
}

TEST(UrlEncodedTest, InvalidEscapesKeptLiterallyAndCounted) {
  int invalid = 0;
  EXPECT_EQ(Parse("key=value&key=other_value%2", &invalid),
            (std::vector<Arg>{{"key", "value"}, {"key", "other_value%2"}}));
  EXPECT_EQ(invalid, 1);

  invalid = 0;
  EXPECT_EQ(Parse("param1=value12%&param2=value2%2", &invalid),
            (std::vector<Arg>{{"param1", "value12%"}, {"param2", "value2%2"}}));
  EXPECT_EQ(invalid, 2);

  invalid = 0;
  EXPECT_EQ(Parse("z=%A%AC%zz%", &invalid), (std::vector<Arg>{{"z", "%A\xAC%zz%"}}));
  EXPECT_EQ(invalid, 3);

  invalid = 0;
  Parse("a=b%2a&c=%41", &invalid);
  EXPECT_EQ(invalid, 0);
}

// v3 forgets an invalid escape in a name once the value is decoded; we count it.
TEST(UrlEncodedTest, InvalidEscapeInNameIsCounted) {
  int invalid = 0;
  EXPECT_EQ(Parse("a%g=1", &invalid), (std::vector<Arg>{{"a%g", "1"}}));
  EXPECT_EQ(invalid, 1);
}

TEST(UrlEncodedTest, CountAccumulatesAcrossCalls) {
  int invalid = 0;
  Parse("a=%", &invalid);
  Parse("b=%", &invalid);
  EXPECT_EQ(invalid, 2);
}

TEST(UrlEncodedTest, CustomSeparator) {
  EXPECT_EQ(Parse("a=1;b=2&c", nullptr, ';'), (std::vector<Arg>{{"a", "1"}, {"b", "2&c"}}));
}

TEST(UrlEncodedTest, RawBytesPassThrough) {
  EXPECT_EQ(Parse("z=\xEC\xA7\x84 \xEB"), (std::vector<Arg>{{"z", "\xEC\xA7\x84 \xEB"}}));
}

TEST(UrlEncodedTest, ManyPartsLinear) {
  std::string text;
  for (int i = 0; i < 100000; ++i) text += "a=%41&";
  int invalid = 0;
  const auto args = Parse(text, &invalid);
  EXPECT_EQ(args.size(), 100000u);
  EXPECT_EQ(args.back(), (Arg{"a", "A"}));
  EXPECT_EQ(invalid, 0);
}

TEST(UrlEncodedTest, UrlDecodeForm) {
  int invalid = 0;
  EXPECT_EQ(UrlDecodeForm("%3Cscript%3E+x%", &invalid), "<script> x%");
  EXPECT_EQ(invalid, 1);
  EXPECT_EQ(UrlDecodeForm(""), "");
}

}  // namespace
}  // namespace rampart::waf
