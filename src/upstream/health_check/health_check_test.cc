// The health check's state machine and pass rule, and its settings.
#include <gtest/gtest.h>

#include "upstream/health_check/health_check_policy.h"

namespace rampart::upstream::health {
namespace {

TEST(HealthCheck, ThresholdsTurnAnEndpointDownAndUp) {
  HealthCheckConfig c;
  c.unhealthy_threshold = 3;
  c.healthy_threshold = 2;
  EndpointState e;
  EXPECT_EQ(Apply(e, false, c), 0);
  EXPECT_EQ(Apply(e, false, c), 0);
  EXPECT_EQ(Apply(e, true, c), 0);  // the run is broken
  EXPECT_EQ(Apply(e, false, c), 0);
  EXPECT_EQ(Apply(e, false, c), 0);
  EXPECT_FALSE(e.unhealthy);
  EXPECT_EQ(Apply(e, false, c), -1);  // three in a row
  EXPECT_TRUE(e.unhealthy);
  EXPECT_EQ(Apply(e, false, c), 0);  // stays down, no second transition
  EXPECT_EQ(Apply(e, true, c), 0);
  EXPECT_EQ(Apply(e, false, c), 0);
  EXPECT_EQ(Apply(e, true, c), 0);
  EXPECT_EQ(Apply(e, true, c), 1);  // two in a row
  EXPECT_FALSE(e.unhealthy);
  EXPECT_TRUE(e.Up(SteadyTime{}));
}

TEST(HealthCheck, PassRule) {
  HealthCheckConfig c;
  EXPECT_TRUE(Passes(c, 200, ""));
  EXPECT_TRUE(Passes(c, 302, ""));
  EXPECT_FALSE(Passes(c, 404, ""));
  EXPECT_FALSE(Passes(c, 503, ""));
  c.expect_status = {204, 404};
  EXPECT_TRUE(Passes(c, 404, ""));
  EXPECT_FALSE(Passes(c, 200, ""));
  c.expect_status = {};
  c.expect_body = "\"ok\"";
  EXPECT_TRUE(Passes(c, 200, "{\"status\":\"ok\"}"));
  EXPECT_FALSE(Passes(c, 200, "{\"status\":\"degraded\"}"));
}

TEST(HealthCheck, UnhealthyIsReadOnlyWhereChecksRun) {
  std::vector<std::shared_ptr<EndpointState>> eps{std::make_shared<EndpointState>(),
                                                  std::make_shared<EndpointState>()};
  eps[0]->unhealthy = true;  // left by an earlier config's checks
  EndpointHealth unchecked(eps);
  EXPECT_TRUE(unchecked.Up(0, SteadyTime{}));
  EndpointHealth checked(eps);
  checked.set_checked(true);
  EXPECT_FALSE(checked.Up(0, SteadyTime{}));
  EXPECT_EQ(checked.Available(SteadyTime{}).count(), 1u);
}

TEST(HealthCheckFields, ReadsAndRefuses) {
  std::vector<config::ConfigError> errors;
  config::YamlReader r("t.yaml", errors);
  HealthCheckConfig c;
  ASSERT_TRUE(HealthCheckFields().Read(
      r,
      YAML::Load("{type: http, method: HEAD, path: /healthz, host: api.internal, "
                 "expect_status: [200, 204], expect_body: ok, interval: 2s, jitter: 20%, "
                 "timeout: 500ms, unhealthy_threshold: 2, healthy_threshold: 1, "
                 "start_healthy: false}"),
      "p", c));
  EXPECT_EQ(c.method, "HEAD");
  EXPECT_EQ(c.path, "/healthz");
  EXPECT_EQ(c.expect_status, (std::vector<int>{200, 204}));
  EXPECT_DOUBLE_EQ(c.jitter, 0.2);
  EXPECT_FALSE(c.start_healthy);
  for (const char* bad :
       {"{type: udp}", "{method: 'get x'}", "{path: health}", "{path: '/a b'}", "{host: 'a b'}",
        "{interval: 1s, timeout: 2s}", "{jitter: 80%}", "{unhealthy_threshold: 0}"}) {
    errors.clear();
    HealthCheckConfig d;
    HealthCheckFields().Read(r, YAML::Load(bad), "p", d);
    EXPECT_FALSE(errors.empty()) << bad;
  }
}

}  // namespace
}  // namespace rampart::upstream::health
