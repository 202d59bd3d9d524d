"""Rate limits shared through a real redis-server: three rampart processes agree on one limit,
a Redis outage falls back as configured without failing requests, and recovery is automatic."""
import subprocess
import threading
import time
import unittest

from harness import SLOW, Origin, Rampart, RedisServer, free_port, wait_until

CONFIG = """
workers: 1
listeners:
  - name: public
    address: 127.0.0.1:{port}
routes:
  - name: shared
    match: {{ path_prefix: /shared }}
    upstream: app
    gates:
      - rate_limit: {{ key: [{{ header: x-tenant }}], algorithm: gcra, rate: 50/s, burst: 10, store: redis }}
  - name: windowed
    match: {{ path_prefix: /windowed }}
    upstream: app
    gates:
      - rate_limit: {{ key: [{{ header: x-tenant }}], algorithm: sliding_window_counter, rate: 30/m, store: redis, on_store_failure: {mode} }}
upstreams:
  app:
    endpoints: [{origin}]
state:
  redis: {{ address: 127.0.0.1:{redis}, timeout: 100ms, reconnect_interval: 100ms }}
admin: {{ address: 127.0.0.1:{admin} }}
"""


def make(origin, redis_port, mode="local"):
    return Rampart(CONFIG.replace("{redis}", str(redis_port)).replace("{mode}", mode), origin)



class Driver:
    """Sends paced GETs through several rampart instances; counts statuses and failures."""

    def __init__(self, instances, path, headers, rate_per_s, seconds):
        self.counts = {}
        self.failures = 0
        self.lock = threading.Lock()
        self.args = (instances, path, headers, rate_per_s, seconds)

    def run(self):
        instances, path, headers, rate, seconds = self.args
        per = rate / len(instances)
        start = time.monotonic()
        self.start = start

        def worker(inst):
            c = inst.http()
            n = 0
            while True:
                due = start + n / per
                if due - start >= seconds:
                    break
                delay = due - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
                n += 1
                try:
                    c.request("GET", path, headers=headers)
                    r = c.getresponse()
                    r.read()
                    status = r.status
                except OSError:
                    c.close()
                    c = inst.http()
                    status = None
                with self.lock:
                    if status is None:
                        self.failures += 1
                    else:
                        self.counts[status] = self.counts.get(status, 0) + 1
            c.close()

        ts = [threading.Thread(target=worker, args=(i,)) for i in instances]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        self.elapsed = time.monotonic() - start


class SharedRedisLimitTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.redis = RedisServer()
        cls.origin = Origin(threads=2)
        cls.instances = [make(cls.origin, cls.redis.port) for _ in range(3)]

    @classmethod
    def tearDownClass(cls):
        for inst in cls.instances:
            inst.stop()
        cls.origin.stop()
        cls.redis.stop()

    def up(self, inst):
        return inst.metric('rampart_redis_connections_up{redis="127.0.0.1:%d"}' % self.redis.port) == 1

    def warm(self, path, headers):
        # Each worker connects to Redis on its first decision; wait until all three are up.
        for inst in self.instances:
            c = inst.http()
            c.request("GET", path, headers=headers)
            c.getresponse().read()
            c.close()
            self.assertTrue(wait_until(lambda: self.up(inst), 5))

    def test_three_instances_share_one_limit_within_2_percent(self):
        h = {"X-Tenant": "shared-total"}
        self.warm("/shared", {"X-Tenant": "warm-up"})
        d = Driver(self.instances, "/shared", h, rate_per_s=250, seconds=10)  # 5x the limit
        d.run()
        self.assertEqual(d.failures, 0)
        admitted = d.counts.get(200, 0)
        # GCRA 50/s with burst 10: the burst, then one every 20 ms of the run.
        expected = 10 + 50 * d.elapsed
        print(f"\n  3 instances, {sum(d.counts.values())} requests in {d.elapsed:.2f}s: "
              f"admitted {admitted}, expected {expected:.1f}", flush=True)
        self.assertLessEqual(abs(admitted - expected), 0.02 * expected,
                             f"admitted {admitted}, expected {expected:.0f}: {d.counts}")
        self.assertEqual(set(d.counts), {200, 429})
        for inst in self.instances:
            self.assertEqual(inst.metric(
                'rampart_rate_limit_store_fallbacks_total{route="shared",limit="shared"}'), 0)

    def test_redis_outage_falls_back_to_local_limits_then_recovers(self):
        h = {"X-Tenant": "outage"}
        self.warm("/windowed", h)
        fallback = 'rampart_rate_limit_store_fallbacks_total{route="windowed",limit="windowed"}'
        before = [inst.metric(fallback) for inst in self.instances]
        self.redis.stop()
        try:
            self.during_outage(h, fallback, before)
        finally:
            self.redis.start()
        for inst in self.instances:
            self.assertTrue(wait_until(lambda: self.up(inst), 10), inst.logs())
        # Redis is back: the instances reconnected by themselves and stop falling back.
        after = [inst.metric(fallback) for inst in self.instances]
        d = Driver(self.instances, "/windowed", {"X-Tenant": "after"}, rate_per_s=30, seconds=1)
        d.run()
        self.assertEqual(d.failures, 0)
        self.assertEqual([inst.metric(fallback) for inst in self.instances], after)
        self.assertEqual(d.counts.get(200, 0), sum(d.counts.values()))
        self.assertNotEqual(self.redis.cli("KEYS", "rampart:rl:{windowed:*}").strip(), "")

    def test_slow_redis_times_out_into_the_fallback_without_stalling(self):
        h = {"X-Tenant": "slow"}
        inst = self.instances[0]
        self.warm("/windowed", h)
        fallback = 'rampart_rate_limit_store_fallbacks_total{route="windowed",limit="windowed"}'
        timeouts = 'rampart_redis_timeouts_total{redis="127.0.0.1:%d"}' % self.redis.port
        before = (inst.metric(fallback), inst.metric(timeouts))
        sleeper = subprocess.Popen(["redis-cli", "-p", str(self.redis.port), "DEBUG", "SLEEP", "1.5"],
                                   stdout=subprocess.DEVNULL)
        try:
            time.sleep(0.1)  # let the sleep begin
            start = time.monotonic()
            statuses = []
            for _ in range(20):
                c = inst.http()
                c.request("GET", "/windowed", headers=h)
                r = c.getresponse()
                r.read()
                c.close()
                statuses.append(r.status)
            elapsed = time.monotonic() - start
        finally:
            sleeper.wait()
        self.assertEqual(set(statuses) - {200, 429}, set(), statuses)
        self.assertGreater(inst.metric(timeouts), before[1])
        self.assertGreater(inst.metric(fallback), before[0])
        # One request pays the 100 ms timeout; the rest skip Redis until it reconnects, instead
        # of each waiting 100 ms (20 requests would take 2 s).
        self.assertLess(elapsed, 1.0 * SLOW)
        self.assertIn("no reply within 100ms", inst.logs())
        self.assertTrue(wait_until(lambda: self.up(inst), 10))

    def during_outage(self, h, fallback, before):
        # While Redis is down every instance applies the limit locally: no request fails, and
        # each instance admits at most its own 30/m.
        d = Driver(self.instances, "/windowed", h, rate_per_s=60, seconds=2)
        d.run()
        self.assertEqual(d.failures, 0)
        self.assertEqual(set(d.counts) - {200, 429}, set(), d.counts)
        self.assertLessEqual(d.counts.get(200, 0), 3 * 30)
        for inst, b in zip(self.instances, before):
            self.assertGreater(inst.metric(fallback), b)
        self.assertIn("connection lost", self.instances[0].logs())


class RedisAuthTest(unittest.TestCase):
    """state.redis.password and .database: AUTH and SELECT on every connection."""

    def test_auth_and_database_and_a_wrong_password(self):
        redis = RedisServer(args=["--requirepass", "s3cret"])
        origin = Origin(threads=1)
        config = CONFIG.replace("{mode}", "deny").replace(
            "timeout: 100ms,", "timeout: 100ms, password: PASSWORD, database: 3,")
        try:
            for password, want in (("s3cret", 200), ("not-the-pass-9f3", 429)):
                inst = Rampart(config.replace("{redis}", str(redis.port)).replace("PASSWORD", password),
                               origin)
                try:
                    def ask():
                        c = inst.http()
                        c.request("GET", "/windowed", headers={"X-Tenant": "auth-" + password})
                        r = c.getresponse()
                        r.read()
                        c.close()
                        return r.status
                    ask()  # the worker connects on its first decision
                    if want == 200:
                        self.assertTrue(wait_until(lambda: inst.metric(
                            'rampart_redis_connections_up{redis="127.0.0.1:%d"}' % redis.port) == 1, 5))
                        self.assertEqual(ask(), 200)
                        keys = redis.cli("KEYS", "rampart:rl:*", password="s3cret", db=3)
                        self.assertIn("rampart:rl:{windowed:", keys)
                        self.assertEqual(redis.cli("KEYS", "rampart:rl:*", password="s3cret", db=0).strip(), "")
                    else:
                        # Refused AUTH: the connection never counts as up, so `deny` answers.
                        self.assertTrue(wait_until(lambda: "AUTH refused" in inst.logs(), 5))
                        self.assertEqual(ask(), 429)
                        self.assertNotIn(password, inst.logs())  # the password is never logged
                finally:
                    inst.stop()
        finally:
            origin.stop()
            redis.stop()


class StoreFailureModesTest(unittest.TestCase):
    """With Redis unreachable from the start, allow and deny do what they say, at once."""

    def test_allow_and_deny(self):
        origin = Origin(threads=1)
        port = free_port()  # nothing listens there
        try:
            for mode, status in (("allow", 200), ("deny", 429)):
                inst = make(origin, port, mode)
                try:
                    start = time.monotonic()
                    for _ in range(40):
                        c = inst.http()
                        c.request("GET", "/windowed", headers={"X-Tenant": mode})
                        r = c.getresponse()
                        r.read()
                        c.close()
                        self.assertEqual(r.status, status, mode)
                    # A dead Redis adds no latency: 40 requests, no 100 ms timeout each.
                    self.assertLess(time.monotonic() - start, 2 * SLOW)
                    self.assertIn("cannot connect", inst.logs())
                finally:
                    inst.stop()
        finally:
            origin.stop()


if __name__ == "__main__":
    unittest.main()
