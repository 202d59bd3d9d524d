"""Endpoint membership against the real binary and real origins: outlier detection ejects an
endpoint that died under load with retries hiding it from clients and lets it back when it
returns; backup endpoints take over and hand back; draining through the admin API sends no new
requests while an in-flight one finishes, up to the upstream's drain timeout, and a reload that
removes an endpoint cuts its requests at the same timeout."""
import http.server
import json
import threading
import unittest

from harness import http_request, H2Origin, SLOW, Origin, Rampart, wait_until

CONFIG = """
workers: 2
listeners:
  - name: public
    address: 127.0.0.1:{port}
routes:
  - {{ name: pool, match: {{ path_prefix: /pool }}, upstream: pool }}
  - {{ name: backed, match: {{ path_prefix: /backed }}, upstream: backed }}
  - {{ name: cut, match: {{ path_prefix: /cut }}, upstream: cut }}
upstreams:
  cut:
    endpoints: [CUT]
    timeouts: {{ response: 60s, drain: 300ms }}
  pool:
    endpoints: [{origin}, B, C]
    policies:
      - retries: {{ attempts: 3, backoff_base: 1ms, backoff_max: 2ms }}
      - outlier_detection: {{ consecutive_gateway_failures: 2, base_ejection_time: EJECT,
                              max_ejection_percent: 34% }}
  backed:
    endpoints: [{origin}]
    backup_endpoints: [B]
    policies:
      - retries: {{ attempts: 2, backoff_base: 1ms, backoff_max: 2ms }}
      - outlier_detection: {{ consecutive_gateway_failures: 1, base_ejection_time: EJECT }}
access_log: {{ path: {log} }}
admin: {{ address: 127.0.0.1:{admin} }}
"""


def get(port, path):
    return http_request(port, "GET", path)[0]

class MembershipTest(unittest.TestCase):
    def setUp(self):
        self.a, self.b, self.c = Origin(), Origin(), Origin()

    def tearDown(self):
        self.rampart.stop()
        for o in (self.a, self.b, self.c):
            o.stop()

    def start(self, eject="1s", cut=None):
        body = (CONFIG.replace("B,", f"{self.b.address},").replace("B]", f"{self.b.address}]")
                .replace("C]", f"{self.c.address}]").replace("EJECT", eject)
                .replace("CUT", cut or self.a.address))
        self.body = body
        self.rampart = Rampart(body, self.a, workers=2)

    def endpoints(self, upstream):
        status, body = self.rampart.admin("GET", "/admin/upstreams")
        self.assertEqual(status, 200)
        ups = {u["name"]: u for u in json.loads(body)["upstreams"]}
        return {e["address"]: e for e in ups[upstream]["endpoints"]}

    def metric(self, name):
        return self.rampart.metric(name) or 0

    def test_a_dead_endpoint_is_ejected_without_client_errors_and_comes_back(self):
        self.start(eject="1s")
        for i in range(6):
            self.assertEqual(get(self.rampart.port, f"/pool/{i}"), 200)
        self.c.stop()  # dies under load
        statuses = [get(self.rampart.port, f"/pool/x{i}") for i in range(60)]
        self.assertEqual(statuses, [200] * 60)  # retries hid the failures from every client
        self.assertEqual(self.metric(
            'rampart_upstream_ejections_total{upstream="pool",reason="consecutive_gateway_failures"}'), 1)
        # Ejected after two failures in a row: the dead endpoint was tried a handful of times.
        self.assertLessEqual(self.metric('rampart_upstream_errors_total{upstream="pool",kind="connect_failure"}'), 4)
        eps = self.endpoints("pool")
        self.assertTrue(eps[self.c.address]["ejected"])
        self.assertFalse(eps[self.c.address]["up"])
        self.assertTrue(eps[self.a.address]["up"])
        self.assertEqual(self.metric(
            f'rampart_upstream_endpoint_up{{upstream="pool",endpoint="{self.c.address}"}}'), 0)
        # It comes back, and once its ejection is over it takes requests again.
        self.c.start()
        wait_until(lambda: not self.endpoints("pool")[self.c.address]["ejected"], timeout=5 * SLOW)
        for i in range(9):
            self.assertEqual(get(self.rampart.port, f"/pool/back{i}"), 200)
        self.assertGreater(self.c.stats()["requests"], 0)

    def test_backups_take_over_and_hand_back(self):
        self.start(eject="1s")
        for i in range(4):
            self.assertEqual(get(self.rampart.port, f"/backed/{i}"), 200)
        self.assertEqual(self.b.stats()["requests"], 0)  # a backup idles while the primary is up
        self.a.stop()
        for i in range(6):
            self.assertEqual(get(self.rampart.port, f"/backed/down{i}"), 200)
        self.assertGreaterEqual(self.b.stats()["requests"], 6)
        self.assertTrue(self.endpoints("backed")[self.b.address]["backup"])
        self.a.start()
        wait_until(lambda: self.endpoints("backed")[self.a.address]["up"], timeout=5 * SLOW)
        before = self.b.stats()["requests"]
        for i in range(4):
            self.assertEqual(get(self.rampart.port, f"/backed/up{i}"), 200)
        self.assertEqual(self.b.stats()["requests"], before)  # handed back
        self.assertEqual(self.a.stats()["requests"], 4)

    def drain(self, address, action="drain"):
        status, body = self.rampart.admin(
            "POST", f"/admin/upstreams/pool/endpoints/{address}/{action}", body="{}")
        self.assertEqual(status, 200, body)
        return json.loads(body)

    def test_draining_sends_no_new_requests_and_lets_in_flight_ones_finish(self):
        self.start(eject="60s")
        self.drain(self.b.address)
        self.drain(self.c.address)
        result = {}
        slow = threading.Thread(
            target=lambda: result.setdefault("status", get(self.rampart.port, "/pool/slow?delay=600")))
        slow.start()  # the only endpoint not draining is A
        wait_until(lambda: self.endpoints("pool")[self.a.address]["in_flight"] == 1, timeout=5 * SLOW)
        self.drain(self.b.address, "undrain")
        answer = self.drain(self.a.address)
        self.assertTrue(answer["draining"])
        self.assertEqual(answer["in_flight"], 1)
        served = self.a.stats()["requests"]
        for i in range(6):
            self.assertEqual(get(self.rampart.port, f"/pool/d{i}"), 200)
        slow.join(10 * SLOW)
        self.assertEqual(result.get("status"), 200)  # the in-flight request finished
        self.assertEqual(self.a.stats()["requests"], served)  # and A got nothing new
        self.assertEqual(self.b.stats()["requests"], 6)
        self.assertEqual(self.endpoints("pool")[self.a.address]["in_flight"], 0)
        # Every endpoint draining: nothing to send to.
        self.drain(self.b.address)
        self.assertEqual(get(self.rampart.port, "/pool/none"), 503)
        self.drain(self.a.address, "undrain")
        self.assertEqual(get(self.rampart.port, "/pool/again"), 200)

    def hang_on_cut(self, result, endpoint=None):
        # A request the origin holds for 50 s (the response timeout is 60 s): only a cut ends it
        # sooner.
        thread = threading.Thread(target=lambda: result.setdefault(
            "status", get(self.rampart.port, "/cut/hang?delay=50000")))
        thread.start()
        endpoint = endpoint or self.a.address
        wait_until(lambda: self.endpoints("cut")[endpoint]["in_flight"] == 1,
                   timeout=5 * SLOW)
        return thread

    def test_a_drain_cuts_requests_still_in_flight_at_its_timeout(self):
        self.start()
        # `backed` lists the same address (one pool slot): draining `cut`'s endpoint must not cut
        # its request.
        other = {}
        backed = threading.Thread(target=lambda: other.setdefault(
            "status", get(self.rampart.port, "/backed/slow?delay=2000")))
        backed.start()
        wait_until(lambda: self.endpoints("backed")[self.a.address]["in_flight"] == 1,
                   timeout=5 * SLOW)
        result = {}
        thread = self.hang_on_cut(result)
        status, body = self.rampart.admin(
            "POST", f"/admin/upstreams/cut/endpoints/{self.a.address}/drain", body="{}")
        self.assertEqual(status, 200, body)
        thread.join(20 * SLOW)
        self.assertFalse(thread.is_alive())
        self.assertEqual(result.get("status"), 502)  # cut at 300 ms, not at the origin's 50 s
        self.assertEqual(self.metric('rampart_upstream_drain_cuts_total{upstream="cut"}'), 1)
        self.assertEqual(self.endpoints("cut")[self.a.address]["in_flight"], 0)
        self.assertIn("drain timed out", self.rampart.logs())
        backed.join(10 * SLOW)
        self.assertEqual(other.get("status"), 200)  # the other upstream's request was not cut
        # Back in service: requests flow again, and an undrained endpoint is never cut.
        self.rampart.admin("POST", f"/admin/upstreams/cut/endpoints/{self.a.address}/undrain",
                           body="{}")
        self.assertEqual(get(self.rampart.port, "/cut/ok"), 200)

    def test_an_undrain_before_the_timeout_cuts_nothing(self):
        self.start()
        result = {}
        thread = self.hang_on_cut(result)
        path = f"/admin/upstreams/cut/endpoints/{self.a.address}"
        self.assertEqual(self.rampart.admin("POST", path + "/drain", body="{}")[0], 200)
        self.assertEqual(self.rampart.admin("POST", path + "/undrain", body="{}")[0], 200)
        thread.join(2 * SLOW)  # well past the 300 ms drain timeout
        self.assertTrue(thread.is_alive())  # still waiting for the origin: not cut
        self.assertEqual(self.metric('rampart_upstream_drain_cuts_total{upstream="cut"}'), 0)
        self.a.stop()  # ends the held request
        thread.join(10 * SLOW)

    def test_a_reload_that_removes_an_endpoint_cuts_its_requests_at_the_drain_timeout(self):
        # D serves only `cut`: the reload removes it from the whole configuration (an endpoint
        # another upstream still lists is not drained).
        d = Origin()
        self.addCleanup(d.stop)
        self.start(cut=d.address)
        result = {}
        thread = self.hang_on_cut(result, d.address)
        config = self.body.replace(f"cut:\n    endpoints: [{d.address}]",
                                   f"cut:\n    endpoints: [{self.b.address}]")
        self.assertNotEqual(config, self.body)
        self.rampart.write_config(config)
        self.assertEqual(self.rampart.admin("POST", "/admin/reload")[0], 200)
        thread.join(20 * SLOW)
        self.assertFalse(thread.is_alive())
        self.assertEqual(result.get("status"), 502)
        self.assertEqual(self.metric('rampart_upstream_drain_cuts_total{upstream="cut"}'), 1)
        self.assertEqual(get(self.rampart.port, "/cut/next"), 200)
        self.assertEqual(self.b.stats()["requests"], 1)

    def test_a_drain_cuts_http2_streams_still_open_at_its_timeout(self):
        h2 = H2Origin()
        self.addCleanup(h2.stop)
        config = f"""
workers: 1
listeners:
  - {{{{ name: public, address: 127.0.0.1:{{port}} }}}}
routes: [ {{{{ name: r, upstream: app }}}} ]
upstreams:
  app:
    endpoints: [{h2.address}]
    protocol: h2
    timeouts: {{{{ response: 60s, drain: 300ms }}}}
admin: {{{{ address: 127.0.0.1:{{admin}} }}}}
"""
        self.rampart = Rampart(config, self.a)
        self.assertEqual(get(self.rampart.port, "/delay?ms=1"), 200)
        result = {}
        thread = threading.Thread(target=lambda: result.setdefault(
            "status", get(self.rampart.port, "/delay?ms=50000")))
        thread.start()
        wait_until(lambda: self.endpoints("app")[h2.address]["in_flight"] == 1, timeout=5 * SLOW)
        status, body = self.rampart.admin(
            "POST", f"/admin/upstreams/app/endpoints/{h2.address}/drain", body="{}")
        self.assertEqual(status, 200, body)
        thread.join(20 * SLOW)
        self.assertFalse(thread.is_alive())
        self.assertEqual(result.get("status"), 502)
        self.assertEqual(self.metric('rampart_upstream_drain_cuts_total{upstream="app"}'), 1)
        self.rampart.admin("POST", f"/admin/upstreams/app/endpoints/{h2.address}/undrain",
                           body="{}")
        self.assertEqual(get(self.rampart.port, "/delay?ms=1"), 200)  # a new session

    def test_a_reload_that_removes_an_endpoint_closes_its_idle_connections(self):
        closed = threading.Event()

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self):
                self.send_response(200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def finish(self):  # the connection ended: rampart closed it
                super().finish()
                closed.set()

            def log_message(self, *args):
                pass

        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, daemon=True).start()
        address = f"127.0.0.1:{server.server_address[1]}"
        config = """
workers: 1
listeners:
  - {{ name: public, address: 127.0.0.1:{port} }}
routes: [ {{ name: r, upstream: app }} ]
upstreams:
  app: {{ endpoints: [ENDPOINTS] }}
admin: {{ address: 127.0.0.1:{admin} }}
"""
        try:
            self.rampart = Rampart(config.replace("ENDPOINTS", address), self.a)
            self.assertEqual(get(self.rampart.port, "/x"), 200)
            self.assertFalse(closed.is_set())  # pooled, idle, open
            self.rampart.write_config(config.replace("ENDPOINTS", "{origin}"))
            self.assertEqual(self.rampart.admin("POST", "/admin/reload")[0], 200)
            self.assertTrue(closed.wait(5 * SLOW))  # closed at the reload, not at its idle timeout
            self.assertEqual(get(self.rampart.port, "/y"), 200)
        finally:
            server.shutdown()
            server.server_close()

    def test_drain_errors(self):
        self.start()
        for path, status in [("/admin/upstreams/nope/endpoints/1.2.3.4:5/drain", 404),
                             (f"/admin/upstreams/pool/endpoints/10.9.9.9:1/drain", 404),
                             (f"/admin/upstreams/pool/endpoints/{self.a.address}/explode", 404)]:
            self.assertEqual(self.rampart.admin("POST", path, body="{}")[0], status, path)
        self.assertEqual(self.rampart.admin(
            "GET", f"/admin/upstreams/pool/endpoints/{self.a.address}/drain")[0], 405)
        self.assertEqual(self.rampart.admin(
            "POST", f"/admin/upstreams/pool/endpoints/{self.a.address}/drain", body="x",
            content_type="text/plain")[0], 415)


if __name__ == "__main__":
    unittest.main()
