"""The cache gate's stampede defences against the real binary and a slow scripted origin: 1,000
concurrent misses on one key reach the origin once and all get the same bytes; a stale entry is
served at once while one background request refreshes it; an origin failure is answered with a
stale entry within stale-if-error and with the error after it; an expiring hot key under load
refreshes without a burst of origin requests."""
import asyncio
import http.client
import threading
import time
import unittest

from harness import SLOW, Rampart, wait_until
from test_cache import ScriptedOrigin

CONFIG = """
workers: 2
listeners:
  - name: public
    address: 127.0.0.1:{port}
routes:
  - name: app
    upstream: app
    gates:
      - cache: { coalesce_timeout: 10s, ttl_jitter: 0, early_refresh: 0 }
upstreams:
  app: { endpoints: ["127.0.0.1:ORIGIN"] }
access_log: { path: {log} }
admin: { address: 127.0.0.1:{admin} }
""".replace("{ ", "{{ ").replace(" }", " }}").replace("{{port}}", "{port}")


def slow(delay, status=200, fields=(), body=b""):
    """An origin answer that takes `delay` seconds."""

    def answer(_headers):
        time.sleep(delay)
        return status, list(fields), body

    return answer


async def fetch_all(port, path, n):
    """`n` connections opened first, then the same GET sent on all of them at once; returns
    [(status, body)]."""
    conns = [await asyncio.open_connection("127.0.0.1", port) for _ in range(n)]
    request = f"GET {path} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n".encode()
    for _, w in conns:
        w.write(request)
    await asyncio.gather(*(w.drain() for _, w in conns))

    async def read(r, w):
        data = await asyncio.wait_for(r.read(), 60 * SLOW)
        w.close()
        head, _, body = data.partition(b"\r\n\r\n")
        return int(head.split(b" ", 2)[1]), body

    return await asyncio.gather(*(read(r, w) for r, w in conns))


class CacheStampedeTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.origin = ScriptedOrigin()
        cls.rampart = Rampart(CONFIG.replace("ORIGIN", str(cls.origin.port)), workers=2)

    @classmethod
    def tearDownClass(cls):
        cls.rampart.stop()
        cls.origin.stop()

    def get(self, path, headers=None):
        c = http.client.HTTPConnection("127.0.0.1", self.rampart.port, timeout=20 * SLOW)
        c.request("GET", path, headers=headers or {})
        r = c.getresponse()
        out = (r.status, {k.lower(): v for k, v in r.getheaders()}, r.read())
        c.close()
        return out

    def test_a_thousand_concurrent_misses_reach_the_origin_once(self):
        body = bytes(range(256)) * 16
        self.origin.routes["/cold"] = slow(1.0, 200, [("Cache-Control", "max-age=60")], body)
        got = asyncio.run(fetch_all(self.rampart.port, "/cold", 1000))
        self.assertEqual(self.origin.hits.get("/cold"), 1)
        self.assertEqual({s for s, _ in got}, {200})
        self.assertTrue(all(b == body for _, b in got), "every client gets the same bytes")
        self.assertGreaterEqual(
            self.rampart.metric('rampart_cache_requests_total{route="app",outcome="coalesced"}'),
            900)

    def test_an_answer_that_cannot_be_stored_sends_the_waiters_to_the_origin(self):
        self.origin.routes["/private"] = slow(0.5, 200, [("Cache-Control", "private")], b"p")
        got = asyncio.run(fetch_all(self.rampart.port, "/private", 20))
        self.assertEqual({s for s, _ in got}, {200})
        self.assertEqual(self.origin.hits.get("/private"), 20)

    def test_stale_while_revalidate_answers_at_once_and_refreshes_once(self):
        version = {"n": 1}

        def answer(_headers):
            time.sleep(0.5)
            return 200, [("Cache-Control", "max-age=1, stale-while-revalidate=60")], \
                f"v{version['n']}".encode()

        self.origin.routes["/swr"] = answer
        self.assertEqual(self.get("/swr")[2], b"v1")
        version["n"] = 2
        time.sleep(2.1)  # the entry is now stale (max-age=1), within its 60 s window
        started = time.monotonic()
        results = []
        threads = [threading.Thread(target=lambda: results.append(self.get("/swr")))
                   for _ in range(20)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.assertLess(time.monotonic() - started, 0.45 * SLOW, "stale answers do not wait")
        self.assertEqual({r[2] for r in results}, {b"v1"})
        self.assertEqual({r[1]["x-rampart-cache"] for r in results}, {"STALE"})
        wait_until(lambda: self.origin.hits.get("/swr") == 2, 5 * SLOW)
        wait_until(lambda: self.get("/swr")[2] == b"v2", 5 * SLOW)
        self.assertEqual(self.origin.hits.get("/swr"), 2, "one background refresh")
        refreshes = [l for l in self.rampart.access_log("/swr")
                     if {"gate": "cache", "decision": "refresh"} in l.get("gates", [])]
        self.assertEqual(len(refreshes), 1, "the refresh is logged like any exchange")

    def test_stale_if_error_serves_the_entry_within_its_window_and_the_error_after(self):
        self.origin.routes["/sie"] = (200, [("Cache-Control", "max-age=1, stale-if-error=3")],
                                      b"kept")
        self.assertEqual(self.get("/sie")[2], b"kept")
        self.origin.routes["/sie"] = (503, [("Cache-Control", "no-store")], b"down")
        time.sleep(1.5)
        status, fields, body = self.get("/sie")
        self.assertEqual((status, body), (200, b"kept"))
        self.assertEqual(fields["x-rampart-cache"], "STALE")
        time.sleep(3.0)  # past max-age + stale-if-error
        status, _, body = self.get("/sie")
        self.assertEqual((status, body), (503, b"down"))

    def test_stale_if_error_covers_an_origin_that_is_gone(self):
        origin = ScriptedOrigin()
        config = CONFIG.replace("ORIGIN", str(origin.port)).replace(
            "early_refresh: 0", "early_refresh: 0, stale_if_error: 60s")
        rampart = Rampart(config)
        try:
            origin.routes["/gone"] = (200, [("Cache-Control", "max-age=1")], b"last good")
            c = http.client.HTTPConnection("127.0.0.1", rampart.port, timeout=10 * SLOW)
            c.request("GET", "/gone")
            self.assertEqual(c.getresponse().read(), b"last good")
            c.close()
            origin.stop()  # connections refused from now on
            time.sleep(1.5)
            c = http.client.HTTPConnection("127.0.0.1", rampart.port, timeout=10 * SLOW)
            c.request("GET", "/gone")
            r = c.getresponse()
            self.assertEqual((r.status, r.read()), (200, b"last good"))
            self.assertEqual(r.getheader("X-Rampart-Cache"), "STALE")
            c.close()
            self.assertEqual(rampart.metric(
                'rampart_cache_requests_total{route="app",outcome="stale_if_error"}'), 1)
        finally:
            rampart.stop()


if __name__ == "__main__":
    unittest.main()
