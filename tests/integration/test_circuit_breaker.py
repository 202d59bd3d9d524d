"""The circuit_breaker upstream policy against the real binary and a counting origin: failures
open it, an open breaker answers 503 upstream_circuit_open without the origin seeing the
request, after open_for one probe closes it again (or a failing probe reopens it), and a reload
with the same settings keeps its state."""
import http.client
import json
import unittest

from harness import policy_config, SLOW, Rampart, assert_refused, wait_until
from payments_origin import PaymentsOrigin

CONFIG = """
workers: 2
listeners:
  - name: public
    address: 127.0.0.1:{port}
routes:
  - name: pay
    match: {{ path_prefix: / }}
    upstream: app
upstreams:
  app:
    endpoints: [{origin}]
    policies:
      - circuit_breaker: {{ window: 10, minimum_calls: 4, failure_rate: 50%, open_for: OPEN_FOR,
                            jitter: 0%, half_open_calls: 1 }}
access_log: {{ path: {log} }}
admin: {{ address: 127.0.0.1:{admin} }}
"""


def call(port, status=201):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=10 * SLOW)
    c.request("POST", "/charge", body="x", headers={"X-Answer-Status": str(status)})
    r = c.getresponse()
    out = (r.status, r.read())
    c.close()
    return out


class CircuitBreakerTest(unittest.TestCase):
    def setUp(self):
        self.origin = PaymentsOrigin()
        self.rampart = Rampart(CONFIG.replace("OPEN_FOR", "1s"), self.origin, workers=2)

    def tearDown(self):
        self.rampart.stop()
        self.origin.stop()

    def metric(self, name):
        return self.rampart.metric(name) or 0

    def open_it(self):
        for status in (503, 201, 503, 503):  # 3 of 4 failed, with the minimum of 4 calls
            self.assertEqual(call(self.rampart.port, status)[0], status)
        self.assertEqual(self.metric(
            'rampart_upstream_circuit_transitions_total{upstream="app",to="open"}'), 1)

    def test_failures_open_it_and_an_open_breaker_spares_the_origin(self):
        self.open_it()
        arrived = self.origin.arrived
        status, body = call(self.rampart.port)
        self.assertEqual(status, 503)
        err = json.loads(body)
        self.assertEqual(err["error"], "upstream_circuit_open")
        self.assertEqual(self.origin.arrived, arrived)  # never reached the origin
        self.assertEqual(self.metric('rampart_upstream_circuit_rejected_total{upstream="app"}'), 1)
        self.assertEqual(self.metric('rampart_upstream_circuit_state{upstream="app"}'), 1)
        lines = self.rampart.access_log()
        self.assertEqual(lines[-1]["reason"], "upstream_circuit_open")

    def upstream(self):
        status, body = self.rampart.admin("GET", "/admin/upstreams")
        self.assertEqual(status, 200)
        ups = {u["name"]: u for u in json.loads(body)["upstreams"]}
        return ups["app"]

    def test_admin_upstreams_shows_the_breaker(self):
        app = self.upstream()
        self.assertEqual([e["address"] for e in app["endpoints"]], [self.origin.address])
        self.assertTrue(app["endpoints"][0]["up"])
        self.assertEqual(app["policies"][0]["kind"], "circuit_breaker")
        self.assertEqual(app["policies"][0]["state"], "closed")
        self.open_it()
        app = self.upstream()
        self.assertEqual(app["policies"][0]["state"], "open")
        self.assertEqual(app["attempts"], 4)
        self.assertEqual(app["errors"], {"connect_failure": 0, "timeout": 0, "reset": 0,
                                         "bad_response": 0})

    def test_a_successful_probe_closes_it(self):
        self.open_it()
        # After open_for (1 s), one probe goes; its success closes the breaker.
        results = []
        self.assertTrue(wait_until(lambda: results.append(call(self.rampart.port)) or
                                   results[-1][0] == 201, timeout=5))
        self.assertTrue(all(s == 503 for s, _ in results[:-1]))
        self.assertEqual(self.metric('rampart_upstream_circuit_state{upstream="app"}'), 0)
        self.assertEqual(self.metric(
            'rampart_upstream_circuit_transitions_total{upstream="app",to="closed"}'), 1)
        self.assertEqual(call(self.rampart.port)[0], 201)

    def test_a_failing_probe_reopens_it_for_longer(self):
        self.open_it()
        results = []
        self.assertTrue(wait_until(lambda: results.append(call(self.rampart.port, 503)) or
                                   json.loads(results[-1][1] or b"{}").get("error") !=
                                   "upstream_circuit_open", timeout=5))
        self.assertEqual(results[-1][0], 503)  # the probe reached the origin, and failed
        self.assertEqual(self.metric(
            'rampart_upstream_circuit_transitions_total{upstream="app",to="open"}'), 2)
        self.assertEqual(json.loads(call(self.rampart.port)[1])["error"], "upstream_circuit_open")

    def test_a_reload_with_the_same_settings_keeps_it_open(self):
        self.open_it()
        self.rampart.write_config(CONFIG.replace("OPEN_FOR", "1s"))
        self.assertEqual(self.rampart.admin("POST", "/admin/reload")[0], 200)
        self.assertEqual(json.loads(call(self.rampart.port)[1])["error"], "upstream_circuit_open")


class PerEndpointBreakerTest(unittest.TestCase):
    """One breaker per endpoint: a dead endpoint's breaker opens and attempts skip it, without
    retries, until every endpoint's breaker is open."""

    def test_an_open_endpoint_breaker_sends_attempts_to_another_endpoint(self):
        from harness import Origin, free_port
        origin = Origin()
        dead = f"127.0.0.1:{free_port()}"
        config = """
workers: 1
listeners:
  - {{ name: public, address: 127.0.0.1:{port} }}
routes: [ {{ name: r, upstream: app }} ]
upstreams:
  app:
    endpoints: [{origin}, DEAD]
    policies:
      - circuit_breaker: {{ per_endpoint: true, window: 4, minimum_calls: 2, failure_rate: 50%,
                            open_for: 1h, open_for_max: 2h }}
admin: {{ address: 127.0.0.1:{admin} }}
""".replace("DEAD", dead)
        rampart = Rampart(config, origin)
        try:
            statuses = []
            for i in range(20):
                c = http.client.HTTPConnection("127.0.0.1", rampart.port, timeout=10 * SLOW)
                c.request("GET", f"/x{i}")
                statuses.append(c.getresponse().status)
                c.close()
            # Round robin sent the dead endpoint two requests (502) before its breaker opened.
            self.assertEqual(statuses.count(502), 2)
            self.assertEqual(statuses[-10:], [200] * 10)
            status, body = rampart.admin("GET", "/admin/upstreams")
            policy = json.loads(body)["upstreams"][0]["policies"][0]
            self.assertTrue(policy["per_endpoint"])
            states = {e["address"]: e["state"] for e in policy["endpoints"]}
            self.assertEqual(states, {origin.address: "closed", dead: "open"})
            self.assertEqual(rampart.metric(
                f'rampart_upstream_circuit_state{{upstream="app",endpoint="{dead}"}}'), 1)
        finally:
            rampart.stop()
            origin.stop()


class CircuitBreakerConfigTest(unittest.TestCase):
    def test_bad_settings_are_refused_with_file_and_line(self):
        base = policy_config("circuit_breaker")
        cases = {
            "failure_rate: 150%": "a percentage from 1 to 100",
            "failure_rate: nan": "a percentage from 1 to 100",
            "jitter: nan": "a percentage from 0 to 100",
            "window: 0": "a window of 1 to 100000 calls",
            "window: 10, minimum_calls: 20": "minimum_calls is more than the window holds",
            "open_for: 10s, open_for_max: 5s": "open_for_max is shorter than open_for",
            "failure_statuses: [5xx]": "is not an HTTP status",
            "jitter: 80%": "at most 50%",
            "open: 1s": "unknown key 'open'",
        }
        assert_refused(self, base, 7, cases)


if __name__ == "__main__":
    unittest.main()
