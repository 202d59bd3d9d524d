"""Every phase of the forwarding driver over all four protocol pairs (HTTP/1.1 or HTTP/2 to the
client, HTTP/1.1 or HTTP/2 to the origin), watched through the test-only `probe` gate
(tests/gates/probe_gate.cc, in the rampart_probe binary): the request phase, the request body
held and inspected before the origin gets a byte, the response head from the origin or from
rampart itself, a stored response served, rampart's own 502 replaced, the response body tapped,
and exactly one completion per exchange."""
import json
import subprocess
import unittest

from harness import PROBE_BIN, SLOW, H2Origin, Origin, Rampart, curl_response

PROBE = ("{{ probe: {{ refuse_header: X-Probe-Refuse, serve_header: X-Probe-Serve, "
         "body_bytes: 1KiB, remove_header: X-Remove-Me }} }}")

CONFIG = f"""
workers: 1
listeners:
  - name: public
    address: 127.0.0.1:{{port}}
    limits: {{{{ body_timeout: 5s }}}}
routes:
  - name: to-h1
    match: {{{{ path_prefix: /h1/ }}}}
    upstream: h1
    gates: [{PROBE}]
  - name: to-h2
    match: {{{{ path_prefix: /h2/ }}}}
    upstream: h2
    gates: [{PROBE}]
  - name: down
    match: {{{{ path_prefix: /down/ }}}}
    upstream: down
    gates: [{{{{ probe: {{{{ replace_status: 502 }}}} }}}}]
upstreams:
  h1: {{{{ endpoints: [{{origin}}] }}}}
  h2: {{{{ endpoints: [H2ORIGIN], protocol: h2 }}}}
  down: {{{{ endpoints: ["127.0.0.1:1"], timeouts: {{{{ connect: 1s }}}} }}}}
access_log: {{{{ path: {{log}} }}}}
admin: {{{{ address: 127.0.0.1:{{admin}} }}}}
"""


def curl(*args):
    return subprocess.run(["curl", "-sS", *args], capture_output=True, timeout=30 * SLOW)


class ExchangePhasesTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.origin = Origin()
        cls.h2origin = H2Origin()
        cls.rampart = Rampart(CONFIG.replace("H2ORIGIN", cls.h2origin.address), cls.origin,
                              binary=PROBE_BIN)
        cls.sent = {"to-h1": 0, "to-h2": 0, "down": 0}
        cls.h2_stats_calls = 0

    @classmethod
    def tearDownClass(cls):
        cls.rampart.stop()
        cls.origin.stop()
        cls.h2origin.stop()

    def request(self, front, path, method="GET", body=None, headers=None):
        """(status, {header: value}, body) over HTTP/1.1 or prior-knowledge h2c."""
        route = "down" if path.startswith("/down/") else ("to-h1" if path.startswith("/h1/")
                                                           else "to-h2")
        self.sent[route] += 1
        args = ["--http1.1" if front == "h1" else "--http2-prior-knowledge", "-X", method]
        for k, v in (headers or {}).items():
            args += ["-H", f"{k}: {v}"]
        if body is not None:
            args += ["--data-binary", body]
        return curl_response(f"http://127.0.0.1:{self.rampart.port}{path}", *args)

    def origin_requests(self, back):
        if back == "h1":
            return self.origin.stats()["requests"]
        out = curl("--http2-prior-knowledge", f"http://{self.h2origin.address}/stats")
        type(self).h2_stats_calls += 1
        return json.loads(out.stdout)["streams"] - self.h2_stats_calls  # not the stats streams

    PAIRS = [("h1", "h1"), ("h1", "h2"), ("h2", "h1"), ("h2", "h2")]

    def test_request_and_response_phases(self):
        for front, back in self.PAIRS:
            with self.subTest(front=front, back=back):
                status, fields, body = self.request(front, f"/{back}/hello")
                self.assertEqual(status, 200, body)
                # The body phase runs for a request without a body too (an empty, whole body),
                # as a body-inspecting gate's phase 2 does for a GET.
                self.assertEqual(fields["x-probe-phases"], "request,body=0,response=200:origin")

    def test_body_is_held_and_seen_before_the_origin(self):
        for front, back in self.PAIRS:
            with self.subTest(front=front, back=back):
                status, fields, body = self.request(front, f"/{back}/post", "POST", b"hello world")
                self.assertEqual(status, 200, body)
                self.assertEqual(fields["x-probe-phases"], "request,body=11,response=200:origin")
                echo = json.loads(body)  # the body held for the gate reached the origin whole
                self.assertEqual(echo.get("body_bytes", echo.get("body_length")), 11)
                before = self.origin_requests(back)
                status, fields, body = self.request(front, f"/{back}/post", "POST",
                                                    b"harmless, then EVIL")
                self.assertEqual(status, 403)
                self.assertEqual(json.loads(body)["error"], "probe_body_refused")
                self.assertEqual(fields["x-probe-phases"],
                                 "request,body=19,response=403:probe_body_refused")
                self.assertEqual(self.origin_requests(back), before, "the origin must get nothing")

    def test_body_over_the_hold_is_refused(self):
        for front, back in self.PAIRS:
            with self.subTest(front=front, back=back):
                before = self.origin_requests(back)
                status, _, body = self.request(front, f"/{back}/post", "POST", b"x" * 5000)
                self.assertEqual(status, 413, body)
                self.assertEqual(json.loads(body)["error"], "body_too_large")
                self.assertEqual(self.origin_requests(back), before)

    def test_refusal_and_stored_response(self):
        for front, back in self.PAIRS:
            with self.subTest(front=front, back=back):
                status, fields, body = self.request(front, f"/{back}/x", headers={"X-Probe-Refuse": "1"})
                self.assertEqual(status, 403)
                self.assertEqual(json.loads(body)["error"], "probe_refused")
                status, fields, body = self.request(front, f"/{back}/x", headers={"X-Probe-Serve": "1"})
                self.assertEqual((status, body), (201, b"stored by probe"))
                self.assertEqual(fields["x-probe-stored"], "1")
                self.assertEqual(fields["content-length"], str(len(body)))
                self.assertIn("x-request-id", fields)

    def test_rampart_own_502_replaced(self):
        for front in ("h1", "h2"):
            with self.subTest(front=front):
                status, fields, body = self.request(front, "/down/x")
                self.assertEqual((status, body), (200, b"fallback from probe"))

    def test_every_exchange_completes_exactly_once(self):
        for front, back in self.PAIRS:
            with self.subTest(front=front, back=back):
                self.request(front, f"/{back}/a")
                self.request(front, f"/{back}/b", "POST", b"EVIL")
                self.request(front, f"/{back}/c", headers={"X-Probe-Serve": "1"})
        self.request("h1", "/down/x")
        for route, sent in self.sent.items():
            done = self.rampart.metric(f'rampart_probe_completions_total{{route="{route}"}}')
            self.assertEqual(done, sent, route)

    def test_response_body_is_tapped(self):
        before = self.rampart.metric('rampart_probe_response_bytes_total{route="to-h1"}') or 0
        status, _, body = self.request("h2", "/h1/x?size=5000")
        self.assertEqual(status, 200)
        after = self.rampart.metric('rampart_probe_response_bytes_total{route="to-h1"}')
        self.assertEqual(after - before, len(body))


if __name__ == "__main__":
    unittest.main()
