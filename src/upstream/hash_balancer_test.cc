// Consistent hashing: stable, weighted, and moving few keys when an endpoint leaves.
#include "upstream/hash_balancer.h"

#include <gtest/gtest.h>

#include <string>

namespace rampart::upstream {
namespace {

std::vector<std::string> Names(std::size_t n) {
  std::vector<std::string> out;
  for (std::size_t i = 0; i < n; ++i) out.push_back("10.0.0." + std::to_string(i + 1) + ":8080");
  return out;
}

std::vector<std::string_view> Views(const std::vector<std::string>& names) {
  return {names.begin(), names.end()};
}

// The share of `keys` whose endpoint (by name) changes when endpoint `removed` of ten leaves.
double Moved(HashBalancer::Kind kind, std::size_t removed, std::size_t keys) {
  auto names = Names(10);
  HashBalancer before(kind, Views(names), std::vector<std::uint32_t>(10, 1));
  auto fewer = names;
  fewer.erase(fewer.begin() + static_cast<long>(removed));
  HashBalancer after(kind, Views(fewer), std::vector<std::uint32_t>(9, 1));
  std::size_t moved = 0;
  for (std::size_t k = 0; k < keys; ++k) {
    const std::uint64_t h = HashBalancer::Hash("user-" + std::to_string(k));
    const auto& a = names[before.Pick(h, EndpointMask(10))];
    const auto& b = fewer[after.Pick(h, EndpointMask(9))];
    moved += a != b;
  }
  return static_cast<double>(moved) / static_cast<double>(keys);
}

TEST(HashBalancer, RemovingOneOfTenMovesAboutATenthOfTheKeys) {
  // Ideal: exactly the removed endpoint's keys, 10%.
  for (auto kind : {HashBalancer::Kind::kRing, HashBalancer::Kind::kMaglev}) {
    const double moved = Moved(kind, 3, 100'000);
    std::printf("[ figures  ] %s: %.2f%% of keys moved when one of ten endpoints left\n",
                kind == HashBalancer::Kind::kRing ? "ring" : "maglev", moved * 100);
    EXPECT_GT(moved, 0.07);
    EXPECT_LT(moved, 0.14);
  }
}

TEST(HashBalancer, SpreadsKeysByWeight) {
  auto names = Names(3);
  for (auto kind : {HashBalancer::Kind::kRing, HashBalancer::Kind::kMaglev}) {
    HashBalancer b(kind, Views(names), {1, 2, 1});
    std::vector<int> count(3, 0);
    for (int k = 0; k < 40'000; ++k)
      ++count[b.Pick(HashBalancer::Hash(std::to_string(k)), EndpointMask(3))];
    EXPECT_NEAR(count[1] / 40'000.0, 0.5, 0.05);
    EXPECT_NEAR(count[0] / 40'000.0, 0.25, 0.05);
  }
}

TEST(HashBalancer, AnUnavailableEndpointsKeysGoElsewhereAndOnlyThose) {
  auto names = Names(5);
  for (auto kind : {HashBalancer::Kind::kRing, HashBalancer::Kind::kMaglev}) {
    HashBalancer b(kind, Views(names), std::vector<std::uint32_t>(5, 1));
    EndpointMask all(5), some(5);
    some.reset(2);
    for (int k = 0; k < 5'000; ++k) {
      const auto h = HashBalancer::Hash("k" + std::to_string(k));
      const std::size_t first = b.Pick(h, all);
      const std::size_t second = b.Pick(h, some);
      EXPECT_NE(second, 2u);
      if (first != 2) {
        EXPECT_EQ(first, second);  // keys of the others stay
      }
      EXPECT_EQ(first, b.Pick(h, all));  // stable
    }
    EXPECT_EQ(b.Pick(1, EndpointMask(5, false)), HashBalancer::kNone);
  }
}

}  // namespace
}  // namespace rampart::upstream
