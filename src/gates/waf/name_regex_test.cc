#include "gates/waf/name_regex.h"

#include <gtest/gtest.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <string>
#include <vector>

namespace rampart::waf {
namespace {

std::shared_ptr<const NameRegex> Make(std::string_view p) {
  std::string error;
  auto r = NameRegex::Compile(p, error);
  EXPECT_NE(r, nullptr) << error;
  return r;
}

TEST(NameRegex, AnchoredWordsMatchPrefixesCaseInsensitively) {
  auto r = Make("^header_name_920450_");
  EXPECT_TRUE(r->Matches("header_name_920450_content-type"));
  EXPECT_TRUE(r->Matches("HEADER_NAME_920450_x"));
  EXPECT_TRUE(r->Matches("header_name_920450_"));
  EXPECT_FALSE(r->Matches("x_header_name_920450_"));
  EXPECT_FALSE(r->Matches("header_name_92045"));
}

TEST(NameRegex, UnanchoredWordsMatchAnywhere) {
  auto r = Make("__utm");
  EXPECT_TRUE(r->Matches("__utma"));
  EXPECT_TRUE(r->Matches("x__UTMz"));
  EXPECT_FALSE(r->Matches("_utm"));
  EXPECT_FALSE(r->Matches(""));
}

TEST(NameRegex, OtherPatternsAreRegularExpressions) {
  auto r = Make("^(?:id|uid)$");
  EXPECT_TRUE(r->Matches("ID"));
  EXPECT_FALSE(r->Matches("ids"));
  auto dot = Make("^a.c");
  EXPECT_TRUE(dot->Matches("abc"));
  EXPECT_FALSE(dot->Matches("a.b"));
}

TEST(NameRegex, TrailingStarsThatMayMatchNothingAreDropped) {
  auto any = Make("paramcounter_.*");
  EXPECT_TRUE(any->Matches("paramcounter_ARGS:x"));
  EXPECT_TRUE(any->Matches("x_paramcounter_"));
  EXPECT_FALSE(any->Matches("paramcounter"));
  auto underscores = Make("MULTIPART_HEADERS_CONTENT_TYPES_*");
  EXPECT_TRUE(underscores->Matches("multipart_headers_content_types"));
  EXPECT_TRUE(underscores->Matches("multipart_headers_content_types_x"));
  EXPECT_FALSE(underscores->Matches("multipart_headers_content_type"));
}

// Whatever form a selector takes (a word, a word with stars, a regex), its answer is PCRE2's for
// the same pattern with the same options.
TEST(NameRegex, AnswersAsPcre2Does) {
  const std::vector<std::string> patterns = {"^header_name_920450_",
                                             "__utm",
                                             "paramcounter_.*",
                                             "MULTIPART_HEADERS_CONTENT_TYPES_*",
                                             "^ab*",
                                             "ab.*c*",
                                             "a\\w*",
                                             "a\\.*",
                                             "^.*",
                                             ".*",
                                             "^a*",
                                             "ab$",
                                             "^ab.*$",
                                             "a.b*"};
  const std::vector<std::string> subjects = {"",
                                             "a",
                                             "ab",
                                             "abb",
                                             "abc",
                                             "a.",
                                             "a.b",
                                             "aw",
                                             "a\\w",
                                             "xab",
                                             "AB",
                                             "ab\n",
                                             "ba",
                                             "abcc",
                                             "header_name_920450_x",
                                             "x__UTMz",
                                             "__ut__utm",
                                             "_utm",
                                             "pparamcounter_",
                                             "xxPARAMCOUNTER_1",
                                             "paramcounte",
                                             "tx.paramcounter",
                                             "paramcounter_paramcounter_",
                                             "paramcounter_",
                                             "PARAMCOUNTER_ARGS",
                                             "multipart_headers_content_types",
                                             "multipart_headers_content_types___"};
  for (const auto& p : patterns) {
    auto r = Make(p);
    int code = 0;
    PCRE2_SIZE offset = 0;
    pcre2_code* re = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(p.data()), p.size(),
                                   PCRE2_CASELESS | PCRE2_DOTALL, &code, &offset, nullptr);
    ASSERT_NE(re, nullptr) << p;
    pcre2_match_data* md = pcre2_match_data_create(1, nullptr);
    for (const auto& s : subjects) {
      const bool want =
          pcre2_match(re, reinterpret_cast<PCRE2_SPTR>(s.data()), s.size(), 0, 0, md, nullptr) >= 0;
      EXPECT_EQ(r->Matches(s), want) << "/" << p << "/ on '" << s << "'";
    }
    pcre2_match_data_free(md);
    pcre2_code_free(re);
  }
}

}  // namespace
// A name an attacker makes of one byte repeated (920450 turns header names into TX names, which
// 922110 walks with TX:/MULTIPART_HEADERS_CONTENT_TYPES_*/): each place of the first byte is
// compared once, and the answer is PCRE2's.
TEST(NameRegex, LongRunsOfTheFirstByte) {
  const auto word = Make("MULTIPART_HEADERS_CONTENT_TYPES_*");
  ASSERT_NE(word, nullptr);
  const std::string name(200000, 'm');
  EXPECT_FALSE(word->Matches(name));
  EXPECT_TRUE(word->Matches(name + "ULTIPART_HEADERS_CONTENT_TYPES_x"));
  EXPECT_TRUE(word->Matches(std::string(100000, 'M') + "multipart_headers_content_types_"));
  EXPECT_FALSE(word->Matches(std::string(100000, 'M') + "multipart_headers_content_type"));
}

}  // namespace rampart::waf
