"""HTTP/2 to upstreams (`protocol: h2`) against a separate HTTP/2 implementation (h2origin.py on
python3-h2): cleartext h2c and TLS with ALPN h2; one multiplexed session per worker and endpoint,
a second one past the origin's MAX_CONCURRENT_STREAMS; gRPC-shaped calls with trailers to HTTP/2
and HTTP/1.1 clients, server streaming and full-duplex streaming; large bodies both ways; refused
streams and GOAWAY retried once; resets, timeouts and a wrong ALPN answered with JSON errors; the
idle session closed; config errors."""
import concurrent.futures
import hashlib
import json
import os
import signal
import subprocess
import tempfile
import time
import unittest

import h2raw
from certs import Pki
from harness import curl_response, SLOW, H2Origin, Rampart, validate

CONFIG = """
workers: 1  # one session per endpoint, so that multiplexing is visible at the origin
listeners:
  - {{ name: main, address: 127.0.0.1:{port} }}
access_log: {{ path: {log} }}
routes:
  - {{ name: tls, match: {{ path_prefix: /tls/ }}, upstream: tls, rewrite: {{ path_prefix: / }} }}
  - {{ name: no_h2, match: {{ path_prefix: /no-h2/ }}, upstream: no_h2 }}
  - {{ name: limited, match: {{ path_prefix: /limited/ }}, upstream: limited,
      rewrite: {{ path_prefix: / }} }}
  - {{ name: fresh, match: {{ path_prefix: /fresh/ }}, upstream: fresh,
      rewrite: {{ path_prefix: / }} }}
  - {{ name: all, match: {{ path_prefix: / }}, upstream: h2c }}
upstreams:
  h2c:
    endpoints: [H2C]
    protocol: h2
    timeouts: {{ response: 1s }}
    keepalive: {{ idle_timeout: 2s }}
  tls:
    endpoints: [127.0.0.1:TLSPORT]
    protocol: h2
    tls: {{ ca: ca.pem, server_name: origin.test }}
  no_h2:
    endpoints: [127.0.0.1:NOH2PORT]
    protocol: h2
    tls: {{ ca: ca.pem, server_name: origin.test }}
  limited:
    endpoints: [LIMITED]
    protocol: h2
  fresh:
    endpoints: [FRESH]
    protocol: h2
admin: {{ address: 127.0.0.1:{admin} }}
"""


def curl(*args):
    return subprocess.run(["curl", "-sS", *args], capture_output=True, timeout=30 * SLOW)


def h2_response(url, *args):
    """(status, {header or trailer: value}, body bytes) over prior-knowledge h2c."""
    return curl_response(url, "--http2-prior-knowledge", *args)


class UpstreamH2Test(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        d = cls.tmp.name
        pki = Pki(d)
        cert, key = pki.issue("origin", "origin.test", "DNS:origin.test,IP:127.0.0.1")
        cls.h2c = H2Origin()
        cls.tls = H2Origin(["--tls", cert, key])
        cls.no_h2 = H2Origin(["--tls", cert, key, "--alpn", "http/1.1"])
        cls.limited = H2Origin(["--max-streams", "2"])
        cls.fresh = H2Origin()  # no request reaches it before test_first_requests_share...
        config = (CONFIG.replace("H2C", cls.h2c.address).replace("TLSPORT", str(cls.tls.port))
                  .replace("NOH2PORT", str(cls.no_h2.port)).replace("LIMITED", cls.limited.address)
                  .replace("FRESH", cls.fresh.address))
        cls.rampart = Rampart(config, None, config_dir=d)
        cls.base = f"http://127.0.0.1:{cls.rampart.port}"

    @classmethod
    def tearDownClass(cls):
        cls.rampart.stop()
        for o in (cls.h2c, cls.tls, cls.no_h2, cls.limited, cls.fresh):
            o.stop()
        cls.tmp.cleanup()

    def origin_stats(self, origin):
        return curl_stats(origin)

    def sessions_opened(self, origin, before):
        """Connections the origin accepted since `before` (a stats answer), not counting the
        connection of this stats call."""
        return self.origin_stats(origin)["connections"] - before["connections"] - 1

    def get(self, path, method="GET", body=None, headers=None):
        c = self.rampart.http(timeout=10)
        c.request(method, path, body=body, headers=headers or {})
        r = c.getresponse()
        out = (r.status, {k.lower(): v for k, v in r.getheaders()}, r.read())
        c.close()
        return out

    def test_http11_client_to_h2_upstream(self):
        status, headers, body = self.get("/hello?x=1", headers={"X-Custom": "yes"})
        self.assertEqual(status, 200, body)
        echo = json.loads(body)
        self.assertEqual(echo["method"], "GET")
        self.assertEqual(echo["path"], "/hello?x=1")
        self.assertEqual(echo["scheme"], "http")
        self.assertEqual(echo["authority"], f"127.0.0.1:{self.rampart.port}")
        sent = dict(echo["headers"])
        self.assertEqual(sent["x-custom"], "yes")
        self.assertEqual(sent["x-forwarded-for"], "127.0.0.1")
        self.assertEqual(sent["via"], "1.1 rampart")
        self.assertNotIn("host", sent)  # :authority carries it
        self.assertEqual(headers["via"], "2 rampart")
        self.assertEqual(headers["content-length"], str(len(body)))

    def test_streams_share_one_session(self):
        before = self.origin_stats(self.h2c)
        with concurrent.futures.ThreadPoolExecutor(20) as pool:
            results = list(pool.map(lambda _: self.get("/delay?ms=300")[0], range(20)))
        self.assertEqual(results, [200] * 20)
        self.assertEqual(self.sessions_opened(self.h2c, before), 0)  # the session already open
        self.assertGreater(self.origin_stats(self.h2c)["max_concurrent"], 1)

    def test_grpc_call_from_an_http2_client_gets_trailers(self):
        with tempfile.NamedTemporaryFile() as msg:
            msg.write(b"\x00\x00\x00\x00\x05hello")  # one length-prefixed gRPC message
            msg.flush()
            status, fields, body = h2_response(
                f"{self.base}/grpc", "-H", "content-type: application/grpc", "-H", "te: trailers",
                "--data-binary", f"@{msg.name}")
        self.assertEqual(status, 200)
        self.assertEqual(body, b"\x00\x00\x00\x00\x05hello")
        self.assertEqual(fields["content-type"], "application/grpc")
        self.assertEqual(fields["grpc-status"], "0")  # a trailer
        self.assertEqual(fields["grpc-message"], "ok")

    def test_te_trailers_is_forwarded(self):
        _, _, body = h2_response(f"{self.base}/echo", "-H", "te: trailers")
        self.assertEqual(dict(json.loads(body)["headers"]).get("te"), "trailers")
        _, _, body = self.get("/echo")
        self.assertNotIn("te", dict(json.loads(body)["headers"]))

    def test_trailers_only_error(self):
        status, fields, body = h2_response(f"{self.base}/grpc-error", "-d", "x")
        self.assertEqual(status, 200)
        self.assertEqual(fields["grpc-status"], "13")
        self.assertEqual(body, b"")

    def test_grpc_trailers_reach_an_http11_client_in_the_chunked_trailer_section(self):
        with self.rampart.connect() as s:
            s.sendall(b"POST /grpc HTTP/1.1\r\nHost: x\r\nTE: trailers\r\nContent-Length: 5\r\n"
                      b"\r\nhello")
            raw = b""
            while not raw.endswith(b"\r\n\r\n") or b"0\r\n" not in raw:
                chunk = s.recv(65536)
                if not chunk:
                    break
                raw += chunk
        head, _, rest = raw.partition(b"\r\n\r\n")
        self.assertIn(b"Transfer-Encoding: chunked", head)
        self.assertEqual(rest, b"5\r\nhello\r\n0\r\ngrpc-status: 0\r\ngrpc-message: ok\r\n\r\n")

    def test_server_streaming_with_trailers(self):
        status, fields, body = h2_response(f"{self.base}/stream?n=5")
        self.assertEqual(status, 200)
        self.assertEqual(len(body), 5 * 1024)
        self.assertEqual(fields["x-pieces"], "5")

    def test_full_duplex_stream(self):
        # The first message's echo must arrive while the request is still open: rampart moves
        # both directions at once for HTTP/2 clients.
        c = h2raw.Client(self.rampart.port)
        hdrs = h2raw.request_headers(c.authority, "/grpc", "POST",
                                     [("content-type", "application/grpc"), ("te", "trailers")])
        c.send(c.headers_frame(1, hdrs, end_stream=False) + h2raw.frame(h2raw.DATA, 0, 1, b"one"))

        def data_on_stream_1():
            while True:
                f = c.read_frame()
                self.assertIsNotNone(f, "closed early")
                if f[0] == h2raw.SETTINGS and not f[1] & h2raw.ACK:
                    c.send(h2raw.frame(h2raw.SETTINGS, h2raw.ACK, 0))
                if f[2] == 1 and f[0] in (h2raw.DATA, h2raw.HEADERS):
                    return f
        got = b""
        while got != b"one":
            f = data_on_stream_1()
            if f[0] == h2raw.DATA:
                got += f[3]
        c.send(h2raw.frame(h2raw.DATA, h2raw.END_STREAM, 1, b"two"))
        got = b""
        while True:
            f = data_on_stream_1()
            if f[0] == h2raw.DATA:
                got += f[3]
            elif f[1] & h2raw.END_STREAM:  # the trailers
                break
        self.assertEqual(got, b"two")
        c.close()

    def test_large_bodies_both_ways(self):
        for client in (["--http2-prior-knowledge"], ["--http1.1"]):
            with tempfile.TemporaryDirectory() as d:
                path = os.path.join(d, "up.bin")
                data = os.urandom(3_000_000)
                with open(path, "wb") as f:
                    f.write(data)
                for framing in ([], ["-H", "transfer-encoding: chunked"]):
                    out = curl(*client, *framing, "--data-binary", f"@{path}", f"{self.base}/echo")
                    echo = json.loads(out.stdout)
                    self.assertEqual(echo["body_length"], len(data), (client, framing))
                    self.assertEqual(echo["body_sha256"], hashlib.sha256(data).hexdigest())
            out = curl(*client, "-D", "-", f"{self.base}/big?bytes=5000000")
            head, _, body = out.stdout.partition(b"\r\n\r\n")
            sha = [l.split(b":")[1].strip() for l in head.split(b"\r\n")
                   if l.lower().startswith(b"x-sha256")][0]
            self.assertEqual(len(body), 5_000_000, client)
            self.assertEqual(hashlib.sha256(body).hexdigest().encode(), sha)

    def test_refused_stream_is_sent_again(self):
        status, _, body = self.get("/refuse-once")
        self.assertEqual(status, 200, body)
        status, _, body = h2_response(f"{self.base}/refuse-once")
        self.assertEqual(status, 200, body)

    def test_goaway_retires_the_session_and_the_request_is_sent_again(self):
        before = self.origin_stats(self.h2c)
        status, _, body = self.get("/goaway-once")
        self.assertEqual(status, 200, body)
        self.assertEqual(self.sessions_opened(self.h2c, before), 1)
        self.assertEqual(self.get("/hello")[0], 200)

    def test_reset_without_answer_is_502(self):
        metric = 'rampart_upstream_errors_total{upstream="h2c",kind="reset"}'
        before = self.rampart.metric(metric) or 0
        status, _, body = self.get("/reset")
        self.assertEqual(status, 502)
        err = json.loads(body)
        self.assertEqual(err["error"], "upstream_unavailable")
        self.assertTrue(err["request_id"])
        self.assertEqual(self.rampart.metric(metric), before + 1)
        status, _, _ = h2_response(f"{self.base}/reset")
        self.assertEqual(status, 502)

    def test_slow_answer_is_504_and_the_session_keeps_serving(self):
        status, _, body = self.get("/delay?ms=3000")
        self.assertEqual(status, 504, body)
        self.assertEqual(json.loads(body)["error"], "upstream_timeout")
        status, _, _ = h2_response(f"{self.base}/delay?ms=3000")
        self.assertEqual(status, 504)
        self.assertEqual(self.get("/hello")[0], 200)

    def test_tls_with_alpn_h2(self):
        status, _, body = self.get("/tls/hello")
        self.assertEqual(status, 200, body)
        echo = json.loads(body)
        self.assertEqual(echo["scheme"], "https")
        self.assertEqual(echo["path"], "/hello")

    def test_origin_without_h2_in_alpn_is_502(self):
        status, _, body = self.get("/no-h2/x")
        self.assertEqual(status, 502, body)
        self.assertIn("TLS", json.loads(body)["message"])
        self.assertIn("did not select h2", self.rampart.logs())

    def test_first_requests_share_the_session_they_wait_for(self):
        # Ten requests arrive before any session to the endpoint exists: one connects, the
        # others wait for it rather than open their own.
        with concurrent.futures.ThreadPoolExecutor(10) as pool:
            results = list(pool.map(lambda _: self.get("/fresh/delay?ms=200")[0], range(10)))
        self.assertEqual(results, [200] * 10)
        stats = self.origin_stats(self.fresh)
        # Besides rampart's one session: this stats call.
        self.assertEqual(stats["connections"], 2)
        self.assertEqual(stats["streams"], 11)

    def test_a_client_that_does_not_read_holds_the_origin_back(self):
        # Response windows are given back only as the client takes the bytes: with the client
        # not reading, the origin ends up waiting for a window long before the body is sent,
        # instead of rampart buffering the body.
        n = 48 * 1024 * 1024
        with self.rampart.connect(timeout=30) as s:
            s.sendall(f"GET /big?bytes={n} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
            held = None
            deadline = time.monotonic() + 20 * SLOW
            while time.monotonic() < deadline:
                big = self.origin_stats(self.h2c).get("big", {})
                now = (big.get("blocked"), big.get("sent"))
                if now[0] and now == held:  # still waiting, nothing more sent in between
                    break
                held = now if now[0] else None
                time.sleep(0.2)
            self.assertIsNotNone(held, "the origin never waited for a window")
            self.assertLess(held[1], n // 2)
            got = 0
            head = b""
            while b"\r\n\r\n" not in head:
                head += s.recv(65536)
            got = len(head.partition(b"\r\n\r\n")[2])
            while got < n:
                chunk = s.recv(1 << 20)
                self.assertTrue(chunk, "closed before the whole body")
                got += len(chunk)
        self.assertEqual(got, n)

    def test_a_second_session_past_max_concurrent_streams(self):
        before = self.origin_stats(self.limited)
        with concurrent.futures.ThreadPoolExecutor(6) as pool:
            results = list(pool.map(lambda _: self.get("/limited/delay?ms=300")[0], range(6)))
        self.assertEqual(results, [200] * 6)
        self.assertGreaterEqual(self.sessions_opened(self.limited, before), 2)

    def test_idle_session_closes(self):
        self.assertEqual(self.get("/hello")[0], 200)
        deadline = time.monotonic() + 10 * SLOW
        while time.monotonic() < deadline:
            # The stats request itself is on a connection of its own (curl, not rampart).
            if self.origin_stats(self.h2c)["open_connections"] <= 1:
                break
            time.sleep(0.1)
        self.assertLessEqual(self.origin_stats(self.h2c)["open_connections"], 1)

    def test_access_log_names_the_endpoint(self):
        self.get("/logged")
        lines = [l for l in self.rampart.access_log("/logged") if l["path"] == "/logged"]
        deadline = time.monotonic() + 5 * SLOW
        while not lines and time.monotonic() < deadline:
            time.sleep(0.05)
            lines = [l for l in self.rampart.access_log("/logged") if l["path"] == "/logged"]
        self.assertEqual(lines[-1]["endpoint"], f"h2c:h2c@{self.h2c.address}")
        self.assertEqual(lines[-1]["status"], 200)


class UpstreamH2DrainTest(unittest.TestCase):
    def test_sigterm_lets_a_stream_in_flight_finish(self):
        origin = H2Origin()
        rampart = Rampart("""
listeners:
  - {{ name: main, address: 127.0.0.1:{port} }}
routes:
  - {{ name: all, match: {{ path_prefix: / }}, upstream: app }}
upstreams:
  app: {{ endpoints: [ORIGIN], protocol: h2 }}
admin: {{ address: 127.0.0.1:{admin} }}
""".replace("ORIGIN", origin.address), None)
        try:
            with concurrent.futures.ThreadPoolExecutor(1) as pool:
                c = rampart.http(timeout=10)
                pending = pool.submit(lambda: (c.request("GET", "/delay?ms=700"),
                                               c.getresponse()))
                deadline = time.monotonic() + 5 * SLOW
                while not curl_stats(origin).get("delaying") and time.monotonic() < deadline:
                    time.sleep(0.02)  # until the stream is at the origin
                rampart.proc.send_signal(signal.SIGTERM)
                _, r = pending.result(timeout=10 * SLOW)
                self.assertEqual(r.status, 200)
                self.assertEqual(json.loads(r.read())["path"], "/delay?ms=700")
            self.assertEqual(rampart.proc.wait(timeout=20 * SLOW), 0)
        finally:
            rampart.stop()
            origin.stop()


def curl_stats(origin):
    return json.loads(curl("--http2-prior-knowledge", f"http://{origin.address}/stats").stdout)


class UpstreamH2ConfigTest(unittest.TestCase):
    def validate(self, text):
        out, _ = validate(text)
        return out.returncode, out.stdout + out.stderr

    def test_unknown_protocol(self):
        rc, out = self.validate("listeners: [{name: a, address: 127.0.0.1:1}]\n"
                                "upstreams:\n  u:\n    endpoints: [127.0.0.1:2]\n"
                                "    protocol: h3\n"
                                "routes: [{name: r, match: {path_prefix: /}, upstream: u}]\n")
        self.assertEqual(rc, 1)
        self.assertIn("c.yaml:5", out)
        self.assertIn("'h3' is not http1 or h2", out)

    def test_websocket_needs_an_http1_upstream(self):
        rc, out = self.validate("listeners: [{name: a, address: 127.0.0.1:1}]\n"
                                "upstreams:\n  u:\n    endpoints: [127.0.0.1:2]\n"
                                "    protocol: h2\n"
                                "routes:\n  - {name: r, match: {path_prefix: /}, upstream: u,\n"
                                "     websocket: true}\n")
        self.assertEqual(rc, 1)
        self.assertIn("c.yaml:7", out)
        self.assertIn("websocket needs an HTTP/1.1 upstream", out)


if __name__ == "__main__":
    unittest.main()
