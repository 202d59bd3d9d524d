"""The upstream attempt seam, end to end: policies come from `upstreams.NAME.policies` through
their registry (the test-only probe_retry policy, in the rampart_probe binary), hear of every
attempt before and after it (successes included) and when its exchange ends, can send a
response to another endpoint, and can refuse attempts; unknown policy kinds are refused at load
with file:line."""
import http.server
import threading
import unittest

from harness import PROBE_BIN, Origin, Rampart, validate

CONFIG = """
workers: 1
listeners:
  - name: public
    address: 127.0.0.1:{port}
routes:
  - {{ name: retry, match: {{ path_prefix: /retry }}, upstream: mixed }}
  - {{ name: refuse, match: {{ path_prefix: /refuse }}, upstream: refusing }}
upstreams:
  mixed:
    endpoints: [{origin}, UNAVAILABLE]
    policies: [{{ probe_retry: {{ retry_status: 503 }} }}]
  refusing:
    endpoints: [{origin}]
    policies: [{{ probe_retry: {{ refuse: true }} }}]
admin: {{ address: 127.0.0.1:{admin} }}
"""


class Always503(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    requests = 0

    def do_GET(self):
        Always503.requests += 1
        self.send_response(503)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


class UpstreamPoliciesTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.unavailable = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Always503)
        threading.Thread(target=cls.unavailable.serve_forever, daemon=True).start()
        cls.origin = Origin()
        address = f"127.0.0.1:{cls.unavailable.server_address[1]}"
        cls.rampart = Rampart(CONFIG.replace("UNAVAILABLE", address), cls.origin,
                              binary=PROBE_BIN)

    @classmethod
    def tearDownClass(cls):
        cls.rampart.stop()
        cls.origin.stop()
        cls.unavailable.shutdown()

    def calls(self, upstream, phase):
        return self.rampart.metric(
            f'rampart_probe_policy_calls_total{{upstream="{upstream}",phase="{phase}"}}')

    def test_a_policy_moves_a_503_to_another_endpoint(self):
        statuses = [self.rampart.get("/retry") for _ in range(10)]
        self.assertEqual(statuses, [200] * 10)
        self.assertGreater(Always503.requests, 0)  # round robin sent some there first
        attempts = self.rampart.metric('rampart_upstream_requests_total{upstream="mixed"}')
        self.assertEqual(attempts, 10 + Always503.requests)
        # Every attempt was announced and reported, the successful ones included; every exchange
        # ended once.
        self.assertEqual(self.calls("mixed", "before"), attempts)
        self.assertEqual(self.calls("mixed", "after"), attempts)
        self.assertEqual(self.calls("mixed", "ended"), 10)

    def test_a_policy_can_refuse_every_attempt(self):
        before = self.origin.stats()["requests"]
        self.assertEqual(self.rampart.get("/refuse"), 503)
        self.assertEqual(self.origin.stats()["requests"], before)

    def test_unknown_policy_is_refused_with_file_and_line(self):
        out, path = validate("listeners: [{name: a, address: 127.0.0.1:1}]\n"
                             "upstreams:\n  u:\n    endpoints: [127.0.0.1:2]\n"
                             "    policies: [{circuit_brakes: {}}]\n"
                             "routes: [{name: r, upstream: u}]\n")
        self.assertNotEqual(out.returncode, 0)
        self.assertIn(f"{path}:5", out.stderr)
        self.assertIn("unknown policy 'circuit_brakes'", out.stderr)


if __name__ == "__main__":
    unittest.main()
