"""TLS listeners against the real binary: versions, SNI, HTTPS forwarding, client certificates
(required, optional, wrong CA, revoked), SPIFFE allowlists, identity forwarding that clients
cannot spoof, certificate rotation under load, and config errors."""
import json
import os
import shutil
import socket
import ssl
import subprocess
import tempfile
import threading
import time
import unittest
import warnings

from certs import Pki
import h2raw
from harness import SLOW, Origin, Rampart, free_port, validate

CONFIG = """
listeners:
  - name: tls13
    address: 127.0.0.1:{port}
    tls:
      certificates:
        - {{ cert: server.pem, key: server.key }}
        - {{ cert: other.pem, key: other.key }}
        - {{ cert: wild.pem, key: wild.key }}
  - name: modern
    address: 127.0.0.1:{pmod}
    tls: {{ cert: server.pem, key: server.key, profile: modern }}
  - name: modern_but_12
    address: 127.0.0.1:{p12}
    tls: {{ cert: server.pem, key: server.key, profile: modern, min_version: "1.2" }}
  - name: rsa
    address: 127.0.0.1:{prsa}
    tls: {{ cert: rsa.pem, key: rsa.key }}
  - name: own_ciphers
    address: 127.0.0.1:{pciph}
    tls: {{ cert: server.pem, key: server.key, ciphers: "ECDHE-ECDSA-AES256-GCM-SHA384:aNULL:@SECLEVEL=0" }}
  - name: mtls_required
    address: 127.0.0.1:{preq}
    tls: {{ cert: server.pem, key: server.key, client_cert: required, client_ca: ca.pem, crl: crl.pem }}
  - name: mtls_optional
    address: 127.0.0.1:{popt}
    tls: {{ cert: server.pem, key: server.key, client_cert: optional, client_ca: ca.pem }}
routes:
  - name: payments
    match: {{ path_prefix: /payments }}
    upstream: app
    gates:
      - mtls: {{ allow_spiffe_ids: [spiffe://example.org/ns/prod/sa/payments], forward_header: X-Client-Identity }}
  - name: org
    match: {{ path_prefix: /org }}
    upstream: app
    gates:
      - mtls: {{ allow_trust_domains: [example.org], forward_header: X-Client-Identity }}
  - name: default
    match: {{ path_prefix: / }}
    upstream: app
upstreams:
  app:
    endpoints: [{origin}]
admin: {{ address: 127.0.0.1:{admin} }}
"""


def context(pki, cert=None, min_v=None, max_v=None, ca=None):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.load_verify_locations(ca or pki.ca)
    if min_v:
        ctx.minimum_version = min_v
    if max_v:
        ctx.maximum_version = max_v
    if cert:
        ctx.load_cert_chain(*cert)
    return ctx


class TlsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        d = cls.tmp.name
        cls.pki = Pki(d)
        cls.pki.issue("server", "localhost", "DNS:localhost,DNS:api.test,IP:127.0.0.1")
        cls.pki.issue("other", "other.test", "DNS:other.test")
        cls.pki.issue("wild", "wild", "DNS:*.wild.test")
        cls.pki.issue("rsa", "localhost", "DNS:localhost", rsa=True)
        cls.payments = cls.pki.issue("payments", "payments",
                                     "URI:spiffe://example.org/ns/prod/sa/payments", client=True)
        cls.billing = cls.pki.issue("billing", "billing",
                                    "URI:spiffe://example.org/ns/prod/sa/billing", client=True)
        cls.stranger = cls.pki.issue("stranger", "stranger", "URI:spiffe://other.org/x", client=True)
        cls.revoked = cls.pki.issue("revoked", "revoked", "URI:spiffe://example.org/revoked",
                                    client=True)
        cls.untrusted = cls.pki.issue("untrusted", "untrusted", "URI:spiffe://example.org/ns/prod/sa/payments",
                                      client=True, ca="other-ca")
        cls.pki.revoke(cls.revoked[0])
        cls.pki.crl()
        cls.origin = Origin()
        cls.ports = {k: free_port() for k in ("p12", "pmod", "prsa", "pciph", "preq", "popt")}
        body = CONFIG
        for k, v in cls.ports.items():
            body = body.replace("{" + k + "}", str(v))
        cls.rampart = Rampart(body, cls.origin, config_dir=d)

    @classmethod
    def tearDownClass(cls):
        cls.rampart.stop()
        cls.origin.stop()
        cls.tmp.cleanup()

    def handshake(self, port, ctx, name="localhost"):
        with socket.create_connection(("127.0.0.1", port), timeout=5 * SLOW) as raw:
            with ctx.wrap_socket(raw, server_hostname=name) as s:
                return s.version(), s.getpeercert()

    def request(self, port, path, ctx, headers=None, name="localhost"):
        with socket.create_connection(("127.0.0.1", port), timeout=5 * SLOW) as raw:
            with ctx.wrap_socket(raw, server_hostname=name) as s:
                extra = "".join(f"{k}: {v}\r\n" for k, v in (headers or {}).items())
                s.sendall(f"GET {path} HTTP/1.1\r\nHost: {name}\r\nConnection: close\r\n{extra}\r\n".encode())
                data = b""
                while True:
                    chunk = s.recv(65536)
                    if not chunk:
                        break
                    data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        status = int(head.split(b" ")[1])
        return status, body

    def test_intermediate_profile_by_default_modern_only_when_asked(self):
        v, _ = self.handshake(self.rampart.port, context(self.pki))
        self.assertEqual(v, "TLSv1.3")
        # Mozilla "intermediate": TLS 1.2 for the clients that have nothing newer.
        v, _ = self.handshake(self.rampart.port, context(self.pki, max_v=ssl.TLSVersion.TLSv1_2))
        self.assertEqual(v, "TLSv1.2")
        # "modern": 1.3 only.
        v, _ = self.handshake(self.ports["pmod"], context(self.pki))
        self.assertEqual(v, "TLSv1.3")
        with self.assertRaises(ssl.SSLError):
            self.handshake(self.ports["pmod"], context(self.pki, max_v=ssl.TLSVersion.TLSv1_2))
        # An explicit min_version wins over the profile.
        v, _ = self.handshake(self.ports["p12"], context(self.pki, max_v=ssl.TLSVersion.TLSv1_2))
        self.assertEqual(v, "TLSv1.2")
        # Never below 1.2, whatever the profile.
        for port in (self.rampart.port, self.ports["p12"]):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DeprecationWarning)
                ctx = context(self.pki, max_v=ssl.TLSVersion.TLSv1_1)
            ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
            with self.assertRaises(ssl.SSLError):
                self.handshake(port, ctx)

    def tls12_with(self, port, suites):
        ctx = context(self.pki, max_v=ssl.TLSVersion.TLSv1_2)
        ctx.set_ciphers(suites + ":@SECLEVEL=0")
        with socket.create_connection(("127.0.0.1", port), timeout=5 * SLOW) as raw:
            with ctx.wrap_socket(raw, server_hostname="localhost") as s:
                return s.cipher()[0]

    def test_tls12_offers_only_forward_secret_aead_suites(self):
        for suite in ("ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-ECDSA-AES256-GCM-SHA384",
                      "ECDHE-ECDSA-CHACHA20-POLY1305"):
            self.assertEqual(self.tls12_with(self.rampart.port, suite), suite)
        # RSA keys: ECDHE first, and DHE (ffdhe) for clients without ECDHE-RSA-GCM.
        for suite in ("ECDHE-RSA-AES128-GCM-SHA256", "DHE-RSA-AES128-GCM-SHA256",
                      "DHE-RSA-AES256-GCM-SHA384"):
            self.assertEqual(self.tls12_with(self.ports["prsa"], suite), suite)
        # CBC, static RSA key exchange and 3DES are never offered.
        for port, suite in ((self.rampart.port, "ECDHE-ECDSA-AES128-SHA"),
                            (self.rampart.port, "ECDHE-ECDSA-AES128-SHA256"),
                            (self.ports["prsa"], "AES128-GCM-SHA256"),
                            (self.ports["prsa"], "DES-CBC3-SHA"),
                            (self.ports["prsa"], "DHE-RSA-AES128-SHA")):
            with self.subTest(suite=suite), self.assertRaises(ssl.SSLError):
                self.tls12_with(port, suite)

    def test_explicit_ciphers_win_but_never_anonymous(self):
        self.assertEqual(self.tls12_with(self.ports["pciph"], "ECDHE-ECDSA-AES256-GCM-SHA384"),
                         "ECDHE-ECDSA-AES256-GCM-SHA384")
        with self.assertRaises(ssl.SSLError):
            self.tls12_with(self.ports["pciph"], "ECDHE-ECDSA-AES128-GCM-SHA256")
        with self.assertRaises(ssl.SSLError):
            self.tls12_with(self.ports["pciph"], "aNULL")

    def test_sni_picks_the_certificate(self):
        def cn(name):
            _, cert = self.handshake(self.rampart.port, context(self.pki), name)
            return dict(x[0] for x in cert["subject"])["commonName"]
        self.assertEqual(cn("localhost"), "localhost")
        self.assertEqual(cn("other.test"), "other.test")
        self.assertEqual(cn("a.wild.test"), "wild")
        ctx = context(self.pki)
        ctx.check_hostname = False  # an unknown name gets the default certificate
        _, cert = self.handshake(self.rampart.port, ctx, "unknown.test")
        self.assertEqual(dict(x[0] for x in cert["subject"])["commonName"], "localhost")

    def test_https_is_forwarded_with_x_forwarded_proto_https(self):
        status, body = self.request(self.rampart.port, "/hello", context(self.pki))
        self.assertEqual(status, 200)
        headers = dict((k.lower(), v) for k, v in json.loads(body)["headers"])
        self.assertEqual(headers["x-forwarded-proto"], "https")
        # ALPN: h2 when the client offers it, HTTP/1.1 otherwise, on the same listener.
        for flag, version in (("--http2", "2"), ("--http1.1", "1.1")):
            out = subprocess.run(["curl", "-s", flag, "--cacert", self.pki.ca, "--resolve",
                                  f"api.test:{self.rampart.port}:127.0.0.1",
                                  f"https://api.test:{self.rampart.port}/curl",
                                  "-w", "\n%{http_code} %{http_version}"],
                                 capture_output=True, text=True)
            body, _, status = out.stdout.rpartition("\n")
            self.assertEqual(status, f"200 {version}")
            headers = dict((k.lower(), v) for k, v in json.loads(body.strip())["headers"])
            self.assertEqual(headers["x-forwarded-proto"], "https")

    def test_http2_client_that_pauses_reading_gets_every_byte(self):
        # TLS records OpenSSL made before the socket filled are sent as they were once it drains.
        size = 12 * 1024 * 1024
        ctx = context(self.pki)
        ctx.set_alpn_protocols(["h2"])
        raw = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 32 * 1024)
        raw.settimeout(30 * SLOW)
        raw.connect(("127.0.0.1", self.rampart.port))
        with ctx.wrap_socket(raw, server_hostname="localhost") as s:
            self.assertEqual(s.selected_alpn_protocol(), "h2")
            headers, body = h2raw.paused_download(s, f"localhost:{self.rampart.port}",
                                                  f"/paused?size={size}", 1.5 * SLOW)
        self.assertTrue(headers)
        self.assertEqual(len(body), size)
        self.assertEqual(body, h2raw.origin_bytes(size))

    def test_http2_streams_carry_the_client_identity_through_the_mtls_gate(self):
        port = self.ports["preq"]
        cert, key = self.payments
        out = subprocess.run(["curl", "-s", "--http2", "--cacert", self.pki.ca, "--cert", cert,
                              "--key", key, "-H", "X-Client-Identity: spoofed",
                              f"https://localhost:{port}/payments/1", f"https://localhost:{port}/payments/2",
                              "-w", "\n%{http_code} %{http_version}\n"],
                             capture_output=True, text=True)
        lines = [l for l in out.stdout.split("\n") if l]
        self.assertEqual([l for l in lines if not l.startswith("{")], ["200 2", "200 2"])
        for body in [l for l in lines if l.startswith("{")]:
            headers = [(k.lower(), v) for k, v in json.loads(body)["headers"]]
            self.assertIn(("x-client-identity", "spiffe://example.org/ns/prod/sa/payments"), headers)
            self.assertNotIn(("x-client-identity", "spoofed"), headers)
        cert, key = self.billing
        out = subprocess.run(["curl", "-s", "--http2", "--cacert", self.pki.ca, "--cert", cert,
                              "--key", key, f"https://localhost:{port}/payments/1",
                              "-w", "\n%{http_code} %{http_version}"], capture_output=True, text=True)
        body, _, status = out.stdout.rpartition("\n")
        self.assertEqual(status, "403 2")
        self.assertEqual(json.loads(body.strip())["error"], "client_identity_forbidden")

    def test_client_certificate_required(self):
        port = self.ports["preq"]
        self.assertEqual(self.request(port, "/x", context(self.pki, self.payments))[0], 200)
        for cert, why in ((None, "no certificate"), (self.untrusted, "wrong CA"),
                          (self.revoked, "revoked")):
            with self.assertRaises((ssl.SSLError, ConnectionError, OSError), msg=why):
                # TLS 1.3: the server's refusal arrives after the client's handshake completes.
                self.request(port, "/x", context(self.pki, cert))
        # The server counts a failed handshake after sending its alert, which the client may
        # see first: wait (bounded) for the count.
        failed = 'rampart_tls_handshakes_total{listener="mtls_required",result="failed"}'
        deadline = time.monotonic() + 5 * SLOW
        while self.rampart.metric(failed) < 3 and time.monotonic() < deadline:
            time.sleep(0.02)
        self.assertGreaterEqual(self.rampart.metric(failed), 3)

    def test_spiffe_allowlist_and_identity_forwarding(self):
        port = self.ports["popt"]
        status, body = self.request(port, "/payments", context(self.pki))
        self.assertEqual(status, 403)
        self.assertEqual(json.loads(body)["error"], "client_certificate_required")
        status, body = self.request(port, "/payments", context(self.pki, self.billing))
        self.assertEqual(status, 403)
        self.assertEqual(json.loads(body)["error"], "client_identity_forbidden")
        status, body = self.request(port, "/payments", context(self.pki, self.payments),
                                    {"X-Client-Identity": "spiffe://example.org/forged"})
        self.assertEqual(status, 200)
        sent = [v for k, v in json.loads(body)["headers"] if k.lower() == "x-client-identity"]
        self.assertEqual(sent, ["spiffe://example.org/ns/prod/sa/payments"])
        # A trust domain allows all of its workloads, and no other.
        self.assertEqual(self.request(port, "/org", context(self.pki, self.billing))[0], 200)
        self.assertEqual(self.request(port, "/org", context(self.pki, self.stranger))[0], 403)

    def test_spoofed_identity_header_is_removed_even_when_refused(self):
        before = self.origin.stats()["requests"]
        status, _ = self.request(self.ports["popt"], "/payments", context(self.pki),
                                 {"X-Client-Identity": "spiffe://example.org/ns/prod/sa/payments"})
        self.assertEqual(status, 403)
        self.assertEqual(self.origin.stats()["requests"], before)

    def test_admin_lists_certificates_and_expiry(self):
        status, body = self.rampart.admin("GET", "/admin/certificates")
        self.assertEqual(status, 200)
        doc = json.loads(body)
        names = {l["listener"]: l for l in doc["listeners"]}
        self.assertEqual(names["tls13"]["certificates"][1]["names"], ["other.test"])
        expiry = self.rampart.metric('rampart_tls_certificate_expiry_seconds{listener="modern_but_12",'
                                     'certificate="%s"}' % os.path.join(self.tmp.name, "server.pem"))
        self.assertTrue(29 * 86400 < expiry <= 30 * 86400, expiry)


class RotationTest(unittest.TestCase):
    """A TLS listener serving live.pem/live.key, which start as pair a; pair b is the next one."""

    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        d = self.tmp.name
        self.pki = Pki(d)
        self.pki.issue("a", "localhost", "DNS:localhost")
        self.pki.issue("b", "localhost", "DNS:localhost")
        shutil.copy(self.pki.path("a.pem"), self.pki.path("live.pem"))
        shutil.copy(self.pki.path("a.key"), self.pki.path("live.key"))
        self.origin = Origin()
        self.rampart = Rampart("""
listeners:
  - {{ name: tls, address: 127.0.0.1:{port}, tls: {{ cert: live.pem, key: live.key }} }}
routes:
  - {{ name: all, match: {{ path_prefix: / }}, upstream: app }}
upstreams:
  app: {{ endpoints: [{origin}] }}
admin: {{ address: 127.0.0.1:{admin} }}
""", self.origin, config_dir=d)
        self.ctx = context(self.pki)

    def tearDown(self):
        self.rampart.stop()
        self.origin.stop()
        self.tmp.cleanup()

    def replace(self, name, path):
        """Atomically replaces live file `name` with a copy of `path` (write, then rename)."""
        shutil.copy(path, self.pki.path(name + ".tmp"))
        os.replace(self.pki.path(name + ".tmp"), self.pki.path(name))

    def install_pair_b(self):
        self.replace("live.key", self.pki.path("b.key"))  # key first, certificate last
        self.replace("live.pem", self.pki.path("b.pem"))

    def wait_for_reloads(self, result, deadline, extra=lambda: True, msg=None):
        metric = 'rampart_tls_certificate_reloads_total{listener="tls",result="%s"}' % result
        while self.rampart.metric(metric) < 1 or not extra():
            self.assertLess(time.monotonic(), deadline, msg)
            time.sleep(0.05)

    def test_rotation_under_load_fails_no_handshake(self):
        serial = lambda p: subprocess.run(["openssl", "x509", "-noout", "-serial", "-in", p],
                                          capture_output=True, text=True).stdout.split("=")[1].strip()
        want_a, want_b = serial(self.pki.path("a.pem")), serial(self.pki.path("b.pem"))
        seen, failures, stop = set(), [], threading.Event()

        def load():
            while not stop.is_set():
                try:
                    with socket.create_connection(("127.0.0.1", self.rampart.port),
                                                  timeout=5 * SLOW) as raw:
                        with self.ctx.wrap_socket(raw, server_hostname="localhost") as s:
                            seen.add(format(int(s.getpeercert()["serialNumber"], 16), "X"))
                except Exception as e:  # noqa: BLE001 - every failure counts
                    failures.append(repr(e))

        threads = [threading.Thread(target=load) for _ in range(2)]
        try:
            for t in threads:
                t.start()
            time.sleep(0.5)
            # A broken pair first: refused, the old certificate keeps serving.
            broken = self.pki.path("broken.pem")
            with open(broken, "w") as f:
                f.write("not a certificate\n")
            self.replace("live.pem", broken)
            deadline = time.monotonic() + 10 * SLOW
            self.wait_for_reloads("refused", deadline)
            # Then the new pair.
            self.install_pair_b()
            self.wait_for_reloads("ok", deadline,
                                  lambda: want_b.lstrip("0") in {x.lstrip("0") for x in seen}, seen)
            time.sleep(0.3)
        finally:
            stop.set()
            for t in threads:
                t.join()
        self.assertEqual(failures, [])
        self.assertIn(want_a.lstrip("0"), {s.lstrip("0") for s in seen})

    def test_sessions_resume_across_a_certificate_rotation(self):
        def connect(session=None):
            with socket.create_connection(("127.0.0.1", self.rampart.port),
                                          timeout=5 * SLOW) as raw:
                with self.ctx.wrap_socket(raw, server_hostname="localhost", session=session) as s:
                    # TLS 1.3 tickets arrive after the handshake: one exchange receives them.
                    s.sendall(b"GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
                    while s.recv(65536):
                        pass
                    return s.session, s.session_reused

        session, reused = connect()
        self.assertFalse(reused)
        _, reused = connect(session)
        self.assertTrue(reused)
        self.install_pair_b()
        self.wait_for_reloads("ok", time.monotonic() + 10 * SLOW)
        # The new certificate's context shares the ticket keys: the old session resumes.
        _, reused = connect(session)
        self.assertTrue(reused)


class TlsConfigTest(unittest.TestCase):
    def validate(self, listeners):
        p, _ = validate("listeners:\n" + listeners)
        return p.returncode, p.stdout + p.stderr

    def test_bad_files_are_config_errors_with_file_line(self):
        code, out = self.validate("  - name: l\n    address: 127.0.0.1:1\n"
                                  "    tls: { cert: missing.pem, key: missing.key }\n")
        self.assertEqual(code, 1)
        self.assertIn("c.yaml:4: listener 'l': tls: certificate", out)
        self.assertIn("missing.pem", out)

    def test_bad_settings_are_config_errors(self):
        code, out = self.validate("  - name: m\n    address: 127.0.0.1:2\n"
                                  "    tls: { cert: x.pem, key: x.key, min_version: \"1.1\", "
                                  "client_cert: required }\n")
        self.assertEqual(code, 1)
        self.assertIn("c.yaml:4: listeners[0].tls.min_version: '1.1' is not 1.2 or 1.3", out)
        self.assertIn("client_ca: required when client_cert is optional or required", out)

    def test_bad_profile_and_ciphers_are_config_errors(self):
        code, out = self.validate("  - name: p\n    address: 127.0.0.1:3\n"
                                  "    tls: { cert: x.pem, key: x.key, profile: old }\n")
        self.assertEqual(code, 1)
        self.assertIn("c.yaml:4: listeners[0].tls.profile: 'old' is not intermediate or modern", out)
        code, out = self.validate("  - name: c\n    address: 127.0.0.1:3\n"
                                  "    tls: { cert: x.pem, key: x.key, ciphers: \"NOPE-SUITE\" }\n")
        self.assertEqual(code, 1)
        self.assertIn("c.yaml:4: listener 'c': tls: ciphers 'NOPE-SUITE': no usable suite", out)


if __name__ == "__main__":
    unittest.main()
