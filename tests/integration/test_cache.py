"""The cache gate against the real binary and a scripted origin: RFC 9111 freshness, Vary,
revalidation with the origin (304 refreshes the entry), clients' conditional requests answered
from the store, HEAD from a stored GET, unsafe methods invalidating, the Authorization, cookie
and Set-Cookie rules, size limits, and purges through the admin API."""
import http.client
import http.server
import json
import threading
import unittest

from harness import SLOW, Rampart, validate

CONFIG = """
workers: 2
listeners:
  - name: public
    address: 127.0.0.1:{port}
routes:
  - name: products
    match: {{ path_prefix: /products }}
    upstream: app
    gates:
      - cache: {{ key_filter: "/products/[0-9]{{1,6}}", negative_ttl: 60s }}
  - name: tenant
    match: {{ path_prefix: /tenant }}
    upstream: app
    gates:
      - cache: {{ key_headers: [x-tenant], key_query: [page] }}
  - name: app
    upstream: app
    gates:
      - cache: {{ max_entry: 64KiB, tag_header: Surrogate-Key, negative_ttl: 60s }}
upstreams:
  app: {{ endpoints: ["127.0.0.1:ORIGIN"] }}
access_log: {{ path: {log} }}
admin: {{ address: 127.0.0.1:{admin} }}
"""


class ScriptedOrigin:
    """Answers each path as `routes[path]` says: (status, [(name, value)], body) or a callable
    taking the request headers (a dict, lower-case names) and returning one. Counts requests."""

    def __init__(self):
        self.routes, self.hits, self.seen = {}, {}, {}
        origin = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def answer(self):
                n = int(self.headers.get("Content-Length") or 0)
                if n:
                    self.rfile.read(n)
                path = self.path.split("?")[0]
                origin.hits[path] = origin.hits.get(path, 0) + 1
                origin.seen[path] = {k.lower(): v for k, v in self.headers.items()}
                spec = origin.routes.get(path, (200, [("Cache-Control", "no-store")], b"plain"))
                if callable(spec):
                    spec = spec(origin.seen[path])
                status, fields, body = spec
                self.send_response(status)
                for k, v in fields:
                    self.send_header(k, v)
                if status not in (204, 304):
                    self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if self.command != "HEAD" and status not in (204, 304):
                    self.wfile.write(body)

            do_GET = do_HEAD = do_POST = do_PUT = do_DELETE = answer

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


class CacheTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.origin = ScriptedOrigin()
        cls.rampart = Rampart(CONFIG.replace("ORIGIN", str(cls.origin.port)))

    @classmethod
    def tearDownClass(cls):
        cls.rampart.stop()
        cls.origin.stop()

    def request(self, method, path, headers=None, body=None):
        c = http.client.HTTPConnection("127.0.0.1", self.rampart.port, timeout=10 * SLOW)
        c.request(method, path, body=body, headers=headers or {})
        r = c.getresponse()
        out = (r.status, {k.lower(): v for k, v in r.getheaders()}, r.read())
        c.close()
        return out

    def test_fresh_answer_is_served_from_the_store_with_its_age(self):
        self.origin.routes["/fresh"] = (200, [("Cache-Control", "max-age=60"),
                                              ("Content-Type", "text/plain")], b"hello")
        s1, h1, b1 = self.request("GET", "/fresh")
        s2, h2, b2 = self.request("GET", "/fresh")
        self.assertEqual((s1, b1, h1["x-rampart-cache"]), (200, b"hello", "MISS"))
        self.assertEqual((s2, b2, h2["x-rampart-cache"]), (200, b"hello", "HIT"))
        self.assertEqual(h2["content-type"], "text/plain")
        self.assertIn("age", h2)
        self.assertEqual(self.origin.hits["/fresh"], 1)
        # HEAD from the stored GET: the GET's length, no body, no origin request.
        s3, h3, b3 = self.request("HEAD", "/fresh")
        self.assertEqual((s3, b3, h3["content-length"], h3["x-rampart-cache"]),
                         (200, b"", "5", "HIT"))
        self.assertEqual(self.origin.hits["/fresh"], 1)
        self.assertGreaterEqual(self.rampart.metric(
            'rampart_cache_requests_total{route="app",outcome="hit"}'), 2)

    def test_an_answer_already_older_than_its_lifetime_is_not_served(self):
        # RFC 9111 section 4.2.3: the Age the origin (or a cache before it) reports counts.
        self.origin.routes["/old"] = (200, [("Cache-Control", "max-age=60"), ("Age", "120")], b"v")
        self.request("GET", "/old")
        self.assertEqual(self.request("GET", "/old")[1]["x-rampart-cache"], "MISS")
        self.assertEqual(self.origin.hits["/old"], 2)
        self.origin.routes["/young"] = (200, [("Cache-Control", "max-age=60"), ("Age", "30")], b"v")
        self.request("GET", "/young")
        s, h, _ = self.request("GET", "/young")
        self.assertEqual(h["x-rampart-cache"], "HIT")
        self.assertGreaterEqual(int(h["age"]), 30)
        # A client's max-age asks for something younger than the entry: the origin answers.
        self.assertEqual(self.request("GET", "/young", {"Cache-Control": "max-age=10"})[1]
                         ["x-rampart-cache"], "MISS")

    def test_stale_entry_is_revalidated_and_a_304_refreshes_it(self):
        def answer(req):
            if req.get("if-none-match") == '"v1"':
                return 304, [("ETag", '"v1"'), ("Cache-Control", "max-age=60")], b""
            return 200, [("ETag", '"v1"'), ("Cache-Control", "max-age=0")], b"body-v1"
        self.origin.routes["/etag"] = answer
        self.assertEqual(self.request("GET", "/etag")[2], b"body-v1")
        s, h, b = self.request("GET", "/etag")  # stale at once: revalidated
        self.assertEqual((s, b, h["x-rampart-cache"]), (200, b"body-v1", "REVALIDATED"))
        self.assertEqual(self.origin.seen["/etag"].get("if-none-match"), '"v1"')
        s, h, b = self.request("GET", "/etag")  # the 304 made it fresh for 60 s
        self.assertEqual((s, b, h["x-rampart-cache"]), (200, b"body-v1", "HIT"))
        self.assertEqual(self.origin.hits["/etag"], 2)

    def test_conditional_request_is_answered_304_from_the_store(self):
        self.origin.routes["/cond"] = (200, [("ETag", 'W/"abc"'), ("Cache-Control", "max-age=60"),
                                             ("Last-Modified", "Sun, 06 Nov 1994 08:49:37 GMT")],
                                       b"x" * 100)
        self.request("GET", "/cond")
        s, h, b = self.request("GET", "/cond", {"If-None-Match": '"abc"'})
        self.assertEqual((s, b), (304, b""))
        self.assertEqual(h["etag"], 'W/"abc"')
        self.assertNotIn("content-length", h)
        s, _, _ = self.request("GET", "/cond",
                               {"If-Modified-Since": "Sun, 06 Nov 1994 08:49:37 GMT"})
        self.assertEqual(s, 304)
        s, _, b = self.request("GET", "/cond", {"If-None-Match": '"other"'})
        self.assertEqual((s, len(b)), (200, 100))
        self.assertEqual(self.origin.hits["/cond"], 1)

    def test_vary_keeps_one_variant_per_header_value(self):
        def answer(req):
            lang = req.get("accept-language", "none")
            return 200, [("Cache-Control", "max-age=60"), ("Vary", "Accept-Language")], \
                lang.encode()
        self.origin.routes["/vary"] = answer
        self.assertEqual(self.request("GET", "/vary", {"Accept-Language": "de"})[2], b"de")
        self.assertEqual(self.request("GET", "/vary", {"Accept-Language": "fr"})[2], b"fr")
        s, h, b = self.request("GET", "/vary", {"Accept-Language": "de"})
        self.assertEqual((b, h["x-rampart-cache"]), (b"de", "HIT"))
        self.assertEqual(self.origin.hits["/vary"], 2)
        self.origin.routes["/varystar"] = (200, [("Cache-Control", "max-age=60"), ("Vary", "*")],
                                           b"s")
        self.request("GET", "/varystar")
        self.assertEqual(self.request("GET", "/varystar")[1]["x-rampart-cache"], "MISS")

    def test_what_a_shared_cache_must_not_store_or_serve(self):
        cases = {
            "/nostore": [("Cache-Control", "no-store, max-age=60")],
            "/private": [("Cache-Control", "private, max-age=60")],
            "/cookie": [("Cache-Control", "max-age=60"), ("Set-Cookie", "s=1")],
            "/nolifetime": [],
        }
        for path, fields in cases.items():
            self.origin.routes[path] = (200, fields, b"secret")
            self.request("GET", path)
            self.assertEqual(self.request("GET", path)[1]["x-rampart-cache"], "MISS", path)
            self.assertEqual(self.origin.hits[path], 2, path)
        # Requests with Authorization or cookies pass through (and their answers are not stored).
        self.origin.routes["/auth"] = (200, [("Cache-Control", "max-age=60")], b"mine")
        for h in ({"Authorization": "Bearer x"}, {"Cookie": "s=1"}):
            s, hd, _ = self.request("GET", "/auth", h)
            self.assertEqual(hd["x-rampart-cache"], "BYPASS")
        self.assertEqual(self.request("GET", "/auth")[1]["x-rampart-cache"], "MISS")

    def test_unsafe_method_invalidates_the_target(self):
        self.origin.routes["/item"] = (200, [("Cache-Control", "max-age=60")], b"old")
        self.request("GET", "/item")
        self.assertEqual(self.request("GET", "/item")[1]["x-rampart-cache"], "HIT")
        self.request("POST", "/item", body=b"new")
        self.assertEqual(self.request("GET", "/item")[1]["x-rampart-cache"], "MISS")

    def test_unsafe_method_invalidates_its_location_and_content_location_on_the_same_host(self):
        here = f"127.0.0.1:{self.rampart.port}"
        for path in ("/orders/7", "/orders/summary", "/orders/other"):
            self.origin.routes[path] = (200, [("Cache-Control", "max-age=60")], b"old")
            self.request("GET", path)
            self.assertEqual(self.request("GET", path)[1]["x-rampart-cache"], "HIT")
        self.origin.routes["/orders"] = (201, [
            ("Location", "/orders/7"),
            ("Content-Location", f"HTTP://{here.upper()}/orders/summary#top")], b"created")
        self.assertEqual(self.request("POST", "/orders", body=b"{}")[0], 201)
        self.assertEqual(self.request("GET", "/orders/7")[1]["x-rampart-cache"], "MISS")
        self.assertEqual(self.request("GET", "/orders/summary")[1]["x-rampart-cache"], "MISS")
        self.assertEqual(self.request("GET", "/orders/other")[1]["x-rampart-cache"], "HIT")
        # A Location spelled with escapes names the entry of its normalized path.
        self.origin.routes["/orders"] = (201, [("Location", "/%6frders//other")], b"created")
        self.request("POST", "/orders", body=b"{}")
        self.assertEqual(self.request("GET", "/orders/other")[1]["x-rampart-cache"], "MISS")
        self.request("GET", "/orders/other")
        # Another host's target is not the sender's to drop.
        self.origin.routes["/orders"] = (201, [
            ("Location", "http://elsewhere.example/orders/other"),
            ("Content-Location", "//elsewhere.example/orders/other")], b"created")
        self.request("POST", "/orders", body=b"{}")
        self.assertEqual(self.request("GET", "/orders/other")[1]["x-rampart-cache"], "HIT")

    def test_large_answers_pass_through_unstored(self):
        self.origin.routes["/big"] = (200, [("Cache-Control", "max-age=60")], b"b" * 100_000)
        self.assertEqual(len(self.request("GET", "/big")[2]), 100_000)
        s, h, b = self.request("GET", "/big")
        self.assertEqual((len(b), h["x-rampart-cache"]), (100_000, "MISS"))

    def test_key_headers_and_chosen_query_parameters(self):
        def answer(req):
            return 200, [("Cache-Control", "max-age=60")], req.get("x-tenant", "-").encode()
        self.origin.routes["/tenant/list"] = answer
        self.assertEqual(self.request("GET", "/tenant/list?page=1&utm=a", {"X-Tenant": "a"})[2],
                         b"a")
        self.assertEqual(self.request("GET", "/tenant/list?page=1&utm=b", {"X-Tenant": "b"})[2],
                         b"b")
        s, h, b = self.request("GET", "/tenant/list?utm=z&page=1", {"X-Tenant": "a"})
        self.assertEqual((b, h["x-rampart-cache"]), (b"a", "HIT"))  # utm is not in the key
        self.assertEqual(self.request("GET", "/tenant/list?page=2", {"X-Tenant": "a"})[1]
                         ["x-rampart-cache"], "MISS")

    def test_purge_by_url_prefix_and_tag(self):
        for p in ("/p/a", "/p/b", "/q"):
            self.origin.routes[p] = (200, [("Cache-Control", "max-age=60"),
                                           ("Surrogate-Key", "all " + p.strip("/"))], b"x")
            self.request("GET", p)
            self.assertEqual(self.request("GET", p)[1]["x-rampart-cache"], "HIT")
        host = f"127.0.0.1:{self.rampart.port}"  # the authority as clients send it
        purge = lambda body: self.rampart.admin("POST", "/admin/cache/purge", json.dumps(body))
        status, body = purge({"url": f"http://{host}/p/a"})
        self.assertEqual((status, json.loads(body)["purged"]), (200, 1))
        self.assertEqual(self.request("GET", "/p/a")[1]["x-rampart-cache"], "MISS")
        status, body = purge({"prefix": f"http://{host}/p/"})
        self.assertEqual(json.loads(body)["purged"], 2)  # /p/a again (just stored) and /p/b
        self.assertEqual(self.request("GET", "/p/b")[1]["x-rampart-cache"], "MISS")
        status, body = purge({"tag": "q"})
        self.assertEqual(json.loads(body)["purged"], 1)
        self.assertEqual(self.request("GET", "/q")[1]["x-rampart-cache"], "MISS")
        self.assertEqual(purge({"tag": "q", "zone": "nope"})[0], 404)
        self.assertEqual(purge({"nothing": 1})[0], 400)


class CacheAttackerTest(unittest.TestCase):
    """What an attacker would try against a shared cache."""
    setUpClass = classmethod(CacheTest.setUpClass.__func__)
    tearDownClass = classmethod(CacheTest.tearDownClass.__func__)
    request = CacheTest.request

    def test_a_flood_of_misses_for_what_does_not_exist_reaches_the_origin_once(self):
        self.origin.routes["/missing"] = (404, [], b"no such thing")
        for _ in range(20):
            s, h, b = self.request("GET", "/missing")
            self.assertEqual((s, b), (404, b"no such thing"))
        self.assertEqual(h["x-rampart-cache"], "HIT")
        self.assertEqual(self.origin.hits["/missing"], 1)
        self.origin.routes["/gone-private"] = (410, [("Cache-Control", "private")], b"")
        self.request("GET", "/gone-private")
        self.request("GET", "/gone-private")
        self.assertEqual(self.origin.hits["/gone-private"], 2)  # private still wins

    def test_a_get_with_a_body_is_not_cached(self):
        self.origin.routes["/fat"] = (200, [("Cache-Control", "max-age=60")], b"x")
        self.request("GET", "/fat")
        s, h, _ = self.request("GET", "/fat", {"Content-Type": "text/plain"}, body=b"evil")
        self.assertEqual(h["x-rampart-cache"], "BYPASS")

    def test_a_304_with_set_cookie_or_private_does_not_poison_the_entry(self):
        def answer(req):
            if req.get("if-none-match") == '"e"':
                return 304, [("ETag", '"e"'), ("Set-Cookie", "session=victim"),
                             ("Cache-Control", "max-age=60")], b""
            return 200, [("ETag", '"e"'), ("Cache-Control", "max-age=0")], b"page"
        self.origin.routes["/cookie304"] = answer
        self.request("GET", "/cookie304")
        self.request("GET", "/cookie304")  # revalidated: the 304 carries a cookie
        s, h, b = self.request("GET", "/cookie304")
        self.assertEqual((b, h["x-rampart-cache"]), (b"page", "HIT"))
        self.assertNotIn("set-cookie", h)

        def private(req):
            if req.get("if-none-match") == '"p"':
                return 304, [("ETag", '"p"'), ("Cache-Control", "private, max-age=60")], b""
            return 200, [("ETag", '"p"'), ("Cache-Control", "max-age=0")], b"mine"
        self.origin.routes["/private304"] = private
        self.request("GET", "/private304")
        self.assertEqual(self.request("GET", "/private304")[1]["x-rampart-cache"], "REVALIDATED")
        self.assertEqual(self.request("GET", "/private304")[1]["x-rampart-cache"], "MISS")

    def test_a_response_no_cache_is_revalidated_every_time(self):
        def answer(req):
            if req.get("if-none-match") == '"n"':
                return 304, [("ETag", '"n"'), ("Cache-Control", "no-cache, max-age=60")], b""
            return 200, [("ETag", '"n"'), ("Cache-Control", "no-cache, max-age=60")], b"n"
        self.origin.routes["/nocache"] = answer
        self.request("GET", "/nocache")
        for _ in range(2):
            self.assertEqual(self.request("GET", "/nocache")[1]["x-rampart-cache"],
                             "REVALIDATED")
        self.assertEqual(self.origin.hits["/nocache"], 3)

    def test_the_port_in_host_and_encoded_parameter_names_are_part_of_the_key(self):
        self.origin.routes["/host"] = (200, [("Cache-Control", "max-age=60")], b"h")
        self.request("GET", "/host", {"Host": "site.example:1337"})
        self.assertEqual(self.request("GET", "/host", {"Host": "site.example"})[1]
                         ["x-rampart-cache"], "MISS")
        self.origin.routes["/tenant/enc"] = (200, [("Cache-Control", "max-age=60")], b"e")
        self.request("GET", "/tenant/enc?pag%65=evil&page=1")
        self.assertEqual(self.request("GET", "/tenant/enc?page=1")[1]["x-rampart-cache"], "MISS")

    def test_paths_the_key_filter_rejects_never_reach_the_origin(self):
        self.origin.routes["/products/12"] = (200, [("Cache-Control", "max-age=60")], b"twelve")
        self.assertEqual(self.request("GET", "/products/12")[2], b"twelve")
        for path in ("/products/abc", "/products/12x", "/products/1234567", "/products/12/x"):
            s, _, body = self.request("GET", path)
            self.assertEqual((s, json.loads(body)["error"]), (404, "key_filtered"), path)
        # Escaped digits are digits (the path is normalized before routing): /products/12.
        self.assertEqual(self.request("GET", "/products/%31%32")[2], b"twelve")
        self.assertEqual(self.origin.hits.get("/products/abc"), None)
        self.assertEqual(self.request("HEAD", "/products/zzz")[0], 404)
        self.assertEqual(self.request("POST", "/products/new", body=b"{}")[0], 200)  # unsafe: passes

    def test_only_if_cached_gets_504_on_a_miss(self):
        s, _, body = self.request("GET", "/never-stored", {"Cache-Control": "only-if-cached"})
        self.assertEqual((s, json.loads(body)["error"]), (504, "not_cached"))


class CacheConfigTest(unittest.TestCase):
    def test_bad_settings_are_refused_with_their_line(self):
        for settings, message in (("max_bytes: 10KiB", "max_bytes must be at least 1MiB"),
                                  ("max_entry: 100MiB", "max_entry must be from"),
                                  ("key_query: sometimes", "key_query"),
                                  ('key_filter: "(["', "key_filter: not a regular expression"),
                                  ("bogus: 1", "bogus")):
            out, path = validate(f"""listeners: [{{ address: "127.0.0.1:8080" }}]
routes:
  - upstream: app
    gates: [{{ cache: {{ {settings} }} }}]
upstreams: {{ app: {{ endpoints: ["127.0.0.1:9"] }} }}
""")
            text = out.stdout + out.stderr
            self.assertEqual(out.returncode, 1, settings)
            self.assertIn(f"{path}:4:", text, settings)
            self.assertIn(message, text, settings)


if __name__ == "__main__":
    unittest.main()
