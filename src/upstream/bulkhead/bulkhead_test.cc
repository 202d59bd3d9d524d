// The bulkhead's places, reserves and queue under a scripted clock.
#include <gtest/gtest.h>

#include "upstream/bulkhead/bulkhead_policy.h"
#include "upstream/upstream_spec.h"

namespace rampart::upstream::bulkhead {
namespace {

using std::chrono::milliseconds;

struct Clock {
  SteadyTime now = SteadyTime{} + std::chrono::seconds(10);
};

struct Exchange {
  UpstreamSpec up;
  std::string route;
  std::uint64_t ticket = 0, word = 0;
  std::chrono::microseconds delay{};
  AttemptInfo Info() { return {up, 0, 0, 0, true, "GET", route, true, &ticket, &word, {}, &delay}; }
};

BulkheadConfig Config() {
  BulkheadConfig c;
  c.max_requests = 4;
  c.reserve = {{"payments", 2}};
  return c;
}

TEST(Bulkhead, OtherRoutesShareWhatTheReservesLeave) {
  Clock clock;
  BulkheadPolicy p(Config(), std::make_shared<Places>(Config()), {}, [&] { return clock.now; });
  std::vector<Exchange> reports(3), payments(3);
  for (auto& x : reports) x.route = "reports";
  for (auto& x : payments) x.route = "payments";
  EXPECT_EQ(p.Before(reports[0].Info()), Verdict::kContinue);
  EXPECT_EQ(p.Before(reports[1].Info()), Verdict::kContinue);
  EXPECT_EQ(p.Before(reports[2].Info()), Verdict::kRefuse);  // 4 - 2 reserved: full
  // Payments still get their two reserved places, and no more: the shared ones are taken.
  EXPECT_EQ(p.Before(payments[0].Info()), Verdict::kContinue);
  EXPECT_EQ(p.Before(payments[1].Info()), Verdict::kContinue);
  EXPECT_EQ(p.Before(payments[2].Info()), Verdict::kRefuse);
  // A report ends: its shared place goes to whoever asks next, payments included.
  p.Ended(reports[0].Info(), {});
  EXPECT_EQ(p.places().shared_in_flight(), 1);
  EXPECT_EQ(p.Before(payments[2].Info()), Verdict::kContinue);
  EXPECT_EQ(payments[2].word, 1u);  // a shared place
  for (auto* x : {&reports[1], &payments[0], &payments[1], &payments[2]}) p.Ended(x->Info(), {});
  EXPECT_EQ(p.places().shared_in_flight(), 0);
  EXPECT_EQ(p.places().reserved_in_flight(0), 0);
}

TEST(Bulkhead, ARetryKeepsItsPlace) {
  Clock clock;
  BulkheadConfig c = Config();
  c.reserve.clear();
  c.max_requests = 1;
  BulkheadPolicy p(c, std::make_shared<Places>(c), {}, [&] { return clock.now; });
  Exchange x;
  x.route = "r";
  EXPECT_EQ(p.Before(x.Info()), Verdict::kContinue);
  EXPECT_EQ(p.Before(x.Info()), Verdict::kContinue);  // the same exchange again: no second place
  EXPECT_EQ(p.places().shared_in_flight(), 1);
}

TEST(Bulkhead, TheQueueWaitsUpToItsTimeoutAndIsBounded) {
  Clock clock;
  BulkheadConfig c;
  c.max_requests = 1;
  c.max_pending = 1;
  c.queue_timeout = milliseconds(50);
  BulkheadPolicy p(c, std::make_shared<Places>(c), {}, [&] { return clock.now; });
  Exchange a, b, d;
  EXPECT_EQ(p.Before(a.Info()), Verdict::kContinue);
  EXPECT_EQ(p.Before(b.Info()), Verdict::kWait);
  EXPECT_EQ(b.delay, milliseconds(1));              // a quarter of the wait so far, at least 1 ms
  EXPECT_EQ(p.Before(d.Info()), Verdict::kRefuse);  // the queue holds one
  EXPECT_EQ(p.places().pending(), 1);
  clock.now += milliseconds(20);
  EXPECT_EQ(p.Before(b.Info()), Verdict::kWait);
  p.Ended(a.Info(), {});  // a place frees
  EXPECT_EQ(p.Before(b.Info()), Verdict::kContinue);
  EXPECT_EQ(p.places().pending(), 0);
  // Another waits past the timeout: refused, and leaves the queue.
  Exchange e;
  EXPECT_EQ(p.Before(e.Info()), Verdict::kWait);
  clock.now += milliseconds(40);
  EXPECT_EQ(p.Before(e.Info()), Verdict::kWait);
  EXPECT_EQ(e.delay, milliseconds(10));  // a quarter of 40 ms
  clock.now += milliseconds(9);
  EXPECT_EQ(p.Before(e.Info()), Verdict::kWait);
  EXPECT_EQ(e.delay, milliseconds(1));  // never past the timeout
  clock.now += milliseconds(1);
  EXPECT_EQ(p.Before(e.Info()), Verdict::kRefuse);
  EXPECT_EQ(p.places().pending(), 0);
  // One that ends while waiting (its client left) leaves the queue too.
  Exchange f;
  EXPECT_EQ(p.Before(f.Info()), Verdict::kWait);
  p.Ended(f.Info(), {});
  EXPECT_EQ(p.places().pending(), 0);
}

TEST(BulkheadFields, ReadsAndRefuses) {
  std::vector<config::ConfigError> errors;
  config::YamlReader r("t.yaml", errors);
  BulkheadConfig c;
  ASSERT_TRUE(BulkheadFields().Read(
      r,
      YAML::Load("{max_requests: 100, max_pending: 10, queue_timeout: 50ms, reserve: {pay: 20}}"),
      "p", c));
  ASSERT_EQ(c.reserve.size(), 1u);
  EXPECT_EQ(c.reserve[0].places, 20u);
  for (const char* bad : {"{max_requests: 0}", "{max_requests: 10, reserve: {a: 6, b: 4}}",
                          "{reserve: [a]}", "{queue_timeout: 0s}"}) {
    errors.clear();
    BulkheadConfig d;
    BulkheadFields().Read(r, YAML::Load(bad), "p", d);
    EXPECT_FALSE(errors.empty()) << bad;
  }
}

}  // namespace
}  // namespace rampart::upstream::bulkhead
