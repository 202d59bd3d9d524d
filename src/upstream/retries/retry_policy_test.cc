// The retries policy's decisions and its budget, with a scripted random source.
#include "upstream/retries/retry_policy.h"

#include <gtest/gtest.h>

#include "upstream/upstream_spec.h"

namespace rampart::upstream::retries {
namespace {

using http::ErrorKind;
using http::ExchangeError;
using http::Step;
using std::chrono::microseconds;
using std::chrono::milliseconds;

// One exchange's view: the seam's per-attempt and per-exchange words.
struct Exchange {
  UpstreamSpec up;
  std::uint64_t ticket = 0;
  std::uint64_t word = 0;
  microseconds delay{};
  AttemptInfo Info(int attempt, bool safe = true, bool replayable = true, microseconds elapsed = {},
                   int worker = 0) {
    return {up,  0,    attempt, worker, replayable, safe ? "GET" : "POST",
            "r", safe, &ticket, &word,  elapsed,    &delay};
  }
};

AttemptOutcome Status(int s) { return {s, {}, true, false, milliseconds(1)}; }
AttemptOutcome Failure(ErrorKind k, Step step, bool sent, bool safe) {
  return {0, ExchangeError::Upstream(k, step, sent, safe), sent, false, milliseconds(1)};
}
const AttemptOutcome kRefused = Failure(ErrorKind::kConnectRefused, Step::kConnect, false, true);
const AttemptOutcome kResetHead = Failure(ErrorKind::kReset, Step::kReadHead, true, false);

std::shared_ptr<RetryPolicy> Make(RetryConfig c, double u = 0.5) {
  auto budget = std::make_shared<RetryBudget>(c.budget_percent, c.budget_min);
  return std::make_shared<RetryPolicy>(
      c, budget, RetryPolicy::Counters{}, [u] { return u; },
      [] { return SteadyTime{} + std::chrono::seconds(100); });
}

TEST(FullJitter, GrowsExponentiallyUpToTheCap) {
  const microseconds base(25'000), max(250'000);
  EXPECT_EQ(FullJitter(1, base, max, 1.0), microseconds(25'000));
  EXPECT_EQ(FullJitter(2, base, max, 1.0), microseconds(50'000));
  EXPECT_EQ(FullJitter(3, base, max, 1.0), microseconds(100'000));
  EXPECT_EQ(FullJitter(5, base, max, 1.0), microseconds(250'000));   // 400ms capped
  EXPECT_EQ(FullJitter(40, base, max, 1.0), microseconds(250'000));  // no overflow
  EXPECT_EQ(FullJitter(3, base, max, 0.25), microseconds(25'000));   // uniform below it
  EXPECT_EQ(FullJitter(3, base, max, 0.0), microseconds(0));
}

TEST(Retries, RetriesConfiguredFailuresOnAnotherEndpointAfterTheBackoff) {
  RetryConfig c;
  c.attempts = 3;
  c.statuses = {503};
  auto p = Make(c, 0.5);
  Exchange x;
  p->Before(x.Info(0));
  EXPECT_EQ(p->After(x.Info(0), Status(503)), Verdict::kRetryOther);
  EXPECT_EQ(x.delay, microseconds(12'500));  // half of 25ms
  x.delay = {};
  p->Before(x.Info(1));
  EXPECT_EQ(p->After(x.Info(1), kResetHead), Verdict::kRetryOther);
  EXPECT_EQ(x.delay, microseconds(25'000));  // half of 50ms
  p->Before(x.Info(2));
  EXPECT_EQ(p->After(x.Info(2), Status(503)), Verdict::kContinue);  // three attempts made
  EXPECT_EQ(p->After(x.Info(0), Status(500)), Verdict::kContinue);  // not a listed status
  EXPECT_EQ(p->After(x.Info(0), Status(200)), Verdict::kContinue);
}

TEST(Retries, RetryOnChoosesTheFailures) {
  RetryConfig c;
  c.retry_on = kConnectFailure;
  auto p = Make(c);
  EXPECT_TRUE(p->Retryable(kRefused));
  EXPECT_TRUE(p->Retryable(Failure(ErrorKind::kConnectTimeout, Step::kConnect, false, true)));
  EXPECT_TRUE(p->Retryable(Failure(ErrorKind::kTls, Step::kConnect, false, true)));
  EXPECT_FALSE(p->Retryable(kResetHead));
  EXPECT_FALSE(p->Retryable(Failure(ErrorKind::kTimeout, Step::kReadHead, true, false)));
  EXPECT_FALSE(p->Retryable(Failure(ErrorKind::kBadResponse, Step::kReadHead, true, false)));
  c.retry_on = kTimeout | RetryOn::kReset | kRefusedStream;
  p = Make(c);
  EXPECT_FALSE(p->Retryable(kRefused));
  EXPECT_TRUE(p->Retryable(kResetHead));
  EXPECT_TRUE(p->Retryable(Failure(ErrorKind::kTimeout, Step::kReadHead, true, false)));
  EXPECT_TRUE(p->Retryable(Failure(ErrorKind::kRefusedStream, Step::kSendHead, false, true)));
}

TEST(Retries, AnUnsafeRequestIsRetriedOnlyWhenNoneOfItLeft) {
  RetryConfig c;
  c.statuses = {503};
  auto p = Make(c);
  Exchange x;
  // A POST without an idempotency key: the origin may have acted on it.
  EXPECT_EQ(p->After(x.Info(0, false), kResetHead), Verdict::kContinue);
  EXPECT_EQ(p->After(x.Info(0, false), Status(503)), Verdict::kContinue);
  EXPECT_EQ(p->Check(x.Info(0, false), kResetHead), Declined::kUnsafe);
  // ... a timeout after its head went: never again.
  EXPECT_EQ(p->After(x.Info(0, false), Failure(ErrorKind::kTimeout, Step::kReadHead, true, false)),
            Verdict::kContinue);
  // A connect failure: not one byte of it left.
  EXPECT_EQ(p->After(x.Info(0, false), kRefused), Verdict::kRetryOther);
  // With an idempotency key (a gate made it safe), as for GET.
  Exchange y;
  EXPECT_EQ(p->After(y.Info(0, true), kResetHead), Verdict::kRetryOther);
}

TEST(Retries, ABodyThatWasNotHeldIsNotSentAgain) {
  auto p = Make(RetryConfig{});
  Exchange x;
  EXPECT_EQ(p->Check(x.Info(0, true, false), kRefused), Declined::kNotHeld);
  EXPECT_EQ(p->After(x.Info(0, true, false), kRefused), Verdict::kContinue);
}

TEST(Retries, TheDeadlineCutsRetriesShort) {
  RetryConfig c;
  c.attempts = 5;
  c.deadline = milliseconds(100);
  auto p = Make(c, 1.0);
  Exchange x;
  EXPECT_EQ(p->After(x.Info(0, true, true, milliseconds(50)), kRefused), Verdict::kRetryOther);
  // 80ms gone and a 50ms wait ahead: the retry would start past the deadline.
  EXPECT_EQ(p->After(x.Info(1, true, true, milliseconds(80)), kRefused), Verdict::kContinue);
}

TEST(Retries, SameEndpointWhenAsked) {
  RetryConfig c;
  c.other_endpoint = false;
  auto p = Make(c);
  Exchange x;
  EXPECT_EQ(p->After(x.Info(0), kRefused), Verdict::kRetrySame);
}

TEST(RetryBudget, ABurstComesFromTheReserveAnOutageSettlesAtThePercent) {
  using std::chrono::seconds;
  RetryBudget b(0.2, 1);  // 20% of requests, 1 retry a second; holds 10 tokens
  const SteadyTime t0 = SteadyTime{} + seconds(100);
  int ok = 0;
  for (int i = 0; i < 15; ++i) ok += b.TryWithdraw(t0);
  EXPECT_EQ(ok, 10);  // an endpoint died with requests in flight: the reserve retries them
  // A sustained outage: every request fails and asks for a retry; one in five gets it.
  ok = 0;
  for (int i = 0; i < 100; ++i) {
    b.Deposit();
    ok += b.TryWithdraw(t0);
  }
  EXPECT_EQ(ok, 20);
  // The floor: five seconds later, five more whatever the traffic.
  ok = 0;
  for (int i = 0; i < 10; ++i) ok += b.TryWithdraw(t0 + seconds(5));
  EXPECT_EQ(ok, 5);
  // Deposits stop at the capacity: a long healthy spell does not bank unlimited retries.
  for (int i = 0; i < 100'000; ++i) b.Deposit();
  EXPECT_LE(b.tokens(), b.capacity() + 0.2);
}

TEST(RetryBudget, ThePolicyDeclinesWhenTheBudgetIsSpent) {
  RetryConfig c;
  c.attempts = 3;
  c.budget_percent = 0;
  c.budget_min = 0;  // capacity 10 tokens, nothing refills
  auto p = Make(c);
  int retried = 0;
  for (int i = 0; i < 20; ++i) {
    Exchange x;
    p->Before(x.Info(0));
    retried += p->After(x.Info(0), kRefused) != Verdict::kContinue;
  }
  EXPECT_EQ(retried, 10);
}

TEST(RetryFields, ReadsAndRefuses) {
  std::vector<config::ConfigError> errors;
  config::YamlReader r("test.yaml", errors);
  RetryConfig c;
  YAML::Node n = YAML::Load(
      "{attempts: 3, retry_on: [connect_failure, timeout], statuses: [502, 503],"
      " backoff_base: 10ms, backoff_max: 1s, budget_percent: 25%, budget_min: 5,"
      " deadline: 2s, other_endpoint: false}");
  ASSERT_TRUE(RetryFields().Read(r, n, "p", c));
  EXPECT_EQ(c.attempts, 3u);
  EXPECT_EQ(c.retry_on, kConnectFailure | kTimeout);
  EXPECT_EQ(c.statuses, (std::vector<int>{502, 503}));
  EXPECT_EQ(c.backoff_base, milliseconds(10));
  EXPECT_DOUBLE_EQ(c.budget_percent, 0.25);
  EXPECT_EQ(c.deadline, std::chrono::seconds(2));
  EXPECT_FALSE(c.other_endpoint);
  for (const char* bad :
       {"{attempts: 0}", "{attempts: 9}", "{retry_on: [sometimes]}", "{statuses: [99]}",
        "{backoff_base: 1s, backoff_max: 10ms}", "{budget_percent: 120%}", "{tries: 2}"}) {
    errors.clear();
    RetryConfig d;
    RetryFields().Read(r, YAML::Load(bad), "p", d);
    EXPECT_FALSE(errors.empty()) << bad;  // an unknown key is an error, not a failed read
  }
}

}  // namespace
}  // namespace rampart::upstream::retries
