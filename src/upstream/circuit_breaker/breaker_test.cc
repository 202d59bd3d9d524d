// The circuit breaker's state machine under a scripted clock.
#include "upstream/circuit_breaker/breaker.h"

#include <gtest/gtest.h>

namespace rampart::upstream::breaker {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

BreakerConfig Calls(std::uint32_t window, std::uint32_t minimum, double rate) {
  BreakerConfig c;
  c.window_calls = window;
  c.minimum_calls = minimum;
  c.failure_rate = rate;
  c.jitter = 0;
  c.open_for = seconds(5);
  c.open_for_max = seconds(30);
  c.half_open_calls = 2;
  return c;
}

bool Admit(Breaker& b, SteadyTime now) {
  Transition t;
  return b.Admit(now, t);
}

TEST(Breaker, OpensAtTheFailureRateOnlyWithEnoughCalls) {
  Breaker b(Calls(10, 4, 0.5), 1);
  SteadyTime now{};
  EXPECT_FALSE(b.Record(now, true).changed);  // 1 of 1 failed, but 1 < minimum_calls
  EXPECT_FALSE(b.Record(now, true).changed);
  EXPECT_FALSE(b.Record(now, false).changed);
  const Transition t = b.Record(now, true);  // 3 of 4: over 50% with the minimum
  EXPECT_TRUE(t.changed);
  EXPECT_EQ(t.to, State::kOpen);
  EXPECT_FALSE(Admit(b, now));
}

TEST(Breaker, TheCallWindowForgetsOldCalls) {
  Breaker b(Calls(4, 4, 0.5), 1);
  SteadyTime now{};
  b.Record(now, true);
  for (int i = 0; i < 4; ++i) b.Record(now, false);  // the failure left the 4-call window
  EXPECT_FALSE(b.Record(now, true).changed);         // 1 of 4
  EXPECT_TRUE(b.Record(now, true).changed);          // 2 of 4
}

TEST(Breaker, TheTimeWindowForgetsOldCalls) {
  BreakerConfig c = Calls(0, 3, 0.5);
  c.window = BreakerConfig::Window::kTime;
  c.window_time = seconds(10);
  Breaker b(c, 1);
  SteadyTime now{};
  b.Record(now, true);
  b.Record(now, true);
  now += seconds(11);  // both left the window
  EXPECT_FALSE(b.Record(now, true).changed);
  EXPECT_EQ(b.Window(now), (std::pair<std::uint32_t, std::uint32_t>{1, 1}));
  EXPECT_FALSE(b.Record(now, false).changed);
  EXPECT_TRUE(b.Record(now + seconds(1), true).changed);  // 2 of 3 in the last 10 s
}

TEST(Breaker, ConsecutiveFailuresOpenItWhateverTheRate) {
  BreakerConfig c = Calls(100, 100, 1.0);
  c.consecutive_failures = 3;
  Breaker b(c, 1);
  SteadyTime now{};
  b.Record(now, true);
  b.Record(now, true);
  b.Record(now, false);  // the run is broken
  b.Record(now, true);
  b.Record(now, true);
  EXPECT_TRUE(b.Record(now, true).changed);
}

TEST(Breaker, HalfOpenAdmitsProbesThenClosesOrOpensLonger) {
  Breaker b(Calls(10, 1, 0.5), 1);
  SteadyTime now{};
  b.Record(now, true);
  EXPECT_EQ(b.state(), State::kOpen);
  EXPECT_FALSE(Admit(b, now + milliseconds(4999)));
  now += seconds(5);
  Transition t;
  EXPECT_TRUE(b.Admit(now, t));  // open_for passed: half-open, first probe
  EXPECT_TRUE(t.changed);
  EXPECT_EQ(t.to, State::kHalfOpen);
  EXPECT_TRUE(Admit(b, now));   // second probe
  EXPECT_FALSE(Admit(b, now));  // no more than half_open_calls at once
  // A probe fails: open again, twice as long.
  EXPECT_EQ(b.Record(now, true).to, State::kOpen);
  EXPECT_FALSE(Admit(b, now + milliseconds(9999)));
  now += seconds(10);
  EXPECT_TRUE(Admit(b, now));
  EXPECT_TRUE(Admit(b, now));
  EXPECT_FALSE(b.Record(now, false).changed);
  const Transition closed = b.Record(now, false);  // every probe succeeded
  EXPECT_TRUE(closed.changed);
  EXPECT_EQ(closed.to, State::kClosed);
  EXPECT_EQ(b.Window(now).first, 0u);  // the window starts empty
  // The next opening waits open_for again, not the longer wait.
  b.Record(now, true);
  EXPECT_TRUE(Admit(b, now + seconds(5)));
}

TEST(Breaker, TheWaitGrowsNoFurtherThanItsMaximum) {
  Breaker b(Calls(10, 1, 0.5), 1);
  SteadyTime now{};
  b.Record(now, true);
  std::chrono::seconds wait(5);
  for (int i = 0; i < 5; ++i) {
    now += wait;
    ASSERT_TRUE(Admit(b, now)) << i;
    b.Record(now, true);
    wait = std::min(wait * 2, std::chrono::seconds(30));
  }
  EXPECT_FALSE(Admit(b, now + seconds(29)));
  EXPECT_TRUE(Admit(b, now + seconds(30)));
}

TEST(Breaker, JitterSpreadsTheWait) {
  BreakerConfig c = Calls(10, 1, 0.5);
  c.jitter = 0.2;  // 4 s to 6 s
  int early = 0;
  for (std::uint64_t seed = 0; seed < 200; ++seed) {
    SteadyTime now{};
    Breaker a(c, seed);
    a.Record(now, true);
    EXPECT_FALSE(Admit(a, now + milliseconds(3999)));
    Breaker b(c, seed);
    b.Record(now, true);
    if (Admit(b, now + seconds(5))) ++early;
    Breaker z(c, seed);
    z.Record(now, true);
    EXPECT_TRUE(Admit(z, now + seconds(6)));
  }
  // Breakers opened together do not all probe at the same moment.
  EXPECT_GT(early, 40);
  EXPECT_LT(early, 160);
}

TEST(Breaker, ProbesThatNeverReportAreGivenBack) {
  Breaker b(Calls(10, 1, 0.5), 1);
  SteadyTime now{};
  b.Record(now, true);
  now += seconds(5);
  EXPECT_TRUE(Admit(b, now));
  EXPECT_TRUE(Admit(b, now));
  EXPECT_FALSE(Admit(b, now + milliseconds(4999)));  // both probes still out
  EXPECT_TRUE(Admit(b, now + seconds(5)));           // lost: new probes may go
}

TEST(Breaker, CallsEndingWhileOpenDecideNothing) {
  Breaker b(Calls(10, 1, 0.5), 1);
  SteadyTime now{};
  b.Record(now, true);
  EXPECT_FALSE(b.Record(now, false).changed);
  EXPECT_EQ(b.state(), State::kOpen);
}

}  // namespace
}  // namespace rampart::upstream::breaker
