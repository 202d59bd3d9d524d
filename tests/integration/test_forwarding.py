"""Forwarding through the real binary: bodies byte-exact, headers, routing, keep-alive reuse."""
import json
import os
import subprocess
import threading
import unittest

import socket

from harness import BASIC, SLOW, ProxyTestCase, is_closed, read_response


class ForwardingTest(ProxyTestCase):
    def test_get_is_forwarded_with_proxy_headers(self):
        c = self.rampart.http()
        c.request("GET", "/hello?x=1", headers={"X-Forwarded-For": "6.6.6.6", "Connection": "keep-alive, X-Drop",
                                                "X-Drop": "1", "Keep-Alive": "timeout=5", "X-Request-Id": "client-id"})
        r = c.getresponse()
        self.assertEqual(r.status, 200)
        echo = json.loads(r.read())
        headers = {k.lower(): v for k, v in echo["headers"]}
        self.assertEqual(echo["target"], "/hello?x=1")
        # untrusted peer: its X-Forwarded-For and X-Request-Id are replaced, not believed
        self.assertEqual(headers["x-forwarded-for"], "127.0.0.1")
        self.assertEqual(headers["x-forwarded-proto"], "http")
        self.assertNotEqual(headers["x-request-id"], "client-id")
        self.assertEqual(len(headers["x-request-id"]), 36)
        self.assertEqual(headers["via"], "1.1 rampart")
        for hop in ("connection", "keep-alive", "x-drop"):
            self.assertNotIn(hop, headers)
        self.assertEqual(r.getheader("Via"), "1.1 rampart")

    def test_post_body_byte_exact(self):
        body = os.urandom(50_000)
        c = self.rampart.http()
        c.request("POST", "/p?echo=body", body=body)
        r = c.getresponse()
        self.assertEqual(r.status, 200)
        self.assertEqual(r.read(), body)

    def test_chunked_request_byte_exact(self):
        parts = [os.urandom(n) for n in (1, 100, 4096, 7)]
        wire = b"".join(b"%x;ext=1\r\n%s\r\n" % (len(p), p) for p in parts) + b"0\r\nX-Trailer: t\r\n\r\n"
        s, (status, headers, body, _) = self.raw(
            b"POST /c?echo=body HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n" + wire)
        self.assertEqual(status, 200)
        self.assertEqual(body, b"".join(parts))

    def test_chunked_response_and_large_response(self):
        c = self.rampart.http()
        c.request("GET", "/r?size=300000&chunked=1")
        r = c.getresponse()
        self.assertEqual(r.getheader("Transfer-Encoding"), "chunked")
        body = r.read()
        self.assertEqual(len(body), 300000)
        self.assertEqual(body[:26], b"abcdefghijklmnopqrstuvwxyz")

    def test_response_without_length_is_rechunked_for_http11(self):
        s, (status, headers, body, _) = self.raw(b"GET /n?size=1000&nolength=1 HTTP/1.1\r\nHost: t\r\n\r\n")
        self.assertEqual(status, 200)
        self.assertEqual(headers.get("transfer-encoding"), "chunked")
        self.assertEqual(len(body), 1000)
        # and the client connection stays usable
        s.sendall(b"GET /exact HTTP/1.1\r\nHost: t\r\n\r\n")
        self.assertEqual(read_response(s)[0], 200)

    def test_http10_client(self):
        s, (status, headers, body, head) = self.raw(b"GET /r?size=10&chunked=1 HTTP/1.0\r\n\r\n")
        self.assertEqual(status, 200)
        self.assertEqual(body, b"abcdefghij")
        self.assertNotIn("transfer-encoding", headers)
        s2, (status2, headers2, _, _) = self.raw(b"GET /exact HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
        self.assertEqual(headers2.get("connection"), "keep-alive")
        s2.sendall(b"GET /exact HTTP/1.0\r\n\r\n")
        self.assertEqual(read_response(s2)[0], 200)

    def test_expect_100_continue(self):
        s = self.rampart.connect()
        s.sendall(b"POST /e?echo=body HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n")
        status, _, _, _ = read_response(s)
        self.assertEqual(status, 100)
        s.sendall(b"hello")
        status, _, body, _ = read_response(s)
        self.assertEqual((status, body), (200, b"hello"))

    def test_pipelined_requests_answered_in_order(self):
        s = self.rampart.connect()
        s.sendall(b"".join(b"GET /r?size=%d HTTP/1.1\r\nHost: t\r\n\r\n" % n for n in (1, 2, 3, 4, 5)))
        for n in (1, 2, 3, 4, 5):
            status, _, body, _ = read_response(s)
            self.assertEqual((status, len(body)), (200, n))

    def test_keepalive_reuse_upstream(self):
        before = self.origin.stats()
        def worker():
            c = self.rampart.http()
            for _ in range(50):
                c.request("GET", "/k")
                self.assertEqual(c.getresponse().read()[:1], b"{")
        threads = [threading.Thread(target=worker) for _ in range(4)]
        [t.start() for t in threads]
        [t.join() for t in threads]
        after = self.origin.stats()
        self.assertEqual(after["requests"] - before["requests"], 200)
        self.assertLessEqual(after["connections"] - before["connections"], 8)

    def test_routing_host_path_rewrite_and_header_rules(self):
        c = self.rampart.http()
        c.request("GET", "/api/users?id=7", headers={"Host": "eu.api.test", "X-Secret": "s"})
        r = c.getresponse()
        echo = json.loads(r.read())
        headers = {k.lower(): v for k, v in echo["headers"]}
        self.assertEqual(echo["target"], "/v2/users?id=7")
        self.assertEqual(headers["host"], "internal.test")
        self.assertEqual(headers["x-forwarded-host"], "eu.api.test")
        self.assertEqual(headers["x-route"], "api")
        self.assertNotIn("x-secret", headers)
        self.assertEqual(r.getheader("X-Gateway"), "rampart")
        self.assertIsNone(r.getheader("Server"))
        # Spellings an origin reads as /api/users take the same route, and arrive as it: merged
        # slashes, decoded escapes of unreserved characters (nginx and most frameworks do both).
        for spelling in ("//api//users?id=7", "/%61pi/users?id=7", "/api/%75sers?id=7"):
            c.request("GET", spelling, headers={"Host": "eu.api.test"})
            echo = json.loads(c.getresponse().read())
            self.assertEqual(echo["target"], "/v2/users?id=7", spelling)
        # `;` parameters that would choose another route (Tomcat and Spring drop them: the origin
        # would serve /api/users past the api route) are refused; ones that do not pass.
        c.request("GET", "/api;x/users", headers={"Host": "eu.api.test"})
        r = c.getresponse()
        self.assertEqual((r.status, json.loads(r.read())["error"]), (400, "bad_request"))
        c.request("GET", "/api/users;v=1?id=7", headers={"Host": "eu.api.test"})
        self.assertEqual(json.loads(c.getresponse().read())["target"], "/v2/users;v=1?id=7")
        # The absolute form's trailing dot names the same host: the route still applies.
        c.request("GET", "/api/users?id=7", headers={"Host": "eu.api.test."})
        echo = json.loads(c.getresponse().read())
        self.assertEqual(echo["target"], "/v2/users?id=7")
        # "*.api.test" does not match the bare domain: falls through to the default route
        c.request("GET", "/api/users", headers={"Host": "api.test.evil"})
        echo = json.loads(c.getresponse().read())
        self.assertEqual(echo["target"], "/api/users")

    def test_exact_regex_method_and_header_matching(self):
        c = self.rampart.http()
        c.request("GET", "/items/42")
        r = c.getresponse(); r.read()
        self.assertEqual(r.status, 200)
        c.request("GET", "/h", headers={"X-Tenant": "blue"})
        r = c.getresponse(); r.read()
        self.assertEqual(r.getheader("X-Tenant-Route"), "blue")
        c.request("GET", "/h", headers={"X-Tenant": "red"})
        r = c.getresponse(); r.read()
        self.assertIsNone(r.getheader("X-Tenant-Route"))

    def test_dot_segments_are_400_json(self):
        s, (status, headers, body, _) = self.raw(b"GET /.. HTTP/1.1\r\nHost: t\r\n\r\n")
        self.assertEqual(status, 400)
        err = json.loads(body)
        self.assertEqual(err["error"], "bad_request")
        self.assertEqual(err["request_id"], headers["x-request-id"])

    def test_dot_segments_in_every_spelling_and_backslashes_are_400_unforwarded(self):
        # An origin that decodes %2e, or takes '\\' for '/', would turn these into /admin.
        before = self.origin.stats()["requests"]
        for target in (b"/public/%2e%2e/admin", b"/public/%2E%2E/admin", b"/public/.%2e/admin",
                       b"/public/..%2fadmin", b"/public/..\\admin", b"/a\\b", b"*"):
            s, (status, _, body, _) = self.raw(b"GET " + target + b" HTTP/1.1\r\nHost: t\r\n\r\n")
            s.close()
            self.assertEqual(status, 400, target)
            self.assertEqual(json.loads(body)["error"], "bad_request")
        self.assertEqual(self.origin.stats()["requests"], before)
        # Dots inside a segment, and OPTIONS *, are ordinary.
        s, (status, _, _, _) = self.raw(b"GET /v1.2/a..b/.well-known HTTP/1.1\r\nHost: t\r\n\r\n")
        s.close()
        self.assertEqual(status, 200)

    def test_trace_and_track_are_405_json_and_never_forwarded(self):
        # An origin that echoes TRACE hands a page's script the cookies and credentials the
        # request carried (Cross-Site Tracing); nginx answers TRACE 405 the same way.
        before = self.origin.stats()["requests"]
        for method in (b"TRACE", b"trace", b"Trace", b"TRACK"):
            s, (status, headers, body, _) = self.raw(
                method + b" / HTTP/1.1\r\nHost: t\r\nCookie: session=secret\r\n\r\n")
            s.close()
            self.assertEqual(status, 405, method)
            err = json.loads(body)
            self.assertEqual(err["error"], "method_not_allowed")
            self.assertEqual(err["request_id"], headers["x-request-id"])
            self.assertNotIn(b"secret", body)
        out = subprocess.run(["curl", "-s", "--http2-prior-knowledge", "-X", "TRACE", "-o",
                              "/dev/null", "-w", "%{http_code} %{http_version}",
                              f"http://127.0.0.1:{self.rampart.port}/"],
                             capture_output=True, text=True, timeout=30 * SLOW)
        self.assertEqual(out.stdout, "405 2")
        self.assertEqual(self.origin.stats()["requests"], before)
        # Other methods that merely look alike are forwarded as any extension method is.
        s, (status, _, _, _) = self.raw(b"TRACES / HTTP/1.1\r\nHost: t\r\n\r\n")
        s.close()
        self.assertEqual(self.origin.stats()["requests"], before + 1)

    def test_access_log_has_the_exchange(self):
        c = self.rampart.http()
        c.request("GET", "/logged?z=1")
        r = c.getresponse(); r.read()
        lines = self.rampart.access_log()
        entry = [l for l in lines if l["path"] == "/logged"]
        self.assertTrue(entry)
        e = entry[-1]
        for key in ("time", "request_id", "client", "method", "route", "status", "bytes_in", "bytes_out",
                    "duration_ms", "upstream_ms", "endpoint"):
            self.assertIn(key, e)
        self.assertEqual(e["status"], 200)
        self.assertEqual(e["route"], "default")
        self.assertGreater(e["bytes_out"], 0)


class HalfCloseTest(ProxyTestCase):
    # A long idle timeout: a connection left open would outlive the test's wait by far.
    CONFIG = BASIC.replace("idle_timeout: 5s", "idle_timeout: 300s")

    def test_client_that_half_closes_gets_its_answer_and_the_close_at_once(self):
        # The request and the FIN usually arrive together and one read takes both: rampart must
        # still see the end of stream after answering, not wait out the idle timeout.
        for _ in range(5):
            s = self.rampart.connect()
            s.sendall(b"GET /hc HTTP/1.1\r\nHost: t\r\n\r\n")
            s.shutdown(socket.SHUT_WR)
            status, _, _, _ = read_response(s)
            self.assertEqual(status, 200)
            self.assertTrue(is_closed(s, timeout=10.0))
            s.close()

    def test_pipelined_requests_then_half_close(self):
        # The second request and the FIN arrive while rampart waits on the origin, so the read
        # that takes the request also takes the FIN (whatever the timing, one read ends up
        # holding both): after the second answer rampart must see the end of stream.
        for _ in range(3):
            s = self.rampart.connect()
            s.sendall(b"GET /hc?delay=200 HTTP/1.1\r\nHost: t\r\n\r\n")
            s.sendall(b"GET /hc HTTP/1.1\r\nHost: t\r\n\r\n")
            s.shutdown(socket.SHUT_WR)
            self.assertEqual(read_response(s)[0], 200)
            self.assertEqual(read_response(s)[0], 200)
            self.assertTrue(is_closed(s, timeout=10.0))
            s.close()

    def test_client_that_half_closes_while_waiting_is_closed(self):
        s = self.rampart.connect()
        s.sendall(b"GET /hc HTTP/1.1\r\nHost: t\r\n\r\n")
        status, _, _, _ = read_response(s)
        self.assertEqual(status, 200)
        s.shutdown(socket.SHUT_WR)  # now idle between requests
        self.assertTrue(is_closed(s, timeout=10.0))
        s.close()


class NoRouteTest(ProxyTestCase):
    CONFIG = """
    listeners: [{{ name: l, address: "127.0.0.1:{port}" }}]
    routes: [{{ match: {{ path_prefix: /only }}, upstream: app }}]
    upstreams: {{ app: {{ endpoints: ["{origin}"] }} }}
    access_log: {{ enabled: false }}
    admin: {{ address: "127.0.0.1:{admin}" }}
    """

    def test_local_reply_to_head_has_no_body(self):
        s = self.rampart.connect()
        s.sendall(b"HEAD /other HTTP/1.1\r\nHost: t\r\n\r\nGET /other HTTP/1.1\r\nHost: t\r\n\r\n")
        s.settimeout(5)
        data = b""
        while data.count(b"HTTP/1.1 404") < 2 or not data.endswith(b"}\n"):
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
        s.close()
        head, _, rest = data.partition(b"\r\n\r\n")
        self.assertIn(b"Content-Length: ", head)
        self.assertTrue(rest.startswith(b"HTTP/1.1 404"), rest[:40])  # the GET's answer, at once

    def test_404_json_and_metrics(self):
        s, (status, headers, body, _) = self.raw(b"GET /other HTTP/1.1\r\nHost: t\r\n\r\n")
        self.assertEqual(status, 404)
        err = json.loads(body)
        self.assertEqual(err["error"], "no_route")
        self.assertEqual(headers["content-type"], "application/json")
        self.assertEqual(self.rampart.metric('rampart_http_local_replies_total{reason="no_route"}'), 1)
        status, _ = self.rampart.admin("GET", "/healthz")
        self.assertEqual(status, 200)
        status, _ = self.rampart.admin("GET", "/readyz")
        self.assertEqual(status, 200)


if __name__ == "__main__":
    unittest.main()
