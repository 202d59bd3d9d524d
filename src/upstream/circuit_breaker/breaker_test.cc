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
  c.probe_timeout = seconds(20);
  return c;
}

// Admits a call (0 when refused) and returns its ticket.
std::uint64_t Go(Breaker& b, SteadyTime now) {
  Transition t;
  std::uint64_t ticket = 0;
  return b.Admit(now, t, ticket) ? ticket : 0;
}
bool Admit(Breaker& b, SteadyTime now) { return Go(b, now) != 0; }
// One whole call: admitted now, ended now.
Transition Call(Breaker& b, SteadyTime now, bool failure) {
  const std::uint64_t ticket = Go(b, now);
  EXPECT_NE(ticket, 0u) << "refused";
  return b.Record(now, ticket, failure);
}

TEST(Breaker, OpensAtTheFailureRateOnlyWithEnoughCalls) {
  Breaker b(Calls(10, 4, 0.5), 1);
  SteadyTime now{};
  EXPECT_FALSE(Call(b, now, true).changed);  // 1 of 1 failed, but 1 < minimum_calls
  EXPECT_FALSE(Call(b, now, true).changed);
  EXPECT_FALSE(Call(b, now, false).changed);
  const Transition t = Call(b, now, true);  // 3 of 4: over 50% with the minimum
  EXPECT_TRUE(t.changed);
  EXPECT_EQ(t.to, State::kOpen);
  EXPECT_FALSE(Admit(b, now));
}

TEST(Breaker, TheRateIsCheckedOnEveryCallNotOnlyOnFailures) {
  Breaker b(Calls(10, 4, 0.5), 1);
  SteadyTime now{};
  Call(b, now, true);
  Call(b, now, true);
  Call(b, now, false);
  EXPECT_TRUE(Call(b, now, false).changed);  // 2 of 4 once the minimum is there
}

TEST(Breaker, TheCallWindowForgetsOldCalls) {
  Breaker b(Calls(4, 4, 0.5), 1);
  SteadyTime now{};
  Call(b, now, true);
  for (int i = 0; i < 4; ++i) Call(b, now, false);  // the failure left the 4-call window
  EXPECT_FALSE(Call(b, now, true).changed);         // 1 of 4
  EXPECT_TRUE(Call(b, now, true).changed);          // 2 of 4
}

TEST(Breaker, TheTimeWindowForgetsOldCalls) {
  BreakerConfig c = Calls(0, 3, 0.5);
  c.window = BreakerConfig::Window::kTime;
  c.window_time = seconds(10);
  Breaker b(c, 1);
  SteadyTime now{};
  Call(b, now, true);
  Call(b, now, true);
  now += seconds(11);  // both left the window
  EXPECT_FALSE(Call(b, now, true).changed);
  EXPECT_EQ(b.Window(now), (std::pair<std::uint32_t, std::uint32_t>{1, 1}));
  EXPECT_FALSE(Call(b, now, false).changed);
  EXPECT_TRUE(Call(b, now + seconds(1), true).changed);  // 2 of 3 in the last 10 s
}

TEST(Breaker, ConsecutiveFailuresOpenItWhateverTheRate) {
  BreakerConfig c = Calls(100, 100, 1.0);
  c.consecutive_failures = 3;
  Breaker b(c, 1);
  SteadyTime now{};
  Call(b, now, true);
  Call(b, now, true);
  Call(b, now, false);  // the run is broken
  Call(b, now, true);
  Call(b, now, true);
  EXPECT_TRUE(Call(b, now, true).changed);
}

TEST(Breaker, HalfOpenAdmitsProbesThenClosesOrOpensLonger) {
  Breaker b(Calls(10, 1, 0.5), 1);
  SteadyTime now{};
  Call(b, now, true);
  EXPECT_EQ(b.state(), State::kOpen);
  EXPECT_FALSE(Admit(b, now + milliseconds(4999)));
  now += seconds(5);
  Transition t;
  std::uint64_t p1 = 0;
  EXPECT_TRUE(b.Admit(now, t, p1));  // open_for passed: half-open, first probe
  EXPECT_TRUE(t.changed);
  EXPECT_EQ(t.to, State::kHalfOpen);
  const std::uint64_t p2 = Go(b, now);  // second probe
  EXPECT_NE(p2, 0u);
  EXPECT_FALSE(Admit(b, now));  // no more than half_open_calls at once
  // A probe fails: open again, twice as long.
  EXPECT_EQ(b.Record(now, p1, true).to, State::kOpen);
  EXPECT_FALSE(b.Record(now, p2, false).changed);  // from the last period: decides nothing
  EXPECT_FALSE(Admit(b, now + milliseconds(9999)));
  now += seconds(10);
  const std::uint64_t q1 = Go(b, now);
  const std::uint64_t q2 = Go(b, now);
  EXPECT_FALSE(b.Record(now, q1, false).changed);
  const Transition closed = b.Record(now, q2, false);  // every probe succeeded
  EXPECT_TRUE(closed.changed);
  EXPECT_EQ(closed.to, State::kClosed);
  EXPECT_EQ(b.Window(now).first, 0u);  // the window starts empty
  // The next opening waits open_for again, not the longer wait.
  Call(b, now, true);
  EXPECT_TRUE(Admit(b, now + seconds(5)));
}

TEST(Breaker, CallsFromBeforeItOpenedDecideNothingLater) {
  Breaker b(Calls(10, 2, 0.5), 1);
  SteadyTime now{};
  const std::uint64_t slow = Go(b, now);  // admitted while closed, answers much later
  Call(b, now, true);
  Call(b, now, true);  // opens
  now += seconds(5);
  const std::uint64_t probe = Go(b, now);  // half-open
  ASSERT_NE(probe, 0u);
  EXPECT_FALSE(b.Record(now, slow, true).changed);   // its timeout does not reopen it
  EXPECT_FALSE(b.Record(now, slow, false).changed);  // nor does a success count as a probe
  EXPECT_EQ(b.state(), State::kHalfOpen);
}

TEST(Breaker, AReleasedProbeIsGivenBackAndLostOnesAfterTheProbeTimeout) {
  Breaker b(Calls(10, 1, 0.5), 1);
  SteadyTime now{};
  Call(b, now, true);
  now += seconds(5);
  const std::uint64_t p1 = Go(b, now);
  EXPECT_TRUE(Admit(b, now));
  EXPECT_FALSE(Admit(b, now));
  b.Release(p1);  // refused further on, or its client left: nothing learnt
  EXPECT_TRUE(Admit(b, now));
  EXPECT_FALSE(Admit(b, now + milliseconds(19999)));  // both still out
  EXPECT_TRUE(Admit(b, now + seconds(20)));           // taken as lost
}

TEST(Breaker, TheWaitGrowsNoFurtherThanItsMaximum) {
  Breaker b(Calls(10, 1, 0.5), 1);
  SteadyTime now{};
  Call(b, now, true);
  std::chrono::seconds wait(5);
  for (int i = 0; i < 5; ++i) {
    now += wait;
    const std::uint64_t p = Go(b, now);
    ASSERT_NE(p, 0u) << i;
    b.Record(now, p, true);
    wait = std::min(wait * 2, std::chrono::seconds(30));
  }
  EXPECT_FALSE(Admit(b, now + seconds(29)));
  EXPECT_TRUE(Admit(b, now + seconds(30)));
}

TEST(Breaker, JitterSpreadsTheWaitButNeverPastTheMaximum) {
  BreakerConfig c = Calls(10, 1, 0.5);
  c.jitter = 0.2;  // 4 s to 6 s
  int early = 0;
  for (std::uint64_t seed = 0; seed < 200; ++seed) {
    SteadyTime now{};
    Breaker a(c, seed);
    Call(a, now, true);
    EXPECT_FALSE(Admit(a, now + milliseconds(3999)));
    Breaker b(c, seed);
    Call(b, now, true);
    if (Admit(b, now + seconds(5))) ++early;
    Breaker z(c, seed);
    Call(z, now, true);
    EXPECT_TRUE(Admit(z, now + seconds(6)));
  }
  // Breakers opened together do not all probe at the same moment.
  EXPECT_GT(early, 40);
  EXPECT_LT(early, 160);
  c.open_for = c.open_for_max = seconds(30);
  c.jitter = 0.5;
  Breaker capped(c, 7);
  Call(capped, SteadyTime{}, true);
  EXPECT_TRUE(Admit(capped, SteadyTime{} + seconds(30)));
}

}  // namespace
}  // namespace rampart::upstream::breaker
