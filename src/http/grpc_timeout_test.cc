#include "http/grpc_timeout.h"

#include <gtest/gtest.h>

namespace rampart::http {
namespace {

using std::chrono::microseconds;

TEST(GrpcTimeout, EveryUnit) {
  microseconds t{};
  ASSERT_TRUE(ParseGrpcTimeout("2H", t));
  EXPECT_EQ(t, std::chrono::hours(2));
  ASSERT_TRUE(ParseGrpcTimeout("3M", t));
  EXPECT_EQ(t, std::chrono::minutes(3));
  ASSERT_TRUE(ParseGrpcTimeout("10S", t));
  EXPECT_EQ(t, std::chrono::seconds(10));
  ASSERT_TRUE(ParseGrpcTimeout("250m", t));
  EXPECT_EQ(t, std::chrono::milliseconds(250));
  ASSERT_TRUE(ParseGrpcTimeout("1500u", t));
  EXPECT_EQ(t, microseconds(1500));
  ASSERT_TRUE(ParseGrpcTimeout("99999999n", t));
  EXPECT_EQ(t, microseconds(99'999));
  ASSERT_TRUE(ParseGrpcTimeout("99999999H", t));  // the largest: no overflow
  EXPECT_EQ(t, std::chrono::hours(99'999'999));
}

TEST(GrpcTimeout, RefusesWhatTheSpecDoesNotAllow) {
  microseconds t{};
  for (std::string_view bad :
       {"", "S", "10", "10s", "-1S", "1 S", "123456789S", "1.5S", "10SS", "0x10S"}) {
    EXPECT_FALSE(ParseGrpcTimeout(bad, t)) << bad;
  }
}

}  // namespace
}  // namespace rampart::http
