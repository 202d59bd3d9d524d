// Outlier detection and the endpoint membership table under a scripted clock.
#include "upstream/outlier_detection/outlier_policy.h"

#include <gtest/gtest.h>

namespace rampart::upstream::outlier {
namespace {

using http::ErrorKind;
using http::ExchangeError;
using std::chrono::milliseconds;
using std::chrono::seconds;

std::shared_ptr<EndpointHealth> Pool(std::size_t n, std::vector<bool> backup = {}) {
  std::vector<std::shared_ptr<EndpointState>> eps;
  for (std::size_t i = 0; i < n; ++i) eps.push_back(std::make_shared<EndpointState>());
  return std::make_shared<EndpointHealth>(std::move(eps), std::move(backup));
}

OutlierConfig Config() {
  OutlierConfig c;
  c.consecutive_5xx = 3;
  c.consecutive_gateway_failures = 2;
  c.base_ejection_time = seconds(10);
  c.max_ejection_time = seconds(25);
  c.interval = seconds(1);
  c.max_ejection_percent = 0.5;
  return c;
}

struct Fixture {
  explicit Fixture(std::size_t n, OutlierConfig c = Config())
      : health(Pool(n)), policy(c, "app", std::vector<std::string>(n, "ep"), health, {}, [] {
          return SteadyTime{};
        }) {}
  void Status(std::size_t i, int s, SteadyTime now) {
    policy.Record(i, {s, {}, true, false, milliseconds(1)}, now, 0);
  }
  void Fail(std::size_t i, ErrorKind k, SteadyTime now) {
    policy.Record(
        i, {0, ExchangeError::Upstream(k, http::Step::kReadHead, true, false), true, false, {}},
        now, 0);
  }
  std::shared_ptr<EndpointHealth> health;
  OutlierPolicy policy;
};

const SteadyTime t0 = SteadyTime{} + seconds(100);

TEST(Outlier, Consecutive5xxEjectAndASuccessResetsTheCount) {
  Fixture f(3);
  f.Status(0, 503, t0);
  f.Status(0, 500, t0);
  f.Status(0, 200, t0);  // the run is broken
  f.Status(0, 502, t0);
  f.Status(0, 503, t0);
  EXPECT_FALSE(f.health->at(0).Ejected(t0));
  f.Status(0, 504, t0);  // three in a row
  EXPECT_TRUE(f.health->at(0).Ejected(t0));
  EXPECT_FALSE(f.health->Available(t0).test(0));
  EXPECT_TRUE(f.health->Available(t0).test(1));
  // Back after base_ejection_time.
  EXPECT_TRUE(f.health->at(0).Ejected(t0 + seconds(9)));
  EXPECT_FALSE(f.health->at(0).Ejected(t0 + seconds(10)));
  EXPECT_TRUE(f.health->Available(t0 + seconds(10)).test(0));
}

TEST(Outlier, GatewayFailuresEjectSoonerAndFourHundredsNever) {
  Fixture f(3);
  f.Fail(1, ErrorKind::kConnectRefused, t0);
  f.Fail(1, ErrorKind::kReset, t0);
  EXPECT_TRUE(f.health->at(1).Ejected(t0));
  for (int i = 0; i < 20; ++i) f.Status(2, 404, t0);
  EXPECT_FALSE(f.health->at(2).Ejected(t0));
  // What the origin never saw says nothing.
  for (int i = 0; i < 5; ++i) f.Fail(2, ErrorKind::kStale, t0);
  EXPECT_FALSE(f.health->at(2).Ejected(t0));
}

TEST(Outlier, EachEjectionLastsLongerUpToTheMaximum) {
  Fixture f(2);
  SteadyTime now = t0;
  std::vector<long> lengths;
  for (int round = 0; round < 4; ++round) {
    f.Fail(0, ErrorKind::kConnectRefused, now);
    f.Fail(0, ErrorKind::kConnectRefused, now);
    const auto until = f.health->at(0).ejected_until.load();
    lengths.push_back(static_cast<long>((until - EndpointState::Nanos(now)) / 1'000'000'000));
    now = SteadyTime(std::chrono::nanoseconds(until));
  }
  EXPECT_EQ(lengths, (std::vector<long>{10, 20, 25, 25}));
}

TEST(Outlier, NeverMoreThanTheShareAndNeverTheWholePool) {
  Fixture f(4);  // 50% of 4: two at once
  for (std::size_t i = 0; i < 4; ++i) {
    f.Fail(i, ErrorKind::kConnectRefused, t0);
    f.Fail(i, ErrorKind::kConnectRefused, t0);
  }
  EXPECT_EQ(f.health->EjectedCount(t0), 2u);
  Fixture one(1);
  for (int i = 0; i < 10; ++i) one.Fail(0, ErrorKind::kConnectRefused, t0);
  EXPECT_EQ(one.health->EjectedCount(t0), 0u);
  OutlierConfig c = Config();
  c.max_ejection_percent = 0.1;  // under one endpoint of three: one anyway (as Envoy)
  Fixture three(3, c);
  for (std::size_t i = 0; i < 3; ++i) {
    three.Fail(i, ErrorKind::kConnectRefused, t0);
    three.Fail(i, ErrorKind::kConnectRefused, t0);
  }
  EXPECT_EQ(three.health->EjectedCount(t0), 1u);
}

TEST(Outlier, ASuccessRateUnderTheFloorEjectsAtTheInterval) {
  OutlierConfig c = Config();
  c.consecutive_5xx = 0;
  c.consecutive_gateway_failures = 0;
  c.success_rate = 0.8;
  c.success_rate_minimum_calls = 10;
  Fixture f(3, c);
  f.Status(2, 200, t0);  // starts the first interval
  for (int i = 0; i < 20; ++i) {
    f.Status(0, i % 3 == 0 ? 500 : 200, t0 + milliseconds(10));   // 65% success
    f.Status(1, i % 10 == 0 ? 500 : 200, t0 + milliseconds(10));  // 90%
  }
  EXPECT_FALSE(f.health->at(0).Ejected(t0 + milliseconds(10)));
  f.Status(2, 200, t0 + seconds(1));  // the interval ends
  EXPECT_TRUE(f.health->at(0).Ejected(t0 + seconds(1)));
  EXPECT_FALSE(f.health->at(1).Ejected(t0 + seconds(1)));
}

TEST(EndpointHealth, BackupsServeOnlyWhileNoPrimaryIsUp) {
  auto h = Pool(3, {false, false, true});
  h->set_checked(true);
  EndpointMask m = h->Available(t0);
  EXPECT_TRUE(m.test(0) && m.test(1) && !m.test(2));
  h->at(0).unhealthy = true;
  h->at(1).ejected_until = EndpointState::Nanos(t0 + seconds(5));
  m = h->Available(t0);
  EXPECT_EQ(m.count(), 1u);
  EXPECT_TRUE(m.test(2));
  // A primary recovers: the backup hands back.
  m = h->Available(t0 + seconds(5));
  EXPECT_TRUE(m.test(1) && !m.test(2));
}

TEST(EndpointHealth, WithNothingUpEveryEndpointNotDrainingIsTried) {
  auto h = Pool(3);
  h->set_checked(true);
  for (std::size_t i = 0; i < 3; ++i) h->at(i).unhealthy = true;
  EXPECT_EQ(h->Available(t0).count(), 3u);  // nothing up: every endpoint
  h->at(1).draining = true;
  const EndpointMask m = h->Available(t0);
  EXPECT_TRUE(m.test(0) && !m.test(1) && m.test(2));
  for (std::size_t i = 0; i < 3; ++i) h->at(i).draining = true;
  EXPECT_TRUE(h->Available(t0).none());
}

TEST(OutlierFields, ReadsAndRefuses) {
  std::vector<config::ConfigError> errors;
  config::YamlReader r("t.yaml", errors);
  OutlierConfig c;
  ASSERT_TRUE(OutlierFields().Read(
      r,
      YAML::Load("{consecutive_5xx: 7, success_rate: 90%, interval: 5s, base_ejection_time: 1s,"
                 " max_ejection_time: 1m, max_ejection_percent: 34%}"),
      "p", c));
  EXPECT_EQ(c.consecutive_5xx, 7u);
  EXPECT_DOUBLE_EQ(c.success_rate, 0.9);
  EXPECT_EQ(c.max_ejection_time, std::chrono::minutes(1));
  errors.clear();
  OutlierFields().Read(r, YAML::Load("{base_ejection_time: 1m, max_ejection_time: 1s}"), "p", c);
  EXPECT_FALSE(errors.empty());
}

}  // namespace
}  // namespace rampart::upstream::outlier
