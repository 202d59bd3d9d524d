"""The rate_limit gate against the real binary: exact limits across workers, the 429 answer and
its headers, several limits per route, shadow mode, shaping, and config errors."""
import json
import threading
import time
import unittest

from harness import ProxyTestCase, validate

CONFIG = """
workers: {workers}
listeners:
  - name: public
    address: 127.0.0.1:{port}
    limits: {{ header_timeout: 1s }}
routes:
  - name: tenant
    match: {{ path_prefix: /tenant }}
    upstream: app
    gates:
      - rate_limit: {{ key: [{{ header: x-tenant }}], algorithm: token_bucket, rate: 500/day }}
  - name: two
    match: {{ path_prefix: /two }}
    upstream: app
    gates:
      - rate_limit:
          limits:
            - {{ name: per_tenant, key: [{{ header: x-tenant }}], algorithm: fixed_window, rate: 10/day }}
            - {{ name: per_user, key: [{{ header: x-tenant }}, {{ header: x-user }}], algorithm: sliding_window_log, rate: 2/h }}
  - name: always
    match: {{ path_prefix: /always }}
    upstream: app
    gates:
      - rate_limit: {{ key: [{{ header: x-tenant }}], algorithm: gcra, rate: 5/m, burst: 3, headers: always }}
  - name: shadow
    match: {{ path_prefix: /shadow }}
    upstream: app
    gates:
      - rate_limit: {{ key: [{{ header: x-tenant }}], rate: 1/h, shadow: true }}
  - name: shaped
    match: {{ path_prefix: /shaped }}
    upstream: app
    gates:
      - rate_limit: {{ key: [{{ header: x-tenant }}], algorithm: leaky_bucket, mode: shape, rate: 20/s, burst: 5 }}
  - name: slow_shape
    match: {{ path_prefix: /slow-shape }}
    upstream: app
    gates:
      - rate_limit: {{ key: [{{ header: x-tenant }}], algorithm: leaky_bucket, mode: shape, rate: 1/s, burst: 2 }}
  - name: skip
    match: {{ path_prefix: /skip }}
    upstream: app
    gates:
      - rate_limit: {{ key: [{{ header: x-api }}], rate: 1/h, when_key_missing: skip }}
  - name: default
    match: {{ path_prefix: / }}
    upstream: app
upstreams:
  app:
    endpoints: [{origin}]
access_log: {{ path: {log} }}
admin: {{ address: 127.0.0.1:{admin} }}
"""


def concurrent_statuses(rampart, path, headers, n):
    """The statuses of `n` simultaneous GETs, in completion order."""
    results = []
    lock = threading.Lock()

    def one():
        r, _ = get(rampart, path, headers)
        with lock:
            results.append(r.status)

    threads = [threading.Thread(target=one) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def get(rampart, path, headers=None):
    c = rampart.http()
    c.request("GET", path, headers=headers or {})
    r = c.getresponse()
    body = r.read()
    c.close()
    return r, body


class LocalRateLimitTest(ProxyTestCase):
    CONFIG = CONFIG
    WORKERS = 2

    def count_ok(self, path, n, headers, threads=4):
        """Sends n requests over `threads` keep-alive connections; returns {status: count}."""
        counts = {}
        lock = threading.Lock()

        def run(k):
            c = self.rampart.http()
            for _ in range(k):
                c.request("GET", path, headers=headers)
                r = c.getresponse()
                r.read()
                with lock:
                    counts[r.status] = counts.get(r.status, 0) + 1
                if r.getheader("Connection") == "close":
                    c.close()
                    c = self.rampart.http()
            c.close()

        ts = [threading.Thread(target=run, args=(n // threads,)) for _ in range(threads)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        return counts

    def test_two_workers_admit_exactly_the_limit(self):
        # 1,000 requests over 8 connections spread across both workers against 500/day.
        counts = self.count_ok("/tenant", 1000, {"X-Tenant": "exact"}, threads=8)
        self.assertEqual(sum(counts.values()), 1000)
        self.assertLessEqual(abs(counts.get(200, 0) - 500), 5, counts)  # ±1%
        self.assertEqual(counts.get(200, 0) + counts.get(429, 0), 1000, counts)
        self.assertGreaterEqual(self.rampart.metric(
            'rampart_rate_limit_requests_total{route="tenant",limit="tenant",decision="refused"}'),
            495)

    def test_refusal_is_a_json_429_with_exact_headers(self):
        before = self.origin.stats()["requests"]
        h = {"X-Tenant": "refusal"}
        for _ in range(10):
            r, _ = get(self.rampart, "/two", h | {"X-User": "u1"})
        r, body = get(self.rampart, "/two", h | {"X-User": "u1"})
        self.assertEqual(r.status, 429)
        doc = json.loads(body)
        self.assertEqual(doc["error"], "rate_limited")
        self.assertEqual(doc["request_id"], r.getheader("X-Request-Id") or doc["request_id"])
        self.assertTrue(doc["request_id"])
        # The per-user sliding log (2/h) refused: Retry-After is when the oldest admission leaves.
        retry = int(r.getheader("Retry-After"))
        self.assertTrue(3590 <= retry <= 3600, retry)
        self.assertEqual(r.getheader("RateLimit-Policy"),
                         '"per_tenant";q=10;w=86400, "per_user";q=2;w=3600')
        self.assertRegex(r.getheader("RateLimit"), r'^"per_tenant";r=\d+;t=\d+, "per_user";r=0;t=\d+$')
        self.assertEqual(self.origin.stats()["requests"] - before, 2)
        log = [l for l in self.rampart.access_log("/two") if l.get("status") == 429 and l["path"] == "/two"]
        self.assertTrue(log)
        self.assertIn({"gate": "rate_limit", "decision": "rate_limited", "detail": "per_user"},
                      log[-1]["gates"])

    def test_a_request_refused_by_one_limit_consumes_from_none(self):
        h = {"X-Tenant": "compose"}
        # u1 passes twice, then the per-user limit refuses it: the per-tenant count stays at 2.
        statuses = [get(self.rampart, "/two", h | {"X-User": "u1"})[0].status for _ in range(6)]
        self.assertEqual(statuses, [200, 200, 429, 429, 429, 429])
        # So the tenant still has 8 of its 10: four more users, two each.
        for u in ("u2", "u3", "u4", "u5"):
            for _ in range(2):
                self.assertEqual(get(self.rampart, "/two", h | {"X-User": u})[0].status, 200, u)
        r, _ = get(self.rampart, "/two", h | {"X-User": "u6"})
        self.assertEqual(r.status, 429)
        self.assertTrue(r.getheader("RateLimit").startswith('"per_tenant";r=0'))

    def test_headers_always_on_allowed_responses(self):
        h = {"X-Tenant": "always"}
        seen = []
        for _ in range(3):
            r, _ = get(self.rampart, "/always", h)
            self.assertEqual(r.status, 200)
            self.assertEqual(r.getheader("RateLimit-Policy"), '"always";q=5;w=60')
            seen.append(r.getheader("RateLimit"))
        self.assertEqual(seen[0], '"always";r=2;t=12')
        self.assertEqual(seen[2], '"always";r=0;t=36')
        r, _ = get(self.rampart, "/always", h)
        self.assertEqual(r.status, 429)
        self.assertEqual(r.getheader("Retry-After"), "12")  # one emission interval, 60s / 5

    def test_shadow_mode_refuses_nothing_and_counts(self):
        h = {"X-Tenant": "shadow"}
        for _ in range(5):
            r, _ = get(self.rampart, "/shadow", h)
            self.assertEqual(r.status, 200)
            self.assertIsNone(r.getheader("Retry-After"))
        self.assertEqual(self.rampart.metric(
            'rampart_rate_limit_requests_total{route="shadow",limit="shadow",decision="shadow_refused"}'), 4)
        log = [l for l in self.rampart.access_log("/shadow") if l["path"] == "/shadow"]
        self.assertTrue(any({"gate": "rate_limit", "decision": "shadow:rate_limited",
                             "detail": "shadow"} in l.get("gates", []) for l in log))

    def test_shape_mode_delays_to_the_constant_rate(self):
        # 20/s with a queue of 5: 6 simultaneous requests all pass, the last one 250 ms later.
        start = time.monotonic()
        results = concurrent_statuses(self.rampart, "/shaped", {"X-Tenant": "shape"}, 6)
        elapsed = time.monotonic() - start
        self.assertEqual(sorted(results), [200] * 6)
        self.assertGreaterEqual(elapsed, 0.24)  # the shaper held the queue; never faster

    def test_a_shaping_delay_longer_than_the_header_timeout_still_answers(self):
        # 1/s with a queue of 2: the third simultaneous request waits 2 s in the gate, past the
        # listener's 1 s header_timeout (which ends with the head), and is still served.
        results = concurrent_statuses(self.rampart, "/slow-shape", {"X-Tenant": "slow-shape"}, 3)
        self.assertEqual(results, [200, 200, 200])

    def test_missing_key_part_skips_when_configured(self):
        for _ in range(3):
            self.assertEqual(get(self.rampart, "/skip")[0].status, 200)
        self.assertEqual(get(self.rampart, "/skip", {"X-Api": "k"})[0].status, 200)
        self.assertEqual(get(self.rampart, "/skip", {"X-Api": "k"})[0].status, 429)


class RateLimitConfigTest(unittest.TestCase):
    def validate(self, gate_yaml, extra=""):
        p, _ = validate(f"""listeners:
  - {{ name: l, address: 127.0.0.1:1 }}
routes:
  - name: r
    match: {{ path_prefix: / }}
    upstream: u
    gates:
      - rate_limit: {gate_yaml}
upstreams:
  u: {{ endpoints: [127.0.0.1:2] }}
{extra}""")
        return p.returncode, p.stdout + p.stderr

    def test_good_config_validates(self):
        code, out = self.validate("{ rate: 100/s, burst: 20, algorithm: gcra }")
        self.assertEqual(code, 0, out)

    def test_errors_name_file_line_and_the_fix(self):
        cases = [
            ("{ rate: 100/s, algorithm: bucket }", "unknown algorithm 'bucket'"),
            ("{ rate: 100 }", "is not a rate like 100/s"),
            ("{ burst: 3 }", "rate: required"),
            ("{ rate: 1/s, algorithm: fixed_window, burst: 3 }", "fixed_window has no burst"),
            ("{ rate: 1/s, store: redis }", "redis needs state.redis.address"),
            ("{ rate: 1/s, key: [cookie] }", "unknown key part 'cookie'"),
            ("{ rate: 1/s, mode: shape }", "only leaky_bucket has a mode"),
            ("{ rate: 1/s, colour: red }", "unknown key"),
        ]
        for gate, want in cases:
            code, out = self.validate(gate)
            self.assertEqual(code, 1, gate)
            self.assertRegex(out, r"c\.yaml:8: ", gate)
            self.assertIn(want, out, gate)

    def test_state_redis_is_validated(self):
        code, out = self.validate("{ rate: 1/s }", "state: { redis: { address: nowhere } }\n")
        self.assertEqual(code, 1)
        self.assertIn("state.redis.address: 'nowhere' is not host:port", out)


if __name__ == "__main__":
    unittest.main()
