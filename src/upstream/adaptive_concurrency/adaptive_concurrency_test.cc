#include <gtest/gtest.h>

#include <cmath>

#include "upstream/adaptive_concurrency/adaptive_concurrency_policy.h"
#include "upstream/adaptive_concurrency/gradient.h"
#include "upstream/upstream_spec.h"

namespace rampart::upstream::adaptive {
namespace {

using namespace std::chrono_literals;
using us = std::chrono::microseconds;

GradientConfig Config() {
  GradientConfig c;
  c.min_limit = 2;
  c.max_limit = 500;
  c.initial_limit = 20;
  c.interval = 100ms;
  c.percentile = 0.9;
  c.buffer = 0.1;
  c.min_rtt_interval = 30s;
  c.min_rtt_samples = 10;
  return c;
}

// Feeds `n` samples of `rtt` spread over one interval, then one that closes it.
void Interval(GradientController& g, SteadyTime& now, us rtt, std::uint32_t in_flight, int n = 20) {
  for (int i = 0; i < n; ++i) {
    now += 100ms / n;
    g.Sample(rtt, in_flight, now);
  }
  now += 1ms;
  g.Sample(rtt, in_flight, now);
}

TEST(GradientController, CalibratesMinRttAtTheFloorThenStartsFromTheInitialLimit) {
  SteadyTime now{};
  GradientController g(Config(), now);
  EXPECT_TRUE(g.calibrating());
  EXPECT_EQ(g.limit(), 2u);
  for (int i = 0; i < 9; ++i) g.Sample(us(1000 + i), 2, now += 1ms);
  EXPECT_TRUE(g.calibrating());
  g.Sample(us(5000), 2, now += 1ms);  // the tenth: p90 of 1000..1008 and 5000
  EXPECT_FALSE(g.calibrating());
  EXPECT_EQ(g.min_rtt(), us(1008));
  EXPECT_EQ(g.limit(), 20u);
}

void Calibrate(GradientController& g, SteadyTime& now, us rtt = us(1000)) {
  for (int i = 0; i < 10; ++i) g.Sample(rtt, 2, now += 1ms);
}

TEST(GradientController, LatencyAtTheFloorGrowsTheLimitWhenDemandReachesIt) {
  SteadyTime now{};
  GradientController g(Config(), now);
  Calibrate(g, now);
  Interval(g, now, us(1000), 20);
  // gradient 1.1 (buffer): 20 * 1.1 + sqrt(22) = 26.7
  EXPECT_EQ(g.limit(), 27u);
  // Demand far below the limit: it does not grow (the first interval still saw the 20).
  Interval(g, now, us(1000), 3);
  const auto before = g.limit();
  Interval(g, now, us(1000), 3);
  Interval(g, now, us(1000), 3);
  EXPECT_EQ(g.limit(), before);
}

TEST(GradientController, QueueingShrinksTheLimitAtMostByHalfAndNeverBelowTheFloor) {
  SteadyTime now{};
  GradientController g(Config(), now);
  Calibrate(g, now);
  Interval(g, now, us(2200), 20);  // gradient 0.5: 20*0.5 + sqrt(10) = 13.2
  EXPECT_EQ(g.limit(), 13u);
  Interval(g, now, us(100'000), 13);  // clamped at 0.5
  EXPECT_EQ(g.limit(), 9u);           // 6.6 + 2.57
  for (int i = 0; i < 20; ++i) Interval(g, now, us(100'000), 9);
  EXPECT_GE(g.limit(), 2u);
  EXPECT_LE(g.limit(), 4u);  // the floor, plus the headroom it keeps
}

TEST(GradientController, RecalibratesAfterTheMinRttInterval) {
  SteadyTime now{};
  GradientController g(Config(), now);
  Calibrate(g, now);
  for (int i = 0; i < 310 && !g.calibrating(); ++i) Interval(g, now, us(1000), 400);
  EXPECT_TRUE(g.calibrating());
  EXPECT_EQ(g.limit(), 2u);
  for (int i = 0; i < 10; ++i) g.Sample(us(3000), 2, now += 1ms);  // the upstream got slower
  EXPECT_FALSE(g.calibrating());
  EXPECT_EQ(g.min_rtt(), us(3000));
  EXPECT_GT(g.limit(), 2u);  // back to what it had learned
}

// An origin that serves `capacity` requests at once in `service` each and queues the rest; the
// edge keeps the upstream saturated (a botnet): in flight = the limit. The limit must settle
// near the capacity, where latency stays close to the unloaded value.
TEST(GradientController, ConvergesNearAnOriginsCapacityUnderUnboundedDemand) {
  for (const std::uint32_t capacity : {8u, 32u, 128u}) {
    SteadyTime now{};
    GradientConfig c = Config();
    c.initial_limit = 400;
    c.min_rtt_interval = std::chrono::hours(1);
    GradientController g(c, now);
    const us service(2000);
    for (int i = 0; i < 10; ++i) g.Sample(service, 2, now += 1ms);
    double worst_ratio = 0;
    for (int i = 0; i < 200; ++i) {
      const std::uint32_t in_flight = g.limit();
      const double queueing = std::max(1.0, static_cast<double>(in_flight) / capacity);
      const us rtt(static_cast<std::int64_t>(service.count() * queueing));
      Interval(g, now, rtt, in_flight);
      if (i >= 100) worst_ratio = std::max(worst_ratio, static_cast<double>(g.limit()) / capacity);
    }
    EXPECT_GT(g.limit(), capacity * 0.7) << capacity;
    // Above the capacity by the buffer and the square-root headroom only: latency within 2x.
    EXPECT_LT(worst_ratio, 1.1 + 2.0 / std::sqrt(capacity)) << capacity;
  }
}

TEST(AdaptiveConcurrencyPolicy, PrioritiesShedBulkFirstAndKeepAReserveForCritical) {
  AdaptiveConfig c;
  c.critical_reserve = 20;
  c.bulk_share = 50;
  EXPECT_EQ(AdaptiveConcurrencyPolicy::Allowed(100, Priority::kCritical, c), 100);
  EXPECT_EQ(AdaptiveConcurrencyPolicy::Allowed(100, Priority::kNormal, c), 80);
  EXPECT_EQ(AdaptiveConcurrencyPolicy::Allowed(100, Priority::kBulk, c), 50);
  EXPECT_EQ(AdaptiveConcurrencyPolicy::Allowed(1, Priority::kBulk, c), 1);
  c.bulk_share = 100;  // bulk never takes the critical reserve
  EXPECT_EQ(AdaptiveConcurrencyPolicy::Allowed(100, Priority::kBulk, c), 80);
}

struct Exchange {
  UpstreamSpec up;
  std::string route;
  std::uint64_t ticket = 0, word = 0;
  std::chrono::microseconds delay{};
  AttemptInfo Info() { return {up, 0, 0, 0, true, "GET", route, true, &ticket, &word, {}, &delay}; }
};

TEST(AdaptiveConcurrencyPolicy, AdmitsUpToTheLimitAndGivesPlacesBackOnce) {
  AdaptiveConfig c;
  c.min_limit = 4;
  c.initial_limit = 4;
  c.critical_reserve = 50;
  c.priorities = {{"pay", Priority::kCritical}};
  SteadyTime now{};
  auto state = std::make_shared<AdaptiveState>(c.Gradient(), now);  // calibrating: limit 4
  AdaptiveConcurrencyPolicy p(c, state, {}, [&] { return now; });
  std::vector<Exchange> other(3), pay(3);
  for (auto& x : other) x.route = "other";
  for (auto& x : pay) x.route = "pay";
  EXPECT_EQ(p.Before(other[0].Info()), Verdict::kContinue);
  EXPECT_EQ(p.Before(other[1].Info()), Verdict::kContinue);
  EXPECT_EQ(p.Before(other[2].Info()), Verdict::kRefuse);  // normal: 50% of 4
  EXPECT_EQ(p.Before(pay[0].Info()), Verdict::kContinue);  // critical: the reserve
  EXPECT_EQ(p.Before(pay[1].Info()), Verdict::kContinue);
  EXPECT_EQ(p.Before(pay[2].Info()), Verdict::kRefuse);
  EXPECT_EQ(state->in_flight.load(), 4);
  EXPECT_EQ(p.Before(other[0].Info()), Verdict::kContinue);  // a retry keeps its place
  EXPECT_EQ(state->in_flight.load(), 4);
  p.Ended(other[0].Info(), {});
  p.Ended(other[0].Info(), {});  // once only
  EXPECT_EQ(state->in_flight.load(), 3);
  EXPECT_EQ(p.Before(other[2].Info()), Verdict::kRefuse);  // normal: still 2 or more
  EXPECT_EQ(p.Before(pay[2].Info()), Verdict::kContinue);
}

TEST(AdaptiveConcurrencyPolicy, LearnsFromHeadsBelow500Only) {
  AdaptiveConfig c;
  c.min_rtt_samples = 3;
  SteadyTime now{};
  auto state = std::make_shared<AdaptiveState>(c.Gradient(), now);
  AdaptiveConcurrencyPolicy p(c, state, {}, [&] { return now; });
  Exchange x;
  AttemptOutcome fast503;
  fast503.status = 503;
  fast503.latency = us(10);
  for (int i = 0; i < 5; ++i) p.After(x.Info(), fast503);
  EXPECT_TRUE(state->controller.calibrating());
  AttemptOutcome ok;
  ok.status = 200;
  ok.latency = us(4000);
  for (int i = 0; i < 3; ++i) p.After(x.Info(), ok);
  EXPECT_FALSE(state->controller.calibrating());
  EXPECT_EQ(state->controller.min_rtt(), us(4000));
}

}  // namespace
}  // namespace rampart::upstream::adaptive
