"""Active health checks against the real binary and real origins: a killed endpoint turns
unhealthy and gets no requests (no retries configured, so any request sent to it would fail), and
takes requests again once it is back; a body check that never passes leaves every endpoint
unhealthy and panic routing still serves; bad settings are refused with file:line."""
import json
import unittest

from harness import http_request, policy_config, SLOW, Origin, Rampart, assert_refused, wait_until

CONFIG = """
workers: 2
listeners:
  - name: public
    address: 127.0.0.1:{port}
routes:
  - {{ name: checked, match: {{ path_prefix: /checked }}, upstream: checked }}
  - {{ name: picky, match: {{ path_prefix: /picky }}, upstream: picky }}
upstreams:
  checked:
    endpoints: [{origin}, B]
    policies:
      - health_check: {{ path: /health, expect_body: '"ok"', interval: 100ms, timeout: 90ms,
                         unhealthy_threshold: 2, healthy_threshold: 1 }}
  picky:
    endpoints: [{origin}, B]
    policies:
      - health_check: {{ path: /health, expect_body: never-there, interval: 100ms, timeout: 90ms,
                         unhealthy_threshold: 1, start_healthy: false }}
admin: {{ address: 127.0.0.1:{admin} }}
"""


def get(port, path):
    return http_request(port, "GET", path)[0]

class HealthCheckTest(unittest.TestCase):
    def setUp(self):
        self.a, self.b = Origin(), Origin()
        self.rampart = Rampart(CONFIG.replace("B]", f"{self.b.address}]"), self.a, workers=2)

    def tearDown(self):
        self.rampart.stop()
        self.a.stop()
        self.b.stop()

    def endpoints(self, upstream):
        status, body = self.rampart.admin("GET", "/admin/upstreams")
        ups = {u["name"]: u for u in json.loads(body)["upstreams"]}
        return {e["address"]: e for e in ups[upstream]["endpoints"]}

    def metric(self, name):
        return self.rampart.metric(name) or 0

    def test_a_killed_endpoint_gets_no_requests_until_it_is_back(self):
        wait_until(lambda: self.metric(
            'rampart_upstream_health_checks_total{upstream="checked",result="passed"}') >= 4,
            timeout=5 * SLOW)
        self.b.stop()
        wait_until(lambda: not self.endpoints("checked")[self.b.address]["healthy"],
                   timeout=5 * SLOW)
        self.assertGreaterEqual(self.metric(
            'rampart_upstream_health_changes_total{upstream="checked",to="unhealthy"}'), 1)
        # No retries here: a request sent to the dead endpoint would be a 502.
        self.assertEqual([get(self.rampart.port, f"/checked/{i}") for i in range(10)], [200] * 10)
        self.b.start()
        wait_until(lambda: self.endpoints("checked")[self.b.address]["healthy"], timeout=5 * SLOW)
        for i in range(6):
            self.assertEqual(get(self.rampart.port, f"/checked/back{i}"), 200)
        self.assertGreaterEqual(self.b.stats()["requests"], 3)  # checks are not counted there
        self.assertGreaterEqual(self.metric(
            'rampart_upstream_health_changes_total{upstream="checked",to="healthy"}'), 1)

    def test_a_reload_keeps_what_the_checks_learned(self):
        self.b.stop()
        wait_until(lambda: not self.endpoints("checked")[self.b.address]["healthy"],
                   timeout=5 * SLOW)
        # A reload with a slower check: a fresh state would show B healthy for a second or more
        # (start_healthy, two failed checks a second apart); the kept one shows it down at once.
        self.rampart.write_config(CONFIG.replace("B]", f"{self.b.address}]")
                                  .replace("interval: 100ms, timeout: 90ms,\n                         unhealthy_threshold: 2",
                                           "interval: 1s, timeout: 90ms,\n                         unhealthy_threshold: 2"))
        status, body = self.rampart.admin("POST", "/admin/reload")
        self.assertEqual(status, 200, body)
        checked = [p for p in json.loads(self.rampart.admin("GET", "/admin/upstreams")[1])
                   ["upstreams"] if p["name"] == "checked"][0]
        self.assertEqual(checked["policies"][0]["interval_ms"], 1000)  # the new config serves
        self.assertFalse(self.endpoints("checked")[self.b.address]["healthy"])

    def test_failing_checks_leave_endpoints_down_but_panic_routing_serves(self):
        wait_until(lambda: self.metric(
            'rampart_upstream_health_checks_total{upstream="picky",result="failed"}') >= 4,
            timeout=5 * SLOW)
        eps = self.endpoints("picky")
        self.assertFalse(any(e["healthy"] for e in eps.values()))
        self.assertEqual(get(self.rampart.port, "/picky/x"), 200)


class HealthCheckConfigTest(unittest.TestCase):
    def test_bad_settings_are_refused_with_file_and_line(self):
        base = policy_config("health_check")
        assert_refused(self, base, 7, {
            "type: udp": "'udp' is not http or tcp",
            "path: health": "an origin-form path",
            "interval: 1s, timeout: 2s": "timeout is longer than interval",
            "expect_status: [20]": "'20' is not an HTTP status",
            "jitter: 90%": "a percentage from 0 to 50",
        })
        h2 = base.replace("endpoints: [127.0.0.1:2]", "endpoints: [127.0.0.1:2]\n    protocol: h2")
        assert_refused(self, h2.replace("7", "8"), 8, {"path: /": "an h2 upstream takes `type: tcp`"})


if __name__ == "__main__":
    unittest.main()
