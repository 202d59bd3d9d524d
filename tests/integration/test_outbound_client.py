"""The outbound HTTP client that gates get from their factory's context: a gate running on a
worker fetches through it on the control thread (plain HTTP, and HTTPS verified against a CA
bundle), over the proxy's own upstream code, with its connections pooled; a wrong CA, a closed
port and an origin that never answers each fail the fetch with their reason, bounded by the
timeout. Driven through the test-only probe gate (tests/gates/probe_gate.cc)."""
import http.server
import os
import socket
import ssl
import tempfile
import threading
import unittest

from certs import Pki
from harness import PROBE_BIN, SLOW, Origin, Rampart, free_port

CONFIG = """
workers: 2
listeners:
  - name: public
    address: 127.0.0.1:{port}
routes:
  - {{ name: plain, match: {{ path_prefix: /plain }}, upstream: app,
       gates: [{{ probe: {{ fetch: "http://{origin}/hello?size=1234" }} }}] }}
  - {{ name: tls, match: {{ path_prefix: /tls }}, upstream: app,
       gates: [{{ probe: {{ fetch: "https://localhost:TLSPORT/doc", fetch_ca: CA }} }}] }}
  - {{ name: wrong-ca, match: {{ path_prefix: /wrong-ca }}, upstream: app,
       gates: [{{ probe: {{ fetch: "https://localhost:TLSPORT/doc", fetch_ca: OTHERCA }} }}] }}
  - {{ name: closed, match: {{ path_prefix: /closed }}, upstream: app,
       gates: [{{ probe: {{ fetch: "http://127.0.0.1:CLOSED/x" }} }}] }}
  - {{ name: silent, match: {{ path_prefix: /silent }}, upstream: app,
       gates: [{{ probe: {{ fetch: "http://127.0.0.1:SILENT/x", fetch_timeout: 500ms }} }}] }}
upstreams:
  app: {{ endpoints: [{origin}] }}
admin: {{ address: 127.0.0.1:{admin} }}
"""


class Doc(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    connections = set()

    def do_GET(self):
        Doc.connections.add(self.client_address)
        body = b'{"keys": []}'
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


class OutboundClientTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        pki = Pki(cls.tmp.name)
        cert, key = pki.issue("doc", "localhost", "DNS:localhost")
        cls.https = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Doc)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(cert, key)
        cls.https.socket = ctx.wrap_socket(cls.https.socket, server_side=True)
        threading.Thread(target=cls.https.serve_forever, daemon=True).start()
        cls.silent = socket.socket()  # accepts, never answers
        cls.silent.bind(("127.0.0.1", 0))
        cls.silent.listen(8)
        cls.origin = Origin()
        config = (CONFIG.replace("TLSPORT", str(cls.https.server_address[1]))
                  .replace("OTHERCA", pki.other_ca).replace("CA", pki.ca)
                  .replace("CLOSED", str(free_port()))
                  .replace("SILENT", str(cls.silent.getsockname()[1])))
        cls.rampart = Rampart(config, cls.origin, workers=2, binary=PROBE_BIN)

    @classmethod
    def tearDownClass(cls):
        cls.rampart.stop()
        cls.origin.stop()
        cls.https.shutdown()
        cls.silent.close()
        cls.tmp.cleanup()

    def fetched(self, path):
        c = self.rampart.http(timeout=10)
        c.request("GET", path, headers={"X-Probe-Fetch": "1"})
        r = c.getresponse()
        r.read()
        c.close()
        self.assertEqual(r.status, 200)
        return r.getheader("X-Probe-Fetched")

    def test_plain_fetch_and_pooled_connections(self):
        before = self.origin.stats()
        for _ in range(5):
            self.assertEqual(self.fetched("/plain"), "200 1234")
        after = self.origin.stats()
        # Five fetches and five proxied requests, over fewer connections than requests.
        self.assertEqual(after["requests"] - before["requests"], 10)
        self.assertLess(after["connections"] - before["connections"], 10)

    def test_https_is_verified(self):
        self.assertEqual(self.fetched("/tls"), "200 12")
        self.assertEqual(self.fetched("/wrong-ca"), "0 upstream_unavailable")

    def test_failures_are_reported_and_bounded(self):
        self.assertEqual(self.fetched("/closed"), "0 upstream_unavailable")
        self.assertEqual(self.fetched("/silent"), "0 upstream_timeout")


if __name__ == "__main__":
    unittest.main()
