"""What reaches the origin: for every framing, Host and hop-by-hop shape an independent HTTP/1.1
probe uses, the client gets the right answer and the origin receives either nothing or exactly one
request framed exactly as rampart framed it, whole. The origin records what it parsed
(recording_origin.py); a request abandoned mid-body reaches it as a reset, never as a short
request it could take for complete."""
import json
import socket
import time
import unittest

import h2raw
from harness import SLOW, Rampart, is_closed, read_response
from recording_origin import RecordingOrigin

CONFIG = """
workers: 1
listeners:
  - name: public
    address: 127.0.0.1:{port}
    limits: {{ body_timeout: 2s, header_timeout: 2s }}
routes:
  - name: all
    match: {{ path_prefix: / }}
    upstream: app
upstreams:
  app:
    endpoints: [{origin}]
access_log: {{ path: {log} }}
admin: {{ address: 127.0.0.1:{admin} }}
"""

SMUGGLED = b"GET /smuggled HTTP/1.1\r\nHost: probe.test\r\n\r\n"


class FramingTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.origin = RecordingOrigin()
        cls.rampart = Rampart(CONFIG, cls.origin)

    @classmethod
    def tearDownClass(cls):
        cls.rampart.stop()
        cls.origin.stop()

    def setUp(self):
        self.origin.clear()

    def send(self, wire):
        s = self.rampart.connect()
        s.sendall(wire)
        return s, read_response(s)

    def sentinel(self):
        """A valid request after the one under test: once the origin has it, anything rampart
        forwarded for the earlier request has arrived too."""
        s, (status, _, _, _) = self.send(b"GET /sentinel HTTP/1.1\r\nHost: probe.test\r\n\r\n")
        s.close()
        self.assertEqual(status, 200)
        return self.origin.wait_for(lambda rs: any(r.target == "/sentinel" and r.complete for r in rs))

    def assert_refused_unforwarded(self, wire, status=400, reason="bad_request"):
        s, (got, headers, body, _) = self.send(wire)
        self.assertEqual(got, status, wire[:120])
        self.assertEqual(json.loads(body)["error"], reason)
        self.assertTrue(is_closed(s))
        seen = [r for r in self.sentinel() if r.target != "/sentinel"]
        self.assertEqual(seen, [], "nothing may reach the origin")

    def assert_forwarded_whole(self, wire, body, target="/p"):
        self.origin.clear()
        s, (got, _, resp, _) = self.send(wire)
        s.close()
        self.assertEqual(got, 200, resp[:200])
        self.assertEqual(json.loads(resp)["body_bytes"], len(body))
        rs = self.origin.wait_for(lambda rs: any(r.complete for r in rs))
        self.assertEqual(len(rs), 1, rs)
        self.assertTrue(rs[0].complete, rs)
        self.assertEqual(rs[0].target, target)
        self.assertEqual(rs[0].body, body)
        return rs[0]

    # Class 1: a Connection header naming a framing or routing field.

    def test_connection_naming_content_length_is_refused(self):
        # CL.0: dropping Content-Length as hop-by-hop would forward a body-less POST and leave
        # SMUGGLED on the pooled upstream connection as a second request.
        cl = b"Content-Length: %d\r\n" % len(SMUGGLED)
        for connection in [b"Content-Length", b"content-length", b"keep-alive, Content-Length",
                           b"close,CONTENT-LENGTH"]:
            with self.subTest(connection=connection):
                self.assert_refused_unforwarded(
                    b"POST /p HTTP/1.1\r\nHost: probe.test\r\nConnection: " + connection +
                    b"\r\n" + cl + b"\r\n" + SMUGGLED)
        # The Connection line after Content-Length, and in a second Connection field.
        self.assert_refused_unforwarded(
            b"POST /p HTTP/1.1\r\nHost: probe.test\r\n" + cl +
            b"Connection: keep-alive\r\nConnection: content-length\r\n\r\n" + SMUGGLED)
        self.assert_refused_unforwarded(
            b"POST /p HTTP/1.1\r\nHost: probe.test\r\nProxy-Connection: content-length\r\n" + cl +
            b"\r\n" + SMUGGLED)

    def test_connection_naming_transfer_encoding_or_host_is_refused(self):
        chunked = b"%x\r\n" % len(SMUGGLED) + SMUGGLED + b"\r\n0\r\n\r\n"
        self.assert_refused_unforwarded(
            b"POST /p HTTP/1.1\r\nHost: probe.test\r\nConnection: Transfer-Encoding\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n" + chunked)
        self.assert_refused_unforwarded(
            b"GET /p HTTP/1.1\r\nHost: probe.test\r\nConnection: host\r\n\r\n")

    def test_other_connection_tokens_never_change_framing(self):
        # Any other listed field is dropped; the body keeps the framing rampart parsed it by.
        r = self.assert_forwarded_whole(
            b"POST /p HTTP/1.1\r\nHost: probe.test\r\nConnection: X-Hop, Upgrade\r\nX-Hop: 1\r\n"
            b"Upgrade: h2c\r\nContent-Length: 5\r\n\r\nhello", b"hello")
        self.assertEqual(r.header("content-length"), "5")
        self.assertIsNone(r.header("x-hop"))
        self.assertIsNone(r.header("upgrade"))
        r = self.assert_forwarded_whole(
            b"POST /p HTTP/1.1\r\nHost: probe.test\r\nConnection: X-Hop\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n", b"hello")
        self.assertEqual(r.header("transfer-encoding"), "chunked")
        self.assertIsNone(r.header("content-length"))

    def test_upstream_requests_are_framed_as_parsed(self):
        r = self.assert_forwarded_whole(
            b"POST /p HTTP/1.1\r\nHost: probe.test\r\nContent-Length: 0\r\n\r\n", b"")
        self.assertEqual(r.header("content-length"), "0")
        r = self.assert_forwarded_whole(b"GET /p HTTP/1.1\r\nHost: probe.test\r\n\r\n", b"")
        self.assertIsNone(r.header("content-length"))
        self.assertIsNone(r.header("transfer-encoding"))

    # Class 2: Host validation (RFC 9112 section 3.2).

    def test_invalid_host_is_refused(self):
        for host in [b"", b"probe.test/../admin", b"user@probe.test", b"probe.test:80x",
                     b"probe.test evil.example", b"probe.test:99999", b"[::1", b"probe.test\\x",
                     b"a%zz"]:
            with self.subTest(host=host):
                self.assert_refused_unforwarded(b"GET /p HTTP/1.1\r\nHost: " + host + b"\r\n\r\n")

    def test_invalid_absolute_form_authority_is_refused(self):
        for target in [b"http://user@probe.test/p", b"http://probe.test:8x/p", b"http:///p"]:
            with self.subTest(target=target):
                self.assert_refused_unforwarded(
                    b"GET " + target + b" HTTP/1.1\r\nHost: probe.test\r\n\r\n")

    def test_valid_hosts_pass(self):
        for host in [b"probe.test", b"probe.test:8080", b"127.0.0.1:1", b"[::1]:80", b"[::1]"]:
            with self.subTest(host=host):
                self.origin.clear()
                r = self.assert_forwarded_whole(
                    b"GET /p HTTP/1.1\r\nHost: " + host + b"\r\n\r\n", b"")
                self.assertEqual(r.header("host"), host.decode())
        # Absolute form: its authority replaces Host.
        self.origin.clear()
        r = self.assert_forwarded_whole(
            b"GET http://abs.test:81/p HTTP/1.1\r\nHost: other.test\r\n\r\n", b"")
        self.assertEqual(r.header("host"), "abs.test:81")

    # Class 3: chunk extensions.

    def test_huge_chunk_extension_is_refused_before_anything_is_forwarded(self):
        self.assert_refused_unforwarded(
            b"POST /p HTTP/1.1\r\nHost: probe.test\r\nTransfer-Encoding: chunked\r\n\r\n"
            b"5;" + b"a" * 65536 + b"\r\nhello\r\n0\r\n\r\n")

    def test_many_chunks_with_extensions_arrive_whole(self):
        body = b"".join(b"1;ext=0123456789\r\n%c\r\n" % (65 + i % 26) for i in range(4000))
        expected = bytes(65 + i % 26 for i in range(4000))
        self.assert_forwarded_whole(
            b"POST /p HTTP/1.1\r\nHost: probe.test\r\nTransfer-Encoding: chunked\r\n\r\n" + body +
            b"0\r\n\r\n", expected)

    def test_chunk_line_split_across_reads_arrives_whole(self):
        # The head's read ends inside a chunk line: the rest of the line comes in a later read.
        s = self.rampart.connect()
        s.sendall(b"POST /p HTTP/1.1\r\nHost: probe.test\r\nTransfer-Encoding: chunked\r\n\r\n"
                  b"5;na")
        time.sleep(0.05)  # two reads, not one: the split is what is under test
        s.sendall(b"me=v\r\nhello\r\n6\r\n world\r\n0\r\n\r\n")
        status, _, resp, _ = read_response(s)
        s.close()
        self.assertEqual(status, 200)
        rs = self.origin.wait_for(lambda rs: any(r.complete for r in rs))
        self.assertEqual([r.body for r in rs], [b"hello world"])

    def assert_aborted_mid_body(self, bad_tail, status):
        """The head and a first chunk go upstream; then the body turns bad. The client gets
        `status`, and the origin sees its request end in a reset, never complete."""
        s = self.rampart.connect()
        s.sendall(b"POST /p HTTP/1.1\r\nHost: probe.test\r\nTransfer-Encoding: chunked\r\n\r\n"
                  b"5\r\nhello\r\n")
        self.origin.wait_for(lambda rs: any(r.target == "/p" for r in rs))
        s.sendall(bad_tail)
        got, _, resp, _ = read_response(s)
        s.close()
        self.assertEqual(got, status, resp)
        rs = self.origin.wait_for(lambda rs: any(r.ended for r in rs))
        self.assertEqual(len(rs), 1, rs)
        self.assertFalse(rs[0].complete, rs)
        self.assertEqual(rs[0].ended, "reset", rs)

    def test_body_abandoned_after_forwarding_reaches_the_origin_as_a_reset(self):
        with self.subTest("huge extension"):
            self.assert_aborted_mid_body(b"5;" + b"a" * 65536 + b"\r\nworld\r\n0\r\n\r\n", 400)
        with self.subTest("extensions too large in total"):
            self.origin.clear()
            tail = b"".join(b"1;" + b"e" * 4000 + b"\r\nx\r\n" for _ in range(300))
            self.assert_aborted_mid_body(tail + b"0\r\n\r\n", 400)
        with self.subTest("malformed chunk"):
            self.origin.clear()
            self.assert_aborted_mid_body(b"zz\r\nworld\r\n0\r\n\r\n", 400)

    def test_body_that_stops_arriving_reaches_the_origin_as_a_reset(self):
        # body_timeout is 2s: the client gets 408 and the origin a reset.
        s = self.rampart.connect()
        s.sendall(b"POST /p HTTP/1.1\r\nHost: probe.test\r\nContent-Length: 100\r\n\r\nhello")
        self.origin.wait_for(lambda rs: any(r.target == "/p" for r in rs))
        got, _, _, _ = read_response(s, timeout=10)
        s.close()
        self.assertEqual(got, 408)
        rs = self.origin.wait_for(lambda rs: any(r.ended for r in rs))
        self.assertEqual([(r.complete, r.ended) for r in rs], [(False, "reset")])

    # Class 4: limits answer with the status that names them.

    def test_one_huge_header_value_is_431(self):
        self.assert_refused_unforwarded(
            b"GET /p HTTP/1.1\r\nHost: probe.test\r\nX-Big: " + b"v" * (96 * 1024) + b"\r\n\r\n",
            431, "headers_too_large")

    def test_long_request_line_is_still_414(self):
        self.assert_refused_unforwarded(
            b"GET /" + b"a" * (16 * 1024) + b" HTTP/1.1\r\nHost: probe.test\r\n\r\n", 414,
            "uri_too_long")


H2_STATIC_STATUS = {0x88: 200, 0x89: 204, 0x8a: 206, 0x8b: 304, 0x8c: 400, 0x8d: 404, 0x8e: 500}


class Http2TranslationTest(unittest.TestCase):
    """The same rules on the HTTP/2 front end, where rampart translates to HTTP/1.1."""

    @classmethod
    def setUpClass(cls):
        cls.origin = RecordingOrigin()
        cls.rampart = Rampart(CONFIG, cls.origin)  # cleartext listeners speak h2c by default

    @classmethod
    def tearDownClass(cls):
        cls.rampart.stop()
        cls.origin.stop()

    def setUp(self):
        self.origin.clear()

    def status_of(self, client, stream_id):
        for _ in range(100):
            ftype, flags, sid, payload = client.read_frame()
            if sid == stream_id and ftype == h2raw.HEADERS:
                # rampart's :status comes first; these codes are HPACK static-table entries.
                return H2_STATIC_STATUS.get(payload[0], payload[:8])
            if sid == stream_id and ftype == h2raw.RST_STREAM:
                return "reset"
        raise AssertionError("no answer")

    def test_invalid_authority_or_host_is_refused(self):
        c = h2raw.Client(self.rampart.port)
        cases = [
            h2raw.request_headers("user@probe.test", "/p"),
            h2raw.request_headers("probe.test:80x", "/p"),
            h2raw.request_headers("probe.test/../admin", "/p"),
            h2raw.request_headers("probe.test", "/p", extra=[("host", "probe.test evil")]),
        ]
        for i, headers in enumerate(cases):
            sid = 1 + 2 * i
            c.send(c.headers_frame(sid, headers))
            # nghttp2 itself resets a stream whose :authority has characters no authority has.
            self.assertIn(self.status_of(c, sid), (400, "reset"), headers)
        self.assertEqual(self.origin.snapshot(), [])

    def test_body_is_framed_by_rampart(self):
        c = h2raw.Client(self.rampart.port)
        headers = h2raw.request_headers("probe.test", "/p", method="POST",
                                        extra=[("content-length", "5")])
        c.send(c.headers_frame(1, headers, end_stream=False))
        c.send(h2raw.frame(h2raw.DATA, h2raw.END_STREAM, 1, b"hello"))
        self.assertEqual(self.status_of(c, 1), 200)
        rs = self.origin.wait_for(lambda rs: any(r.complete for r in rs))
        self.assertEqual(rs[0].body, b"hello")
        self.assertEqual(rs[0].header("content-length"), "5")
        self.assertIsNone(rs[0].header("transfer-encoding"))

    def test_client_reset_mid_body_reaches_the_origin_as_a_reset(self):
        c = h2raw.Client(self.rampart.port)
        headers = h2raw.request_headers("probe.test", "/p", method="POST",
                                        extra=[("content-length", "100")])
        c.send(c.headers_frame(1, headers, end_stream=False))
        c.send(h2raw.frame(h2raw.DATA, 0, 1, b"hello"))
        self.origin.wait_for(lambda rs: any(r.target == "/p" for r in rs))
        c.send(h2raw.frame(h2raw.RST_STREAM, 0, 1, (h2raw.CANCEL).to_bytes(4, "big")))
        rs = self.origin.wait_for(lambda rs: any(r.ended for r in rs))
        self.assertEqual([(r.complete, r.ended) for r in rs], [(False, "reset")])


if __name__ == "__main__":
    unittest.main()
