#include "gates/waf/name_regex.h"

#include <gtest/gtest.h>

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

}  // namespace
}  // namespace rampart::waf
