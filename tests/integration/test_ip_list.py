"""IP allow and deny lists against the real binary: on a listener (closed at accept, before TLS,
without a byte), on a route (403 with the JSON body), judged on the client the client_ip stage
resolved; list files reloaded when they change, under load, without a failed request; a broken
file keeps the old list in force and is counted."""
import json
import os
import socket
import ssl
import tempfile
import threading
import time
import unittest

from certs import Pki
from harness import connect_from, SLOW, Origin, Rampart, free_port, read_response, wait_until

CONFIG = """
listeners:
  - name: public
    address: 127.0.0.1:{port}
    trusted_proxies: [127.0.0.1]
  - name: feed
    address: 127.0.0.1:{pfeed}
    ip_list: {{ deny_files: [feed.txt] }}
  - name: tls_denied
    address: 127.0.0.1:{ptls}
    ip_list: {{ deny: [127.0.0.2] }}
    tls: {{ cert: server.pem, key: server.key }}
  - name: allow_only
    address: 127.0.0.1:{pallow}
    ip_list: {{ allow: [127.0.0.0/30], deny: [127.0.0.2/32] }}
routes:
  - name: internal
    match: {{ path_prefix: /internal }}
    upstream: app
    gates:
      - ip_list: {{ allow: [10.0.0.0/8, 127.0.0.1] }}
  - name: public
    match: {{ path_prefix: / }}
    upstream: app
    gates:
      - ip_list: {{ deny: [198.51.100.0/24] }}
upstreams:
  app:
    endpoints: [{origin}]
access_log: {{ path: {log} }}
admin: {{ address: 127.0.0.1:{admin} }}
"""


class IpListTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        cls.pki = Pki(cls.tmp.name)
        cls.pki.issue("server", "localhost", "DNS:localhost,IP:127.0.0.1")
        cls.write_feed("# nobody yet\n192.0.2.0/24\n")
        cls.origin = Origin(threads=4)
        cls.ports = {k: free_port() for k in ("pfeed", "ptls", "pallow")}
        body = CONFIG
        for k, v in cls.ports.items():
            body = body.replace("{" + k + "}", str(v))
        cls.rampart = Rampart(body, cls.origin, config_dir=cls.tmp.name)

    @classmethod
    def tearDownClass(cls):
        cls.rampart.stop()
        cls.origin.stop()
        cls.tmp.cleanup()

    @classmethod
    def write_feed(cls, text):
        path = os.path.join(cls.tmp.name, "feed.txt")
        with open(path + ".tmp", "w") as f:
            f.write(text)
        os.replace(path + ".tmp", path)

    def connect(self, port, source):
        return connect_from(port, source)

    def get(self, port, source="127.0.0.1", path="/x", headers=""):
        """(status, body) or None when the connection was closed without an answer."""
        s = self.connect(port, source)
        try:
            s.sendall(f"GET {path} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n{headers}\r\n".encode())
            status, h, body, _ = read_response(s)
            return status, h, body
        except (ConnectionError, OSError):
            return None
        finally:
            s.close()

    def refused(self, listener):
        return self.rampart.metric(
            f'rampart_connections_refused_total{{listener="{listener}",reason="ip_denied"}}') or 0

    def test_listener_deny_closes_before_tls_without_a_byte(self):
        before = self.refused("tls_denied")
        s = self.connect(self.ports["ptls"], "127.0.0.2")
        ctx = ssl.create_default_context(cafile=self.pki.ca)
        with self.assertRaises((ssl.SSLError, ConnectionError, OSError)):
            ctx.wrap_socket(s, server_hostname="localhost")
        s.close()
        self.assertTrue(wait_until(lambda: self.refused("tls_denied") == before + 1))
        raw = self.connect(self.ports["ptls"], "127.0.0.3")
        with ctx.wrap_socket(raw, server_hostname="localhost") as t:
            self.assertIn(t.version(), ("TLSv1.3", "TLSv1.2"))

    def test_allow_list_with_a_more_specific_deny(self):
        port = self.ports["pallow"]
        self.assertEqual(self.get(port, "127.0.0.1")[0], 200)
        self.assertEqual(self.get(port, "127.0.0.3")[0], 200)
        self.assertIsNone(self.get(port, "127.0.0.2"))  # denied inside the allowed /30
        self.assertIsNone(self.get(port, "127.0.0.5"))  # outside every allow entry
        self.assertTrue(wait_until(lambda: self.refused("allow_only") == 2))

    def test_route_deny_answers_403_json_on_the_resolved_client(self):
        before = self.origin.stats()["requests"]
        status, headers, body = self.get(self.rampart.port,
                                         headers="X-Forwarded-For: 198.51.100.7\r\n")
        self.assertEqual(status, 403)
        err = json.loads(body)
        self.assertEqual(err["error"], "ip_denied")
        self.assertEqual(err["request_id"], headers["x-request-id"])
        self.assertEqual(self.origin.stats()["requests"], before)
        # The same request from a client the chain does not name as denied passes.
        self.assertEqual(self.get(self.rampart.port, headers="X-Forwarded-For: 203.0.113.7\r\n")[0],
                         200)
        # An untrusted peer cannot claim an allowed address.
        self.assertEqual(self.get(self.rampart.port, "127.0.0.2", path="/internal/x",
                                  headers="X-Forwarded-For: 10.1.1.1\r\n")[0], 403)
        self.assertEqual(self.get(self.rampart.port, path="/internal/x",
                                  headers="X-Forwarded-For: 10.1.1.1\r\n")[0], 200)
        self.assertEqual(self.rampart.metric(
            'rampart_ip_list_requests_total{route="public",decision="denied"}'), 1)
        line = [l for l in self.rampart.access_log("/x") if l.get("status") == 403][-1]
        self.assertEqual(line["reason"], "ip_denied")

    def test_list_file_reload_under_load_and_a_broken_file_keeps_the_old_list(self):
        port = self.ports["pfeed"]
        metric = 'rampart_ip_list_reloads_total{list="listener:feed",result="%s"}'
        ok_before = self.rampart.metric(metric % "ok") or 0
        failures, done, count = [], threading.Event(), [0]

        def load():
            while not done.is_set():
                r = self.get(port, "127.0.0.1")
                count[0] += 1
                if r is None or r[0] != 200:
                    failures.append(r)
                # A new connection each time (the list is judged at accept), at a pace that
                # leaves the loopback's ephemeral ports to the tests that run after this one.
                time.sleep(0.005)

        threads = [threading.Thread(target=load) for _ in range(4)]
        for t in threads:
            t.start()
        try:
            self.assertIsNotNone(self.get(port, "127.0.0.2"))
            for i in range(3):  # three swaps under load, the last one denying 127.0.0.2
                lines = "".join(f"10.{i}.{j // 250}.{j % 250}/32\n" for j in range(1000))
                self.write_feed(lines + ("127.0.0.2\n" if i == 2 else ""))
                self.assertTrue(wait_until(
                    lambda: (self.rampart.metric(metric % "ok") or 0) >= ok_before + i + 1))
            self.assertTrue(wait_until(lambda: self.get(port, "127.0.0.2") is None))
            # A broken file: logged, counted, the old list stands.
            refused_before = self.rampart.metric(metric % "refused") or 0
            self.write_feed("127.0.0.3\n10.0.0.0/99\n")
            self.assertTrue(wait_until(
                lambda: (self.rampart.metric(metric % "refused") or 0) == refused_before + 1))
            self.assertIsNone(self.get(port, "127.0.0.2"))
            self.assertEqual(self.get(port, "127.0.0.3")[0], 200)
            self.assertIn("10.0.0.0/99", self.rampart.logs())
            self.assertEqual(
                self.rampart.metric('rampart_ip_list_prefixes{list="listener:feed"}'), 1001)
        finally:
            done.set()
            for t in threads:
                t.join()
        self.assertEqual(failures, [])
        self.assertGreater(count[0], 20)


if __name__ == "__main__":
    unittest.main()
