"""TLS to upstreams: certificate and name verification, a client certificate (mTLS to the
upstream), and keep-alive reuse of TLS connections. The TLS origin is a second rampart with a TLS
listener (client certificates optional, an mtls gate reporting who called) in front of the demo
origin."""
import json
import tempfile
import unittest

from certs import Pki
from harness import Origin, Rampart, free_port

ORIGIN_SIDE = """
listeners:
  - name: tls
    address: 127.0.0.1:{port}
    tls: {{ cert: origin.pem, key: origin.key, client_cert: optional, client_ca: ca.pem }}
routes:
  - name: who
    match: {{ path_prefix: /who }}
    upstream: app
    gates:
      - mtls: {{ forward_header: X-Caller }}
  - name: all
    match: {{ path_prefix: / }}
    upstream: app
upstreams:
  app: {{ endpoints: [{origin}] }}
admin: {{ address: 127.0.0.1:{admin} }}
"""

PROXY_SIDE = """
workers: 1  # one pool of upstream connections, so that reuse is visible
listeners:
  - {{ name: plain, address: 127.0.0.1:{port} }}
routes:
  - {{ name: good, match: {{ path_prefix: /good }}, upstream: good, rewrite: {{ path_prefix: /who }} }}
  - {{ name: by_ip, match: {{ path_prefix: /by-ip }}, upstream: by_ip }}
  - {{ name: wrong_name, match: {{ path_prefix: /wrong-name }}, upstream: wrong_name }}
  - {{ name: wrong_ca, match: {{ path_prefix: /wrong-ca }}, upstream: wrong_ca }}
upstreams:
  good:
    endpoints: [127.0.0.1:TLSPORT]
    tls: {{ ca: ca.pem, server_name: origin.test, cert: caller.pem, key: caller.key }}
  by_ip:
    endpoints: [127.0.0.1:TLSPORT]
    tls: {{ ca: ca.pem }}
  wrong_name:
    endpoints: [127.0.0.1:TLSPORT]
    tls: {{ ca: ca.pem, server_name: elsewhere.test }}
  wrong_ca:
    endpoints: [127.0.0.1:TLSPORT]
    tls: {{ ca: other-ca.pem, server_name: origin.test }}
admin: {{ address: 127.0.0.1:{admin} }}
"""


class UpstreamTlsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        d = cls.tmp.name
        pki = Pki(d)
        pki.issue("origin", "origin.test", "DNS:origin.test,IP:127.0.0.1")
        pki.issue("caller", "caller", "URI:spiffe://example.org/gateway", client=True)
        cls.origin = Origin()
        cls.tls_origin = Rampart(ORIGIN_SIDE, cls.origin, config_dir=d)
        cls.proxy = Rampart(PROXY_SIDE.replace("TLSPORT", str(cls.tls_origin.port)), None,
                            config_dir=d)

    @classmethod
    def tearDownClass(cls):
        cls.proxy.stop()
        cls.tls_origin.stop()
        cls.origin.stop()
        cls.tmp.cleanup()

    def get(self, path):
        c = self.proxy.http()
        c.request("GET", path)
        r = c.getresponse()
        body = r.read()
        c.close()
        return r.status, body

    def test_verified_tls_with_a_client_certificate(self):
        status, body = self.get("/good")
        self.assertEqual(status, 200, body)
        headers = dict((k.lower(), v) for k, v in json.loads(body)["headers"])
        self.assertEqual(headers["x-caller"], "spiffe://example.org/gateway")
        self.assertEqual(headers["x-forwarded-proto"], "https")  # the hop into the TLS origin

    def test_connections_are_reused(self):
        metric = 'rampart_tls_handshakes_total{listener="tls",result="ok"}'
        self.get("/good")
        before = self.tls_origin.metric(metric)
        c = self.proxy.http()
        for _ in range(20):
            c.request("GET", "/good")
            r = c.getresponse()
            r.read()
            self.assertEqual(r.status, 200)
        c.close()
        self.assertEqual(self.tls_origin.metric(metric), before)  # no new handshake

    def test_an_ip_endpoint_is_verified_against_ip_sans(self):
        self.assertEqual(self.get("/by-ip")[0], 200)

    def test_name_and_ca_mismatches_are_502(self):
        for path in ("/wrong-name", "/wrong-ca"):
            status, body = self.get(path)
            self.assertEqual(status, 502, path)
            self.assertEqual(json.loads(body)["error"], "upstream_unavailable")
        self.assertIn("TLS handshake failed", self.proxy.logs())


if __name__ == "__main__":
    unittest.main()
