#include "upstream/endpoint_mask.h"

#include <gtest/gtest.h>

namespace rampart::upstream {
namespace {

TEST(EndpointMask, UpToSixtyFourEndpointsAllOrNone) {
  for (std::size_t n : {std::size_t{1}, std::size_t{5}, std::size_t{63}, std::size_t{64}}) {
    EndpointMask all(n), none(n, false);
    EXPECT_EQ(all.count(), n) << n;
    EXPECT_TRUE(all.all()) << n;
    EXPECT_TRUE(none.none()) << n;
    all.reset(n - 1);
    EXPECT_FALSE(all.test(n - 1)) << n;
    EXPECT_EQ(all.count(), n - 1) << n;
  }
}

TEST(EndpointMask, MoreThanSixtyFourEndpoints) {
  for (std::size_t n : {std::size_t{65}, std::size_t{128}, std::size_t{200}}) {
    EndpointMask all(n), none(n, false);
    EXPECT_EQ(all.count(), n) << n;
    EXPECT_TRUE(all.test(n - 1)) << n;
    EXPECT_TRUE(none.none()) << n;
    EXPECT_FALSE(none.test(n - 1)) << n;
    all.reset(64);
    EXPECT_FALSE(all.test(64)) << n;
    EXPECT_EQ(all.count(), n - 1) << n;
    EXPECT_EQ(all.nth(63), 63u) << n;
    if (n > 65) {
      EXPECT_EQ(all.nth(64), 65u) << n;  // the 65th allowed, once 64 is out
    }
  }
}

}  // namespace
}  // namespace rampart::upstream
