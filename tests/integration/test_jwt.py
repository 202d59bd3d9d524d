"""The jwt gate end to end: tokens minted here (OpenSSL through python3-cryptography) against a
real rampart, a JWKS server that rotates its keys and goes away, a recording origin that shows
what was forwarded, and revocation shared by three instances through a real redis-server."""
import json
import os
import tempfile
import threading
import time
import unittest

from harness import SLOW, Rampart, RedisServer, wait_until
from jwks_server import JwksServer
from jwt_tokens import Key, b64, claims, jwks, token
from recording_origin import RecordingOrigin

CONFIG = """
workers: 2
listeners:
  - name: public
    address: 127.0.0.1:{port}
routes:
  - name: api
    match: {{ path_prefix: /api }}
    upstream: app
    gates:
      - jwt:
          providers:
            - name: main
              issuer: https://id.test
              audiences: [api]
              algorithms: [ES256, RS256, EdDSA]
              jwks: {{ url: "JWKS_URL", allow_http: true, unknown_kid_interval: 0s, min_ttl: 1s }}
              max_lifetime: 1h
            - name: partner
              issuer: https://partner.test
              algorithms: [HS256]
              hmac_secret_file: SECRET_FILE
          query: access_token
          forward_claims: {{ sub: x-user, tenant: x-tenant }}
  - name: maybe
    match: {{ path_prefix: /maybe }}
    upstream: app
    gates:
      - jwt:
          allow_anonymous: true
          providers:
            - issuer: https://id.test
              audiences: [api]
              algorithms: [ES256]
              jwks: {{ url: "JWKS_URL", allow_http: true }}
upstreams:
  app:
    endpoints: [{origin}]
access_log: {{ path: {log} }}
admin: {{ address: 127.0.0.1:{admin} }}
"""



class JwtGateTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.es = Key("ES256", "es-1")
        cls.rs = Key("RS256", "rs-1")
        cls.ed = Key("EdDSA", "ed-1")
        # The gate drops a secret file's trailing newlines (docs/configuration.md): a random
        # secret must not end in one, or one time in 128 it is a byte short and refused.
        cls.secret = os.urandom(31) + b"k"
        cls.tmp = tempfile.TemporaryDirectory()
        secret_file = os.path.join(cls.tmp.name, "partner.secret")
        with open(secret_file, "wb") as f:
            f.write(cls.secret)
        cls.jwks = JwksServer(jwks(cls.es, cls.rs, cls.ed))
        cls.origin = RecordingOrigin()
        config = CONFIG.replace("JWKS_URL", cls.jwks.url).replace("SECRET_FILE", secret_file)
        cls.rampart = Rampart(config, cls.origin)

    @classmethod
    def tearDownClass(cls):
        cls.rampart.stop()
        cls.origin.stop()
        cls.jwks.stop()
        cls.tmp.cleanup()

    def request(self, path="/api/x", tok=None, headers=None):
        """(status, headers, body) of GET `path` with `tok` as a bearer token."""
        h = dict(headers or {})
        if tok is not None:
            h["Authorization"] = "Bearer " + tok
        c = self.rampart.http()
        c.request("GET", path, headers=h)
        r = c.getresponse()
        out = (r.status, {k.lower(): v for k, v in r.getheaders()}, r.read())
        c.close()
        return out

    def outcome(self, name):
        return self.rampart.metric(f'rampart_jwt_requests_total{{route="api",outcome="{name}"}}') or 0

    def assert_refused(self, tok, reason, path="/api/refused", status=401):
        before = self.outcome(reason)
        self.origin.clear()
        got, headers, body = self.request(path, tok)
        self.assertEqual(got, status, (reason, body))
        self.assertEqual(json.loads(body)["error"], reason)
        if status == 401:
            challenge = headers["www-authenticate"]
            self.assertTrue(challenge.startswith("Bearer"), challenge)
            if tok:
                self.assertIn('error="invalid_token"', challenge)
                self.assertNotIn(tok[:20], challenge)
        self.assertEqual(self.outcome(reason), before + 1, reason)
        self.assertEqual(self.origin.snapshot(), [], "a refused request reached the origin")

    def test_valid_tokens_of_every_key_type_pass_and_claims_are_forwarded(self):
        for key in (self.es, self.rs, self.ed):
            self.origin.clear()
            status, _, _ = self.request("/api/ok", token(key, claims(tenant="acme")),
                                        headers={"X-User": "mallory", "X-Tenant": "evil",
                                                 "X_User": "mallory2"})
            self.assertEqual(status, 200, key.kind)
            (req,) = self.origin.wait_for(lambda r: len(r) == 1)
            # The client's X-User never arrives, nor its X_User look-alike (CGI-style origins
            # read both as HTTP_X_USER).
            users = [v for n, v in req.headers if n.lower().replace("_", "-") == "x-user"]
            self.assertEqual(users, ["alice"])
            self.assertEqual(req.header("x-tenant"), "acme")
        # The log is written off the request path: wait (bounded) for the three lines.
        self.assertTrue(wait_until(lambda: len([l for l in self.rampart.access_log()
                                                if l["path"] == "/api/ok"]) >= 3))
        line = [l for l in self.rampart.access_log() if l["path"] == "/api/ok"][-1]
        self.assertIn({"gate": "jwt", "decision": "pass", "detail": "main"}, line["gates"])

    def test_query_token_is_removed_before_forwarding(self):
        self.origin.clear()
        status, _, _ = self.request("/api/q?a=1&access_token=" + token(self.es) + "&b=2")
        self.assertEqual(status, 200)
        (req,) = self.origin.wait_for(lambda r: len(r) == 1)
        self.assertEqual(req.target, "/api/q?a=1&b=2")
        # Spelled with a percent-escape the name is the origin's access_token all the same: read
        # and removed as such, also when the header carried the token.
        for path, tok in (("/api/q?a=1&access%5Ftoken=" + token(self.es) + "&b=2", None),
                          ("/api/q?a=1&access%5Ftoken=unchecked&b=2", token(self.es))):
            self.origin.clear()
            status, _, _ = self.request(path, tok)
            self.assertEqual(status, 200, path)
            (req,) = self.origin.wait_for(lambda r: len(r) == 1)
            self.assertEqual(req.target, "/api/q?a=1&b=2")

    def test_a_second_query_token_is_refused_even_after_an_empty_one(self):
        before = self.outcome("malformed")
        for query in ("access_token=&access_token=", "access_token=&access%5Ftoken="):
            self.origin.clear()
            status, _, body = self.request("/api/q?" + query + token(self.es))
            self.assertEqual((status, json.loads(body)["error"]), (401, "malformed"), query)
            self.assertEqual(self.origin.snapshot(), [])
        self.assertEqual(self.outcome("malformed"), before + 2)

    def test_shared_secret_provider_and_its_boundaries(self):
        self.assertEqual(self.request("/api/p", token(self.secret, claims(iss="https://partner.test",
                                                                          aud=None)))[0], 200)
        # The same HS256 token claiming the main issuer: HS256 is not allowed there.
        self.assert_refused(token(self.secret, claims()), "alg_not_allowed")
        # The main provider's key, as the partner: its keys are not the partner's.
        self.assert_refused(token(self.es, claims(iss="https://partner.test", aud=None)),
                            "alg_not_allowed")

    def test_standard_attacks_are_refused_with_their_reasons(self):
        good = token(self.es)
        head, payload, sig = good.split(".")
        none_payload = b64(json.dumps(claims()))
        for spelling in ("none", "None", "NONE", "nOnE"):
            self.assert_refused(b64(json.dumps({"alg": spelling})) + "." + none_payload + ".c2ln",
                                "alg_none")
        self.assert_refused(b64(json.dumps({"alg": "none"})) + "." + none_payload + ".", "malformed")
        # RS256 -> HS256 with the RSA public key (PEM, and the JWK text) as the HMAC secret.
        for secret in (self.rs.public_pem(), json.dumps(self.rs.jwk).encode()):
            self.assert_refused(token(secret, claims(), header={"kid": "rs-1"}), "alg_not_allowed")
        # ES256: a zero signature, r = s = n, an invalid point is the JWKS's problem (see unit
        # tests); here the signature forms an attacker can send.
        self.assert_refused(f"{head}.{payload}.{b64(bytes(64))}", "bad_signature")
        n = bytes.fromhex("FFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551")
        self.assert_refused(f"{head}.{payload}.{b64(n + n)}", "bad_signature")
        # Tampered payload, stripped signature, bad base64url, a padded part.
        evil = b64(json.dumps(claims(sub="admin")))
        self.assert_refused(f"{head}.{evil}.{sig}", "bad_signature")
        self.assert_refused(f"{head}.{payload}.", "malformed")
        self.assert_refused(f"{head}.{payload}.{sig}==", "bad_base64")
        self.assert_refused(f"{head}.{payload}!.{sig}", "bad_base64")
        # Times and claims.
        self.assert_refused(token(self.es, claims(lifetime=-120)), "expired")
        self.assert_refused(token(self.es, claims(nbf=int(time.time()) + 600)), "not_yet_valid")
        self.assert_refused(token(self.es, claims(iss="https://evil.test")), "unknown_issuer")
        self.assert_refused(token(self.es, claims(aud="billing")), "wrong_audience")
        no_exp = claims()
        del no_exp["exp"]
        self.assert_refused(token(self.es, no_exp), "missing_exp")
        self.assert_refused(token(self.es, claims(lifetime=86400)), "lifetime_too_long")
        dup = json.dumps(claims())[:-1] + ', "sub": "admin"}'
        self.assert_refused(token(self.es, raw_payload=dup), "bad_json")
        # Keys the attacker names or brings.
        attacker = Key("ES256", "evil-1")
        self.assert_refused(token(attacker), "unknown_kid")
        for kid in ("../../../../dev/null", "x' UNION SELECT 'secret' --", "es-1\u0000"):
            self.assert_refused(token(attacker, header={"kid": kid}), "unknown_kid")
        self.assert_refused(token(attacker, header={"kid": "es-1"}), "bad_signature")
        self.assert_refused(token(attacker, header={"jku": "http://127.0.0.1:1/evil.json"}),
                            "unknown_kid")
        self.assert_refused(token(attacker, header={"kid": "es-1", "x5u": "http://127.0.0.1:1/c"}),
                            "bad_signature")
        self.assert_refused(token(attacker, header={"kid": "es-1", "jwk": attacker.jwk}),
                            "bad_signature")
        self.assert_refused(token(self.es, header={"crit": ["exp"]}), "crit_unsupported")
        # Size: over max_token_bytes (8 KiB), and 100 KB (past the header limits: 431).
        self.assert_refused("a" * 9000, "token_too_large")
        status, _, _ = self.request("/api/huge", "a" * 100_000)
        self.assertEqual(status, 431)
        # No token, and credentials that are not a bearer token.
        self.assert_refused(None, "missing_token")
        status, headers, _ = self.request("/api/basic", headers={"Authorization": "Basic YTpi"})
        self.assertEqual((status, headers["www-authenticate"]), (401, "Bearer"))

    def test_anonymous_route_lets_requests_without_a_token_through(self):
        self.assertEqual(self.request("/maybe/x")[0], 200)
        self.assertEqual(self.request("/maybe/x", token(self.es))[0], 200)
        self.assertEqual(self.request("/maybe/x", token(self.es, claims(lifetime=-120)))[0], 401)

    def test_zz_key_rotation_and_an_unreachable_key_server(self):
        # A new kid is fetched when a token names it (unknown_kid_interval: 0s here).
        new = Key("ES256", "es-2")
        self.jwks.set(jwks(self.es, new))
        self.assertEqual(self.request("/api/rot", token(new))[0], 200)
        # es-1 leaves the set: refused once the cached set (max-age 1 s) is refreshed.
        old_token = token(self.es)
        self.jwks.set(jwks(new))
        self.assertTrue(wait_until(lambda: self.request("/api/rot", old_token)[0] == 401, 10))
        self.assertEqual(self.request("/api/rot", token(self.es))[0], 401)
        # The server goes away: the last good set keeps serving.
        failed = 'rampart_jwt_key_fetches_total{source="%s",outcome="failed"}' % self.jwks.url
        before = self.rampart.metric(failed) or 0
        self.jwks.stop()
        try:
            self.assertTrue(wait_until(lambda: (self.rampart.metric(failed) or 0) > before, 10))
            self.assertEqual(self.request("/api/rot", token(new))[0], 200)
            self.assertEqual(self.request("/api/rot", token(self.es))[0], 401)
        finally:
            self.jwks.restart()
            self.jwks.set(jwks(self.es, self.rs, self.ed))


FETCH = """
workers: 2
listeners:
  - name: public
    address: 127.0.0.1:{port}
routes:
  - name: eager
    match: {{ path_prefix: /eager }}
    upstream: app
    gates:
      - jwt:
          providers:
            - issuer: https://id.test
              algorithms: [ES256]
              jwks: {{ url: "JWKS_URL", allow_http: true, unknown_kid_interval: 0s, min_ttl: 1h, ttl: 1h }}
  - name: strict
    match: {{ path_prefix: /strict }}
    upstream: app
    gates:
      - jwt:
          providers:
            - issuer: https://id.test
              algorithms: [ES256]
              jwks: {{ url: "JWKS_URL", allow_http: true, unknown_kid_interval: 1h, min_ttl: 1h, ttl: 1h }}
upstreams:
  app:
    endpoints: [{origin}]
admin: {{ address: 127.0.0.1:{admin} }}
"""


class JwksFetchTest(unittest.TestCase):
    """The key server is asked once however many requests need it at the same moment, and an
    unknown kid asks again no more often than unknown_kid_interval."""

    @classmethod
    def setUpClass(cls):
        from harness import Origin
        cls.k1 = Key("ES256", "k1")
        cls.jwks = JwksServer(jwks(cls.k1), max_age=3600)
        cls.origin = Origin()
        cls.rampart = Rampart(FETCH.replace("JWKS_URL", cls.jwks.url), cls.origin)
        # Each route's key source fetched once at start.
        assert wait_until(lambda: cls.jwks.count() >= 2, 10), cls.jwks.count()

    @classmethod
    def tearDownClass(cls):
        cls.rampart.stop()
        cls.origin.stop()
        cls.jwks.stop()

    def status(self, path, tok):
        return self.rampart.get(path, {"Authorization": "Bearer " + tok})

    def test_concurrent_unknown_kids_share_one_fetch(self):
        k2 = Key("ES256", "k2")
        self.jwks.set(jwks(self.k1, k2))
        self.jwks.delay = 0.5  # every request below arrives while the one fetch is in flight
        before = self.jwks.count()
        tok = token(k2, claims(aud=None))
        results = []
        threads = [threading.Thread(target=lambda: results.append(self.status("/eager/x", tok)))
                   for _ in range(20)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.jwks.delay = 0
        self.assertEqual(results, [200] * 20)
        self.assertEqual(self.jwks.count() - before, 1)

    def test_unknown_kid_fetches_at_most_once_per_interval(self):
        k3 = Key("ES256", "k3")
        self.jwks.set(jwks(self.k1, k3))
        before = self.jwks.count()
        for _ in range(5):  # the strict source fetched at start, within its hour
            self.assertEqual(self.status("/strict/x", token(k3, claims(aud=None))), 401)
        self.assertEqual(self.jwks.count(), before)
        self.assertEqual(self.status("/strict/x", token(self.k1, claims(aud=None))), 200)


class JwtConfigErrorsTest(unittest.TestCase):
    """Settings that would weaken the gate are refused at load, with the file and line."""

    BASE = """listeners: [ {{ name: l, address: "127.0.0.1:1" }} ]
upstreams: {{ app: {{ endpoints: ["127.0.0.1:2"] }} }}
routes:
  - name: r
    upstream: app
    gates:
      - jwt:
          providers:
            - issuer: https://id.test
              algorithms: [ALGS]
              PROVIDER
          EXTRA
""".replace("{{", "{").replace("}}", "}")

    def refused(self, algs, provider, extra="", files=(), issuer=None):
        with tempfile.TemporaryDirectory() as d:
            for name, data in files:
                with open(os.path.join(d, name), "wb") as f:
                    f.write(data)
            text = (self.BASE.replace("ALGS", algs).replace("PROVIDER", provider)
                    .replace("EXTRA", extra).replace("DIR", d))
            if issuer is not None:
                text = text.replace("issuer: https://id.test", "issuer: " + issuer)
            from harness import validate
            out, path = validate(text)
            self.assertNotEqual(out.returncode, 0, out.stdout + out.stderr)
            return out.stdout + out.stderr

    def test_weak_settings_are_refused(self):
        err = self.refused("ES256", 'jwks: { url: "http://127.0.0.1:1/k" }')
        self.assertIn("not an https:// URL", err)
        err = self.refused("none", 'jwks: { url: "https://id.test/k" }')
        self.assertIn("never", err)
        err = self.refused("HS256", "hmac_secret_file: DIR/s", files=[("s", b"short-secret")])
        self.assertIn("too short for HS256", err)
        err = self.refused("ES256", 'jwks: { url: "https://id.test/k" }', "revocation: { store: local }")
        self.assertIn("needs max_lifetime", err)
        # An empty issuer would accept tokens without `iss` (RFC 8725 §3.8).
        err = self.refused("ES256", 'jwks: { url: "https://id.test/k" }', issuer="''")
        self.assertIn("issuer: must not be empty", err)


REVOCATION = """
workers: 1
listeners:
  - name: public
    address: 127.0.0.1:{port}
routes:
  - name: api
    match: {{ path_prefix: /api }}
    upstream: app
    gates:
      - jwt:
          providers:
            - issuer: https://id.test
              algorithms: [ES256]
              max_lifetime: 1h
              jwks: {{ inline: 'JWKS' }}
          revocation: {{ store: redis }}
upstreams:
  app:
    endpoints: [{origin}]
state:
  redis: {{ address: 127.0.0.1:REDIS, timeout: 200ms, reconnect_interval: 100ms }}
admin: {{ address: 127.0.0.1:{admin} }}
"""


class RevocationAcrossInstancesTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.key = Key("ES256", "k1")
        cls.redis = RedisServer()
        from harness import Origin
        cls.origin = Origin()
        config = REVOCATION.replace("JWKS", jwks(cls.key).replace("{", "{{").replace("}", "}}")).replace("REDIS", str(cls.redis.port))
        cls.instances = [Rampart(config, cls.origin) for _ in range(3)]

    @classmethod
    def tearDownClass(cls):
        for r in cls.instances:
            r.stop()
        cls.origin.stop()
        cls.redis.stop()

    def status(self, inst, tok):
        return inst.get("/api/x", {"Authorization": "Bearer " + tok})

    def revoke(self, body):
        return self.instances[0].admin("POST", "/admin/jwt/revoke", json.dumps(body))

    def test_revoking_a_jti_takes_effect_on_every_instance_at_its_next_request(self):
        t = token(self.key, claims(aud=None, jti="tok-1"))
        other = token(self.key, claims(aud=None, jti="tok-2"))
        self.assertEqual([self.status(i, t) for i in self.instances], [200, 200, 200])
        status, body = self.revoke({"iss": "https://id.test", "jti": "tok-1"})
        self.assertEqual(status, 200, body)
        self.assertEqual([self.status(i, t) for i in self.instances], [401, 401, 401])
        self.assertEqual([self.status(i, other) for i in self.instances], [200, 200, 200])
        # Without exp, the entry is kept for the revocation ttl (a day by default); with it, until
        # the token would have expired anyway (plus its leeway and five minutes).
        ttl = int(self.redis.cli("TTL", "rampart:kv:jwt_revocations:jti:https://id.test|tok-1"))
        self.assertTrue(86000 < ttl <= 86400, ttl)
        exp = int(time.time()) + 600
        self.assertEqual(self.revoke({"iss": "https://id.test", "jti": "tok-3", "exp": exp})[0], 200)
        ttl = int(self.redis.cli("TTL", "rampart:kv:jwt_revocations:jti:https://id.test|tok-3"))
        self.assertTrue(800 < ttl <= 600 + 30 + 300, ttl)

    def test_revoking_a_subject_refuses_tokens_issued_before_the_cut_off(self):
        old = token(self.key, claims(aud=None, sub="bob"))
        self.assertEqual(self.status(self.instances[1], old), 200)
        cut = int(time.time()) + 1
        status, body = self.revoke({"iss": "https://id.test", "sub": "bob", "before": cut})
        self.assertEqual(status, 200, body)
        self.assertEqual([self.status(i, old) for i in self.instances], [401, 401, 401])
        later = claims(aud=None, sub="bob")
        later["iat"] = cut + 1
        self.assertEqual([self.status(i, token(self.key, later)) for i in self.instances],
                         [200, 200, 200])
        self.assertEqual(self.status(self.instances[2], token(self.key, claims(aud=None))), 200)

    def test_bad_revocation_requests_are_refused(self):
        self.assertEqual(self.revoke({"jti": "x"})[0], 400)
        self.assertEqual(self.revoke({"iss": "https://id.test", "jti": "x", "sub": "y"})[0], 400)
        self.assertEqual(self.instances[0].admin("POST", "/admin/jwt/revoke", "{")[0], 400)
        self.assertEqual(self.instances[0].admin("GET", "/admin/jwt/revoke")[0], 405)
        # A form post (what a web page can send cross-origin without asking) is refused.
        body = json.dumps({"iss": "https://id.test", "jti": "x"})
        self.assertEqual(self.instances[0].admin("POST", "/admin/jwt/revoke", body,
                                                 content_type="text/plain")[0], 415)

    def test_zz_an_unavailable_store_refuses_by_default(self):
        t = token(self.key, claims(aud=None))
        self.redis.stop()
        try:
            self.assertTrue(wait_until(lambda: self.status(self.instances[0], t) == 503, 10))
        finally:
            self.redis.start()
        self.assertTrue(wait_until(lambda: self.status(self.instances[0], t) == 200, 10))


if __name__ == "__main__":
    unittest.main()
