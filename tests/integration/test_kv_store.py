"""The key-value store a gate gets from its factory's context, shared through a real
redis-server by three rampart processes of two workers each: set-if-absent has exactly one
winner however the requests spread over workers and processes, and when Redis stops answering
each instance does what its configuration says (`on_failure: local` answers from the process's
own store, `fail` reports the store unavailable). Driven through the test-only probe gate
(tests/gates/probe_gate.cc), which takes the key named in X-Probe-Lock."""
import concurrent.futures
import http.client
import signal
import unittest

from harness import PROBE_BIN, SLOW, Origin, Rampart, RedisServer

CONFIG = """
workers: 2
listeners:
  - name: public
    address: 127.0.0.1:{port}
routes:
  - name: locks
    match: {{ path_prefix: / }}
    upstream: app
    gates: [{{ probe: {{ kv: {{ shared: true, on_failure: ON_FAILURE }} }} }}]
upstreams:
  app: {{ endpoints: [{origin}] }}
state:
  redis: {{ address: 127.0.0.1:REDIS, timeout: 100ms, reconnect_interval: 100ms }}
admin: {{ address: 127.0.0.1:{admin} }}
"""


def lock(port, key):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=10 * SLOW)
    c.request("GET", "/x", headers={"X-Probe-Lock": key})
    r = c.getresponse()
    r.read()
    c.close()
    return r.status, r.getheader("X-Probe-Lock")


class SharedKvTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.redis = RedisServer()
        cls.origin = Origin()
        config = CONFIG.replace("REDIS", str(cls.redis.port))
        cls.local = [Rampart(config.replace("ON_FAILURE", "local"), cls.origin, workers=2,
                             binary=PROBE_BIN) for _ in range(2)]
        cls.failing = Rampart(config.replace("ON_FAILURE", "fail"), cls.origin, workers=2,
                              binary=PROBE_BIN)
        cls.instances = cls.local + [cls.failing]

    @classmethod
    def tearDownClass(cls):
        for r in cls.instances:
            r.stop()
        cls.origin.stop()
        cls.redis.stop()

    def test_set_if_absent_has_one_winner_across_processes_and_workers(self):
        ports = [r.port for r in self.instances] * 20
        for key in ("order-1", "order-2", "order-3"):
            with concurrent.futures.ThreadPoolExecutor(max_workers=30) as pool:
                results = list(pool.map(lambda p: lock(p, key), ports))
            self.assertTrue(all(status == 200 for status, _ in results), results)
            outcomes = [o for _, o in results]
            self.assertEqual(outcomes.count("ok"), 1, outcomes)
            self.assertEqual(outcomes.count("exists"), len(ports) - 1, outcomes)
        self.assertIn("order-1", self.redis.cli("KEYS", "rampart:kv:probe:*"))

    def test_store_unavailable_follows_on_failure(self):
        self.redis.proc.send_signal(signal.SIGSTOP)  # stops answering
        try:
            self.assertEqual(lock(self.local[0].port, "while-down"), (200, "ok"))
            # The same key again on that process: its own store has it now.
            self.assertEqual(lock(self.local[0].port, "while-down"), (200, "exists"))
            self.assertEqual(lock(self.failing.port, "while-down"), (200, "unavailable"))
        finally:
            self.redis.proc.send_signal(signal.SIGCONT)
        fallbacks = self.local[0].metric('rampart_kv_fallbacks_total{store="probe"}')
        self.assertGreaterEqual(fallbacks, 2)


if __name__ == "__main__":
    unittest.main()
