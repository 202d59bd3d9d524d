"""The retries upstream policy against the real binary and real origins: a GET or a POST moves
past a dead endpoint (connect refused: nothing of it left); a POST without an idempotency key
that reached an origin is never sent again, a GET is; listed statuses are retried for GETs only;
a spent budget turns retries down; every attempt is in the access log; bad settings are refused at
load with file:line."""
import http.server
import json
import threading
import unittest

from harness import http_request, policy_config, SLOW, Origin, Rampart, assert_refused, free_port

CONFIG = """
workers: 2
listeners:
  - name: public
    address: 127.0.0.1:{port}
routes:
  - {{ name: dead, match: {{ path_prefix: /dead }}, upstream: with_dead }}
  - {{ name: reset, match: {{ path_prefix: /reset }}, upstream: resetting }}
  - {{ name: status, match: {{ path_prefix: /status }}, upstream: with_503 }}
  - {{ name: nobudget, match: {{ path_prefix: /nobudget }}, upstream: no_budget }}
upstreams:
  with_dead:
    endpoints: [DEAD, {origin}]
    policies:
      - retries: {{ attempts: 3, backoff_base: 1ms, backoff_max: 5ms }}
  resetting:
    endpoints: [{origin}, SECOND]
    policies:
      - retries: {{ attempts: 3, backoff_base: 1ms, backoff_max: 5ms }}
  with_503:
    endpoints: [ALWAYS503, {origin}]
    policies:
      - retries: {{ attempts: 2, statuses: [503], backoff_base: 1ms, backoff_max: 5ms }}
  no_budget:
    endpoints: [DEAD, {origin}]
    policies:
      - retries: {{ attempts: 3, budget_percent: 0%, budget_min: 0 }}
access_log: {{ path: {log} }}
admin: {{ address: 127.0.0.1:{admin} }}
"""


class Always503(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    requests = 0

    def answer(self):
        n = int(self.headers.get("Content-Length", "0"))
        self.rfile.read(n)
        Always503.requests += 1
        self.send_response(503)
        self.send_header("Content-Length", "0")
        self.end_headers()

    do_GET = do_POST = answer

    def log_message(self, *args):
        pass


def call(port, method, path, body=None):
    status, _, data = http_request(port, method, path, body=body)
    return status, data

class RetriesTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.always503 = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Always503)
        threading.Thread(target=cls.always503.serve_forever, daemon=True).start()
        cls.origin = Origin()
        cls.second = Origin()
        body = (CONFIG.replace("DEAD", f"127.0.0.1:{free_port()}")
                .replace("SECOND", cls.second.address)
                .replace("ALWAYS503", f"127.0.0.1:{cls.always503.server_address[1]}"))
        cls.rampart = Rampart(body, cls.origin, workers=2)

    @classmethod
    def tearDownClass(cls):
        cls.rampart.stop()
        cls.origin.stop()
        cls.second.stop()
        cls.always503.shutdown()

    def metric(self, name):
        return self.rampart.metric(name) or 0

    def seen(self):
        return self.origin.stats()["requests"] + self.second.stats()["requests"]

    def test_get_and_post_move_past_a_dead_endpoint(self):
        before = self.metric('rampart_upstream_retries_total{upstream="with_dead"}')
        for i in range(8):
            self.assertEqual(call(self.rampart.port, "GET", f"/dead/{i}")[0], 200)
            # Connect refused: none of the POST left, so it may go elsewhere.
            self.assertEqual(call(self.rampart.port, "POST", f"/dead/{i}", body="x")[0], 200)
        retried = self.metric('rampart_upstream_retries_total{upstream="with_dead"}') - before
        self.assertGreaterEqual(retried, 4)  # round robin sends half of them to the dead one first
        moved = [l for l in self.rampart.access_log()
                 if l.get("route") == "dead" and l.get("attempts") == 2]
        self.assertTrue(moved)
        tries = moved[-1]["tries"]
        self.assertEqual(len(tries), 2)
        self.assertEqual(tries[0]["error"], "upstream_unavailable")  # connect refused
        self.assertEqual(tries[0]["status"], 0)
        self.assertEqual(tries[1]["status"], 200)
        self.assertEqual(tries[1]["endpoint"], self.origin.address)
        self.assertNotEqual(tries[0]["endpoint"], tries[1]["endpoint"])

    def test_a_post_that_reached_the_origin_is_never_sent_again(self):
        seen = self.seen()
        status, body = call(self.rampart.port, "POST", "/reset/pay?reset=1", body="amount=5")
        self.assertEqual(status, 502)
        self.assertEqual(self.seen() - seen, 1)
        declined = self.metric(
            'rampart_upstream_retries_declined_total{upstream="resetting",reason="unsafe"}')
        self.assertGreaterEqual(declined, 1)
        # A GET that meets the same failure is sent again, up to the attempts.
        seen = self.seen()
        self.assertEqual(call(self.rampart.port, "GET", "/reset/list?reset=1")[0], 502)
        self.assertEqual(self.seen() - seen, 3)
        self.assertGreaterEqual(self.metric(
            'rampart_upstream_retries_declined_total{upstream="resetting",reason="attempts"}'), 1)

    def test_listed_statuses_are_retried_for_idempotent_requests_only(self):
        for i in range(4):
            self.assertEqual(call(self.rampart.port, "GET", f"/status/{i}")[0], 200)
        before = Always503.requests
        statuses = [call(self.rampart.port, "POST", f"/status/{i}", body="x")[0] for i in range(4)]
        self.assertIn(503, statuses)  # a POST that got 503 gets it: the origin may have acted
        self.assertEqual(Always503.requests - before, statuses.count(503))

    def test_a_spent_budget_turns_retries_down(self):
        # No deposits and no floor: only the reserve of 10 retries, then none.
        statuses = [call(self.rampart.port, "GET", f"/nobudget/{i}")[0] for i in range(40)]
        self.assertIn(502, statuses)
        self.assertEqual(self.metric('rampart_upstream_retries_total{upstream="no_budget"}'), 10)
        # Every request that met the dead endpoint after the reserve was spent: its client's 502.
        self.assertEqual(self.metric(
            'rampart_upstream_retries_declined_total{upstream="no_budget",reason="budget"}'),
            statuses.count(502))

    def test_admin_upstreams_shows_the_budget(self):
        status, body = self.rampart.admin("GET", "/admin/upstreams")
        self.assertEqual(status, 200)
        ups = {u["name"]: u for u in json.loads(body)["upstreams"]}
        policy = ups["with_dead"]["policies"][0]
        self.assertEqual(policy["kind"], "retries")
        self.assertEqual(policy["attempts"], 3)
        self.assertEqual(policy["budget_capacity"], 100)  # ten seconds of the 10/s floor


class RetriesConfigTest(unittest.TestCase):
    def test_bad_settings_are_refused_with_file_and_line(self):
        base = policy_config("retries")
        cases = {
            "attempts: 9": "attempts",
            "retry_on: [always]": "'always' is not connect_failure",
            "statuses: [700]": "'700' is not an HTTP status",
            "backoff_base: 1s, backoff_max: 10ms": "backoff_max is shorter than backoff_base",
            "budget_percent: 150%": "a percentage from 0 to 100",
            "tries: 2": "unknown key 'tries'",
        }
        assert_refused(self, base, 7, cases)


if __name__ == "__main__":
    unittest.main()
