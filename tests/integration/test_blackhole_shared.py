"""Blackholes shared by three instances through one real redis-server (`blackhole.shared`): a
hole one instance makes is enforced by the others within a second, an operator's lift on one
spreads the same way, and with Redis gone each instance keeps blackholing on its own and
publishes what it decided when Redis is back."""
import json
import time
import unittest

from harness import SLOW, Origin, Rampart, RedisServer, assert_refused, status_from, wait_until

CONFIG = """
workers: 1
listeners:
  - name: public
    address: 127.0.0.1:{port}
blackhole: {{ refusals: 3, within: 10s, cooldown: 30s, max_cooldown: 1h, shared: true }}
state: {{ redis: {{ address: "127.0.0.1:REDIS", timeout: 200ms, reconnect_interval: 100ms }} }}
routes:
  - name: limited
    match: {{ path_prefix: /limited }}
    upstream: app
    gates:
      - rate_limit: {{ key: [client_ip], algorithm: token_bucket, rate: 1/h, burst: 1,
                      store: local }}
  - name: app
    upstream: app
upstreams:
  app:
    endpoints: [{origin}]
access_log: {{ enabled: false }}
admin: {{ address: 127.0.0.1:{admin} }}
"""


def status(rampart, source, path="/x"):
    return status_from(rampart.port, source, path)


class SharedBlackholeTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.redis = RedisServer()
        cls.origin = Origin()
        config = CONFIG.replace("REDIS", str(cls.redis.port))
        cls.instances = [Rampart(config, cls.origin) for _ in range(3)]
        for r in cls.instances:  # each has published at least one round
            assert wait_until(lambda r=r: (r.metric(
                'rampart_blackhole_syncs_total{result="ok"}') or 0) >= 1, timeout=5)

    @classmethod
    def tearDownClass(cls):
        for r in cls.instances:
            r.stop()
        cls.origin.stop()
        cls.redis.stop()

    def enforced_everywhere(self, source, held):
        return all((status(r, source) is None) == held for r in self.instances)

    def test_a_hole_made_on_one_is_enforced_by_the_others_within_a_second(self):
        a, b, c = self.instances
        src = "127.0.0.50"
        self.assertEqual([status(a, src, "/limited") for _ in range(4)], [200, 429, 429, 429])
        self.assertIsNone(status(a, src))
        made = time.monotonic()
        self.assertTrue(wait_until(lambda: status(b, src) is None and status(c, src) is None,
                                   timeout=2))
        self.assertLess(time.monotonic() - made, 1.0 * SLOW + 0.3)
        self.assertEqual(status(b, "127.0.0.51"), 200)  # others are served
        self.assertIn(src, self.redis.cli("ZRANGE", "rampart:blackhole", "0", "-1"))
        self.assertGreaterEqual(b.metric('rampart_blackhole_added_total{source="shared"}'), 1)
        entry = {e["address"]: e for e in json.loads(b.admin("GET", "/admin/blackhole")[1])
                 ["entries"]}[src]
        self.assertGreater(entry["seconds_left"], 25)
        # An operator lifts it on another instance: lifted everywhere.
        self.assertEqual(c.admin("DELETE", f"/admin/blackhole?address={src}", "")[0], 200)
        self.assertTrue(wait_until(lambda: self.enforced_everywhere(src, False), timeout=2))

    def test_an_operator_hole_spreads(self):
        a, b, c = self.instances
        src = "127.0.0.60"
        self.assertEqual(b.admin("POST", "/admin/blackhole",
                                 json.dumps({"address": src, "ttl": "1h"}))[0], 200)
        self.assertTrue(wait_until(lambda: self.enforced_everywhere(src, True), timeout=2))
        self.assertEqual(a.admin("DELETE", f"/admin/blackhole?address={src}", "")[0], 200)
        self.assertTrue(wait_until(lambda: self.enforced_everywhere(src, False), timeout=2))

    def test_without_redis_each_instance_keeps_its_own_and_publishes_later(self):
        a, b, _ = self.instances
        self.redis.stop()
        try:
            src = "127.0.0.70"
            self.assertEqual(a.admin("POST", "/admin/blackhole",
                                     json.dumps({"address": src, "ttl": "1h"}))[0], 200)
            self.assertIsNone(status(a, src))  # enforced here at once
            time.sleep(1.5)
            self.assertEqual(status(b, src), 200)  # not known elsewhere yet
            self.assertGreaterEqual(a.metric('rampart_connections_refused_total'
                                             '{listener="public",reason="blackholed"}'), 1)
        finally:
            self.redis.start()
        self.assertTrue(wait_until(lambda: status(b, src) is None, timeout=5))


class SharedBlackholeConfigTest(unittest.TestCase):
    def test_shared_needs_redis(self):
        assert_refused(self, """listeners: [{ address: "127.0.0.1:8080" }]
routes: [{ upstream: app }]
upstreams: { app: { endpoints: ["127.0.0.1:9"] } }
blackhole: { SETTINGS }
""", 4, {"shared: true": "blackhole.shared: needs state.redis",
         "shared: maybe": "blackhole.shared"})


if __name__ == "__main__":
    unittest.main()
