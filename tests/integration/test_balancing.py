"""Weights and consistent hashing against the real binary and three real origins: weighted round
robin sends each endpoint its share; ring_hash and maglev send one key to one endpoint, by header,
cookie or path; when an endpoint drains only its keys move; bad settings are refused with
file:line."""
import http.client
import json
import unittest

from harness import SLOW, Origin, Rampart, assert_refused

CONFIG = """
workers: 1
listeners:
  - name: public
    address: 127.0.0.1:{port}
routes:
  - {{ name: weighted, match: {{ path_prefix: /weighted }}, upstream: weighted }}
  - {{ name: ring, match: {{ path_prefix: /ring }}, upstream: ring }}
  - {{ name: maglev, match: {{ path_prefix: /maglev }}, upstream: maglev }}
  - {{ name: bypath, match: {{ path_prefix: /bypath }}, upstream: bypath }}
upstreams:
  weighted:
    endpoints: [{{ address: "{origin}", weight: 3 }}, B]
  ring:
    endpoints: [{origin}, B, C]
    load_balancer: ring_hash
    hash_on: {{ header: X-User }}
  maglev:
    endpoints: [{origin}, B, C]
    load_balancer: maglev
    hash_on: {{ cookie: sid }}
  bypath:
    endpoints: [{origin}, B, C]
    load_balancer: ring_hash
    hash_on: path
admin: {{ address: 127.0.0.1:{admin} }}
"""


class BalancingTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.a, cls.b, cls.c = Origin(), Origin(), Origin()
        body = (CONFIG.replace("B]", f"{cls.b.address}]").replace("B,", f"{cls.b.address},")
                .replace("C]", f"{cls.c.address}]"))
        cls.rampart = Rampart(body, cls.a)
        cls.by_port = {o.port: name for o, name in ((cls.a, "a"), (cls.b, "b"), (cls.c, "c"))}

    @classmethod
    def tearDownClass(cls):
        cls.rampart.stop()
        for o in (cls.a, cls.b, cls.c):
            o.stop()

    def counts(self):
        return {n: o.stats()["requests"] for n, o in (("a", self.a), ("b", self.b), ("c", self.c))}

    def served_by(self, path, headers=None):
        """Which origin answered: the one whose count went up."""
        before = self.counts()
        c = http.client.HTTPConnection("127.0.0.1", self.rampart.port, timeout=10 * SLOW)
        c.request("GET", path, headers=headers or {})
        r = c.getresponse()
        r.read()
        c.close()
        self.assertEqual(r.status, 200)
        after = self.counts()
        (name,) = [n for n in after if after[n] != before[n]]
        return name

    def test_weighted_round_robin_gives_each_endpoint_its_share(self):
        before = self.counts()
        for i in range(40):
            c = http.client.HTTPConnection("127.0.0.1", self.rampart.port, timeout=10 * SLOW)
            c.request("GET", f"/weighted/{i}")
            self.assertEqual(c.getresponse().status, 200)
            c.close()
        after = self.counts()
        self.assertEqual(after["a"] - before["a"], 30)
        self.assertEqual(after["b"] - before["b"], 10)

    def test_ring_hash_keeps_a_user_on_one_endpoint_and_moves_only_a_drained_ones(self):
        users = [f"user-{i}" for i in range(24)]
        home = {u: self.served_by("/ring/x", {"X-User": u}) for u in users}
        self.assertGreater(len(set(home.values())), 1)  # spread over the endpoints
        for u in users[:6]:  # stable
            self.assertEqual(self.served_by("/ring/y", {"X-User": u}), home[u])
        drained = home[users[0]]
        address = {"a": self.a, "b": self.b, "c": self.c}[drained].address
        status, _ = self.rampart.admin(
            "POST", f"/admin/upstreams/ring/endpoints/{address}/drain", body="{}")
        self.assertEqual(status, 200)
        try:
            for u in users:
                now = self.served_by("/ring/z", {"X-User": u})
                if home[u] == drained:
                    self.assertNotEqual(now, drained)
                else:
                    self.assertEqual(now, home[u])  # only the drained endpoint's users moved
        finally:
            self.rampart.admin("POST", f"/admin/upstreams/ring/endpoints/{address}/undrain",
                               body="{}")

    def test_maglev_by_cookie_and_ring_by_path(self):
        for sid in ("s1", "s2", "s3", "s4"):
            first = self.served_by("/maglev/a", {"Cookie": f"theme=dark; sid={sid}"})
            self.assertEqual(self.served_by("/maglev/b", {"Cookie": f"sid={sid}; x=1"}), first)
        for p in ("/bypath/one", "/bypath/two", "/bypath/three"):
            self.assertEqual(self.served_by(p), self.served_by(p))


class BalancingConfigTest(unittest.TestCase):
    def test_bad_settings_are_refused_with_file_and_line(self):
        base = """
listeners: [ { name: p, address: 127.0.0.1:1 } ]
routes: [ { name: r, upstream: app } ]
upstreams:
  app: { SETTINGS }
"""
        assert_refused(self, base, 5, {
            "endpoints: [127.0.0.1:2], load_balancer: ring_hash": "needs hash_on",
            "endpoints: [{ address: 127.0.0.1:2, weight: 0 }]": "from 1 to 1000",
            "endpoints: [{ weight: 2 }]": "missing required key 'address'",
            "endpoints: [127.0.0.1:2, 127.0.0.1:2]": "listed twice",
            "endpoints: [127.0.0.1:2], load_balancer: maglev, hash_on: { header: 'a b' }":
                "not a valid name",
            "endpoints: [127.0.0.1:2], load_balancer: fastest": "'fastest' is not",
        })


if __name__ == "__main__":
    unittest.main()
