"""Slow clients (issue 14): a request body that trickles and a client that reads too slowly are
cut by the listener's rate floors (408 where a reply is still possible), bodies held whole before
the upstream is connected never reach the origin when they trickle, and clients that keep up are
never cut."""
import json
import socket
import time
import unittest

import h2raw
from harness import SLOW, Origin, Rampart, assert_refused, read_response, validate

CONFIG = """
workers: 1
listeners:
  - name: public
    address: "127.0.0.1:{port}"
    limits: {{ header_timeout: 1s, min_request_body_rate: 1000, min_response_rate: 1000,
              rate_window: 1s, buffer_request_body: 64KiB }}
routes:
  - {{ name: streamed, match: {{ path_prefix: /stream }}, upstream: app, buffer_request_body: 0 }}
  - {{ name: app, upstream: app }}
upstreams: {{ app: {{ endpoints: ["{origin}"] }} }}
access_log: {{ path: "{log}" }}
admin: {{ address: "127.0.0.1:{admin}" }}
"""


def window_closed_client(port):
    """An HTTP/2 client whose streams open with a 16-byte window (SETTINGS_INITIAL_WINDOW_SIZE),
    so every answer waits on it at once."""
    return h2raw.Client(port, preface=h2raw.PREFACE + h2raw.frame(h2raw.SETTINGS, 0, 0,
                                                                  b"\x00\x04\x00\x00\x00\x10"))


def trickle(sock, data, every):
    """Sends `data` a byte at a time, `every` seconds apart, until the peer stops taking it."""
    for i in range(len(data)):
        try:
            sock.sendall(data[i:i + 1])
        except OSError:
            return i
        time.sleep(every)
    return len(data)


class SlowClientsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.origin = Origin()
        cls.rampart = Rampart(CONFIG, cls.origin)

    @classmethod
    def tearDownClass(cls):
        cls.rampart.stop()
        cls.origin.stop()

    def slow_count(self, phase):
        return self.rampart.metric(
            f'rampart_slow_clients_total{{listener="public",phase="{phase}"}}')

    def last_line(self, path):
        lines = [l for l in self.rampart.access_log(path) if l["path"] == path]
        return lines[-1] if lines else None

    def test_trickling_body_gets_408_and_never_reaches_the_origin(self):
        before = self.origin.stats()
        cut_before = self.slow_count("body")
        s = self.rampart.connect(timeout=10 * SLOW)
        s.sendall(b"POST /trickle?echo=body HTTP/1.1\r\nHost: t\r\nContent-Length: 100\r\n\r\n")
        started = time.monotonic()
        sent = trickle(s, b"x" * 12, 0.25)
        status, _, body, _ = read_response(s, timeout=10 * SLOW)
        elapsed = time.monotonic() - started
        self.assertEqual(status, 408)
        self.assertEqual(json.loads(body)["error"], "request_timeout")
        # One window of grace (1 s), then cut: not the 30 s body_timeout.
        self.assertLess(elapsed, 6 * SLOW)
        self.assertLessEqual(sent, 12)
        self.assertEqual(self.origin.stats()["requests"], before["requests"])
        self.assertEqual(self.slow_count("body"), cut_before + 1)
        line = self.last_line("/trickle")
        self.assertEqual((line["status"], line["reason"]), (408, "request_timeout"))
        self.assertNotIn("upstream", line)  # no upstream was chosen or connected

    def test_streamed_body_that_trickles_is_cut_too(self):
        s = self.rampart.connect(timeout=10 * SLOW)
        s.sendall(b"POST /stream?echo=body HTTP/1.1\r\nHost: t\r\nContent-Length: 100\r\n\r\n")
        trickle(s, b"x" * 12, 0.25)
        status, _, _, _ = read_response(s, timeout=10 * SLOW)
        self.assertEqual(status, 408)

    def test_body_at_a_good_pace_with_pauses_is_held_and_forwarded_whole(self):
        body = bytes(range(256)) * 256  # 64 KiB, 8 pieces 150 ms apart: ~430 KB/s
        s = self.rampart.connect(timeout=10 * SLOW)
        s.sendall(b"POST /good?echo=body HTTP/1.1\r\nHost: t\r\n"
                  b"Content-Length: %d\r\n\r\n" % len(body))
        for i in range(0, len(body), 8192):
            s.sendall(body[i:i + 8192])
            time.sleep(0.15)
        status, _, got, _ = read_response(s, timeout=10 * SLOW)
        self.assertEqual(status, 200)
        self.assertEqual(got, body)

    def test_body_larger_than_the_buffer_streams_after_it(self):
        body = b"y" * (200 * 1024)
        s = self.rampart.connect(timeout=10 * SLOW)
        s.sendall(b"POST /big?echo=body HTTP/1.1\r\nHost: t\r\n"
                  b"Content-Length: %d\r\n\r\n" % len(body) + body)
        status, _, got, _ = read_response(s, timeout=10 * SLOW)
        self.assertEqual((status, len(got)), (200, len(body)))

    def test_client_that_reads_too_slowly_is_cut(self):
        cut_before = self.slow_count("response")
        size = 64 * 1024 * 1024  # more than the socket buffers on both sides hold
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        s.connect(("127.0.0.1", self.rampart.port))
        s.sendall(b"GET /slowread?size=%d HTTP/1.1\r\nHost: t\r\n\r\n" % size)
        # Reads 1 KiB every 100 ms: 10 KB/s where 1,000 B/s is the floor, but the socket buffers
        # hold megabytes, so the floor is judged on what rampart waits for: this one never ends.
        # A reader at 100 B/s is cut: it takes 1 KiB per 10 s.
        got = 0
        deadline = time.monotonic() + 20 * SLOW
        s.settimeout(1)
        closed = False
        while time.monotonic() < deadline:
            time.sleep(1)
            try:
                chunk = s.recv(100)
            except ConnectionResetError:
                closed = True
                break
            except socket.timeout:
                continue
            if not chunk:
                closed = True
                break
            got += len(chunk)
            if self.slow_count("response") > cut_before:
                closed = True
                break
        s.close()
        self.assertTrue(closed)
        self.assertLess(got, size)
        self.assertTrue(self.slow_count("response") > cut_before)

    def test_client_that_reads_quickly_gets_everything(self):
        size = 8 * 1024 * 1024
        s = self.rampart.connect(timeout=10 * SLOW)
        s.sendall(b"GET /fast?size=%d HTTP/1.1\r\nHost: t\r\n\r\n" % size)
        status, _, got, _ = read_response(s, timeout=20 * SLOW)
        self.assertEqual((status, len(got)), (200, size))

    def test_slowloris_head_is_counted(self):
        before = self.slow_count("head")
        s = self.rampart.connect(timeout=10 * SLOW)
        s.sendall(b"GET / HTTP/1.1\r\nHost: t\r\n")
        status, _, _, _ = read_response(s, timeout=10 * SLOW)
        self.assertEqual(status, 408)
        self.assertEqual(self.slow_count("head"), before + 1)

    def test_http2_trickling_body_gets_408_on_its_stream(self):
        c = h2raw.Client(self.rampart.port)
        c.send(c.headers_frame(1, h2raw.request_headers(
            c.authority, "/h2trickle?echo=body", method="POST",
            extra=[("content-length", "100")]), end_stream=False))
        deadline = time.monotonic() + 10 * SLOW
        head = None
        c.sock.settimeout(0.25)
        while head is None and time.monotonic() < deadline:
            try:
                c.send(h2raw.frame(h2raw.DATA, 0, 1, b"x"))
                f = c.read_frame()
            except socket.timeout:
                continue
            except OSError:
                break
            if f and f[0] == h2raw.HEADERS and f[2] == 1:
                head = f[3]
        c.close()
        self.assertIsNotNone(head)
        line = self.last_line("/h2trickle")
        self.assertEqual((line["status"], line["reason"]), (408, "request_timeout"))

    def test_http2_client_that_never_opens_its_window_is_reset(self):
        # A response above the stream's high-water mark: the exchange itself waits on the client.
        self.assert_window_closed_stream_is_reset(1000000)

    def test_http2_response_queued_whole_is_reset_too(self):
        # Below the high-water mark the whole response is queued and the stream has no coroutine
        # left waiting on it: the connection's deadline check still resets it.
        before = self.slow_count("response")
        self.assert_window_closed_stream_is_reset(100000)
        self.assertEqual(self.slow_count("response"), before + 1)

    def test_http2_client_gone_with_queued_responses_loses_nothing(self):
        # Streams whose whole responses wait for the client's window when it goes away: the
        # connection ends them, and the next connection is served.
        c = window_closed_client(self.rampart.port)
        for i in range(8):
            c.send(c.headers_frame(2 * i + 1, h2raw.request_headers(
                c.authority, f"/h2gone{i}?size=50000")))
        heads = 0
        while heads < 8:
            f = c.read_frame()
            self.assertIsNotNone(f)
            heads += f[0] == h2raw.HEADERS
        c.close()
        c = h2raw.Client(self.rampart.port)
        c.send(c.headers_frame(1, h2raw.request_headers(c.authority, "/h2after")))
        while True:
            f = c.read_frame()
            self.assertIsNotNone(f)
            if f[0] == h2raw.HEADERS and f[2] == 1:
                break
        c.close()
        self.assertIsNone(self.rampart.proc.poll())

    def assert_window_closed_stream_is_reset(self, size):
        c = window_closed_client(self.rampart.port)
        c.send(c.headers_frame(1, h2raw.request_headers(c.authority, f"/h2slow?size={size}")))
        frames = []
        deadline = time.monotonic() + 10 * SLOW
        while time.monotonic() < deadline:
            f = c.read_frame()
            if f is None:
                break
            frames.append(f)
            if f[0] == h2raw.RST_STREAM and f[2] == 1:
                break
        c.close()
        self.assertTrue(any(f[0] == h2raw.RST_STREAM and f[2] == 1 for f in frames), frames)


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


class Http2BufferCapTest(unittest.TestCase):
    """One HTTP/2 connection that reads nothing over 120 streams of 1 MiB answers holds about one
    connection window of rampart's memory, not 120 streams' high-water marks (30 MiB)."""

    def setUp(self):
        self.origin = Origin(threads=4)
        # No read floor here: the cap alone must bound what the streams hold.
        self.rampart = Rampart(CONFIG.replace("min_response_rate: 1000", "min_response_rate: 0"),
                               self.origin)

    def tearDown(self):
        self.rampart.stop()
        self.origin.stop()

    def test_a_slow_reader_over_many_streams_holds_one_window(self):
        warm = h2raw.Client(self.rampart.port)  # the worker's buffers and pools exist already
        warm.send(warm.headers_frame(1, h2raw.request_headers(warm.authority, "/?size=1048576")))
        while True:
            f = warm.read_frame()
            if f is None or (f[0] == h2raw.DATA and f[1] & 0x1):
                break
            if f[0] == h2raw.DATA and f[3]:
                warm.send(h2raw.frame(h2raw.WINDOW_UPDATE, 0, 0, len(f[3]).to_bytes(4, "big")) +
                          h2raw.frame(h2raw.WINDOW_UPDATE, 0, 1, len(f[3]).to_bytes(4, "big")))
        warm.close()
        time.sleep(0.5)
        before = rss_kib(self.rampart.proc.pid)
        c = window_closed_client(self.rampart.port)
        for i in range(120):
            c.send(c.headers_frame(2 * i + 1, h2raw.request_headers(
                c.authority, f"/cap{i}?size=1048576")))
        # Every stream has its answer's head by now, and what rampart holds has stopped growing.
        time.sleep(2 * SLOW)
        grown = rss_kib(self.rampart.proc.pid) - before
        c.close()
        self.assertLess(grown, 12 * 1024, f"rampart grew by {grown} KiB")


class SlowClientConfigTest(unittest.TestCase):
    def test_bad_values_are_refused_with_their_line(self):
        template = """listeners:
  - address: "127.0.0.1:8080"
    limits: { SETTINGS }
routes: [{ upstream: app }]
upstreams: { app: { endpoints: ["127.0.0.1:9"] } }
"""
        assert_refused(self, template, 3, {
            "rate_window: 500ms": "rate_window: must be at least 1s",
            "min_request_body_rate: lots": "min_request_body_rate",
            "buffer_request_body: 65MiB": "buffer_request_body: must be at most 64MiB",
        })

    def test_route_buffer_is_bounded(self):
        out, path = validate("""listeners: [{ address: "127.0.0.1:8080" }]
routes:
  - { upstream: app, buffer_request_body: 1GiB }
upstreams: { app: { endpoints: ["127.0.0.1:9"] } }
""")
        self.assertEqual(out.returncode, 1)
        self.assertIn(f"{path}:3:", out.stdout + out.stderr)
        self.assertIn("buffer_request_body: must be at most 64MiB", out.stdout + out.stderr)


if __name__ == "__main__":
    unittest.main()
