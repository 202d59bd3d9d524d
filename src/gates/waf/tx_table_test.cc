// TX's table: names found, made, removed and set again, in the order first set, through growth.
#include "gates/waf/tx_table.h"

#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

namespace rampart::waf {
namespace {

std::vector<std::pair<std::string, std::string>> All(const TxTable& t) {
  std::vector<std::pair<std::string, std::string>> out;
  t.ForEach([&](std::string_view k, std::string_view v) { out.emplace_back(k, v); });
  return out;
}

TEST(TxTable, SetFindAndRemove) {
  std::pmr::monotonic_buffer_resource arena;
  TxTable t(&arena, 4);
  EXPECT_EQ(t.Find("score"), nullptr);
  t.Slot("score").assign("5");
  t.Slot("paranoia_level").assign("1");
  ASSERT_NE(t.Find("score"), nullptr);
  EXPECT_EQ(*t.Find("score"), "5");
  EXPECT_EQ(t.Slot("score"), "5");  // an existing name keeps its value
  EXPECT_EQ(t.size(), 2u);
  EXPECT_TRUE(t.Erase("score"));
  EXPECT_FALSE(t.Erase("score"));
  EXPECT_EQ(t.Find("score"), nullptr);
  EXPECT_EQ(t.size(), 1u);
  // Set again, it comes back empty, in its first place.
  EXPECT_EQ(t.Slot("score"), "");
  t.Slot("score").assign("7");
  EXPECT_EQ(All(t), (std::vector<std::pair<std::string, std::string>>{{"score", "7"},
                                                                      {"paranoia_level", "1"}}));
}

TEST(TxTable, ThousandsOfNamesThroughGrowth) {
  std::pmr::monotonic_buffer_resource arena;
  TxTable t(&arena, 2);
  for (int i = 0; i < 5000; ++i)
    t.Slot("header_name_920450_x-" + std::to_string(i)) = std::to_string(i);
  for (int i = 0; i < 5000; i += 2)
    EXPECT_TRUE(t.Erase("header_name_920450_x-" + std::to_string(i)));
  EXPECT_EQ(t.size(), 2500u);
  for (int i = 0; i < 5000; ++i) {
    const std::pmr::string* v = t.Find("header_name_920450_x-" + std::to_string(i));
    if (i % 2 == 0) {
      EXPECT_EQ(v, nullptr) << i;
    } else {
      ASSERT_NE(v, nullptr) << i;
      EXPECT_EQ(std::string_view(*v), std::to_string(i));
    }
  }
  const auto all = All(t);
  ASSERT_EQ(all.size(), 2500u);
  EXPECT_EQ(all.front().first, "header_name_920450_x-1");  // the order first set
  EXPECT_EQ(all.back().first, "header_name_920450_x-4999");
  // Names that differ only in length or a zero byte are different names.
  t.Slot(std::string_view("a\0", 2)) = "two";
  t.Slot("a") = "one";
  EXPECT_EQ(*t.Find(std::string_view("a\0", 2)), "two");
  EXPECT_EQ(*t.Find("a"), "one");
  EXPECT_EQ(t.Find(""), nullptr);
}

}  // namespace
}  // namespace rampart::waf
