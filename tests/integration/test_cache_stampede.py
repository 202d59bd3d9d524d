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

from harness import SLOW, Rampart, RedisServer, assert_refused, wait_until
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


async def fetch_kept_alive(port, path, n):
    """As fetch_all, but the connections stay open after their answers (read by Content-Length):
    what a leader holds must be released when its exchange ends, not when its connection's next
    request comes. Returns [(status, body)]."""
    conns = [await asyncio.open_connection("127.0.0.1", port) for _ in range(n)]
    request = f"GET {path} HTTP/1.1\r\nHost: t\r\n\r\n".encode()
    for _, w in conns:
        w.write(request)

    async def read(r):
        head = await asyncio.wait_for(r.readuntil(b"\r\n\r\n"), 60 * SLOW)
        length = 0
        for line in head.split(b"\r\n"):
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":")[1])
        return int(head.split(b" ", 2)[1]), await r.readexactly(length)

    try:
        return await asyncio.gather(*(read(r) for r, _ in conns))
    finally:
        for _, w in conns:
            w.close()


async def fetch_all(port, path, n):
    """`n` connections opened first (to `port`, or spread over a list of ports), then the same
    GET sent on all of them at once; returns [(status, body)]."""
    ports = port if isinstance(port, list) else [port]
    conns = [await asyncio.open_connection("127.0.0.1", ports[i % len(ports)]) for i in range(n)]
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

    def test_waiters_on_kept_alive_connections_are_served_when_the_leader_lands(self):
        self.origin.routes["/kept"] = slow(0.5, 200, [("Cache-Control", "max-age=60")], b"k")
        started = time.monotonic()
        got = asyncio.run(fetch_kept_alive(self.rampart.port, "/kept", 200))
        self.assertEqual(set(got), {(200, b"k")})
        self.assertEqual(self.origin.hits.get("/kept"), 1)
        # Well inside coalesce_timeout (10 s): the waiters woke when the leader's answer landed.
        self.assertLess(time.monotonic() - started, 5 * SLOW)

    def trickling(self, parts=(b"half", b"done")):
        """A rampart in front of an origin that sends `parts` of its body with a 2 s pause
        between them; returns (rampart, server, the paths the origin saw)."""
        import http.server

        hits = []

        class Trickle(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_GET(self):
                hits.append(self.path)
                self.send_response(200)
                self.send_header("Cache-Control", "max-age=60")
                self.send_header("Content-Length", str(sum(map(len, parts))))
                self.end_headers()
                for i, part in enumerate(parts):
                    if i:
                        time.sleep(2.0 * SLOW)
                    self.wfile.write(part)
                    self.wfile.flush()

        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Trickle)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        rampart = Rampart(CONFIG.replace("ORIGIN", str(server.server_address[1])))
        return rampart, server, hits

    def test_waiters_get_the_whole_answer_when_the_leaders_client_leaves(self):
        import socket
        import struct
        # The leader's client is gone before the second part: the third is read for the waiters.
        rampart, server, hits = self.trickling((b"half", b"more", b"done"))
        try:
            leader = socket.create_connection(("127.0.0.1", rampart.port))
            leader.sendall(b"GET /left HTTP/1.1\r\nHost: t\r\n\r\n")
            leader.settimeout(10 * SLOW)
            data = b""
            while b"half" not in data:
                data += leader.recv(65536)
            waiters = [socket.create_connection(("127.0.0.1", rampart.port)) for _ in range(5)]
            for w in waiters:
                w.sendall(b"GET /left HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
            time.sleep(0.3 * SLOW)
            # The leader's client leaves half-way, with a reset: rampart's next write to it fails.
            leader.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            leader.close()
            for w in waiters:
                w.settimeout(10 * SLOW)
                got = b""
                while True:
                    chunk = w.recv(65536)
                    if not chunk:
                        break
                    got += chunk
                self.assertEqual(got.split(b"\r\n\r\n", 1)[1], b"halfmoredone")
                w.close()
            self.assertEqual(hits, ["/left"])
            c = http.client.HTTPConnection("127.0.0.1", rampart.port, timeout=10 * SLOW)
            c.request("GET", "/left", headers={"Host": "t"})
            r = c.getresponse()
            self.assertEqual((r.read(), r.getheader("X-Rampart-Cache")), (b"halfmoredone", "HIT"))
            c.close()
        finally:
            rampart.stop()
            server.shutdown()
            server.server_close()

    def test_waiters_read_the_leaders_answer_as_it_arrives(self):
        """The clients waiting on the leader get the first half before the origin has finished."""
        import socket
        rampart, server, hits = self.trickling()
        try:
            socks = [socket.create_connection(("127.0.0.1", rampart.port)) for _ in range(30)]
            started = time.monotonic()
            for s in socks:
                s.sendall(b"GET /slow HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
            firsts, bodies = [], []

            def read(s):
                s.settimeout(10 * SLOW)
                data, first = b"", None
                while True:
                    chunk = s.recv(65536)
                    if not chunk:
                        break
                    data += chunk
                    if first is None and b"half" in data:
                        first = time.monotonic() - started
                firsts.append(first if first is not None else 99)
                bodies.append(data.split(b"\r\n\r\n", 1)[1])
                s.close()

            readers = [threading.Thread(target=read, args=(s,)) for s in socks]
            for t in readers:
                t.start()
            for t in readers:
                t.join()
            self.assertEqual(hits, ["/slow"])
            self.assertEqual(set(bodies), {b"halfdone"})
            self.assertLess(max(firsts), 1.5 * SLOW,
                            "every client saw the first half before the rest")
            self.assertEqual(rampart.metric(
                'rampart_cache_requests_total{route="app",outcome="coalesced"}'), 29)
        finally:
            rampart.stop()
            server.shutdown()
            server.server_close()

    def test_an_answer_that_cannot_be_stored_sends_the_waiters_to_the_origin(self):
        self.origin.routes["/private"] = slow(0.5, 200, [("Cache-Control", "private")], b"p")
        got = asyncio.run(fetch_all(self.rampart.port, "/private", 20))
        self.assertEqual({s for s, _ in got}, {200})
        self.assertEqual(self.origin.hits.get("/private"), 20)

    def test_stale_while_revalidate_answers_at_once_and_refreshes_once(self):
        version = {"n": 1}

        def answer(_headers):
            time.sleep(2.0 * SLOW)
            # The refreshed answer stays fresh for the rest of the test.
            age = "max-age=1" if version["n"] == 1 else "max-age=60"
            return 200, [("Cache-Control", f"{age}, stale-while-revalidate=60")], \
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
        # The origin takes 2 s: an answer that waited on it would take longer than this.
        self.assertLess(time.monotonic() - started, 1.5 * SLOW, "stale answers do not wait")
        self.assertEqual({r[2] for r in results}, {b"v1"})
        self.assertEqual({r[1]["x-rampart-cache"] for r in results}, {"STALE"})
        wait_until(lambda: self.origin.hits.get("/swr") == 2, 5 * SLOW)
        wait_until(lambda: self.get("/swr")[2] == b"v2", 5 * SLOW)
        self.assertEqual(self.origin.hits.get("/swr"), 2, "one background refresh")
        refreshes = [l for l in self.rampart.access_log("/swr")
                     if {"gate": "cache", "decision": "refresh"} in l.get("gates", [])]
        self.assertGreaterEqual(len(refreshes), 1, "the refresh is logged like any exchange")

    def test_a_head_on_a_stale_entry_refreshes_it_with_a_get(self):
        version = {"n": 1}

        def answer(headers):
            age = "max-age=1" if version["n"] == 1 else "max-age=60"
            return 200, [("Cache-Control", f"{age}, stale-while-revalidate=60")], \
                f"h{version['n']}".encode()

        self.origin.routes["/head"] = answer
        self.assertEqual(self.get("/head")[2], b"h1")
        version["n"] = 2
        time.sleep(1.5)
        c = http.client.HTTPConnection("127.0.0.1", self.rampart.port, timeout=10 * SLOW)
        c.request("HEAD", "/head")
        r = c.getresponse()
        r.read()
        self.assertEqual((r.status, r.getheader("X-Rampart-Cache")), (200, "STALE"))
        c.close()
        wait_until(lambda: self.get("/head")[2] == b"h2", 5 * SLOW)
        self.assertEqual(self.get("/head")[1]["x-rampart-cache"], "HIT")

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
            # Connection: close, so that no pooled connection outlives the origin's stop.
            origin.routes["/gone"] = (200, [("Cache-Control", "max-age=1"),
                                            ("Connection", "close")], b"last good")
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


SHARED = CONFIG.replace("early_refresh: 0 }", "early_refresh: 0, shared: true }").replace(
    "routes:", """state: {{ redis: {{ address: "127.0.0.1:REDIS", timeout: 500ms,
                     reconnect_interval: 100ms }} }}
routes:""")


class CacheSharedTierTest(unittest.TestCase):
    """Three instances sharing one real redis-server (`shared: true`)."""

    @classmethod
    def setUpClass(cls):
        cls.redis = RedisServer()
        cls.origin = ScriptedOrigin()
        config = SHARED.replace("ORIGIN", str(cls.origin.port)).replace(
            "REDIS", str(cls.redis.port))
        cls.instances = [Rampart(config, workers=2) for _ in range(3)]

    @classmethod
    def tearDownClass(cls):
        for r in cls.instances:
            r.stop()
        cls.origin.stop()
        cls.redis.stop()

    def outcome(self, name):
        return sum(r.metric(f'rampart_cache_requests_total{{route="app",outcome="{name}"}}') or 0
                   for r in self.instances)

    def test_concurrent_misses_across_three_instances_reach_the_origin_once(self):
        body = b"shared " * 500
        self.origin.routes["/fleet"] = slow(1.0, 200, [("Cache-Control", "max-age=60")], body)
        ports = [r.port for r in self.instances]
        got = asyncio.run(fetch_all(ports, "/fleet", 1000))
        self.assertEqual(self.origin.hits.get("/fleet"), 1)
        self.assertEqual({s for s, _ in got}, {200})
        self.assertTrue(all(b == body for _, b in got))
        self.assertGreaterEqual(self.outcome("shared_stored"), 1)

    def test_what_one_instance_stored_another_serves(self):
        # The instances sit behind one name: the key holds the authority, so clients use it.
        self.origin.routes["/once"] = (200, [("Cache-Control", "max-age=60")], b"from one")
        first, second = self.instances[0], self.instances[1]
        c = http.client.HTTPConnection("127.0.0.1", first.port, timeout=10 * SLOW)
        c.request("GET", "/once", headers={"Host": "app.example"})
        self.assertEqual(c.getresponse().read(), b"from one")
        c.close()
        wait_until(lambda: any(k.startswith("rampart:kv:cache.default:e:")
                               for k in self.redis.cli("KEYS", "*").split()), 5 * SLOW)
        c = http.client.HTTPConnection("127.0.0.1", second.port, timeout=10 * SLOW)
        c.request("GET", "/once", headers={"Host": "app.example"})
        r = c.getresponse()
        self.assertEqual((r.read(), r.getheader("X-Rampart-Cache")), (b"from one", "HIT"))
        c.close()
        self.assertEqual(self.origin.hits.get("/once"), 1)
        self.assertGreaterEqual(self.outcome("shared_hit"), 1)

    def test_a_poisoned_entry_in_redis_is_ignored(self):
        self.origin.routes["/poison"] = (200, [("Cache-Control", "max-age=60")], b"real")
        c = http.client.HTTPConnection("127.0.0.1", self.instances[0].port, timeout=10 * SLOW)
        c.request("GET", "/poison", headers={"Host": "app.example"})
        c.getresponse().read()
        c.close()
        wait_until(lambda: len(self.redis.cli("KEYS", "*cache.default:e:*").split()) >= 1,
                   5 * SLOW)
        for k in self.redis.cli("KEYS", "*cache.default:e:*").split():
            self.redis.cli("SET", k, "99999999999999999999\ngarbage")
        c = http.client.HTTPConnection("127.0.0.1", self.instances[2].port, timeout=10 * SLOW)
        c.request("GET", "/poison", headers={"Host": "app.example"})
        r = c.getresponse()
        self.assertEqual((r.status, r.read()), (200, b"real"))
        c.close()

    def fetch(self, instance, method="GET", path="/", body=None):
        c = http.client.HTTPConnection("127.0.0.1", instance.port, timeout=10 * SLOW)
        c.request(method, path, body=body, headers={"Host": "app.example"})
        r = c.getresponse()
        out = (r.status, r.getheader("X-Rampart-Cache"), r.read())
        c.close()
        return out

    def stored_in_redis(self, n):
        return wait_until(lambda: len(self.redis.cli("KEYS", "*cache.default:e:*").split()) >= n,
                          5 * SLOW)

    def test_an_unsafe_method_on_one_instance_drops_the_entry_for_all(self):
        self.redis.cli("FLUSHALL")
        self.origin.routes["/doc"] = (200, [("Cache-Control", "max-age=60")], b"v1")
        self.assertEqual(self.fetch(self.instances[0], path="/doc")[2], b"v1")
        self.assertTrue(self.stored_in_redis(1))
        self.origin.routes["/doc"] = (200, [("Cache-Control", "max-age=60")], b"v2")
        self.assertEqual(self.fetch(self.instances[1], "PUT", "/doc", b"new")[0], 200)
        self.assertTrue(wait_until(
            lambda: self.redis.cli("KEYS", "*cache.default:e:*").split() == [], 5 * SLOW))
        self.assertEqual(self.fetch(self.instances[2], path="/doc")[1:], ("MISS", b"v2"))

    def test_a_purge_reaches_the_shared_tier(self):
        self.origin.routes["/purged"] = (200, [("Cache-Control", "max-age=60")], b"old")
        self.fetch(self.instances[0], path="/purged")
        self.assertTrue(self.stored_in_redis(1))
        status, body = self.instances[0].admin("POST", "/admin/cache/purge",
                                               '{"prefix": "http://app.example/purged"}')
        self.assertEqual(status, 200, body)
        self.assertIn('"shared_flushed":true', body)
        self.origin.routes["/purged"] = (200, [("Cache-Control", "max-age=60")], b"new")
        self.assertEqual(self.fetch(self.instances[1], path="/purged")[1:], ("MISS", b"new"))

    def test_without_redis_each_instance_still_caches_on_its_own(self):
        self.redis.stop()
        try:
            self.origin.routes["/alone"] = (200, [("Cache-Control", "max-age=60")], b"alone")
            port = self.instances[1].port
            for _ in range(3):
                c = http.client.HTTPConnection("127.0.0.1", port, timeout=10 * SLOW)
                c.request("GET", "/alone")
                self.assertEqual(c.getresponse().read(), b"alone")
                c.close()
            self.assertEqual(self.origin.hits.get("/alone"), 1)
        finally:
            self.redis.start()


class CacheStampedeConfigTest(unittest.TestCase):
    def test_bad_settings_are_refused_with_their_line(self):
        assert_refused(self, """listeners: [{ address: "127.0.0.1:8080" }]
routes:
  - upstream: app
    gates:
      - cache: { SETTINGS }
upstreams: { app: { endpoints: ["127.0.0.1:9"] } }
""", 5, {"shared: true": "shared: a shared store needs state.redis",
         "coalesce_timeout: 2m": "coalesce_timeout",
         "early_refresh: -1": "early_refresh: a number from 0 (off) to 10",
         "early_refresh: x": "early_refresh",
         "stale_if_error: 8d": "stale_if_error",
         "shared_lease: 1ms": "shared_lease"})


if __name__ == "__main__":
    unittest.main()
