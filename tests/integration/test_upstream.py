"""Upstream failures and load balancing."""
import json
import socket
import threading
import unittest

from harness import Origin, ProxyTestCase, Rampart


class UpstreamErrorsTest(ProxyTestCase):
    def test_connect_refused_is_502(self):
        c = self.rampart.http()
        c.request("GET", "/down")
        r = c.getresponse()
        self.assertEqual(r.status, 502)
        self.assertEqual(json.loads(r.read())["error"], "upstream_unavailable")
        self.assertGreaterEqual(
            self.rampart.metric('rampart_upstream_errors_total{upstream="down",kind="connect_failure"}'), 1)

    def test_slow_response_is_504(self):
        c = self.rampart.http(timeout=10)
        c.request("GET", "/slow?delay=3000")
        r = c.getresponse()
        self.assertEqual(r.status, 504)
        self.assertEqual(json.loads(r.read())["error"], "upstream_timeout")

    def test_origin_closing_idle_connections_costs_no_request(self):
        c = self.rampart.http()
        for i in range(20):
            c.request("GET", "/x?close=1" if i % 2 else "/x")
            r = c.getresponse()
            r.read()
            self.assertEqual(r.status, 200)


class OversizedResponseHeadTest(unittest.TestCase):
    def test_a_response_head_over_64_kib_is_502_and_nothing_of_it_is_forwarded(self):
        origin = socket.socket()
        origin.bind(("127.0.0.1", 0))
        origin.listen(8)

        def serve():
            while True:
                try:
                    conn, _ = origin.accept()
                except OSError:
                    return
                with conn:
                    conn.recv(65536)
                    head = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n"
                    head += b"".join(b"X-Filler-%d: %s\r\n" % (i, b"v" * 1000) for i in range(70))
                    try:
                        conn.sendall(head + b"\r\nok")
                    except OSError:
                        pass
        threading.Thread(target=serve, daemon=True).start()
        r = Rampart(f"""
        listeners: [{{{{ address: "127.0.0.1:{{port}}" }}}}]
        routes: [{{{{ upstream: app }}}}]
        upstreams: {{{{ app: {{{{ endpoints: ["127.0.0.1:{origin.getsockname()[1]}"] }}}} }}}}
        access_log: {{{{ enabled: false }}}}
        admin: {{{{ address: "127.0.0.1:{{admin}}" }}}}
        """)
        try:
            c = r.http()
            c.request("GET", "/big-head")
            resp = c.getresponse()
            self.assertEqual(resp.status, 502)
            self.assertIsNone(resp.getheader("X-Filler-1"))
            self.assertEqual(json.loads(resp.read())["error"], "upstream_bad_response")
        finally:
            r.stop()
            origin.close()


class LoadBalancingTest(unittest.TestCase):
    def test_round_robin_and_least_request_use_all_endpoints(self):
        origins = [Origin(), Origin()]
        for lb in ("round_robin", "least_request"):
            before = [o.stats()["requests"] for o in origins]
            r = Rampart(f"""
            listeners: [{{{{ address: "127.0.0.1:{{port}}" }}}}]
            routes: [{{{{ upstream: app }}}}]
            upstreams: {{{{ app: {{{{ endpoints: ["{origins[0].address}", "{origins[1].address}"], load_balancer: {lb} }}}} }}}}
            access_log: {{{{ enabled: false }}}}
            admin: {{{{ address: "127.0.0.1:{{admin}}" }}}}
            """)
            try:
                def worker():
                    c = r.http()
                    for _ in range(50):
                        c.request("GET", "/lb")
                        c.getresponse().read()
                ts = [threading.Thread(target=worker) for _ in range(4)]
                [t.start() for t in ts]
                [t.join() for t in ts]
            finally:
                r.stop()
            got = [o.stats()["requests"] - b for o, b in zip(origins, before)]
            self.assertEqual(sum(got), 200, lb)
            self.assertTrue(all(g >= 40 for g in got), f"{lb}: {got}")
        for o in origins:
            o.stop()


if __name__ == "__main__":
    unittest.main()
