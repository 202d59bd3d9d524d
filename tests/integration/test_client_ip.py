"""Who the client is: PROXY protocol v1 and v2 (plain and TLS, trusted and untrusted sources,
malformed and truncated headers) and the forwarding chain of trusted proxies (X-Forwarded-For,
Forwarded). The resolved address is what the origin's X-Forwarded-For, the access log, rate
limits and hashing see; a forged header from an untrusted peer changes nothing."""
import json
import socket
import ssl
import struct
import tempfile
import time
import unittest

import h2raw
from certs import Pki
from harness import connect_from, SLOW, Origin, Rampart, free_port, is_closed, read_response, validate, wait_until

CONFIG = """
workers: 1
listeners:
  - name: pp
    address: 127.0.0.1:{port}
    proxy_protocol: {{ from: [127.0.0.1/32] }}
    limits: {{ header_timeout: 1s }}
  - name: pp_tls
    address: 127.0.0.1:{ptls}
    proxy_protocol: {{ from: [127.0.0.1] }}
    tls: {{ cert: server.pem, key: server.key }}
  - name: xff
    address: 127.0.0.1:{pxff}
    trusted_proxies: [127.0.0.1, 10.0.0.0/8]
  - name: fwd
    address: 127.0.0.1:{pfwd}
    trusted_proxies: [127.0.0.1]
    client_ip_header: forwarded
  - name: pp_trusting
    address: 127.0.0.1:{ptrust}
    proxy_protocol: {{ from: [127.0.0.1] }}
    trusted_proxies: [127.0.0.1]
  - name: pp_behind
    address: 127.0.0.1:{pbeh}
    proxy_protocol: {{ from: [127.0.0.1] }}
    trusted_proxies: [203.0.113.0/24]
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

SIG = b"\r\n\r\n\x00\r\nQUIT\n"


def v2(command, family, payload):
    return SIG + bytes([0x20 | command, family]) + struct.pack(">H", len(payload)) + payload


def v2_tcp4(src, dst="10.0.0.1", sport=40000, dport=443, tlvs=b""):
    return v2(1, 0x11, socket.inet_aton(src) + socket.inet_aton(dst) +
              struct.pack(">HH", sport, dport) + tlvs)


def v2_tcp6(src, dst="2001:db8::1", sport=40000, dport=443):
    return v2(1, 0x21, socket.inet_pton(socket.AF_INET6, src) +
              socket.inet_pton(socket.AF_INET6, dst) + struct.pack(">HH", sport, dport))


class ClientIpTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        cls.pki = Pki(cls.tmp.name)
        cls.pki.issue("server", "localhost", "DNS:localhost,IP:127.0.0.1")
        cls.origin = Origin()
        cls.ports = {k: free_port() for k in ("ptls", "pxff", "pfwd", "pbeh", "ptrust")}
        body = CONFIG
        for k, v in cls.ports.items():
            body = body.replace("{" + k + "}", str(v))
        cls.rampart = Rampart(body, cls.origin, config_dir=cls.tmp.name)

    @classmethod
    def tearDownClass(cls):
        cls.rampart.stop()
        cls.origin.stop()
        cls.tmp.cleanup()

    def connect(self, port, source="127.0.0.1"):
        return connect_from(port, source)

    def echo(self, sock, path, headers=""):
        sock.sendall(f"GET {path} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n{headers}\r\n".encode())
        status, _, body, _ = read_response(sock)
        sock.close()
        if status != 200:
            return status, {}
        return status, {k.lower(): v for k, v in json.loads(body)["headers"]}

    def log_line(self, path):
        lines = [l for l in self.rampart.access_log(path) if l["path"] == path]
        return lines[-1]

    def refused(self, reason, listener="pp"):
        return self.rampart.metric(
            f'rampart_connections_refused_total{{listener="{listener}",reason="{reason}"}}') or 0

    def proxy_headers(self, result):
        return self.rampart.metric(
            f'rampart_proxy_protocol_headers_total{{listener="pp",result="{result}"}}') or 0

    def assert_closed_silently(self, s):
        """Closed without a byte (a reset is fine: rampart closed with the request unread)."""
        try:
            self.assertEqual(s.recv(100), b"")
        except ConnectionResetError:
            pass
        s.close()

    # --- PROXY protocol ---

    def test_v1_names_the_client(self):
        s = self.connect(self.rampart.port)
        s.sendall(b"PROXY TCP4 192.0.2.7 10.0.0.1 56324 443\r\n")
        status, headers = self.echo(s, "/v1")
        self.assertEqual(status, 200)
        self.assertEqual(headers["x-forwarded-for"], "192.0.2.7")
        line = self.log_line("/v1")
        self.assertEqual(line["client"], "192.0.2.7")
        self.assertEqual(line["client_port"], 56324)
        s = self.connect(self.rampart.port)
        s.sendall(b"PROXY TCP6 2001:db8::7 2001:db8::1 1 443\r\n")
        self.assertEqual(self.echo(s, "/v1six")[1]["x-forwarded-for"], "2001:db8::7")

    def test_v2_tcp4_tcp6_with_tlvs_in_the_same_segment_as_the_request(self):
        before = self.proxy_headers("proxy")
        s = self.connect(self.rampart.port)
        tlvs = b"\x01\x00\x02h2" + b"\x02\x00\x05a.b.c" + b"\xea\x00\x03xyz"
        s.sendall(v2_tcp4("198.51.100.9", tlvs=tlvs) + b"GET /v2 HTTP/1.1\r\nHost: t\r\n\r\n")
        status, _, body, _ = read_response(s)
        s.close()
        self.assertEqual(status, 200)
        headers = {k.lower(): v for k, v in json.loads(body)["headers"]}
        self.assertEqual(headers["x-forwarded-for"], "198.51.100.9")
        s = self.connect(self.rampart.port)
        s.sendall(v2_tcp6("2001:db8::9"))
        self.assertEqual(self.echo(s, "/v2six")[1]["x-forwarded-for"], "2001:db8::9")
        # An IPv4-mapped source is an IPv4 client.
        s = self.connect(self.rampart.port)
        s.sendall(v2_tcp6("::ffff:198.51.100.10"))
        self.assertEqual(self.echo(s, "/v2mapped")[1]["x-forwarded-for"], "198.51.100.10")
        self.assertTrue(wait_until(lambda: self.proxy_headers("proxy") >= before + 3))

    def test_local_and_unknown_keep_the_peer(self):
        before_local, before_unknown = self.proxy_headers("local"), self.proxy_headers("unknown")
        s = self.connect(self.rampart.port)
        s.sendall(v2(0, 0x00, b""))  # LOCAL: the balancer's own health check
        self.assertEqual(self.echo(s, "/local")[1]["x-forwarded-for"], "127.0.0.1")
        s = self.connect(self.rampart.port)
        s.sendall(b"PROXY UNKNOWN\r\n")
        self.assertEqual(self.echo(s, "/unknown")[1]["x-forwarded-for"], "127.0.0.1")
        self.assertTrue(wait_until(lambda: self.proxy_headers("local") == before_local + 1))
        self.assertTrue(wait_until(lambda: self.proxy_headers("unknown") == before_unknown + 1))

    def test_untrusted_source_is_closed_without_a_byte(self):
        before = self.refused("proxy_protocol_untrusted")
        s = self.connect(self.rampart.port, source="127.0.0.2")
        s.sendall(b"PROXY TCP4 192.0.2.7 10.0.0.1 56324 443\r\nGET / HTTP/1.1\r\nHost: t\r\n\r\n")
        self.assert_closed_silently(s)
        self.assertTrue(wait_until(lambda: self.refused("proxy_protocol_untrusted") == before + 1))

    def test_malformed_or_missing_header_is_closed_without_a_byte(self):
        for wire in (b"GET / HTTP/1.1\r\nHost: t\r\n\r\n",          # no header at all
                     b"PROXY TCP4 192.0.2.7 10.0.0.1 99999 443\r\n",  # port out of range
                     b"PROXY TCP4 2001:db8::1 10.0.0.1 1 2\r\n",      # family mismatch
                     b"PROXY TCP4 " + b"1" * 200,                      # longer than 107
                     v2(1, 0x11, b"\x01\x02"),                         # short address block
                     SIG + b"\x31\x11\x00\x00"):                       # version 3
            with self.subTest(wire=wire[:40]):
                before = self.refused("proxy_protocol_malformed")
                s = self.connect(self.rampart.port)
                s.sendall(wire)
                self.assert_closed_silently(s)
                self.assertTrue(wait_until(
                    lambda: self.refused("proxy_protocol_malformed") == before + 1))
        # Truncated by the peer: counted as malformed too.
        before = self.refused("proxy_protocol_malformed")
        s = self.connect(self.rampart.port)
        s.sendall(b"PROXY TCP4 192.0.2.7")
        s.shutdown(socket.SHUT_WR)
        self.assertEqual(s.recv(100), b"")
        s.close()
        self.assertTrue(wait_until(lambda: self.refused("proxy_protocol_malformed") == before + 1))

    def test_a_header_that_never_completes_times_out(self):
        before = self.refused("proxy_protocol_timeout")
        s = self.connect(self.rampart.port)
        s.sendall(b"PROXY TCP4 192.0.2.7 ")
        start = time.monotonic()
        self.assertEqual(s.recv(100), b"")  # header_timeout: 1s
        self.assertLess(time.monotonic() - start, 4 * SLOW)
        s.close()
        self.assertTrue(wait_until(lambda: self.refused("proxy_protocol_timeout") == before + 1))

    def test_tls_listener_reads_the_header_before_the_handshake(self):
        ctx = ssl.create_default_context(cafile=self.pki.ca)
        raw = self.connect(self.ports["ptls"])
        raw.sendall(v2_tcp4("198.51.100.20"))
        with ctx.wrap_socket(raw, server_hostname="localhost") as s:
            s.sendall(b"GET /tls HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
            data = b""
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                data += chunk
        body = data.split(b"\r\n\r\n", 1)[1]
        headers = {k.lower(): v for k, v in json.loads(body)["headers"]}
        self.assertEqual(headers["x-forwarded-for"], "198.51.100.20")
        self.assertEqual(self.log_line("/tls")["client"], "198.51.100.20")

    def test_http2_after_the_header(self):
        c = h2raw.Client.__new__(h2raw.Client)
        c.sock = self.connect(self.rampart.port)
        c.sock.sendall(b"PROXY TCP4 192.0.2.33 10.0.0.1 1000 80\r\n" + h2raw.PREFACE +
                       h2raw.frame(h2raw.SETTINGS, 0, 0))
        c.buf, c.authority = b"", "t"
        c.send(c.headers_frame(1, h2raw.request_headers("t", "/h2pp")))
        while True:
            f = c.read_frame()
            self.assertIsNotNone(f)
            if f[2] == 1 and f[1] & h2raw.END_STREAM:
                break
        c.close()
        self.assertEqual(self.log_line("/h2pp")["client"], "192.0.2.33")

    def test_rate_limits_key_on_the_proxied_client(self):
        for client, expected in (("192.0.2.50", 200), ("192.0.2.50", 429), ("192.0.2.51", 200)):
            s = self.connect(self.rampart.port)
            s.sendall(f"PROXY TCP4 {client} 10.0.0.1 1 80\r\n".encode())
            self.assertEqual(self.echo(s, "/limited/pp")[0], expected, client)

    def test_proxy_source_is_then_subject_to_trusted_proxies(self):
        # The PROXY source is a trusted proxy of this listener: its chain names the client.
        s = self.connect(self.ports["pbeh"])
        s.sendall(b"PROXY TCP4 203.0.113.5 10.0.0.1 1 80\r\n")
        status, headers = self.echo(s, "/behind", "X-Forwarded-For: 6.6.6.6, 198.51.100.77\r\n")
        self.assertEqual(headers["x-forwarded-for"], "6.6.6.6, 198.51.100.77, 203.0.113.5")
        line = self.log_line("/behind")
        self.assertEqual(line["client"], "198.51.100.77")
        self.assertEqual(line["peer"], "203.0.113.5")

    def test_a_header_without_an_address_never_makes_the_relayed_chain_trusted(self):
        for header in (b"PROXY UNKNOWN\r\n", v2(0, 0x00, b"")):
            s = self.connect(self.ports["ptrust"])
            s.sendall(header)
            _, headers = self.echo(s, "/relayed", "X-Forwarded-For: 6.6.6.6\r\n")
            self.assertEqual(headers["x-forwarded-for"], "127.0.0.1")
        self.assertEqual(self.log_line("/relayed")["client"], "127.0.0.1")

    def test_a_refused_head_is_logged_with_its_own_client(self):
        s = self.connect(self.ports["pxff"])
        self.echo(s, "/named", "X-Forwarded-For: 198.51.100.44\r\n")
        self.assertEqual(self.log_line("/named")["client"], "198.51.100.44")
        s = self.connect(self.ports["pxff"], source="127.0.0.6")
        s.sendall(b"GET /malformed HTTP/1.1\r\nHost: t\r\nBad Header\r\n\r\n")
        status, _, _, _ = read_response(s)
        s.close()
        self.assertEqual(status, 400)
        deadline = time.monotonic() + 5 * SLOW
        line = None
        while line is None and time.monotonic() < deadline:
            lines = [l for l in self.rampart.access_log() if l.get("status") == 400]
            line = lines[-1] if lines else None
            time.sleep(0.02)
        self.assertEqual(line["client"], "127.0.0.6")
        self.assertNotIn("peer", line)

    # --- trusted proxies and their chains ---

    def test_forged_chain_from_an_untrusted_peer_changes_nothing(self):
        s = self.connect(self.ports["pxff"], source="127.0.0.3")
        status, headers = self.echo(s, "/forged", "X-Forwarded-For: 198.51.100.1\r\n"
                                                  "Forwarded: for=198.51.100.2\r\n")
        self.assertEqual(headers["x-forwarded-for"], "127.0.0.3")
        line = self.log_line("/forged")
        self.assertEqual(line["client"], "127.0.0.3")
        self.assertNotIn("peer", line)
        # Nor does it buy a fresh rate-limit bucket.
        codes = []
        for claimed in ("198.51.100.60", "198.51.100.61"):
            s = self.connect(self.ports["pxff"], source="127.0.0.4")
            codes.append(self.echo(s, "/limited/forged", f"X-Forwarded-For: {claimed}\r\n")[0])
        self.assertEqual(codes, [200, 429])

    def test_rightmost_untrusted_address_of_a_trusted_chain(self):
        s = self.connect(self.ports["pxff"])
        status, headers = self.echo(s, "/chain", "X-Forwarded-For: 6.6.6.6, 198.51.100.3, 10.1.1.1\r\n")
        self.assertEqual(status, 200)
        # The chain goes on, extended by the peer rampart saw.
        self.assertEqual(headers["x-forwarded-for"], "6.6.6.6, 198.51.100.3, 10.1.1.1, 127.0.0.1")
        line = self.log_line("/chain")
        self.assertEqual(line["client"], "198.51.100.3")
        self.assertEqual(line["peer"], "127.0.0.1")
        codes = []
        for claimed in ("198.51.100.70", "198.51.100.70", "198.51.100.71"):
            s = self.connect(self.ports["pxff"])
            codes.append(self.echo(s, "/limited/chain", f"X-Forwarded-For: {claimed}\r\n")[0])
        self.assertEqual(codes, [200, 429, 200])

    def test_forwarded_header_when_configured(self):
        s = self.connect(self.ports["pfwd"])
        self.echo(s, "/fwd", 'Forwarded: for=6.6.6.6, for="[2001:db8::42]:4711";proto=https\r\n'
                             "X-Forwarded-For: 198.51.100.99\r\n")
        self.assertEqual(self.log_line("/fwd")["client"], "2001:db8::42")


class ClientIpConfigTest(unittest.TestCase):
    def test_proxy_protocol_needs_its_sources(self):
        p, _ = validate("listeners:\n  - name: l\n    address: 127.0.0.1:1\n"
                        "    proxy_protocol: {}\n")
        self.assertEqual(p.returncode, 1)
        self.assertIn("c.yaml:4: listeners[0].proxy_protocol.from: required", p.stdout + p.stderr)
        p, _ = validate("listeners:\n  - name: l\n    address: 127.0.0.1:1\n"
                        "    proxy_protocol: { from: [10.0.0.0/33] }\n"
                        "    client_ip_header: x-real-ip\n")
        out = p.stdout + p.stderr
        self.assertEqual(p.returncode, 1)
        self.assertIn("'10.0.0.0/33' is not an address or CIDR network", out)
        self.assertIn("listeners[0].client_ip_header: 'x-real-ip' is not", out)


if __name__ == "__main__":
    unittest.main()
