"""Blackholing repeat offenders against the real binary: a client that collects enough refusals
is closed at accept without a byte, others are not; the hole lasts the cooldown and doubles on a
repeat; the admin API lists, adds and removes entries."""
import json
import socket
import time
import unittest

from harness import SLOW, Origin, Rampart, status_from, wait_until

CONFIG = """
workers: 2
listeners:
  - name: public
    address: 127.0.0.1:{port}
blackhole: {{ refusals: 3, within: 10s, cooldown: 2s, max_cooldown: 8s }}
routes:
  - name: limited
    match: {{ path_prefix: /limited }}
    upstream: app
    gates:
      - rate_limit: {{ key: [client_ip], algorithm: token_bucket, rate: 1/h, burst: 1 }}
  - name: app
    match: {{ path_prefix: / }}
    upstream: app
upstreams:
  app:
    endpoints: [{origin}]
access_log: {{ path: {log} }}
admin: {{ address: 127.0.0.1:{admin} }}
"""


class BlackholeTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.origin = Origin()
        cls.rampart = Rampart(CONFIG, cls.origin)

    @classmethod
    def tearDownClass(cls):
        cls.rampart.stop()
        cls.origin.stop()

    def status(self, source, path="/x"):
        return status_from(self.rampart.port, source, path)

    def entries(self):
        status, body = self.rampart.admin("GET", "/admin/blackhole")
        self.assertEqual(status, 200)
        return {e["address"]: e for e in json.loads(body)["entries"]}

    def blackholed_refusals(self):
        return self.rampart.metric(
            'rampart_connections_refused_total{listener="public",reason="blackholed"}') or 0

    def test_repeat_offender_is_closed_at_accept_released_and_doubled_on_repeat(self):
        src = "127.0.0.30"
        self.assertEqual([self.status(src, "/limited") for _ in range(4)], [200, 429, 429, 429])
        before = self.blackholed_refusals()
        self.assertIsNone(self.status(src))
        self.assertEqual(self.status("127.0.0.31"), 200)  # others are served
        self.assertTrue(wait_until(lambda: self.blackholed_refusals() == before + 1))
        e = self.entries()[src]
        self.assertEqual(e["strikes"], 1)
        self.assertFalse(e["manual"])
        self.assertLessEqual(e["seconds_left"], 2.0)
        self.assertEqual(self.rampart.metric('rampart_blackhole_added_total{source="refusals"}'), 1)
        # Released after the cooldown.
        self.assertTrue(wait_until(lambda: self.status(src) == 200, timeout=5))
        # A repeat: twice as long.
        self.assertEqual([self.status(src, "/limited") for _ in range(3)], [429, 429, 429])
        self.assertIsNone(self.status(src))
        e = self.entries()[src]
        self.assertEqual(e["strikes"], 2)
        self.assertGreater(e["seconds_left"], 2.5)

    def test_admin_adds_lists_and_removes(self):
        src = "127.0.0.40"
        self.assertEqual(self.status(src), 200)
        status, body = self.rampart.admin("POST", "/admin/blackhole",
                                          json.dumps({"address": src, "ttl": "1h"}))
        self.assertEqual(status, 200, body)
        self.assertIsNone(self.status(src))
        e = self.entries()[src]
        self.assertTrue(e["manual"])
        self.assertGreater(e["seconds_left"], 3500)
        status, _ = self.rampart.admin("DELETE", f"/admin/blackhole?address={src}", "")
        self.assertEqual(status, 200)
        self.assertEqual(self.status(src), 200)
        self.assertNotIn(src, self.entries())
        for body in ('{"address": "not-an-ip"}', '{"address": "127.0.0.41", "ttl": "forever"}',
                     "nope"):
            self.assertEqual(self.rampart.admin("POST", "/admin/blackhole", body)[0], 400)
        self.assertEqual(self.rampart.admin("DELETE", "/admin/blackhole?address=127.0.0.99", "")[0],
                         404)


if __name__ == "__main__":
    unittest.main()
