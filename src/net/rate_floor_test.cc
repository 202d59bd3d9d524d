#include "net/rate_floor.h"

#include <gtest/gtest.h>

namespace rampart::net {
namespace {

using std::chrono::microseconds;
using std::chrono::milliseconds;
using std::chrono::seconds;

constexpr SteadyTime kT0{seconds(1000)};

TEST(RateFloor, OffLeavesTheTimeoutAlone) {
  RateFloor f;
  f.Reset(0, seconds(10));
  EXPECT_FALSE(f.on());
  f.Waited(kT0, kT0 + seconds(100), 1);
  EXPECT_EQ(f.Allowance(seconds(30)), seconds(30));
  EXPECT_FALSE(f.Binds(seconds(30)));
}

TEST(RateFloor, AFreshFloorGrantsOneWindow) {
  RateFloor f;
  f.Reset(512, seconds(10));
  EXPECT_EQ(f.Allowance(seconds(30)), seconds(10));
  EXPECT_TRUE(f.Binds(seconds(30)));
  EXPECT_EQ(f.Allowance(seconds(5)), seconds(5));  // a shorter timeout still wins
  EXPECT_FALSE(f.Binds(seconds(5)));
}

TEST(RateFloor, ATrickleRunsOutOfCredit) {
  // One byte every 2 s at a floor of 100 bytes/s: each wait costs 2 s and earns 10 ms.
  RateFloor f;
  f.Reset(100, seconds(10));
  SteadyTime t = kT0;
  int waits = 0;
  while (f.Allowance(seconds(30)) >= seconds(2)) {
    f.Waited(t, t + seconds(2), 1);
    t += seconds(2);
    ++waits;
  }
  EXPECT_EQ(waits, 5);  // 10 s of grace, 50 ms earned: the sixth wait is cut short
  EXPECT_LT(f.Allowance(seconds(30)), seconds(2));
  EXPECT_GT(f.Allowance(seconds(30)), microseconds::zero());
}

TEST(RateFloor, AClientAtTheFloorKeepsGoingForever) {
  RateFloor f;
  f.Reset(1000, seconds(10));
  SteadyTime t = kT0;
  for (int i = 0; i < 10'000; ++i) {  // 1,000 bytes a second, in 100 ms waits
    ASSERT_GE(f.Allowance(seconds(30)), milliseconds(100)) << i;
    f.Waited(t, t + milliseconds(100), 100);
    t += milliseconds(100);
  }
}

TEST(RateFloor, AWriteTakenWholeMayUseWhatItsBytesEarn) {
  // 16 KiB at a 512 B/s floor takes 32 s for a client exactly at the floor: more than the
  // window, but such a client is not below the floor.
  RateFloor f;
  f.Reset(512, seconds(10));
  EXPECT_EQ(f.Allowance(seconds(60), 16384), seconds(42));
  EXPECT_EQ(f.Allowance(seconds(30), 16384), seconds(30));  // the timeout still bounds it
}

TEST(RateFloor, AWaitReArmedCountsWhatItAlreadySpent) {
  RateFloor f;
  f.Reset(1000, seconds(10));
  EXPECT_EQ(f.Allowance(seconds(30), 0, seconds(4)), seconds(6));
  EXPECT_EQ(f.Allowance(seconds(30), 0, seconds(12)), microseconds::zero());
  f.Reset(0, seconds(10));
  EXPECT_EQ(f.Allowance(seconds(30), 0, seconds(12)), seconds(30));  // no floor: the timeout
}

TEST(RateFloor, CreditIsCappedAtTheWindow) {
  // A fast start cannot bank idle time: 10 MB earns at most the window.
  RateFloor f;
  f.Reset(1000, seconds(10));
  f.Earned(10'000'000);
  EXPECT_EQ(f.Allowance(seconds(30)), seconds(10));
  f.Waited(kT0, kT0 + seconds(10), 0);
  EXPECT_EQ(f.Allowance(seconds(30)), microseconds::zero());
}

TEST(RateFloor, TimeNotWaitedOnTheClientCostsNothing) {
  // Bytes that arrive while rampart waits on the origin only earn.
  RateFloor f;
  f.Reset(1000, seconds(10));
  f.Waited(kT0, kT0 + seconds(9), 0);
  EXPECT_EQ(f.Allowance(seconds(30)), seconds(1));
  f.Earned(5000);
  EXPECT_EQ(f.Allowance(seconds(30)), seconds(6));
}

TEST(RateFloor, ResetStartsAgain) {
  RateFloor f;
  f.Reset(1000, seconds(10));
  f.Waited(kT0, kT0 + seconds(20), 0);
  EXPECT_EQ(f.Allowance(seconds(30)), microseconds::zero());
  f.Reset(1000, seconds(4));
  EXPECT_EQ(f.Allowance(seconds(30)), seconds(4));
}

}  // namespace
}  // namespace rampart::net
