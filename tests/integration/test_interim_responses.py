"""Interim (1xx) responses from an origin (RFC 9110 section 15.2): a proxy forwards the ones it
did not ask for, before the final response, to HTTP/1.1 and HTTP/2 clients; never to an
HTTP/1.0 client. 100 Continue is rampart's own to send (it answers the client's Expect itself),
so the origin's is dropped, and so are interim heads past eight per request. The same holds for
interim heads from an HTTP/2 origin (`protocol: h2`)."""
import json
import socket
import subprocess
import unittest

from harness import SLOW, H2Origin, Rampart
from recording_origin import RecordingOrigin

FINAL = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok"
HINTS = (b"HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\nConnection: X-Hop\r\n"
         b"X-Hop: 1\r\nKeep-Alive: timeout=5\r\n\r\n")
ANSWERS = {
    "/hints": HINTS + FINAL,
    "/continue": b"HTTP/1.1 100 Continue\r\n\r\n" + FINAL,
    "/many": HINTS * 20 + FINAL,
    "/processing": b"HTTP/1.1 102 Processing\r\n\r\n" + HINTS + FINAL,
}


class InterimOrigin(RecordingOrigin):
    """Answers each request with the scripted bytes of its path, then closes the connection
    (RecordingOrigin's listener and accept loop, its own answers)."""

    def _serve(self, conn):
        with conn:
            data = b""
            while b"\r\n\r\n" not in data:
                chunk = conn.recv(65536)
                if not chunk:
                    return
                data += chunk
            path = data.split(b" ", 2)[1].decode()
            conn.sendall(ANSWERS.get(path, FINAL))


def exchange(port, request):
    with socket.create_connection(("127.0.0.1", port), timeout=5 * SLOW) as s:
        s.sendall(request)
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                return data
            data += chunk


class InterimCase:
    """rampart in front of `cls.origin` (set by the test class's setUpClass, which calls start),
    and what both origins' tests share (a mixin: not a test case of its own)."""

    @classmethod
    def start(cls, upstream):
        cls.rampart = Rampart(f"""
        listeners: [{{{{ address: "127.0.0.1:{{port}}" }}}}]
        routes: [{{{{ upstream: app }}}}]
        upstreams: {{{{ app: {{{{ endpoints: ["{cls.origin.address}"]{upstream} }}}} }}}}
        access_log: {{{{ enabled: false }}}}
        admin: {{{{ address: "127.0.0.1:{{admin}}" }}}}
        """)

    @classmethod
    def tearDownClass(cls):
        cls.rampart.stop()
        cls.origin.stop()

    def get(self, path, version=b"1.1"):
        return exchange(self.rampart.port, b"GET " + path.encode() + b" HTTP/" + version +
                        b"\r\nHost: a\r\nConnection: close\r\n\r\n")

    def nghttp(self, path):
        """The frames an HTTP/2 client (nghttp) saw for `path`."""
        out = subprocess.run(["nghttp", "-nv", f"http://127.0.0.1:{self.rampart.port}{path}"],
                             capture_output=True, text=True, timeout=30 * SLOW)
        self.assertEqual(out.returncode, 0, out.stderr)
        return out.stdout

    def test_the_origins_100_continue_is_dropped(self):
        out = self.get("/continue")
        self.assertTrue(out.startswith(b"HTTP/1.1 200 OK\r\n"), out)
        self.assertEqual(out.count(b"HTTP/1.1 "), 1, out)


class InterimResponsesTest(InterimCase, unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.origin = InterimOrigin()
        cls.start("")

    def test_early_hints_reach_an_http11_client_before_the_final_response(self):
        out = self.get("/hints")
        hints, _, rest = out.partition(b"\r\n\r\n")
        self.assertTrue(hints.startswith(b"HTTP/1.1 103 Early Hints\r\n"), out)
        self.assertIn(b"\r\nLink: </a.css>; rel=preload", hints)
        self.assertIn(b"\r\nVia: 1.1 ", hints)
        # Hop-by-hop fields and the ones Connection names stay with the hop.
        for name in (b"X-Hop", b"Keep-Alive", b"Connection"):
            self.assertNotIn(b"\r\n" + name + b":", hints)
        self.assertTrue(rest.startswith(b"HTTP/1.1 200 OK\r\n"), out)
        self.assertTrue(rest.endswith(b"\r\n\r\nok"), out)
        self.assertEqual(out.count(b"HTTP/1.1 "), 2, out)  # the interim head and the final one

    def test_an_http10_client_gets_only_the_final_response(self):
        out = self.get("/hints", b"1.0")
        self.assertTrue(out.startswith(b"HTTP/1.1 200 OK\r\n"), out)
        self.assertEqual(out.count(b"HTTP/1.1 "), 1, out)
        self.assertNotIn(b" 103 ", out)

    def test_several_interim_heads_arrive_in_order_and_at_most_eight(self):
        out = self.get("/processing")
        self.assertTrue(out.startswith(b"HTTP/1.1 102 Processing\r\n"), out)
        self.assertLess(out.index(b" 102 "), out.index(b" 103 "))
        self.assertLess(out.index(b" 103 "), out.index(b" 200 OK"))
        out = self.get("/many")
        self.assertEqual(out.count(b"HTTP/1.1 103 Early Hints\r\n"), 8)
        self.assertEqual(out.count(b"HTTP/1.1 "), 9, out)
        self.assertTrue(out.endswith(b"\r\n\r\nok"), out)

    def test_early_hints_reach_an_http2_client_as_a_headers_frame(self):
        log = self.nghttp("/hints")
        self.assertIn(":status: 103", log)
        self.assertIn("link: </a.css>; rel=preload", log)
        self.assertLess(log.index(":status: 103"), log.index(":status: 200"))
        self.assertEqual(log.count(":status:"), 2, log)
        self.assertNotIn("x-hop:", log)


class InterimFromHttp2OriginTest(InterimCase, unittest.TestCase):
    """The origin speaks HTTP/2 (h2origin.py, python3-h2): its interim HEADERS frames reach the
    client as interim heads, in order, before the final response."""

    @classmethod
    def setUpClass(cls):
        cls.origin = H2Origin()
        cls.start(", protocol: h2")

    def test_early_hints_reach_an_http11_client_before_the_final_response(self):
        out = self.get("/hints")
        hints, _, rest = out.partition(b"\r\n\r\n")
        self.assertTrue(hints.startswith(b"HTTP/1.1 103 Early Hints\r\n"), out)
        self.assertIn(b"\r\nlink: </a0.css>; rel=preload", hints.lower())
        self.assertTrue(rest.startswith(b"HTTP/1.1 200 OK\r\n"), out)
        self.assertIn(b'"path": "/hints"', rest.replace(b'":"', b'": "'))
        self.assertEqual(out.count(b"HTTP/1.1 "), 2, out)

    def test_several_arrive_in_order_and_at_most_eight(self):
        out = self.get("/hints?n=3&processing=1")
        self.assertTrue(out.startswith(b"HTTP/1.1 102 Processing\r\n"), out)
        links = [out.index(f"</a{i}.css>".encode()) for i in range(3)]
        self.assertEqual(links, sorted(links), out)
        self.assertLess(links[-1], out.index(b" 200 OK"))
        out = self.get("/hints?n=20")
        self.assertEqual(out.count(b"HTTP/1.1 103 Early Hints\r\n"), 8, out)
        self.assertEqual(out.count(b"HTTP/1.1 "), 9, out)
        self.assertNotIn(b"</a8.css>", out)

    def stats(self):
        out = subprocess.run(["curl", "-s", "--http2-prior-knowledge",
                              f"http://{self.origin.address}/stats"],
                             capture_output=True, text=True, timeout=30 * SLOW)
        return json.loads(out.stdout)

    def test_a_stream_refused_after_an_interim_head_is_not_sent_again(self):
        # The origin answered (103), so it processed the request (RFC 9113 section 8.7): a
        # second attempt would repeat the request and the client's hints.
        before = self.stats()["streams"]
        out = self.get("/hints-refused")
        self.assertEqual(out.count(b"HTTP/1.1 103 "), 1, out)
        self.assertIn(b"HTTP/1.1 502 ", out)
        self.assertEqual(self.stats()["streams"] - before, 2, out)  # the request and /stats

    def test_early_hints_reach_an_http2_client_as_a_headers_frame(self):
        # HTTP/2 on both sides: the duplex loop hands the interim heads on.
        log = self.nghttp("/hints")
        self.assertIn("link: </a0.css>; rel=preload", log)
        self.assertLess(log.index(":status: 103"), log.index(":status: 200"))
        self.assertEqual(log.count(":status:"), 2, log)
        log = self.nghttp("/hints?n=20")
        self.assertEqual(log.count(":status: 103"), 8, log)
        self.assertEqual(log.count(":status: 200"), 1, log)
        log = self.nghttp("/hints?n=3&processing=1")
        order = [log.index(":status: 102")] + [log.index(f"</a{i}.css>") for i in range(3)]
        self.assertEqual(order, sorted(order), log)
        self.assertLess(order[-1], log.index(":status: 200"))


if __name__ == "__main__":
    unittest.main()
