#include "server/poll_window.h"

#include <gtest/gtest.h>

namespace rampart::server {
namespace {

using std::chrono::microseconds;

TEST(PollWindowTest, StartsClosedAndOpensAfterShortIdleSpells) {
  PollWindow w(microseconds(30));
  EXPECT_EQ(w.window(), microseconds(0));
  w.Idled(microseconds(5));  // a short sleep: polling would have caught it
  EXPECT_EQ(w.window(), PollWindow::kGrowStart);
  w.Idled(microseconds(12));
  EXPECT_EQ(w.window(), microseconds(20));
  w.Idled(microseconds(25));
  EXPECT_EQ(w.window(), microseconds(30));  // doubling stops at the bound
  w.Idled(microseconds(29));
  EXPECT_EQ(w.window(), microseconds(30));
}

TEST(PollWindowTest, SpellsWithinTheWindowLeaveItAlone) {
  PollWindow w(microseconds(30));
  w.Idled(microseconds(8));
  w.Idled(microseconds(15));
  ASSERT_EQ(w.window(), microseconds(20));
  w.Idled(microseconds(3));  // polling caught it: the window was long enough
  EXPECT_EQ(w.window(), microseconds(20));
}

TEST(PollWindowTest, LongIdleSpellsCloseIt) {
  PollWindow w(microseconds(40));
  for (int i = 0; i < 4; ++i) w.Idled(microseconds(39));
  ASSERT_EQ(w.window(), microseconds(40));
  w.Idled(microseconds(41));  // longer than the bound: polling would have been wasted
  EXPECT_EQ(w.window(), microseconds(20));
  w.Idled(std::chrono::milliseconds(100));
  EXPECT_EQ(w.window(), microseconds(10));
  w.Idled(std::chrono::milliseconds(100));  // below kGrowStart: off
  EXPECT_EQ(w.window(), microseconds(0));
  w.Idled(std::chrono::milliseconds(100));
  EXPECT_EQ(w.window(), microseconds(0));
}

TEST(PollWindowTest, ZeroBoundNeverPolls) {
  PollWindow w(microseconds(0));
  w.Idled(microseconds(0));
  w.Idled(microseconds(1));
  EXPECT_EQ(w.window(), microseconds(0));
}

TEST(PollWindowTest, BoundBelowGrowStartCapsTheWindow) {
  PollWindow w(microseconds(4));
  w.Idled(microseconds(2));
  EXPECT_EQ(w.window(), microseconds(4));
}

}  // namespace
}  // namespace rampart::server
