#include "gates/rate_limit/algorithm.h"

#include <gtest/gtest.h>

#include <cmath>
#include <deque>
#include <random>

#include "gates/rate_limit/sliding_log.h"

namespace rampart::rate_limit {
namespace {

constexpr std::int64_t kSecond = 1'000'000;
constexpr std::int64_t kT0 = 1'790'000'000LL * kSecond;  // a whole second, like Redis TIME

Policy Make(Algorithm a, std::int64_t limit, std::int64_t period, std::int64_t burst = -1) {
  Policy p;
  p.algorithm = a;
  p.limit = limit;
  p.period_us = period;
  p.burst = burst < 0 ? DefaultBurst(a, limit) : burst;
  return p;
}

// One limiter of any algorithm, the log included, behind one call.
struct Limiter {
  Policy p;
  Cell cell;
  SlidingLog log;
  Outcome Take(std::int64_t now, std::int64_t offset = 0) {
    return p.algorithm == Algorithm::kSlidingWindowLog ? log.Acquire(p, now)
                                                       : Acquire(p, cell, now, 1, offset);
  }
};

// Reference models, written from the definitions with floating point on a time grid where every
// value involved is exact in binary (multiples of 1/64 s, rates that are powers of two).
struct Reference {
  Policy p;
  double level = 0;  // buckets: tokens taken (token/GCRA) or water (leaky)
  double last = 0;
  bool seen = false;
  std::deque<double> log;
  std::int64_t window = -1, count = 0, prev_count = 0;

  bool Take(std::int64_t now_us) {
    const double now = static_cast<double>(now_us - kT0) / kSecond;
    const double rate = static_cast<double>(p.limit) * kSecond / static_cast<double>(p.period_us);
    const double period = static_cast<double>(p.period_us) / kSecond;
    switch (p.algorithm) {
      case Algorithm::kTokenBucket:
      case Algorithm::kGcra: {  // a GCRA is a token bucket seen through its theoretical arrival
                                // time
        level = seen ? std::max(0.0, level - (now - last) * rate) : 0;
        seen = true;
        last = now;
        if (level + 1 > static_cast<double>(p.burst)) return false;
        level += 1;
        return true;
      }
      case Algorithm::kLeakyBucket: {
        level = seen ? std::max(0.0, level - (now - last) * rate) : 0;
        seen = true;
        last = now;
        if (level + 1 > static_cast<double>(p.burst) + 1) return false;
        level += 1;
        return true;
      }
      case Algorithm::kFixedWindow: {
        auto w = static_cast<std::int64_t>(std::floor(now / period));
        if (w != window) window = w, count = 0;
        if (count + 1 > p.limit) return false;
        ++count;
        return true;
      }
      case Algorithm::kSlidingWindowLog: {
        while (!log.empty() && log.front() <= now - period) log.pop_front();
        if (static_cast<std::int64_t>(log.size()) + 1 > p.limit) return false;
        log.push_back(now);
        return true;
      }
      case Algorithm::kSlidingWindowCounter: {
        auto w = static_cast<std::int64_t>(std::floor(now / period));
        if (w == window + 1) {
          prev_count = count, count = 0;
        } else if (w != window) {
          prev_count = 0, count = 0;
        }
        window = w;
        const double into = now / period - static_cast<double>(w);
        const double estimate = static_cast<double>(prev_count) * (1 - into) + count + 1;
        if (estimate > static_cast<double>(p.limit)) return false;
        ++count;
        return true;
      }
    }
    return false;
  }
};

const Algorithm kAll[] = {Algorithm::kTokenBucket,          Algorithm::kLeakyBucket,
                          Algorithm::kFixedWindow,          Algorithm::kSlidingWindowLog,
                          Algorithm::kSlidingWindowCounter, Algorithm::kGcra};

class EveryAlgorithm : public ::testing::TestWithParam<Algorithm> {};

TEST_P(EveryAlgorithm, MatchesTheReferenceModelUnderARandomScriptedClock) {
  std::mt19937_64 rng(42);
  for (std::int64_t burst : {1, 3, 8}) {
    Policy p = Make(GetParam(), 8, kSecond, burst);
    if (GetParam() == Algorithm::kLeakyBucket) p.burst = burst - 1;
    Limiter impl{p};
    Reference ref{p};
    std::int64_t now = kT0;
    int admitted = 0;
    for (int i = 0; i < 4000; ++i) {
      now += static_cast<std::int64_t>(rng() % 12) * (kSecond / 64);
      const bool want = ref.Take(now);
      ASSERT_EQ(impl.Take(now).allowed, want)
          << "request " << i << " at +" << (now - kT0) << "us, burst " << burst;
      admitted += want;
    }
    EXPECT_GT(admitted, 100);
  }
}

// For every refusal, Retry-After is exact: one microsecond earlier the request is still refused,
// at Retry-After it passes.
TEST_P(EveryAlgorithm, RetryAfterIsExact) {
  std::mt19937_64 rng(7);
  for (auto [limit, period] : {std::pair<std::int64_t, std::int64_t>{5, kSecond},
                               {3, kSecond},
                               {100, 60 * kSecond},
                               {7, 1500}}) {
    Limiter l{Make(GetParam(), limit, period)};
    std::int64_t now = kT0 + static_cast<std::int64_t>(rng() % kSecond);
    int refusals = 0;
    for (int i = 0; i < 600; ++i) {
      now += static_cast<std::int64_t>(rng() % static_cast<std::uint64_t>(period / limit + 1));
      Limiter before = l;
      Outcome o = l.Take(now);
      if (o.allowed) continue;
      ++refusals;
      ASSERT_GT(o.retry_after_us, 0);
      Limiter early = before, on_time = before;
      EXPECT_FALSE(early.Take(now + o.retry_after_us - 1).allowed)
          << AlgorithmName(GetParam()) << " limit " << limit << " request " << i;
      EXPECT_TRUE(on_time.Take(now + o.retry_after_us).allowed)
          << AlgorithmName(GetParam()) << " limit " << limit << " request " << i;
    }
    EXPECT_GT(refusals, 10) << limit;
  }
}

TEST_P(EveryAlgorithm, RefundRestoresTheQuota) {
  Limiter l{Make(GetParam(), 4, kSecond, 4)};
  if (GetParam() == Algorithm::kLeakyBucket) l.p.burst = 3;
  for (int i = 0; i < 4; ++i) ASSERT_TRUE(l.Take(kT0 + 10).allowed);
  ASSERT_FALSE(l.Take(kT0 + 10).allowed);
  if (GetParam() == Algorithm::kSlidingWindowLog) {
    l.log.Refund();
  } else {
    Refund(l.p, l.cell, kT0 + 10);
  }
  EXPECT_TRUE(l.Take(kT0 + 10).allowed);
  EXPECT_FALSE(l.Take(kT0 + 10).allowed);
}

TEST_P(EveryAlgorithm, ForgetsAnIdleKeyOnlyWhenThatChangesNothing) {
  Limiter l{Make(GetParam(), 4, kSecond, 4)};
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(l.Take(kT0 + i).allowed);
  const std::int64_t idle =
      GetParam() == Algorithm::kSlidingWindowLog ? l.log.IdleAt(l.p) : IdleAt(l.p, l.cell);
  ASSERT_GT(idle, kT0);
  // From IdleAt on, the state behaves like a fresh key.
  Limiter fresh{l.p};
  for (int i = 0; i < 6; ++i) {
    EXPECT_EQ(l.Take(idle + i).allowed, fresh.Take(idle + i).allowed) << i;
  }
}

INSTANTIATE_TEST_SUITE_P(RateLimit, EveryAlgorithm, ::testing::ValuesIn(kAll),
                         [](const auto& info) { return std::string(AlgorithmName(info.param)); });

TEST(FixedWindow, AdmitsTwiceTheLimitAcrossABoundary) {
  // The known weakness: 10/min admits 10 in the last second of a minute and 10 more in the first
  // second of the next. The sliding log and counter do not.
  const std::int64_t minute = 60 * kSecond;
  const std::int64_t boundary = kT0 / minute * minute + minute;
  auto burst_across = [&](Algorithm a) {
    Limiter l{Make(a, 10, minute)};
    l.Take(boundary - 50 * kSecond);  // some earlier traffic in the window, then idle
    Refund(l.p, l.cell, boundary - 50 * kSecond);
    if (a == Algorithm::kSlidingWindowLog) l.log = {};
    int admitted = 0;
    for (int i = 0; i < 20; ++i) admitted += l.Take(boundary - kSecond + i * 1000).allowed;
    for (int i = 0; i < 20; ++i) admitted += l.Take(boundary + kSecond / 2 + i * 1000).allowed;
    return admitted;
  };
  EXPECT_EQ(burst_across(Algorithm::kFixedWindow), 20);
  EXPECT_EQ(burst_across(Algorithm::kSlidingWindowLog), 10);
  EXPECT_LE(burst_across(Algorithm::kSlidingWindowCounter), 11);
}

TEST(FixedWindow, OffsetMovesTheBoundaryPerKey) {
  Policy p = Make(Algorithm::kFixedWindow, 1, kSecond);
  Cell a, b;
  ASSERT_TRUE(Acquire(p, a, kT0 + 100, 1, 0).allowed);
  Outcome refused = Acquire(p, a, kT0 + 200, 1, 0);
  EXPECT_EQ(refused.retry_after_us, kSecond - 200);
  ASSERT_TRUE(Acquire(p, b, kT0 + 100, 1, 300'000).allowed);
  // The window of key b ends 300 ms earlier.
  EXPECT_EQ(Acquire(p, b, kT0 + 200, 1, 300'000).retry_after_us, kSecond - 300'000 - 200);
}

TEST(TokenBucket, BurstThenSteadyRate) {
  Policy p = Make(Algorithm::kTokenBucket, 10, kSecond, 20);
  Cell c;
  int admitted = 0;
  for (int i = 0; i < 50; ++i) admitted += Acquire(p, c, kT0).allowed;
  EXPECT_EQ(admitted, 20);
  Outcome o = Acquire(p, c, kT0);
  EXPECT_EQ(o.retry_after_us, kSecond / 10);
  EXPECT_EQ(o.remaining, 0);
  EXPECT_EQ(o.reset_us, 2 * kSecond);
  EXPECT_TRUE(Acquire(p, c, kT0 + kSecond / 10).allowed);
}

TEST(Gcra, RemainingAndReset) {
  Policy p = Make(Algorithm::kGcra, 10, kSecond, 5);
  Cell c;
  Outcome o = Acquire(p, c, kT0);
  EXPECT_TRUE(o.allowed);
  EXPECT_EQ(o.remaining, 4);
  EXPECT_EQ(o.reset_us, kSecond / 10);
  for (int i = 0; i < 4; ++i) EXPECT_TRUE(Acquire(p, c, kT0).allowed);
  o = Acquire(p, c, kT0);
  EXPECT_FALSE(o.allowed);
  EXPECT_EQ(o.retry_after_us, kSecond / 10);
  EXPECT_EQ(IdleAt(p, c), kT0 + kSecond / 2);
}

TEST(LeakyBucket, ShapeDelaysToTheConstantRateAndBoundsTheQueue) {
  Policy p = Make(Algorithm::kLeakyBucket, 10, kSecond, 3);
  p.leaky_mode = LeakyMode::kShape;
  Cell c;
  std::vector<std::int64_t> delays;
  for (int i = 0; i < 4; ++i) {
    Outcome o = Acquire(p, c, kT0);
    ASSERT_TRUE(o.allowed) << i;
    delays.push_back(o.delay_us);
  }
  EXPECT_EQ(delays, (std::vector<std::int64_t>{0, 100'000, 200'000, 300'000}));
  Outcome full = Acquire(p, c, kT0);
  EXPECT_FALSE(full.allowed);
  EXPECT_EQ(full.retry_after_us, 100'000);
  // A bound on the delay refuses before the queue is full.
  p.max_delay_us = 150'000;
  Cell d;
  EXPECT_TRUE(Acquire(p, d, kT0).allowed);
  EXPECT_TRUE(Acquire(p, d, kT0).allowed);
  Outcome late = Acquire(p, d, kT0);
  EXPECT_FALSE(late.allowed);
  EXPECT_EQ(late.retry_after_us, 50'000);
}

TEST(LeakyBucket, PoliceRefusesWhatShapeWouldDelay) {
  Policy p = Make(Algorithm::kLeakyBucket, 10, kSecond, 2);
  Cell c;
  for (int i = 0; i < 3; ++i) {
    Outcome o = Acquire(p, c, kT0);
    EXPECT_TRUE(o.allowed);
    EXPECT_EQ(o.delay_us, 0);
  }
  EXPECT_FALSE(Acquire(p, c, kT0).allowed);
}

TEST(SlidingWindowCounter, WeighsThePreviousWindow) {
  Policy p = Make(Algorithm::kSlidingWindowCounter, 10, kSecond);
  Cell c;
  const std::int64_t w0 = kT0;
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(Acquire(p, c, w0 + 900'000).allowed);
  // A quarter into the next window, 75% of the previous 10 still count: 2 more fit.
  EXPECT_TRUE(Acquire(p, c, w0 + kSecond + 250'000).allowed);
  EXPECT_TRUE(Acquire(p, c, w0 + kSecond + 250'000).allowed);
  Outcome o = Acquire(p, c, w0 + kSecond + 250'000);
  EXPECT_FALSE(o.allowed);
  EXPECT_EQ(o.retry_after_us, 50'000);  // at 30%: 7 + 2 + 1 <= 10
}

TEST(SlidingLog, MemoryIsBoundedByTheLimit) {
  Policy p = Make(Algorithm::kSlidingWindowLog, 50, kSecond);
  SlidingLog log;
  for (int i = 0; i < 1000; ++i) log.Acquire(p, kT0 + i);
  EXPECT_EQ(log.size(), 50u);
  EXPECT_LE(log.bytes(), 50 * sizeof(std::int64_t));
}

}  // namespace
}  // namespace rampart::rate_limit
