"""HTTP/2 against the real binary: prior-knowledge h2c with curl, nghttp and h2load; bodies both
ways byte-exact; multiplexing; gates and local replies on streams; the settings rampart
advertises; and the flood defences (rapid reset, CONTINUATION, ping), each ending only the
offending connection with GOAWAY while other clients keep being served."""
import json
import os
import socket
import subprocess
import tempfile
import threading
import time
import unittest

import h2raw
from harness import SLOW, Origin, Rampart, validate

CONFIG = """
listeners:
  - name: public
    address: 127.0.0.1:{port}
    limits: {{ max_request_line: 2KiB, max_header_bytes: 8KiB, max_body: 4MiB, idle_timeout: 30s }}
    http2:
      max_concurrent_streams: 64
      max_header_table: 8KiB
      connection_window: 2MiB
      reset_burst: 50
      resets_per_second: 10
      max_control_frames_per_second: 200
routes:
  - name: limited
    match: {{ path_prefix: /limited }}
    upstream: app
    gates:
      - rate_limit: {{ key: [client_ip], algorithm: token_bucket, rate: 1/h, burst: 2 }}
  - name: app
    match: {{ path_prefix: /app }}
    upstream: app
    response_headers:
      add: {{ X-Served-By: rampart }}
  - name: impatient
    match: {{ path_prefix: /impatient }}
    upstream: impatient
upstreams:
  app:
    endpoints: [{origin}]
  impatient:
    endpoints: [{origin}]
    timeouts: {{ response: 500ms }}
access_log: {{ path: {log} }}
admin: {{ address: 127.0.0.1:{admin} }}
"""


def curl(*args):
    out = subprocess.run(["curl", "-sS", "--http2-prior-knowledge", *args], capture_output=True,
                         text=True, timeout=30 * SLOW)
    return out.stdout


def curl_response(*args):
    """(lower-cased head lines, body) of one request."""
    with tempfile.TemporaryDirectory() as d:
        head_path = os.path.join(d, "head")
        body = curl(*args, "-D", head_path)
        with open(head_path) as f:
            head = [l.strip().lower() for l in f if l.strip()]
    return head, body


class Http2Test(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.origin = Origin(threads=4)
        cls.rampart = Rampart(CONFIG, cls.origin)
        cls.base = f"http://127.0.0.1:{cls.rampart.port}"
        cls.tmp = tempfile.TemporaryDirectory()

    @classmethod
    def tearDownClass(cls):
        cls.rampart.stop()
        cls.origin.stop()
        cls.tmp.cleanup()

    def goaways(self, reason):
        return self.rampart.metric(
            f'rampart_http2_goaways_total{{listener="public",reason="{reason}"}}') or 0

    def assert_still_serving(self):
        out = curl(f"{self.base}/app/alive", "-o", "/dev/null", "-w", "%{http_code} %{http_version}")
        self.assertEqual(out, "200 2")

    def test_get_and_post_are_forwarded_as_http11(self):
        body = json.loads(curl(f"{self.base}/app/get?x=1"))
        self.assertEqual(body["target"], "/app/get?x=1")
        self.assertEqual(body["version"], "1.1")
        headers = dict((k.lower(), v) for k, v in body["headers"])
        self.assertEqual(headers["host"], f"127.0.0.1:{self.rampart.port}")
        self.assertEqual(headers["via"], "2 rampart")
        self.assertEqual(headers["x-forwarded-proto"], "http")
        # Spellings of the path an origin reads alike arrive normalized, as over HTTP/1.1.
        for spelling in ("//app//get?x=1", "/%61pp/get?x=1"):
            self.assertEqual(json.loads(curl(f"{self.base}{spelling}"))["target"], "/app/get?x=1")
        # Cookie crumbs (RFC 9113 §8.2.3) reach the origin as one field, joined with "; ".
        body = json.loads(curl(f"{self.base}/app/get", "-H", "Cookie: a=1", "-H", "Cookie: b=2"))
        cookies = [v for k, v in body["headers"] if k.lower() == "cookie"]
        self.assertEqual(cookies, ["a=1; b=2"])
        head, body = curl_response(f"{self.base}/app/post", "-d", "a=1&b=2")
        self.assertEqual(head[0], "http/2 200")
        self.assertIn("x-served-by: rampart", head)
        self.assertFalse([l for l in head if l.startswith(("connection:", "keep-alive:"))])
        self.assertEqual(json.loads(body)["body"], "a=1&b=2")
        line = [l for l in self.rampart.access_log("/app/post") if l["path"] == "/app/post"][-1]
        self.assertEqual(line["protocol"], "HTTP/2")
        self.assertEqual(line["status"], 200)

    def test_bodies_stream_both_ways_byte_exact(self):
        data = os.urandom(3 * 1024 * 1024 + 17)  # well past the stream and connection windows
        src = os.path.join(self.tmp.name, "up.bin")
        dst = os.path.join(self.tmp.name, "down.bin")
        with open(src, "wb") as f:
            f.write(data)
        # Known length, then unknown length (sent upstream chunked); several times, since DATA
        # frames racing the upstream writes is where bytes could go missing.
        for extra in ([], ["-H", "Transfer-Encoding: chunked"]) * 3:
            out = curl(f"{self.base}/app/echo?echo=body", "--data-binary", f"@{src}", *extra,
                       "-o", dst, "-w", "%{http_code}")
            self.assertEqual(out, "200")
            with open(dst, "rb") as f:
                self.assertEqual(f.read(), data)
        for query in ("size=5000000", "size=5000000&chunked=1", "size=5000000&nolength=1"):
            out = curl(f"{self.base}/app/big?{query}", "-o", dst, "-w", "%{http_code} %{size_download}")
            self.assertEqual(out, "200 5000000", query)
        out = curl(f"{self.base}/app/head?size=100", "-I")
        self.assertIn("content-length: 100", out)

    def test_a_client_that_pauses_reading_its_socket_gets_every_byte(self):
        # Windows wide open and a small receive buffer: rampart's writes fill the socket and must
        # wait, keeping the bytes not yet sent, while the client reads nothing for a while.
        size = 12 * 1024 * 1024
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 32 * 1024)
        sock.settimeout(30 * SLOW)
        sock.connect(("127.0.0.1", self.rampart.port))
        with sock:
            headers, body = h2raw.paused_download(sock, f"127.0.0.1:{self.rampart.port}",
                                                  f"/app/paused?size={size}", 1.5 * SLOW)
        self.assertTrue(headers)
        self.assertEqual(len(body), size)
        self.assertEqual(body, h2raw.origin_bytes(size))

    def test_streams_are_multiplexed_on_one_connection(self):
        # 20 requests that each wait 500 ms at the origin finish together on one connection.
        urls = [f"{self.base}/app/slow{i}?delay=500" for i in range(20)]
        start = time.monotonic()
        out = subprocess.run(["nghttp", "-n", "-s", *urls], capture_output=True, text=True,
                             timeout=30 * SLOW)
        elapsed = time.monotonic() - start
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertLess(elapsed, 5 * SLOW)  # one after another would take 10 s
        out = subprocess.run(["h2load", "-n", "2000", "-c", "2", "-m", "50",
                              f"{self.base}/app/load"], capture_output=True, text=True,
                             timeout=60 * SLOW)
        self.assertIn("2000 succeeded, 0 failed, 0 errored", out.stdout)
        self.assertIn("status codes: 2000 2xx", out.stdout)

    def test_gates_and_local_replies_answer_on_the_stream(self):
        codes = [curl(f"{self.base}/limited/{i}", "-o", "/dev/null", "-w", "%{http_code}")
                 for i in range(3)]
        self.assertEqual(codes, ["200", "200", "429"])
        head, body = curl_response(f"{self.base}/limited/x")
        self.assertTrue([l for l in head if l.startswith("retry-after:")])
        reply = json.loads(body)
        self.assertEqual(reply["error"], "rate_limited")
        self.assertTrue(reply["request_id"])
        # HEAD: the local reply's headers and no DATA (curl fails the stream otherwise).
        out = subprocess.run(["curl", "-sS", "--http2-prior-knowledge", "-I", "-o", "/dev/null",
                              "-w", "%{http_code}", f"{self.base}/nowhere"], capture_output=True,
                             text=True, timeout=30 * SLOW)
        self.assertEqual((out.returncode, out.stdout), (0, "404"), out.stderr)
        out = curl(f"{self.base}/nowhere", "-w", "\n%{http_code}")
        body, _, code = out.rpartition("\n")
        self.assertEqual(code, "404")
        self.assertEqual(json.loads(body)["error"], "no_route")
        self.assertEqual(curl(f"{self.base}/app/../x", "--path-as-is", "-o", "/dev/null", "-w",
                              "%{http_code}"), "400")
        self.assertEqual(curl(f"{self.base}/app/{'p' * 3000}", "-o", "/dev/null", "-w",
                              "%{http_code}"), "414")  # :path over max_request_line
        many = [a for i in range(101) for a in ("-H", f"X-N{i}: v")]  # over max_headers
        self.assertEqual(curl(f"{self.base}/app/h", *many, "-o", "/dev/null", "-w",
                              "%{http_code}"), "431")
        big = "x" * 9000
        self.assertEqual(curl(f"{self.base}/app/h", "-H", f"X-Big: {big}", "-o", "/dev/null",
                              "-w", "%{http_code}"), "431")
        big_body = os.path.join(self.tmp.name, "5MB.bin")
        with open(big_body, "wb") as f:
            f.write(b"z" * 5_000_000)
        self.assertEqual(curl(f"{self.base}/app/b", "--data-binary", f"@{big_body}", "-o",
                              "/dev/null", "-w", "%{http_code}"), "413")
        # Unknown length: refused once the body passes max_body.
        self.assertEqual(curl(f"{self.base}/app/b", "--data-binary", f"@{big_body}", "-H",
                              "Transfer-Encoding: chunked", "-o", "/dev/null", "-w",
                              "%{http_code}"), "413")

    def test_upstream_timeout_answers_its_stream_only(self):
        c = h2raw.Client(self.rampart.port)
        c.send(c.headers_frame(1, h2raw.request_headers(c.authority, "/impatient/x?delay=3000")) +
               c.headers_frame(3, h2raw.request_headers(c.authority, "/app/quick")))
        ended, heads = set(), {}
        deadline = time.monotonic() + 10 * SLOW
        while len(ended) < 2 and time.monotonic() < deadline:
            ftype, flags, sid, payload = c.read_frame()
            if ftype == h2raw.HEADERS:
                heads[sid] = payload[0]
            if ftype in (h2raw.HEADERS, h2raw.DATA) and flags & h2raw.END_STREAM:
                ended.add(sid)
        c.close()
        self.assertEqual(ended, {1, 3})
        self.assertEqual(heads[3], 0x88)  # ":status: 200"
        self.assertNotEqual(heads[1], 0x88)
        line = [l for l in self.rampart.access_log("/impatient/x") if l["path"] == "/impatient/x"][-1]
        self.assertEqual(line["status"], 504)
        self.assertEqual(line["protocol"], "HTTP/2")

    def test_fragment_in_path_is_refused(self):
        before = self.origin.stats()["requests"]
        c = h2raw.Client(self.rampart.port)
        c.send(c.headers_frame(1, h2raw.request_headers(c.authority, "/app/x#frag")))
        head = None
        deadline = time.monotonic() + 5 * SLOW
        while head is None and time.monotonic() < deadline:
            f = c.read_frame()
            if f is None:
                break
            if f[0] == h2raw.HEADERS and f[2] == 1:
                head = f[3]
        c.close()
        self.assertIsNotNone(head)
        self.assertEqual(head[0], 0x8c)  # ":status: 400" (HPACK static index 12)
        self.assertEqual(self.origin.stats()["requests"], before)

    def test_client_reset_stops_the_upstream_exchange(self):
        before = self.origin.stats()["requests"]
        c = h2raw.Client(self.rampart.port)
        c.send(c.headers_frame(1, h2raw.request_headers(c.authority, "/app/abandoned?delay=5000")))
        deadline = time.monotonic() + 5 * SLOW  # the request reaches the origin
        while self.origin.stats()["requests"] <= before and time.monotonic() < deadline:
            time.sleep(0.01)
        c.send(h2raw.frame(h2raw.RST_STREAM, 0, 1, h2raw.CANCEL.to_bytes(4, "big")))
        deadline = time.monotonic() + 5 * SLOW
        lines = []
        while time.monotonic() < deadline:
            lines = [l for l in self.rampart.access_log("/app/abandoned") if l["path"] == "/app/abandoned"]
            if lines:
                break
            time.sleep(0.02)
        c.close()
        # Logged well before the origin's 5 s answer: the upstream exchange was abandoned.
        self.assertEqual(lines[-1]["reason"], "client_reset")
        self.assertEqual(lines[-1]["status"], 0)
        self.assertLess(lines[-1]["duration_ms"], 4000)

    def test_connect_is_501_and_a_malformed_one_400(self):
        # RFC 9113 section 8.5: CONNECT carries :authority only.
        for headers, error in (([(":method", "CONNECT"), (":authority", "a.test:443")],
                                b'"not_implemented"'),
                               ([(":method", "CONNECT"), (":scheme", "http"),
                                 (":authority", "a.test:443"), (":path", "/")], b'"bad_request"')):
            c = h2raw.Client(self.rampart.port)
            c.send(c.headers_frame(1, headers))
            frames = c.frames_until_close(2 * SLOW)
            c.close()
            body = b"".join(p for t, _, sid, p in frames if t == h2raw.DATA and sid == 1)
            resets = [t for t, _, sid, _ in frames if t == h2raw.RST_STREAM and sid == 1]
            if error == b'"not_implemented"':
                self.assertIn(error, body, frames)
            else:  # nghttp2 may reset the stream itself; either way nothing is forwarded
                self.assertTrue(resets or error in body, frames)

    def test_host_that_differs_from_authority_is_refused(self):
        c = h2raw.Client(self.rampart.port)
        c.send(c.headers_frame(1, h2raw.request_headers(c.authority, "/app/x",
                                                        extra=[("host", "evil.test")])))
        frames = c.frames_until_close(2 * SLOW)
        c.close()
        statuses = [p for t, _, sid, p in frames if t == h2raw.HEADERS and sid == 1]
        self.assertTrue(statuses)
        self.assertEqual(statuses[0][0], 0x8C)  # HPACK static index 12, ":status: 400"

    def test_advertised_settings(self):
        c = h2raw.Client(self.rampart.port)
        s = c.settings()
        # connection_window: the connection's window is raised from 64KiB-1 right away.
        while True:
            ftype, _, sid, payload = c.read_frame()
            if ftype == h2raw.WINDOW_UPDATE and sid == 0:
                break
        c.close()
        self.assertEqual(int.from_bytes(payload, "big"), 2 * 1024 * 1024 - 65535)
        self.assertEqual(s[0x3], 64)        # MAX_CONCURRENT_STREAMS
        self.assertEqual(s[0x6], 8192)      # MAX_HEADER_LIST_SIZE = max_header_bytes
        self.assertEqual(s[0x2], 0)         # ENABLE_PUSH
        self.assertEqual(s[0x4], 256 * 1024)  # INITIAL_WINDOW_SIZE
        self.assertEqual(s[0x1], 8192)      # HEADER_TABLE_SIZE = max_header_table

    def flood_closes_only_the_offender(self, reason, payload, code, prepare=None):
        before = self.goaways(reason)
        # A well-behaved client runs on another connection throughout.
        results = []

        def steady():
            for _ in range(5):
                results.append(curl(f"{self.base}/app/steady", "-o", "/dev/null", "-w",
                                    "%{http_code}"))
        t = threading.Thread(target=steady)
        t.start()
        c = h2raw.Client(self.rampart.port)
        if prepare:
            prepare(c)
        try:
            c.send(payload(c))
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server may close before it read everything
        frames = c.frames_until_close(10 * SLOW)
        c.close()
        t.join()
        self.assertEqual(h2raw.goaway_code(frames), code)
        deadline = time.monotonic() + 5 * SLOW
        while self.goaways(reason) < before + 1 and time.monotonic() < deadline:
            time.sleep(0.02)
        self.assertEqual(self.goaways(reason), before + 1)
        self.assertEqual(results, ["200"] * 5)
        self.assert_still_serving()

    def test_rapid_reset_flood_is_cut_off(self):
        def payload(c):
            out = b""
            for i in range(500):
                sid = 1 + 2 * i
                out += c.headers_frame(sid, h2raw.request_headers(c.authority, "/app/r"))
                out += h2raw.frame(h2raw.RST_STREAM, 0, sid, (h2raw.CANCEL).to_bytes(4, "big"))
            return out
        resets = 'rampart_http2_client_resets_total{listener="public"}'
        before = self.rampart.metric(resets) or 0
        self.flood_closes_only_the_offender("rapid_reset", payload, h2raw.INTERNAL_ERROR)
        self.assertGreaterEqual(self.rampart.metric(resets) - before, 50)  # reset_burst

    def test_continuation_flood_is_cut_off(self):
        def payload(c):
            out = c.headers_frame(1, h2raw.request_headers(c.authority, "/app/c"), end_headers=False)
            for i in range(50):
                out += h2raw.frame(h2raw.CONTINUATION, 0, 1, h2raw.hpack([(f"x-{i}", "y")]))
            return out
        self.flood_closes_only_the_offender("continuation_flood", payload,
                                            h2raw.ENHANCE_YOUR_CALM)

    def test_ping_flood_is_cut_off(self):
        def payload(c):
            return b"".join(h2raw.frame(h2raw.PING, 0, 0, i.to_bytes(8, "big"))
                            for i in range(1000))
        self.flood_closes_only_the_offender("control_flood", payload, h2raw.ENHANCE_YOUR_CALM)

    def test_streams_past_the_concurrency_limit_end_the_connection(self):
        def prepare(c):
            c.settings()  # the limit binds once the client acknowledged it
            c.send(h2raw.frame(h2raw.SETTINGS, h2raw.ACK, 0))

        def payload(c):  # 70 uploads that never send their body, against a limit of 64
            return b"".join(c.headers_frame(1 + 2 * i, h2raw.request_headers(
                c.authority, "/app/u", method="POST"), end_stream=False) for i in range(70))
        self.flood_closes_only_the_offender("stream_flood", payload, h2raw.PROTOCOL_ERROR,
                                            prepare)

    def test_bad_preface_gets_goaway(self):
        before = self.goaways("protocol_error")
        c = h2raw.Client(self.rampart.port, preface=b"PRI * HTTP/2.0\r\n\r\nXX\r\n\r\n")
        frames = c.frames_until_close(5 * SLOW)
        c.close()
        self.assertEqual(h2raw.goaway_code(frames), h2raw.PROTOCOL_ERROR)
        deadline = time.monotonic() + 5 * SLOW
        while self.goaways("protocol_error") < before + 1 and time.monotonic() < deadline:
            time.sleep(0.02)
        self.assertEqual(self.goaways("protocol_error"), before + 1)

    # RFC 9113 section 5.1: frames on closed streams, and stream ids that go backwards.
    def exchange(self, c, sid, path="/app/s"):
        c.send(c.headers_frame(sid, h2raw.request_headers(c.authority, path)))
        status = None
        while True:
            f = c.read_frame()
            self.assertIsNotNone(f, "the connection closed before the response ended")
            ftype, flags, fsid, payload = f
            if fsid == sid and ftype == h2raw.HEADERS:
                status = payload[0]
            if fsid == sid and ftype in (h2raw.HEADERS, h2raw.DATA) and flags & h2raw.END_STREAM:
                return status

    def assert_goaway(self, frames, code, reason, before):
        self.assertEqual(h2raw.goaway_code(frames), code)
        deadline = time.monotonic() + 5 * SLOW
        while self.goaways(reason) < before + 1 and time.monotonic() < deadline:
            time.sleep(0.02)
        self.assertEqual(self.goaways(reason), before + 1)

    def test_data_or_headers_on_a_stream_the_client_ended_is_stream_closed(self):
        for late in (lambda c: h2raw.frame(h2raw.DATA, h2raw.END_STREAM, 1, b"late"),
                     lambda c: c.headers_frame(1, [("x-trailer", "late")])):
            before = self.goaways("stream_closed")
            c = h2raw.Client(self.rampart.port)
            self.assertEqual(self.exchange(c, 1), 0x88)
            c.send(late(c))
            frames = c.frames_until_close(5 * SLOW)
            c.close()
            self.assert_goaway(frames, h2raw.STREAM_CLOSED, "stream_closed", before)
        self.assert_still_serving()

    def test_data_after_the_clients_own_reset_is_a_stream_error(self):
        c = h2raw.Client(self.rampart.port)
        c.send(c.headers_frame(1, h2raw.request_headers(c.authority, "/app/r", method="POST"),
                               end_stream=False) +
               h2raw.frame(h2raw.RST_STREAM, 0, 1, h2raw.CANCEL.to_bytes(4, "big")) +
               h2raw.frame(h2raw.DATA, 0, 1, b"after the reset"))
        while True:
            f = c.read_frame()
            self.assertIsNotNone(f)
            if f[0] == h2raw.RST_STREAM and f[2] == 1:
                self.assertEqual(int.from_bytes(f[3], "big"), h2raw.STREAM_CLOSED)
                break
            self.assertNotEqual(f[0], h2raw.GOAWAY)
        self.assertEqual(self.exchange(c, 3), 0x88)  # the connection goes on
        c.close()

    def test_headers_opening_a_lower_stream_id_is_a_protocol_error(self):
        before = self.goaways("protocol_error")
        c = h2raw.Client(self.rampart.port)
        self.assertEqual(self.exchange(c, 5), 0x88)
        c.send(c.headers_frame(3, h2raw.request_headers(c.authority, "/app/backwards")))
        frames = c.frames_until_close(5 * SLOW)
        c.close()
        self.assert_goaway(frames, h2raw.PROTOCOL_ERROR, "protocol_error", before)
        self.assertFalse([l for l in self.rampart.access_log("/app/backwards")
                          if l["path"] == "/app/backwards"])

    def test_frames_still_in_flight_after_rampart_answered_are_ignored(self):
        # A header list over max_header_bytes: 431 on the stream before the client's body ends;
        # the body the client had already sent is not a protocol error.
        c = h2raw.Client(self.rampart.port)
        c.send(c.headers_frame(1, h2raw.request_headers(
            c.authority, "/app/big", method="POST", extra=[("x-big", "b" * 9000)]),
            end_stream=False))
        while True:
            f = c.read_frame()
            self.assertIsNotNone(f)
            if f[2] == 1 and f[0] in (h2raw.HEADERS, h2raw.DATA) and f[1] & h2raw.END_STREAM:
                break
        c.send(h2raw.frame(h2raw.DATA, 0, 1, b"x" * 100) +
               h2raw.frame(h2raw.DATA, h2raw.END_STREAM, 1, b"y"))
        self.assertEqual(self.exchange(c, 3), 0x88)
        c.close()

    def test_a_first_line_that_is_not_http1_gets_goaway_on_a_cleartext_listener(self):
        before = self.goaways("protocol_error")
        with socket.create_connection(("127.0.0.1", self.rampart.port), timeout=5 * SLOW) as s:
            s.sendall(b"INVALID CONNECTION PREFACE\r\n\r\n")
            data = b""
            while True:
                chunk = s.recv(4096)
                if not chunk:
                    break
                data += chunk
        self.assertEqual(data[3], h2raw.SETTINGS)  # nghttp2's SETTINGS, then the GOAWAY
        c = h2raw.Client.__new__(h2raw.Client)
        c.buf, c.sock = data, None
        frames = []
        while len(c.buf) >= 9:
            frames.append(c.read_frame())
        self.assert_goaway(frames, h2raw.PROTOCOL_ERROR, "protocol_error", before)
        # An HTTP request line that is malformed, or names another version, still gets its 400.
        for line in (b"GET / HTTP/1.2", b"GET / HTTP/2.0", b"GET / HTTP/3.0", b"GET / http/1.1",
                     b"GET / 1.1", b"GET / JUNK/1.0", b"GET \\index.html HTTP\\1.0", b"GET /"):
            with socket.create_connection(("127.0.0.1", self.rampart.port),
                                          timeout=5 * SLOW) as s:
                s.sendall(line + b"\r\nHost: t\r\n\r\n")
                self.assertTrue(s.recv(1000).startswith(b"HTTP/1.1 400 "), line)

    def test_streams_cut_by_ramparts_connection_error_are_logged_with_it(self):
        c = h2raw.Client(self.rampart.port)
        self.assertEqual(self.exchange(c, 1), 0x88)
        before = self.origin.stats()["requests"]
        c.send(c.headers_frame(3, h2raw.request_headers(c.authority, "/app/cut?delay=5000")))
        deadline = time.monotonic() + 5 * SLOW  # the request reaches the origin
        while self.origin.stats()["requests"] <= before and time.monotonic() < deadline:
            time.sleep(0.01)
        c.send(h2raw.frame(h2raw.DATA, 0, 1, b"late"))  # stream 1 was ended: connection error
        c.frames_until_close(5 * SLOW)
        c.close()
        deadline = time.monotonic() + 5 * SLOW
        lines = []
        while not lines and time.monotonic() < deadline:
            lines = [l for l in self.rampart.access_log("/app/cut") if l["path"] == "/app/cut"]
            time.sleep(0.02)
        self.assertEqual(lines[-1]["reason"], "http2_stream_closed")
        self.assertEqual(lines[-1]["status"], 0)

    def test_counters(self):
        self.assert_still_serving()
        self.assertGreaterEqual(
            self.rampart.metric('rampart_http2_connections_total{listener="public"}'), 1)
        self.assertGreaterEqual(
            self.rampart.metric('rampart_http2_streams_total{listener="public"}'), 1)


LIFECYCLE = """
listeners:
  - name: public
    address: 127.0.0.1:{port}
    limits: {{ header_timeout: 1s, idle_timeout: 1s, body_timeout: 1s }}
routes:
  - name: app
    upstream: app
upstreams:
  app:
    endpoints: [{origin}]
access_log: {{ path: {log} }}
admin: {{ address: 127.0.0.1:{admin} }}
"""


# One worker: the probe below must reach the worker that holds the connection.
RELOAD = "workers: 1\n" + LIFECYCLE.replace("header_timeout: 1s, idle_timeout: 1s",
                                           "idle_timeout: 60s")


class OwnRampartTest(unittest.TestCase):
    """A rampart and an origin per test, on CONFIG."""
    CONFIG = LIFECYCLE

    def setUp(self):
        self.origin = Origin()
        self.rampart = Rampart(self.CONFIG, self.origin)

    def tearDown(self):
        self.rampart.stop()
        self.origin.stop()


class Http2LifecycleTest(OwnRampartTest):

    def test_idle_connection_gets_goaway_no_error(self):
        c = h2raw.Client(self.rampart.port)
        frames = c.frames_until_close(10 * SLOW)
        c.close()
        self.assertEqual(h2raw.goaway_code(frames), h2raw.NO_ERROR)
        self.assertEqual(self.rampart.metric(
            'rampart_http2_goaways_total{listener="public",reason="idle"}'), 1)

    def test_body_that_stops_arriving_gets_408_on_its_stream(self):
        c = h2raw.Client(self.rampart.port)
        c.send(c.headers_frame(1, h2raw.request_headers(c.authority, "/upload", method="POST"),
                               end_stream=False))
        deadline = time.monotonic() + 10 * SLOW
        head = None
        while head is None and time.monotonic() < deadline:
            ftype, _, sid, payload = c.read_frame()
            if ftype == h2raw.HEADERS and sid == 1:
                head = payload
        c.close()
        self.assertIsNotNone(head)
        line = [l for l in self.rampart.access_log("/upload") if l["path"] == "/upload"][-1]
        self.assertEqual((line["status"], line["reason"]), (408, "request_timeout"))

    def test_sigterm_lets_streams_in_flight_finish(self):
        c = h2raw.Client(self.rampart.port)
        c.send(c.headers_frame(1, h2raw.request_headers(c.authority, "/slow?delay=1000")))
        deadline = time.monotonic() + 5 * SLOW  # the stream reaches the origin first
        while self.origin.stats()["requests"] < 1 and time.monotonic() < deadline:
            time.sleep(0.01)
        self.rampart.proc.send_signal(15)
        frames = c.frames_until_close(20 * SLOW)
        c.close()
        self.assertEqual(h2raw.goaway_code(frames), h2raw.NO_ERROR)
        heads = [p for t, _, sid, p in frames if t == h2raw.HEADERS and sid == 1]
        self.assertEqual(heads[0][0], 0x88)  # HPACK static index 8, ":status: 200"
        self.assertTrue([f for f in frames if f[0] == h2raw.DATA and f[1] & h2raw.END_STREAM])
        self.assertEqual(self.rampart.proc.wait(timeout=20 * SLOW), 0)


class Http2ReloadTest(OwnRampartTest):
    CONFIG = RELOAD

    def test_reload_that_turns_http2_off_drains_open_connections(self):
        c = h2raw.Client(self.rampart.port)
        c.send(c.headers_frame(1, h2raw.request_headers(c.authority, "/a")))
        while True:  # the connection is HTTP/2 before the reload: stream 1 is answered
            ftype, flags, sid, _ = c.read_frame()
            if sid == 1 and ftype in (h2raw.HEADERS, h2raw.DATA) and flags & h2raw.END_STREAM:
                break
        self.rampart.write_config(RELOAD.replace("limits:", "http2: {{ enabled: false }}\n    limits:"))
        self.rampart.proc.send_signal(1)
        ok = 'rampart_config_reloads_total{result="ok"}'
        deadline = time.monotonic() + 10 * SLOW
        while (self.rampart.metric(ok) or 0) < 1 and time.monotonic() < deadline:
            time.sleep(0.02)
        self.assertEqual(self.rampart.metric(ok), 1)
        # The worker has the new configuration once a new connection's preface is refused.
        while time.monotonic() < deadline:
            with socket.create_connection(("127.0.0.1", self.rampart.port), timeout=5) as probe:
                probe.sendall(h2raw.PREFACE)
                if probe.recv(100).startswith(b"HTTP/1.1 400"):
                    break
        # The next stream still runs, on the configuration its connection started with; then
        # the connection is told to go away.
        c.send(c.headers_frame(3, h2raw.request_headers(c.authority, "/b")))
        frames = c.frames_until_close(10 * SLOW)
        c.close()
        heads = [p for t, _, sid, p in frames if t == h2raw.HEADERS and sid == 3]
        self.assertEqual(heads[0][0], 0x88)  # ":status: 200"
        self.assertEqual(h2raw.goaway_code(frames), h2raw.NO_ERROR)


class Http2DisabledTest(unittest.TestCase):
    def test_preface_gets_400_when_http2_is_off(self):
        origin = Origin()
        rampart = Rampart(LIFECYCLE.replace("limits:", "http2: {{ enabled: false }}\n    limits:"),
                          origin)
        try:
            with socket.create_connection(("127.0.0.1", rampart.port), timeout=5 * SLOW) as s:
                s.sendall(h2raw.PREFACE)
                self.assertTrue(s.recv(1000).startswith(b"HTTP/1.1 400 "))
            self.assertIsNone(rampart.metric('rampart_http2_connections_total{listener="public"}'))
        finally:
            rampart.stop()
            origin.stop()


class Http2ConfigTest(unittest.TestCase):
    def test_bad_http2_settings_are_refused_with_file_and_line(self):
        out, path = validate("listeners:\n  - address: 127.0.0.1:1\n    http2:\n"
                             "      max_concurrent_streams: 0\n      initial_stream_window: 1KiB\n"
                             "      bogus: 1\nroutes: []\nupstreams: {}\n", "bad.yaml")
        self.assertEqual(out.returncode, 1)
        self.assertIn(f"{path}:4", out.stderr + out.stdout)
        self.assertIn("max_concurrent_streams: must be at least 1", out.stderr + out.stdout)
        self.assertIn("initial_stream_window: must be at least 65535 bytes", out.stderr + out.stdout)
        self.assertIn("bogus", out.stderr + out.stdout)


if __name__ == "__main__":
    unittest.main()
