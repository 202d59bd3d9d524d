"""Graceful degradation and deadlines against the real binary and real origins: a route's
fallback_upstream takes requests its upstream cannot (every endpoint refusing connections, every
endpoint draining); a route's fallback answer stands in for an open breaker (at once, without
the upstream), a dead upstream or a passed deadline, and says so in a header; the route's
timeout cuts a slow upstream, and a client's timeout header or grpc-timeout shortens it but never
lengthens it; bad settings are refused with file:line."""
import json
import time
import unittest

from harness import http_request, SLOW, Origin, Rampart, assert_refused, free_port

CONFIG = """
workers: 2
listeners:
  - name: public
    address: 127.0.0.1:{port}
routes:
  - {{ name: pay, match: {{ path_prefix: /pay }}, upstream: primary, fallback_upstream: second }}
  - name: recs
    match: {{ path_prefix: /recs }}
    upstream: flaky
    fallback:
      status: 200
      headers: {{ content-type: application/json }}
      body: '{{"items":[]}}'
      on: [circuit_open, no_endpoint, overloaded, timeout, unavailable]
  - name: slow
    match: {{ path_prefix: /slow }}
    upstream: second
    timeout: 300ms
    timeout_header: X-Timeout-Ms
  - name: slowfb
    match: {{ path_prefix: /fbslow }}
    upstream: second
    timeout: 200ms
    fallback: {{ status: 203, body: cached }}
upstreams:
  primary:
    endpoints: [DEAD]
  second:
    endpoints: [{origin}]
  flaky:
    endpoints: [DEAD]
    policies:
      - circuit_breaker: {{ window: 4, minimum_calls: 2, failure_rate: 50%, open_for: 1h, open_for_max: 2h }}
access_log: {{ path: {log} }}
admin: {{ address: 127.0.0.1:{admin} }}
"""


def call(port, path, headers=None):
    status, fields, body = http_request(port, "GET", path, headers=headers, timeout=20)
    return status, fields.get("X-Rampart-Fallback"), body

class FallbackTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.origin = Origin()
        cls.dead = f"127.0.0.1:{free_port()}"
        cls.rampart = Rampart(CONFIG.replace("DEAD", cls.dead), cls.origin, workers=2)

    @classmethod
    def tearDownClass(cls):
        cls.rampart.stop()
        cls.origin.stop()

    def last_log(self, route):
        return [l for l in self.rampart.access_log() if l.get("route") == route][-1]

    def test_a_fallback_upstream_takes_what_the_upstream_cannot(self):
        status, marker, body = call(self.rampart.port, "/pay/charge")
        self.assertEqual(status, 200)
        self.assertEqual(marker, "upstream")
        self.assertEqual(json.loads(body)["target"], "/pay/charge")  # the second upstream answered
        line = self.last_log("pay")
        self.assertEqual(line["upstream"], "second")
        self.assertEqual([t["endpoint"] for t in line["tries"]], [self.dead, self.origin.address])

    def test_the_fallback_answer_stands_in_and_an_open_breaker_answers_at_once(self):
        for i in range(2):  # the dead upstream: the fallback answer, and the breaker opens
            status, marker, body = call(self.rampart.port, f"/recs/{i}")
            self.assertEqual((status, marker, body), (200, "response", b'{"items":[]}'))
        self.assertEqual(self.rampart.metric(
            'rampart_upstream_circuit_transitions_total{upstream="flaky",to="open"}'), 1)
        errors = self.rampart.metric(
            'rampart_upstream_errors_total{upstream="flaky",kind="connect_failure"}')
        times = []
        for i in range(20):
            status, marker, body = call(self.rampart.port, f"/recs/open{i}")
            self.assertEqual((status, marker), (200, "response"))
            times.append(self.last_log("recs")["duration_ms"])
        self.assertEqual(self.rampart.metric(
            'rampart_upstream_errors_total{upstream="flaky",kind="connect_failure"}'), errors)
        times.sort()
        self.assertLess(times[len(times) // 2], 1.0 * SLOW)  # the median: well under 1 ms
        line = self.last_log("recs")
        self.assertEqual(line["gates"], [{"gate": "fallback", "decision": "upstream_circuit_open"}])

    def test_the_route_deadline_cuts_a_slow_upstream_and_the_client_may_shorten_it(self):
        start = time.monotonic()
        status, _, body = call(self.rampart.port, "/slow/x?delay=3000")
        took = time.monotonic() - start
        self.assertEqual(status, 504)
        self.assertEqual(json.loads(body)["error"], "upstream_timeout")
        self.assertLess(took, 2.0 * SLOW)
        self.assertGreaterEqual(took, 0.25)
        start = time.monotonic()
        status, _, _ = call(self.rampart.port, "/slow/x?delay=3000", {"X-Timeout-Ms": "50"})
        self.assertEqual(status, 504)
        self.assertLess(time.monotonic() - start, 0.25 * SLOW + 0.2)
        # A longer client timeout does not lengthen the route's.
        start = time.monotonic()
        status, _, _ = call(self.rampart.port, "/slow/x?delay=3000", {"X-Timeout-Ms": "10000"})
        self.assertEqual(status, 504)
        self.assertLess(time.monotonic() - start, 2.0 * SLOW)
        start = time.monotonic()
        status, _, _ = call(self.rampart.port, "/slow/x?delay=3000",
                            {"grpc-timeout": "60m", "content-type": "application/grpc"})
        self.assertEqual(status, 504)
        self.assertLess(time.monotonic() - start, 0.25 * SLOW + 0.2)
        # grpc-timeout is a gRPC call's own: another request cannot shorten the deadline with it.
        start = time.monotonic()
        status, _, _ = call(self.rampart.port, "/slow/x?delay=200", {"grpc-timeout": "10m"})
        self.assertEqual(status, 200)
        # Under the deadline: answered as usual.
        self.assertEqual(call(self.rampart.port, "/slow/x?delay=10")[0], 200)

    def test_a_passed_deadline_gets_the_fallback_answer(self):
        status, marker, body = call(self.rampart.port, "/fbslow/x?delay=3000")
        self.assertEqual((status, marker, body), (203, "response", b"cached"))


class FallbackConfigTest(unittest.TestCase):
    def test_bad_settings_are_refused_with_file_and_line(self):
        base = """
listeners: [ { name: p, address: 127.0.0.1:1 } ]
upstreams:
  app: { endpoints: [127.0.0.1:2] }
  grpc: { endpoints: [127.0.0.1:3], protocol: h2 }
routes:
  - { name: r, upstream: app, SETTINGS }
"""
        assert_refused(self, base, 7, {
            "fallback_upstream: nope": "fallback_upstream 'nope' is not defined",
            "fallback_upstream: grpc": "speaks another protocol",
            "fallback_upstream: app": "is its own upstream",
            "fallback: { body: a, body_file: b }": "'body' and 'body_file' are exclusive",
            "fallback: { on: [sometimes] }": "'sometimes' is not circuit_open",
            "fallback: { status: 101 }": "a final status from 200 to 599",
            "fallback: { headers: { content-length: '5' } }": "cannot be sent as a fallback header",
            "fallback: { body_file: /nonexistent/x.json }": "cannot be read",
            "timeout: 0s": "must be more than 0",
            "timeout_header: 'a b'": "not a header name",
        })


if __name__ == "__main__":
    unittest.main()
