// The Lua script against the C++ algorithms, on a real redis-server: the same scripted clock and
// request sequence must give the same decision, remaining count, reset and Retry-After.
#include "gates/rate_limit/redis_script.h"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "gates/rate_limit/algorithm.h"
#include "gates/rate_limit/sliding_log.h"
#include "state/redis/test_redis_server.h"

namespace rampart::rate_limit {
namespace {

class RedisScriptTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    server_ = new state::testing::RedisServer();
    ctx_ = server_->context();
  }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
    ctx_ = nullptr;
  }

  static Outcome Eval(const Policy& p, const std::string& key, std::int64_t now,
                      std::string_view op = "acquire") {
    std::vector<std::string> args = {"EVAL",
                                     std::string(RedisScript()),
                                     "1",
                                     key,
                                     std::string(op),
                                     std::string(AlgorithmName(p.algorithm)),
                                     std::to_string(p.limit),
                                     std::to_string(p.period_us),
                                     std::to_string(p.burst),
                                     p.leaky_mode == LeakyMode::kShape ? "1" : "0",
                                     std::to_string(p.max_delay_us),
                                     "1",
                                     "0",
                                     std::to_string(now)};
    std::vector<const char*> argv;
    std::vector<std::size_t> lens;
    for (const auto& a : args) argv.push_back(a.data()), lens.push_back(a.size());
    auto* r = static_cast<redisReply*>(
        redisCommandArgv(ctx_, static_cast<int>(argv.size()), argv.data(), lens.data()));
    Outcome o;
    EXPECT_NE(r, nullptr);
    if (r == nullptr) return o;
    EXPECT_EQ(r->type, REDIS_REPLY_ARRAY) << (r->str ? r->str : "");
    if (r->type == REDIS_REPLY_ARRAY && r->elements == 5) {
      o.allowed = r->element[0]->integer == 1;
      o.remaining = r->element[1]->integer;
      o.reset_us = r->element[2]->integer;
      o.retry_after_us = r->element[3]->integer;
      o.delay_us = r->element[4]->integer;
    }
    freeReplyObject(r);
    return o;
  }

  static inline state::testing::RedisServer* server_ = nullptr;
  static inline redisContext* ctx_ = nullptr;
};

TEST_F(RedisScriptTest, MatchesTheCppAlgorithmsStepByStep) {
  ASSERT_NE(ctx_, nullptr) << "redis-server did not start";
  const Algorithm all[] = {Algorithm::kTokenBucket,          Algorithm::kLeakyBucket,
                           Algorithm::kFixedWindow,          Algorithm::kSlidingWindowLog,
                           Algorithm::kSlidingWindowCounter, Algorithm::kGcra};
  std::mt19937_64 rng(11);
  int n = 0;
  for (Algorithm a : all) {
    for (LeakyMode mode : {LeakyMode::kPolice, LeakyMode::kShape}) {
      if (mode == LeakyMode::kShape && a != Algorithm::kLeakyBucket) continue;
      Policy p;
      p.algorithm = a;
      p.limit = 7;
      p.period_us = 1'000'000;
      p.burst = a == Algorithm::kLeakyBucket ? 3 : 5;
      p.leaky_mode = mode;
      const std::string key = "test:{" + std::string(AlgorithmName(a)) + std::to_string(n++) + "}";
      Cell cell;
      SlidingLog log;
      std::int64_t now = 1'790'000'000LL * 1'000'000 + static_cast<std::int64_t>(rng() % 999'999);
      for (int i = 0; i < 300; ++i) {
        now += static_cast<std::int64_t>(rng() % 300'000);
        Outcome want =
            a == Algorithm::kSlidingWindowLog ? log.Acquire(p, now) : Acquire(p, cell, now);
        Outcome got = Eval(p, key, now);
        ASSERT_EQ(got.allowed, want.allowed) << AlgorithmName(a) << " step " << i;
        EXPECT_EQ(got.remaining, want.remaining) << AlgorithmName(a) << " step " << i;
        EXPECT_EQ(got.retry_after_us, want.retry_after_us) << AlgorithmName(a) << " step " << i;
        EXPECT_EQ(got.delay_us, want.delay_us) << AlgorithmName(a) << " step " << i;
        if (a != Algorithm::kSlidingWindowLog) {
          EXPECT_EQ(got.reset_us, want.reset_us) << AlgorithmName(a) << " step " << i;
        }
        if (i % 17 == 5 && want.allowed) {  // refunds agree too
          if (a == Algorithm::kSlidingWindowLog) {
            log.Refund();
          } else {
            Refund(p, cell, now);
          }
          Eval(p, key, now, "refund");
        }
      }
    }
  }
}

}  // namespace
}  // namespace rampart::rate_limit
