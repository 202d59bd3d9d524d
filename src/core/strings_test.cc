#include "core/strings.h"

#include <gtest/gtest.h>

#include <string>

#include "core/copy_lower.h"

namespace rampart {
namespace {

bool ReferenceIEquals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (AsciiLower(a[i]) != AsciiLower(b[i])) return false;
  }
  return true;
}

// Every pair of bytes, at every place of strings that take the eight-at-a-time path (and of
// shorter ones), answers as the one-byte-at-a-time comparison: only ASCII letters fold, so
// '@' / '`', '[' / '{', 0xC1 / 0xE1 and the like stay different.
TEST(IEquals, EveryBytePairAtEveryPlaceAnswersAsTheByteLoop) {
  const std::string base = "Cache-Control: x-Forwarded-9";
  for (const std::size_t len : {1u, 7u, 8u, 9u, 13u, 16u, 17u, 23u}) {
    const std::string a0 = base.substr(0, len);
    for (std::size_t pos = 0; pos < len; ++pos) {
      std::string a = a0;
      std::string b = a0;
      for (int x = 0; x < 256; ++x) {
        a[pos] = static_cast<char>(x);
        for (int y = 0; y < 256; ++y) {
          b[pos] = static_cast<char>(y);
          ASSERT_EQ(IEquals(a, b), ReferenceIEquals(a, b))
              << "length " << len << " place " << pos << " bytes " << x << " " << y;
        }
      }
    }
  }
}

TEST(IEquals, FoldsCaseAndComparesLengths) {
  EXPECT_TRUE(IEquals("Cache-Control", "cache-control"));
  EXPECT_TRUE(IEquals("TRANSFER-ENCODING", "transfer-encoding"));
  EXPECT_FALSE(IEquals("cache-control", "cache-controm"));
  EXPECT_FALSE(IEquals("xcache-control", "cache-control"));
  EXPECT_FALSE(IEquals("content-length", "content-lengtH "));
  EXPECT_TRUE(IEquals("", ""));
  static_assert(IEquals("Host-Header-Name", "host-header-name"));  // constant evaluation
  static_assert(!IEquals("Host-Header-Name", "host-header-nam_"));
}

// CopyLower writes what the byte loop writes, for every byte value at every place of names from
// 0 to 40 bytes (the eight-byte steps, the overlapping last step, the short path), and nothing
// past the end.
TEST(CopyLower, EveryByteAtEveryPlaceAsTheByteLoop) {
  for (std::size_t len = 0; len <= 40; ++len) {
    for (std::size_t at = 0; at < std::max<std::size_t>(len, 1); ++at) {
      for (int b = 0; b < 256; b += len ? 1 : 256) {
        std::string in(len, 'Q');
        if (len) in[at] = static_cast<char>(b);
        std::string out(len + 1, '#');
        CopyLower(out.data(), in);
        for (std::size_t i = 0; i < len; ++i) {
          ASSERT_EQ(out[i], AsciiLower(in[i])) << "length " << len << ", byte " << b;
        }
        ASSERT_EQ(out[len], '#');
      }
    }
  }
}

}  // namespace
}  // namespace rampart

namespace rampart {
namespace {

TEST(QueryNameIs, MatchesEverySpellingAFormDecoderReadsAsTheName) {
  EXPECT_TRUE(QueryNameIs("access_token", "access_token"));
  EXPECT_TRUE(QueryNameIs("access%5Ftoken", "access_token"));
  EXPECT_TRUE(QueryNameIs("%61ccess%5ftoken", "access_token"));
  EXPECT_TRUE(QueryNameIs("a+b", "a b"));
  EXPECT_FALSE(QueryNameIs("access_tokens", "access_token"));
  EXPECT_FALSE(QueryNameIs("access_toke", "access_token"));
  EXPECT_FALSE(QueryNameIs("Access_token", "access_token"));  // names are case-sensitive
  EXPECT_FALSE(QueryNameIs("access%5", "access_"));
  // A '%' not followed by two hex digits is itself.
  EXPECT_TRUE(QueryNameIs("a%zz", "a%zz"));
  EXPECT_TRUE(QueryNameIs("a%4", "a%4"));
  EXPECT_FALSE(QueryNameIs("", "a"));
  EXPECT_TRUE(QueryNameIs("", ""));
}

}  // namespace
}  // namespace rampart

namespace rampart {
namespace {

TEST(PercentDecode, ReadsAsAFormDecoderDoes) {
  std::string out;
  PercentDecode("b%6fb+smith%2B%zz%4", out);
  EXPECT_EQ(out, "bob smith+%zz%4");
  PercentDecode("", out);
  EXPECT_EQ(out, "");
  PercentDecode("%00%ff", out);
  EXPECT_EQ(out, std::string("\0\xff", 2));
}

}  // namespace
}  // namespace rampart
