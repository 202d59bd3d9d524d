"""API keys, sessions and authorization end to end: two rampart instances sharing a real
redis-server, a login service that names the principal in a response header, and an origin that
shows what it was sent."""
import hashlib
import http.server
import json
import os
import re
import tempfile
import threading
import time
import unittest
from urllib.parse import parse_qs, urlsplit

from harness import SLOW, Rampart, RedisServer, free_port

CONFIG = """
workers: 1
listeners:
  - name: public
    address: 127.0.0.1:{port}
routes:
  - name: login
    match: {{ path_prefix: /login }}
    upstream: app
    gates: [ {{ session: {{ secure: false, store: redis, allow_anonymous: true, login: true, idle_timeout: 10m, absolute_timeout: 1h }} }} ]
  - name: app
    match: {{ path_prefix: /app/ }}
    upstream: app
    gates:
      - session: {{ secure: false, store: redis, forward_header: x-user, idle_timeout: 10m, absolute_timeout: 1h }}
      - authz:
          roles: {{ admin: ["orders:*"], viewer: [orders:read] }}
          rules:
            - {{ name: logout, match: {{ paths: [/app/logout] }}, require: {{ authenticated: true }} }}
            - {{ name: orders-write, match: {{ paths: [/app/orders/], methods: [POST, DELETE] }}, require: {{ permissions: [orders:write] }} }}
            - {{ name: orders-read, match: {{ paths: [/app/orders/] }}, require: {{ permissions: [orders:read] }} }}
  - name: api
    match: {{ path_prefix: /api/ }}
    upstream: app
    gates:
      - api_key: {{ store: redis, keys_file: KEYS_FILE, forward_header: x-api-key-id }}
      - rate_limit_identity:
          default_tier: free
          limits:
            - {{ name: gold, tiers: [gold], key: [api_key], rate: 100/m }}
            - {{ name: free, tiers: [free], key: [api_key], rate: 2/m }}
      - authz:
          rules:
            - {{ name: no-deletes-soon, deny_if: {{ method: [DELETE] }}, shadow: true }}
            - {{ name: keyed, require: {{ auth_method: [api_key] }} }}
upstreams:
  app:
    endpoints: [ORIGIN]
state:
  redis: {{ address: 127.0.0.1:REDIS, timeout: 200ms }}
access_log: {{ path: {log} }}
admin: {{ address: 127.0.0.1:{admin} }}
"""


class AuthOrigin:
    """/login?user=U&roles=R answers with the session headers; /logout with the logout header;
    anything else answers 200 with the request's headers as JSON."""

    def __init__(self):
        self.port = free_port()
        self.address = f"127.0.0.1:{self.port}"

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def answer(self):
                length = int(self.headers.get("Content-Length") or 0)
                if length:
                    self.rfile.read(length)
                url = urlsplit(self.path)
                extra = []
                if url.path == "/login":
                    q = parse_qs(url.query)
                    extra.append(("X-Rampart-Session-Principal", q.get("user", [""])[0]))
                    if "roles" in q:
                        extra.append(("X-Rampart-Session-Roles", q["roles"][0]))
                elif url.path == "/app/logout":
                    extra.append(("X-Rampart-Session-Logout", "1"))
                body = json.dumps({k.lower(): v for k, v in self.headers.items()}).encode()
                self.send_response(200)
                for k, v in extra:
                    self.send_header(k, v)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = do_DELETE = answer

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()


class AuthTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        cls.file_key = "rk_file_key_for_the_ci_bot_0123456789abcdef"
        keys = os.path.join(cls.tmp.name, "keys.yaml")
        with open(keys, "w") as f:
            f.write("keys:\n  - { id: ci-bot, sha256: %s, principal: ci, tier: free }\n"
                    % hashlib.sha256(cls.file_key.encode()).hexdigest())
        cls.redis = RedisServer()
        cls.origin = AuthOrigin()
        config = (CONFIG.replace("KEYS_FILE", keys).replace("ORIGIN", cls.origin.address)
                  .replace("REDIS", str(cls.redis.port)))
        cls.a = Rampart(config)
        cls.b = Rampart(config)

    @classmethod
    def tearDownClass(cls):
        cls.a.stop()
        cls.b.stop()
        cls.origin.stop()
        cls.redis.stop()
        cls.tmp.cleanup()

    def call(self, inst, method, path, headers=None):
        c = inst.http()
        c.request(method, path, headers=headers or {})
        r = c.getresponse()
        body = r.read()
        c.close()
        return r.status, r, body

    def login(self, user, roles):
        status, r, _ = self.call(self.a, "GET", f"/login?user={user}&roles={roles}")
        self.assertEqual(status, 200)
        self.assertIsNone(r.getheader("X-Rampart-Session-Principal"))  # stripped
        cookie = r.getheader("Set-Cookie")
        self.assertRegex(cookie, r"^rampart_session=[A-Za-z0-9_-]{43}\.[0-9a-f]{16}; Path=/; Max-Age=3600; "
                                 r"HttpOnly; SameSite=Lax$")
        return cookie.split(";")[0]

    def assert_logged(self, inst, path, note):
        # The log is written off the request path: wait (bounded) for the request's line.
        deadline = time.monotonic() + 5 * SLOW
        while True:
            lines = [l for l in inst.access_log() if l["path"] == path]
            notes = [g for l in lines for g in l.get("gates", []) if g["gate"] == note["gate"]]
            if note in notes:
                return
            if time.monotonic() > deadline:
                self.fail(f"{note} not logged for {path}: {notes}")
            time.sleep(0.02)

    def test_sessions_are_shared_and_authorize_by_role(self):
        viewer = self.login("vera", "viewer")
        # The session made on A works on B; the origin sees the principal, not the session id.
        status, _, body = self.call(self.b, "GET", "/app/orders/1",
                                    {"Cookie": f"theme=dark; {viewer}", "X-User": "mallory"})
        self.assertEqual(status, 200, body)
        seen = json.loads(body)
        self.assertEqual(seen["x-user"], "vera")
        self.assertEqual(seen["cookie"], "theme=dark")
        # A viewer may read, not write; the deciding rule is in the access log.
        status, _, body = self.call(self.b, "POST", "/app/orders/1", {"Cookie": viewer})
        self.assertEqual((status, json.loads(body)["error"]), (403, "forbidden"))
        self.assert_logged(self.b, "/app/orders/1",
                           {"gate": "authz", "decision": "forbidden", "detail": "orders-write"})
        # Other spellings of the same path meet the same rule; a hidden separator is refused.
        for spelling in ("/app/%6frders/1", "/app//orders/1", "/app/orders;v=1/1",
                         "/app/orders%2F1"):
            status, _, body = self.call(self.b, "POST", spelling, {"Cookie": viewer})
            self.assertEqual((status, json.loads(body)["error"]), (403, "forbidden"), spelling)
        # A GET the viewer may send, overridden to DELETE for an origin that honours overrides,
        # is judged as the DELETE it becomes.
        for headers, path in (({"X-HTTP-Method-Override": "delete"}, "/app/orders/1"),
                              ({"X-Method-Override": "DELETE"}, "/app/orders/1"),
                              ({"X-HTTP-Method-Override": "DELETE, GET"}, "/app/orders/1"),
                              ({"X_HTTP_Method_Override": "DELETE"}, "/app/orders/1"),
                              ({"X-HTTP-Method": "DELETE;x"}, "/app/orders/1"),
                              ({}, "/app/orders/1?_method=DELETE"),
                              ({}, "/app/orders/1?_m%65thod=delete")):
            status, _, body = self.call(self.b, "GET", path, dict(headers, Cookie=viewer))
            self.assertEqual((status, json.loads(body).get("error")), (403, "forbidden"),
                             (headers, path, body))
        self.assertEqual(self.call(self.b, "GET", "/app/orders/1?_method=GET",
                                   {"Cookie": viewer})[0], 200)
        # An encoded dot segment is refused before routing.
        status, _, body = self.call(self.b, "POST", "/app/x/%2e%2e/orders/1", {"Cookie": viewer})
        self.assertEqual((status, json.loads(body)["error"]), (400, "bad_request"))
        admin = self.login("ada", "admin")
        self.assertEqual(self.call(self.b, "POST", "/app/orders/1", {"Cookie": admin})[0], 200)
        # No session: 401, before authz.
        self.assertEqual(self.call(self.b, "GET", "/app/orders/1")[0], 401)
        self.assertEqual(self.call(self.b, "GET", "/app/orders/1",
                                   {"Cookie": "rampart_session=" + "A" * 43})[0], 401)

    def test_revocation_and_logout_take_effect_everywhere(self):
        s1 = self.login("rob", "viewer")
        s2 = self.login("rob", "viewer")
        other = self.login("sam", "viewer")
        for s in (s1, s2, other):
            self.assertEqual(self.call(self.b, "GET", "/app/orders/1", {"Cookie": s})[0], 200)
        # Revoking every session of rob (on A's admin) ends both, on B at the next request.
        status, body = self.a.admin("POST", "/admin/sessions/revoke", json.dumps({"principal": "rob"}))
        self.assertEqual(status, 200, body)
        for s in (s1, s2):
            status, r, body = self.call(self.b, "GET", "/app/orders/1", {"Cookie": s})
            self.assertEqual((status, json.loads(body)["error"]), (401, "revoked_session"))
            self.assertIn("Max-Age=0", r.getheader("Set-Cookie"))
        self.assertEqual(self.call(self.b, "GET", "/app/orders/1", {"Cookie": other})[0], 200)
        # One session by its id.
        status, _ = self.a.admin("POST", "/admin/sessions/revoke",
                                 json.dumps({"session": other.split("=", 1)[1]}))
        self.assertEqual(status, 200)
        self.assertEqual(self.call(self.b, "GET", "/app/orders/1", {"Cookie": other})[0], 401)
        # Logout through the upstream's header.
        s3 = self.login("tia", "viewer")
        status, r, _ = self.call(self.b, "GET", "/app/logout", {"Cookie": s3})
        self.assertEqual(status, 200)
        self.assertIn("Max-Age=0", r.getheader("Set-Cookie"))
        self.assertIsNone(r.getheader("X-Rampart-Session-Logout"))
        self.assertEqual(self.call(self.a, "GET", "/app/orders/1", {"Cookie": s3})[0], 401)

    def test_rotation_on_login_ends_the_old_session(self):
        old = self.login("uma", "viewer")
        status, r, _ = self.call(self.a, "GET", "/login?user=uma&roles=admin", {"Cookie": old})
        self.assertEqual(status, 200)
        new = r.getheader("Set-Cookie").split(";")[0]
        self.assertNotEqual(new, old)
        self.assertEqual(self.call(self.b, "GET", "/app/orders/1", {"Cookie": old})[0], 401)
        self.assertEqual(self.call(self.b, "POST", "/app/orders/1", {"Cookie": new})[0], 200)

    def test_api_keys_added_listed_used_and_revoked(self):
        status, body = self.a.admin("POST", "/admin/api_keys",
                                    json.dumps({"principal": "acme", "tier": "gold",
                                                "id": "acme-1", "expires_in": 3600}))
        self.assertEqual(status, 201, body)
        key = json.loads(body)["key"]
        self.assertTrue(key.startswith("rk_") and len(key) == 46, key)
        self.assertEqual(self.a.admin("POST", "/admin/api_keys",
                                      json.dumps({"principal": "x", "id": "acme-1"}))[0], 409)
        # Listed without secrets, with the file's keys.
        status, body = self.b.admin("GET", "/admin/api_keys")
        self.assertEqual(status, 200)
        listed = {k["id"]: k for k in json.loads(body)["keys"]}
        self.assertEqual(listed["acme-1"]["tier"], "gold")
        self.assertEqual(listed["ci-bot"]["source"], "file")
        self.assertNotIn(key, body)
        self.assertNotIn("sha256", body)
        self.assertNotIn(hashlib.sha256(key.encode()).hexdigest(), body)
        # Used on the other instance; the key itself never reaches the origin.
        status, _, body = self.call(self.b, "GET", "/api/x", {"X-API-Key": key, "X-API-Key-Id": "forged"})
        self.assertEqual(status, 200, body)
        seen = json.loads(body)
        self.assertEqual(seen["x-api-key-id"], "acme-1")
        self.assertNotIn("x-api-key", seen)
        # Gold tier: no 429 within its 100/m.
        for _ in range(5):
            self.assertEqual(self.call(self.b, "GET", "/api/x", {"X-API-Key": key})[0], 200)
        # Revoked on A: refused on B at the next request.
        self.assertEqual(self.a.admin("POST", "/admin/api_keys/revoke",
                                      json.dumps({"id": "acme-1"}))[0], 200)
        status, _, body = self.call(self.b, "GET", "/api/x", {"X-API-Key": key})
        self.assertEqual((status, json.loads(body)["error"]), (401, "invalid_key"))
        self.assertEqual(self.a.admin("POST", "/admin/api_keys/revoke",
                                      json.dumps({"id": "acme-1"}))[0], 404)

    def test_file_key_tier_feeds_the_rate_limit_and_shadow_rules_only_log(self):
        headers = {"X-API-Key": self.file_key}
        statuses = [self.call(self.a, "GET", "/api/free", headers)[0] for _ in range(3)]
        self.assertEqual(statuses, [200, 200, 429])  # tier free: 2/m
        status, _, _ = self.call(self.b, "DELETE", "/api/thing", headers)
        self.assertEqual(status, 200)  # the shadow rule would deny; it only logs
        self.assert_logged(self.b, "/api/thing",
                           {"gate": "authz", "decision": "shadow:deny", "detail": "no-deletes-soon"})
        self.assert_logged(self.b, "/api/thing", {"gate": "authz", "decision": "allow", "detail": "keyed"})
        for bad in ({}, {"X-API-Key": "rk_nope"}, {"X-API-Key": self.file_key + "x"}):
            self.assertEqual(self.call(self.b, "GET", "/api/x", bad)[0], 401)


if __name__ == "__main__":
    unittest.main()
