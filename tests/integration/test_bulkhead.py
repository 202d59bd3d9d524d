"""The bulkhead upstream policy against the real binary and a real origin: a slow route fills
its share of an upstream and gets 503 upstream_overloaded beyond it, while a route with reserved
places is served at once; a queued request is served when a place frees; bad settings are
refused with file:line."""
import json
import threading
import time
import unittest

from harness import http_request, policy_config, SLOW, Origin, Rampart, assert_refused, wait_until

CONFIG = """
workers: 2
listeners:
  - name: public
    address: 127.0.0.1:{port}
routes:
  - {{ name: reports, match: {{ path_prefix: /reports }}, upstream: ledger }}
  - {{ name: payments, match: {{ path_prefix: /payments }}, upstream: ledger }}
  - {{ name: queued, match: {{ path_prefix: /queued }}, upstream: narrow }}
  - {{ name: oneconn, match: {{ path_prefix: /oneconn }}, upstream: oneconn }}
upstreams:
  ledger:
    endpoints: [{origin}]
    policies:
      - bulkhead: {{ max_requests: 5, reserve: {{ payments: 2 }} }}
  narrow:
    endpoints: [{origin}]
    policies:
      - bulkhead: {{ max_requests: 1, max_pending: 1, queue_timeout: 5s }}
  oneconn:
    endpoints: [{origin}]
    policies:
      - bulkhead: {{ max_connections: 1 }}
access_log: {{ path: {log} }}
admin: {{ address: 127.0.0.1:{admin} }}
"""


def get(port, path):
    status, _, body = http_request(port, "GET", path, timeout=20)
    return status, body

class BulkheadTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.origin = Origin(threads=4)
        cls.rampart = Rampart(CONFIG, cls.origin, workers=2)

    @classmethod
    def tearDownClass(cls):
        cls.rampart.stop()
        cls.origin.stop()

    def bulkhead(self, upstream):
        _, body = self.rampart.admin("GET", "/admin/upstreams")
        ups = {u["name"]: u for u in json.loads(body)["upstreams"]}
        return ups[upstream]["policies"][0]

    def slow(self, path, results):
        t = threading.Thread(target=lambda: results.append(get(self.rampart.port, path)[0]))
        t.start()
        return t

    def test_a_slow_route_cannot_take_the_reserved_places(self):
        replies = self.rampart.metric(
            'rampart_http_local_replies_total{reason="upstream_overloaded"}') or 0
        results = []
        threads = [self.slow(f"/reports/{i}?delay=1500", results) for i in range(3)]
        wait_until(lambda: self.bulkhead("ledger")["in_flight_shared"] == 3, timeout=5 * SLOW)
        status, body = get(self.rampart.port, "/reports/more")
        self.assertEqual(status, 503)
        self.assertEqual(json.loads(body)["error"], "upstream_overloaded")
        start = time.monotonic()
        for i in range(4):
            self.assertEqual(get(self.rampart.port, f"/payments/{i}")[0], 200)
        self.assertLess(time.monotonic() - start, 1.0 * SLOW)  # not behind the slow reports
        for t in threads:
            t.join(20 * SLOW)
        self.assertEqual(results, [200, 200, 200])
        self.assertEqual(self.rampart.metric(
            'rampart_upstream_bulkhead_rejected_total{upstream="ledger",route="reports"}'), 1)
        self.assertEqual(self.rampart.metric(
            'rampart_http_local_replies_total{reason="upstream_overloaded"}'), replies + 1)
        b = self.bulkhead("ledger")
        self.assertEqual(b["in_flight_shared"], 0)
        self.assertEqual(b["reserved"], [{"route": "payments", "places": 2, "in_flight": 0}])

    def test_a_queued_request_is_served_when_a_place_frees(self):
        results = []
        first = self.slow("/queued/1?delay=400", results)
        wait_until(lambda: self.bulkhead("narrow")["in_flight_shared"] == 1, timeout=5 * SLOW)
        second = self.slow("/queued/2", results)
        wait_until(lambda: self.bulkhead("narrow")["pending"] == 1, timeout=5 * SLOW)
        self.assertEqual(get(self.rampart.port, "/queued/3")[0], 503)  # the queue holds one
        first.join(20 * SLOW)
        second.join(20 * SLOW)
        self.assertEqual(sorted(results), [200, 200])
        self.assertGreaterEqual(self.rampart.metric(
            'rampart_upstream_bulkhead_queued_total{upstream="narrow"}'), 1)
        self.assertEqual(self.bulkhead("narrow")["pending"], 0)


class MaxConnectionsTest(BulkheadTest):
    def test_a_request_that_needs_a_connection_beyond_the_cap_is_refused(self):
        results = []
        first = self.slow("/oneconn/1?delay=500", results)
        wait_until(lambda: (self.rampart.metric(
            'rampart_upstream_connections_in_use{upstream="oneconn"}') or 0) == 1, timeout=5 * SLOW)
        status, body = get(self.rampart.port, "/oneconn/2")
        self.assertEqual(status, 503)
        self.assertEqual(json.loads(body)["error"], "upstream_overloaded")
        first.join(20 * SLOW)
        self.assertEqual(results, [200])
        # Its place is free again (an idle pooled connection holds none): whichever worker takes
        # the next requests may use one connection.
        for i in range(6):
            self.assertEqual(get(self.rampart.port, f"/oneconn/{i + 3}")[0], 200)
        self.assertEqual(self.rampart.metric(
            'rampart_upstream_connections_in_use{upstream="oneconn"}'), 0)
        self.assertEqual(self.rampart.metric(
            'rampart_upstream_errors_total{upstream="oneconn",kind="reset"}') or 0, 0)

    test_a_slow_route_cannot_take_the_reserved_places = None
    test_a_queued_request_is_served_when_a_place_frees = None


class BulkheadConfigTest(unittest.TestCase):
    def test_bad_settings_are_refused_with_file_and_line(self):
        base = policy_config("bulkhead")
        assert_refused(self, base, 7, {
            "max_requests: 0": "must be at least 1",
            "max_requests: 4, reserve: { r: 4 }": "leave some places",
            "reserve: { nope: 1 }": "no route named 'nope'",
            "queue_timeout: 0s": "queue_timeout",
        })


if __name__ == "__main__":
    unittest.main()
