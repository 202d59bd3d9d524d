"""Adaptive concurrency against the real binary: the botnet scenario. Many source addresses, each
far under any per-client limit, together several times what an origin with a fixed number of
servers can take. With the limiter, the origin holds about its capacity and the rest get a fast
503 concurrency_limited with Retry-After; without it, the origin's queue grows with the load. A
critical route keeps being served while a bulk one is shed."""
import http.client
import json
import os
import socket
import threading
import time
import unittest

from harness import SLOW, Origin, Rampart, wait_until

CAPACITY = 4
WORK_MS = 20

CONFIG = """
workers: 2
listeners:
  - name: public
    address: 127.0.0.1:{port}
routes:
  - name: critical
    match: {{ path_prefix: /critical }}
    upstream: app
  - name: bulk
    match: {{ path_prefix: /bulk }}
    upstream: app
  - name: normal
    match: {{ path_prefix: / }}
    upstream: app
upstreams:
  app:
    endpoints: [{origin}]
    POLICIES
access_log: {{ path: {log} }}
admin: {{ address: 127.0.0.1:{admin} }}
"""

LIMITER = """policies:
      - adaptive_concurrency:
          min_limit: 2
          initial_limit: 8
          interval: 50ms
          buffer: 10%
          min_rtt_samples: 20
          min_rtt_interval: 1h
          priorities: {{ critical: critical, bulk: bulk }}"""


class Load:
    """`clients` threads, each on its own source address and keep-alive connection, sending GETs
    of `path` as fast as answers come back, until stopped."""

    def __init__(self, port, path, clients, first_source=10):
        self.results, self.stop_flag = [], threading.Event()
        self.threads = [threading.Thread(target=self.run, args=(port, path, first_source + i))
                        for i in range(clients)]
        for t in self.threads:
            t.start()

    def run(self, port, path, source):
        conn = None
        while not self.stop_flag.is_set():
            try:
                if conn is None:
                    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10 * SLOW,
                                                      source_address=(f"127.0.0.{source}", 0))
                start = time.monotonic()
                conn.request("GET", path)
                r = conn.getresponse()
                body = r.read()
                self.results.append((r.status, time.monotonic() - start, r.getheader("Retry-After"),
                                     body))
                if r.status == 503:
                    # A client that backs off a little (not the whole Retry-After): pressure
                    # stays, without thousands of refusals a second wearing out the loopback's
                    # ephemeral ports for the tests that run after this one.
                    time.sleep(0.01)
            except (OSError, http.client.HTTPException):
                if conn is not None:
                    conn.close()
                conn = None
        if conn is not None:
            conn.close()

    def stop(self):
        self.stop_flag.set()
        for t in self.threads:
            t.join()
        return self.results


def p99(values):
    values = sorted(values)
    return values[int(0.99 * (len(values) - 1))] if values else 0


class AdaptiveConcurrencyTest(unittest.TestCase):
    def start(self, limiter):
        self.origin = Origin(threads=2, capacity=CAPACITY)
        self.rampart = Rampart(CONFIG.replace("POLICIES", LIMITER if limiter else ""), self.origin)
        self.addCleanup(self.origin.stop)
        self.addCleanup(self.rampart.stop)

    def origin_held_max(self, reset=False):
        conn = http.client.HTTPConnection("127.0.0.1", self.origin.port, timeout=5)
        conn.request("GET", "/__stats" + ("?clear=1" if reset else ""))
        out = json.loads(conn.getresponse().read())
        conn.close()
        return out["held_max"]

    def overload(self, path="/normal/x", clients=24, seconds=3.0):
        load = Load(self.rampart.port, f"{path}?work={WORK_MS}", clients)
        time.sleep(1.0 * SLOW)  # the limit settles
        self.origin_held_max(reset=True)
        time.sleep(seconds * SLOW)
        held = self.origin_held_max()
        return held, load.stop()

    def test_the_limiter_bounds_what_the_origin_holds_and_sheds_the_rest_fast(self):
        self.start(limiter=True)
        held, results = self.overload()
        ok = [r for r in results if r[0] == 200]
        if os.environ.get("RAMPART_VERBOSE"):
            print("limiter on: origin held", held, "ok", len(ok), "p99", p99([r[1] for r in ok]),
                  "shed", len(results) - len(ok))
        shed = [r for r in results if r[0] == 503]
        self.assertTrue(ok and shed, (len(ok), len(shed)))
        # 24 clients against 4 servers: without a limit the origin would hold about 24.
        self.assertLessEqual(held, 3 * CAPACITY, held)
        for status, _, retry_after, body in shed[:20]:
            self.assertEqual(retry_after, "1")
            self.assertEqual(json.loads(body)["error"], "concurrency_limited")
        # Refusals cost rampart next to nothing (its own measure, in the access log).
        lines = [l for l in self.rampart.access_log() if l.get("status") == 503]
        self.assertTrue(lines)
        self.assertLess(p99([l["duration_ms"] for l in lines]), 5 * SLOW)
        self.assertGreater(self.rampart.metric(
            'rampart_upstream_concurrency_rejected_total{upstream="app",route="normal"}'), 0)
        limit = self.rampart.metric('rampart_upstream_concurrency_limit{upstream="app"}')
        self.assertLessEqual(limit, 3 * CAPACITY)
        status, body = self.rampart.admin("GET", "/admin/upstreams")
        self.assertIn('"adaptive_concurrency"', body)

    def test_without_the_limiter_the_origin_queue_grows_with_the_load(self):
        self.start(limiter=False)
        held, results = self.overload()
        if os.environ.get("RAMPART_VERBOSE"):
            print("limiter off: origin held", held, "ok", len(results),
                  "p99", p99([r[1] for r in results]))
        self.assertGreaterEqual(held, 4 * CAPACITY, held)
        self.assertFalse([r for r in results if r[0] == 503])

    def test_a_critical_route_keeps_serving_while_bulk_is_shed(self):
        self.start(limiter=True)
        bulk = Load(self.rampart.port, f"/bulk/x?work={WORK_MS}", 24, first_source=10)
        time.sleep(1.0 * SLOW)
        critical = Load(self.rampart.port, f"/critical/x?work={WORK_MS}", 2, first_source=100)
        time.sleep(2.0 * SLOW)
        c, b = critical.stop(), bulk.stop()
        c_ok = sum(1 for r in c if r[0] == 200) / max(1, len(c))
        b_ok = sum(1 for r in b if r[0] == 200) / max(1, len(b))
        self.assertGreater(c_ok, 0.9, (c_ok, b_ok))
        self.assertLess(b_ok, c_ok)


if __name__ == "__main__":
    unittest.main()


GLOBAL = """
workers: 2
listeners:
  - name: public
    address: 127.0.0.1:{port}
adaptive_concurrency: {{ min_limit: 3, max_limit: 3, initial_limit: 3 }}
routes:
  - {{ name: reports, match: {{ path_prefix: /reports }}, upstream: reports }}
  - {{ name: api, upstream: api }}
upstreams:
  reports: {{ endpoints: [{origin}] }}
  api: {{ endpoints: ["ORIGIN2"] }}
access_log: {{ enabled: false }}
admin: {{ address: 127.0.0.1:{admin} }}
"""


class GlobalAdaptiveConcurrencyTest(unittest.TestCase):
    """The gateway-wide limit (top-level adaptive_concurrency): one limit across upstreams."""

    def setUp(self):
        self.origins = [Origin(), Origin()]
        self.rampart = Rampart(GLOBAL.replace("ORIGIN2", self.origins[1].address),
                               self.origins[0])

    def tearDown(self):
        self.rampart.stop()
        for o in self.origins:
            o.stop()

    def get(self, path):
        c = http.client.HTTPConnection("127.0.0.1", self.rampart.port, timeout=10 * SLOW)
        c.request("GET", path)
        r = c.getresponse()
        out = (r.status, r.getheader("Retry-After"), r.read())
        c.close()
        return out

    def test_requests_to_one_upstream_use_up_the_limit_of_all(self):
        slow = [threading.Thread(target=self.get, args=("/reports?delay=1500",)) for _ in range(2)]
        for t in slow:
            t.start()
        self.assertTrue(wait_until(lambda: self.rampart.metric(
            'rampart_upstream_concurrency_in_flight{upstream="*"}') == 2))
        status, retry_after, body = self.get("/api")  # another upstream, same limit
        self.assertEqual((status, retry_after), (503, "1"))
        self.assertEqual(json.loads(body)["error"], "concurrency_limited")
        self.assertGreaterEqual(self.rampart.metric(
            'rampart_upstream_concurrency_rejected_total{upstream="*",route="api"}'), 1)
        for t in slow:
            t.join()
        self.assertEqual(self.get("/api")[0], 200)  # room again
        # A limit of 3 leaves normal routes 2 (critical_reserve: 20%).
        self.assertEqual(self.rampart.metric('rampart_upstream_concurrency_limit{upstream="*"}'), 3)


class GlobalAdaptiveConfigTest(unittest.TestCase):
    def test_errors_name_the_block_once(self):
        from harness import validate
        out, path = validate("""listeners: [{ address: "127.0.0.1:8080" }]
routes: [{ name: a, upstream: a }, { name: b, upstream: b }]
upstreams: { a: { endpoints: ["127.0.0.1:9"] }, b: { endpoints: ["127.0.0.1:10"] } }
adaptive_concurrency: { min_limit: 5, max_limit: 2 }
""")
        text = out.stdout + out.stderr
        self.assertEqual(out.returncode, 1)
        self.assertIn(f"{path}:4:", text)
        self.assertEqual(text.count("min_limit 5 is above max_limit 2"), 1, text)
