"""Connection caps at accept: the listener's cap, the per-client cap and the per-client rate of
new connections, each closing the connection before a byte is sent and counted by reason; caps
apply to the client a PROXY header names; the counts follow connections that close."""
import socket
import time
import unittest

from harness import connect_from, SLOW, Origin, Rampart, free_port, read_response, validate, wait_until

CONFIG = """
listeners:
  - name: capped
    address: 127.0.0.1:{port}
    connections: {{ max: 3 }}
  - name: per_source
    address: 127.0.0.1:{psrc}
    connections: {{ max_per_source: 2 }}
  - name: rated
    address: 127.0.0.1:{prate}
    connections: {{ rate_per_source: 2/m, burst_per_source: 2 }}
  - name: proxied
    address: 127.0.0.1:{ppp}
    proxy_protocol: {{ from: [127.0.0.1] }}
    connections: {{ max_per_source: 1 }}
  - name: both
    address: 127.0.0.1:{pboth}
    connections: {{ max: 2, max_per_source: 1 }}
    ip_list: {{ deny: [127.0.0.9] }}
routes:
  - name: app
    upstream: app
upstreams:
  app:
    endpoints: [{origin}]
access_log: {{ path: {log} }}
admin: {{ address: 127.0.0.1:{admin} }}
"""


class ConnectionLimitsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.origin = Origin()
        cls.ports = {k: free_port() for k in ("psrc", "prate", "ppp", "pboth")}
        body = CONFIG
        for k, v in cls.ports.items():
            body = body.replace("{" + k + "}", str(v))
        cls.rampart = Rampart(body, cls.origin)

    @classmethod
    def tearDownClass(cls):
        cls.rampart.stop()
        cls.origin.stop()

    def refused(self, listener, reason):
        return self.rampart.metric(
            f'rampart_connections_refused_total{{listener="{listener}",reason="{reason}"}}') or 0

    def open(self, port, source="127.0.0.1", preface=b""):
        s = connect_from(port, source)
        if preface:
            s.sendall(preface)
        return s

    def serves(self, s):
        """One request on `s`: True when answered, False when rampart had closed it."""
        try:
            s.sendall(b"GET /x HTTP/1.1\r\nHost: t\r\n\r\n")
            status, _, _, _ = read_response(s)
            return status == 200
        except (ConnectionError, OSError):
            return False

    def test_listener_cap(self):
        before = self.refused("capped", "max_connections")
        held = [self.open(self.rampart.port) for _ in range(3)]
        for s in held:
            self.assertTrue(self.serves(s))
        extra = self.open(self.rampart.port)
        self.assertFalse(self.serves(extra))
        extra.close()
        self.assertTrue(wait_until(lambda: self.refused("capped", "max_connections") == before + 1))
        # A connection that closes gives its place back.
        held.pop().close()
        def admitted():
            s = self.open(self.rampart.port)
            ok = self.serves(s)
            if ok:
                held.append(s)
            else:
                s.close()
            return ok
        self.assertTrue(wait_until(admitted))
        for s in held:
            s.close()

    def test_per_source_cap_leaves_other_sources_alone(self):
        port = self.ports["psrc"]
        before = self.refused("per_source", "max_per_source")
        a = [self.open(port, "127.0.0.2") for _ in range(2)]
        self.assertTrue(all(self.serves(s) for s in a))
        third = self.open(port, "127.0.0.2")
        self.assertFalse(self.serves(third))
        third.close()
        other = self.open(port, "127.0.0.3")
        self.assertTrue(self.serves(other))
        other.close()
        self.assertTrue(wait_until(
            lambda: self.refused("per_source", "max_per_source") == before + 1))
        for s in a:
            s.close()

    def test_rate_of_new_connections_per_source(self):
        port = self.ports["prate"]
        before = self.refused("rated", "rate_per_source")
        results = []
        for _ in range(3):
            s = self.open(port, "127.0.0.4")
            results.append(self.serves(s))
            s.close()
        self.assertEqual(results, [True, True, False])
        s = self.open(port, "127.0.0.5")
        self.assertTrue(self.serves(s))
        s.close()
        self.assertTrue(wait_until(lambda: self.refused("rated", "rate_per_source") == before + 1))

    def test_caps_apply_to_the_client_a_proxy_header_names(self):
        port = self.ports["ppp"]
        one = self.open(port, preface=b"PROXY TCP4 192.0.2.1 10.0.0.1 1 80\r\n")
        self.assertTrue(self.serves(one))
        same = self.open(port, preface=b"PROXY TCP4 192.0.2.1 10.0.0.1 2 80\r\n")
        self.assertFalse(self.serves(same))
        same.close()
        other = self.open(port, preface=b"PROXY TCP4 192.0.2.2 10.0.0.1 3 80\r\n")
        self.assertTrue(self.serves(other))
        other.close()
        one.close()
        self.assertTrue(wait_until(lambda: self.refused("proxied", "max_per_source") >= 1))

    def test_a_connection_refused_after_the_listener_cap_gives_its_place_back(self):
        port = self.ports["pboth"]
        # Many refusals by the per-client cap and the deny list, each of which had taken a
        # place under the listener's cap of 2 first.
        held = self.open(port, "127.0.0.20")
        self.assertTrue(self.serves(held))
        for _ in range(5):
            s = self.open(port, "127.0.0.20")
            self.assertFalse(self.serves(s))
            s.close()
            s = self.open(port, "127.0.0.9")
            self.assertFalse(self.serves(s))
            s.close()
        self.assertTrue(wait_until(lambda: self.refused("both", "max_per_source") == 5))
        self.assertTrue(wait_until(lambda: self.refused("both", "ip_denied") == 5))
        # One place is still free for another client, and only one.
        other = self.open(port, "127.0.0.21")
        self.assertTrue(self.serves(other))
        third = self.open(port, "127.0.0.22")
        self.assertFalse(self.serves(third))
        third.close()
        self.assertEqual(self.refused("both", "max_connections"), 1)
        other.close()
        held.close()


class ConnectionLimitsConfigTest(unittest.TestCase):
    def test_bad_settings_are_refused_with_file_and_line(self):
        p, _ = validate("listeners:\n  - name: l\n    address: 127.0.0.1:1\n"
                        "    connections: { max: -1, rate_per_source: fast, burst_per_source: 3, "
                        "max_per_sorce: 2 }\n")
        out = p.stdout + p.stderr
        self.assertEqual(p.returncode, 1)
        self.assertIn("c.yaml:4: listeners[0].connections.max", out)
        self.assertIn("'fast' is not a rate", out)
        self.assertIn("max_per_sorce", out)


if __name__ == "__main__":
    unittest.main()
