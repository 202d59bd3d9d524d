"""The idempotency gate against the real rampart binary, a payments origin that counts its
executions, and (for the shared store) a real redis-server with three rampart instances: one
execution per key under 50 concurrent duplicates, byte-exact replays, 422 for a reused key, a
lost lease retried, a stalled holder's late write refused by its fencing token, answers
encrypted at rest, and retention."""
import concurrent.futures
import http.client
import json
import os
import signal
import subprocess
import tempfile
import threading
import unittest

from harness import SLOW, Rampart, RedisServer, assert_refused, curl_response, wait_until
from payments_origin import PaymentsOrigin

LOCAL = """
workers: 2
listeners:
  - name: public
    address: 127.0.0.1:{port}
routes:
  - name: pay
    match: {{ path_prefix: /pay }}
    upstream: app
    gates: [ {{ idempotency: {{ required: true }} }} ]
  - name: wait
    match: {{ path_prefix: /wait }}
    upstream: app
    gates: [ {{ idempotency: {{ on_concurrent: wait, wait_timeout: 20s }} }} ]
  - name: short
    match: {{ path_prefix: /short }}
    upstream: app
    gates: [ {{ idempotency: {{ retention: 1s, lease: 500ms }} }} ]
  - name: down
    match: {{ path_prefix: /down }}
    upstream: nowhere
    gates: [ {{ idempotency: {{}} }} ]
upstreams:
  app: {{ endpoints: [{origin}] }}
  nowhere: {{ endpoints: [127.0.0.1:1] }}
access_log: {{ path: {log} }}
admin: {{ address: 127.0.0.1:{admin} }}
"""

SHARED = """
workers: 2
listeners:
  - name: public
    address: 127.0.0.1:{port}
routes:
  - name: pay
    match: {{ path_prefix: /pay }}
    upstream: app
    gates:
      - idempotency:
          store: redis
          lease: 1s
          fencing_header: Idempotency-Fencing-Token
          encryption_keys: KEYS
upstreams:
  app: {{ endpoints: [{origin}] }}
state:
  redis: {{ address: 127.0.0.1:REDIS, timeout: 500ms }}
access_log: {{ path: {log} }}
admin: {{ address: 127.0.0.1:{admin} }}
"""


def post(port, path, key, body="amount=10", headers=None):
    """(status, {lower-case header: value}, body bytes) of one POST over a new connection."""
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=30 * SLOW)
    h = {"Content-Type": "application/x-www-form-urlencoded", **(headers or {})}
    if key is not None:
        h["Idempotency-Key"] = key
    c.request("POST", path, body=body, headers=h)
    r = c.getresponse()
    out = (r.status, {k.lower(): v for k, v in r.getheaders()}, r.read())
    c.close()
    return out


def replayed(result):
    return result[1].get("idempotent-replayed") == "true"


class Base(unittest.TestCase):
    def executions(self):
        return self.origin.executions

    def concurrent(self, ports, path, key, n=50):
        with concurrent.futures.ThreadPoolExecutor(max_workers=n) as pool:
            return list(pool.map(lambda p: post(p, path, key), (ports * n)[:n]))

    def assert_once(self, results, before, allowed=(409,)):
        self.assertEqual(self.executions() - before, 1)
        live = [r for r in results if r[0] == 201 and not replayed(r)]
        self.assertEqual(len(live), 1, [r[0] for r in results])
        for r in results:
            if r is live[0]:
                continue
            if r[0] == 201:  # a replay of the live answer, exactly
                self.assertTrue(replayed(r))
                self.assertEqual(r[2], live[0][2])
                self.assertEqual(r[1]["x-charge-id"], live[0][1]["x-charge-id"])
            else:
                self.assertIn(r[0], allowed, r)
        return live[0]


class LocalStoreTest(Base):
    @classmethod
    def setUpClass(cls):
        cls.origin = PaymentsOrigin()
        cls.rampart = Rampart(LOCAL, cls.origin, workers=2)

    @classmethod
    def tearDownClass(cls):
        cls.rampart.stop()
        cls.origin.stop()

    def test_fifty_concurrent_duplicates_execute_once_and_the_rest_get_409(self):
        before = self.executions()
        self.origin.hold_next(800)  # the first stays in flight while the others arrive
        results = self.concurrent([self.rampart.port], "/pay/charge", "fifty-1")
        self.assert_once(results, before)
        conflicts = [r for r in results if r[0] == 409]
        self.assertTrue(conflicts)
        self.assertEqual(conflicts[0][1]["retry-after"], "1")
        err = json.loads(conflicts[0][2])
        self.assertEqual(err["error"], "idempotency_in_flight")
        self.assertEqual(err["request_id"], conflicts[0][1]["x-request-id"])

    def test_waiting_duplicates_get_the_first_answer_replayed(self):
        before = self.executions()
        self.origin.hold_next(800)
        results = self.concurrent([self.rampart.port], "/wait/charge", "fifty-wait")
        live = self.assert_once(results, before, allowed=())
        self.assertEqual(sum(1 for r in results if replayed(r)), 49)
        self.assertEqual(live[0], 201)

    def test_a_replay_is_byte_exact_and_marked(self):
        before = self.executions()
        first = post(self.rampart.port, "/pay/x", "exact-1", body="amount=25")
        self.assertEqual(first[0], 201)
        self.assertNotIn("idempotent-replayed", first[1])
        # The record is written as the exchange ends: a repeat right away may still see it in
        # flight (409); poll (bounded) until the replay comes.
        again = []
        self.assertTrue(wait_until(
            lambda: again.append(post(self.rampart.port, "/pay/x", "exact-1", body="amount=25"))
            or replayed(again[-1])))
        r = again[-1]
        self.assertEqual(self.executions() - before, 1)
        self.assertEqual((r[0], r[2]), (first[0], first[2]))
        for name in ("content-type", "x-charge-id", "set-cookie", "content-length"):
            self.assertEqual(r[1][name], first[1][name], name)
        lines = self.rampart.access_log("/pay/x")
        notes = [g["decision"] for l in lines if l["path"] == "/pay/x"
                 for g in l.get("gates", []) if g["gate"] == "idempotency"]
        self.assertEqual(notes[0], "first")
        wait_until(lambda: "replayed" in [
            g["decision"] for l in self.rampart.access_log("/pay/x") if l["path"] == "/pay/x"
            for g in l.get("gates", []) if g["gate"] == "idempotency"])
        self.assertGreaterEqual(self.rampart.metric(
            'rampart_idempotency_requests_total{route="pay",outcome="replayed"}'), 1)
        self.assertGreaterEqual(self.rampart.metric(
            'rampart_idempotency_requests_total{route="pay",outcome="stored"}'), 1)

    def test_http2_clients_get_the_same_guarantee(self):
        url = f"http://127.0.0.1:{self.rampart.port}/pay/h2"
        args = ["--http2-prior-knowledge", "-X", "POST", "-H", "Idempotency-Key: h2-1",
                "--data-binary", "amount=7"]
        before = self.executions()
        status, fields, body = curl_response(url, *args)
        self.assertEqual(status, 201)
        again = []
        self.assertTrue(wait_until(lambda: again.append(curl_response(url, *args)) or
                                   again[-1][1].get("idempotent-replayed") == "true"))
        self.assertEqual((again[-1][0], again[-1][2]), (status, body))
        self.assertEqual(again[-1][1]["x-charge-id"], fields["x-charge-id"])
        # HTTP/1.1 and HTTP/2 requests share the key.
        self.assertTrue(replayed(post(self.rampart.port, "/pay/h2", "h2-1", body="amount=7")))
        self.assertEqual(self.executions() - before, 1)

    def test_the_same_key_for_another_body_is_422(self):
        post(self.rampart.port, "/pay/y", "reuse-1", body="amount=1")
        before = self.executions()
        status, headers, body = post(self.rampart.port, "/pay/y", "reuse-1", body="amount=1000")
        self.assertEqual(status, 422)
        self.assertEqual(json.loads(body)["error"], "idempotency_key_reused")
        # Another target under the same key is another request too, and so are the same bytes
        # as another type.
        self.assertEqual(post(self.rampart.port, "/pay/z", "reuse-1", body="amount=1")[0], 422)
        self.assertEqual(post(self.rampart.port, "/pay/y", "reuse-1", body="amount=1",
                              headers={"Content-Type": "text/plain"})[0], 422)
        self.assertEqual(self.executions(), before)

    def test_a_key_belongs_to_the_host_it_was_sent_to(self):
        # One route serving two tenants by host: tenant b's request is not tenant a's replay.
        port = self.rampart.port
        self.assertEqual(post(port, "/pay/h", "host-1", headers={"Host": "a.test"})[0], 201)
        before = self.executions()
        status, headers, _ = post(port, "/pay/h", "host-1", headers={"Host": "b.test"})
        self.assertEqual(status, 201)
        self.assertNotIn("idempotent-replayed", headers)
        self.assertEqual(self.executions(), before + 1)
        _, headers, _ = post(port, "/pay/h", "host-1", headers={"Host": "A.test"})
        self.assertEqual(headers.get("idempotent-replayed"), "true")

    def test_a_required_key_that_is_missing_or_malformed_is_400(self):
        before = self.executions()
        status, _, body = post(self.rampart.port, "/pay/m", None)
        self.assertEqual(status, 400)
        err = json.loads(body)
        self.assertEqual(err["error"], "idempotency_key_missing")
        self.assertIn("idempotency-key", err["message"])
        for bad in ("has space", "a,b", '"unterminated', "x" * 256):
            self.assertEqual(post(self.rampart.port, "/pay/m", bad)[0], 400, bad)
        self.assertEqual(self.executions(), before)

    def test_retention_ends_the_record(self):
        before = self.executions()
        self.assertEqual(post(self.rampart.port, "/short/a", "ret-1")[0], 201)
        # Within retention a repeat replays; after it, the key executes again.
        results = []
        self.assertTrue(wait_until(
            lambda: results.append(post(self.rampart.port, "/short/a", "ret-1")) or
            (results[-1][0] == 201 and not replayed(results[-1])), timeout=10))
        self.assertTrue(any(replayed(r) for r in results))
        self.assertEqual(self.executions() - before, 2)

    def test_a_connect_failure_releases_the_key(self):
        for _ in range(2):  # the same key, twice: never "in flight" or "not replayable"
            status, _, body = post(self.rampart.port, "/down/a", "down-1")
            self.assertEqual(status, 502, body)
        self.assertTrue(wait_until(lambda: self.rampart.metric(
            'rampart_idempotency_requests_total{route="down",outcome="released"}') == 2))
        self.assertEqual(self.rampart.metric(
            'rampart_idempotency_requests_total{route="down",outcome="first"}'), 2)


class SharedStoreTest(Base):
    @classmethod
    def setUpClass(cls):
        cls.redis = RedisServer()
        cls.origin = PaymentsOrigin()
        cls.keys = tempfile.TemporaryDirectory()
        for name, byte in (("k1", "11"), ("k2", "22")):
            with open(os.path.join(cls.keys.name, name), "w") as f:
                f.write(byte * 32 + "\n")
        cls.instances = [cls.start(["k1"]) for _ in range(3)]
        cls.extra = []

    @classmethod
    def start(cls, key_ids):
        keys = "[" + ", ".join(f"{{{{ id: {k}, file: {os.path.join(cls.keys.name, k)} }}}}"
                               for k in key_ids) + "]"
        config = SHARED.replace("REDIS", str(cls.redis.port)).replace("KEYS", keys)
        return Rampart(config, cls.origin, workers=2)

    @classmethod
    def tearDownClass(cls):
        for r in cls.instances + cls.extra:
            if r.proc.poll() is None:
                r.stop()
        cls.origin.stop()
        cls.redis.stop()
        cls.keys.cleanup()

    def value(self, key):
        """The stored bytes of `key` (a sealed record is binary)."""
        return subprocess.run(["redis-cli", "-p", str(self.redis.port), "--raw", "GET", key],
                              capture_output=True, timeout=10).stdout

    def record_keys(self):
        return [k for k in self.redis.cli("KEYS", "rampart:kv:idempotency.pay:k:*").split() if k]

    def test_fifty_concurrent_duplicates_across_three_instances_execute_once(self):
        before = self.executions()
        self.origin.hold_next(700)
        results = self.concurrent([r.port for r in self.instances], "/pay/c", "shared-50")
        self.assert_once(results, before)

    def test_answers_are_encrypted_at_rest(self):
        first = post(self.instances[0].port, "/pay/e", "enc-1", body="card=4242424242424242")
        self.assertEqual(first[0], 201)
        charge = first[1]["x-charge-id"]
        self.assertTrue(wait_until(lambda: replayed(post(self.instances[1].port, "/pay/e",
                                                         "enc-1", body="card=4242424242424242"))))
        values = [self.value(k) for k in self.record_keys()]
        stored = [v for v in values if b" k1\n" in v]
        self.assertTrue(stored)
        for v in values:
            self.assertNotIn(b"4242424242424242", v)
            self.assertNotIn(charge.encode(), v)
        self.assertFalse([k for k in self.record_keys() if "enc-1" in k])  # keys are hashed

    def test_an_unknown_key_id_fails_closed(self):
        self.assertEqual(post(self.instances[0].port, "/pay/k", "kid-1")[0], 201)
        self.assertTrue(wait_until(
            lambda: replayed(post(self.instances[1].port, "/pay/k", "kid-1"))))
        only_k2 = self.start(["k2"])  # k1 rotated out too early
        self.extra.append(only_k2)
        before = self.executions()
        status, _, body = post(only_k2.port, "/pay/k", "kid-1")
        self.assertEqual(status, 500)
        self.assertEqual(json.loads(body)["error"], "idempotency_record_unreadable")
        self.assertEqual(self.executions(), before)  # never executed again
        # Answers sealed under k2 (the first listed key) open where k2 is listed.
        self.assertEqual(post(only_k2.port, "/pay/k", "kid-2")[0], 201)
        self.assertTrue(wait_until(lambda: replayed(post(only_k2.port, "/pay/k", "kid-2"))))

    def test_a_killed_holders_lease_expires_and_a_retry_executes_once(self):
        doomed = self.start(["k1"])
        self.extra.append(doomed)
        arrived = self.origin.arrived
        self.origin.hold_next(3000)
        t = threading.Thread(target=lambda: self.swallow(post, doomed.port, "/pay/d", "kill-1"))
        t.start()
        self.assertTrue(wait_until(lambda: self.origin.arrived > arrived))
        doomed.proc.send_signal(signal.SIGKILL)
        doomed.proc.wait()
        # In flight until the lease (1 s) runs out, then the retry executes, once.
        a = self.instances[0].port
        results = []
        self.assertTrue(wait_until(lambda: results.append(post(a, "/pay/d", "kill-1")) or
                                   results[-1][0] == 201, timeout=10))
        self.assertTrue(all(r[0] == 409 for r in results[:-1]), [r[0] for r in results])
        retry = results[-1]
        self.assertFalse(replayed(retry))
        t.join()
        again = []
        self.assertTrue(wait_until(lambda: again.append(post(a, "/pay/d", "kill-1")) or
                                   replayed(again[-1])))
        self.assertEqual(again[-1][1]["x-charge-id"], retry[1]["x-charge-id"])

    def test_a_stalled_holders_late_write_is_refused_by_its_fencing_token(self):
        a, b, c = self.instances
        arrived = self.origin.arrived
        self.origin.hold_next(2500)  # longer than the 1 s lease
        late = {}
        t = threading.Thread(target=lambda: late.update(r=post(a.port, "/pay/f", "fence-1")))
        t.start()
        self.assertTrue(wait_until(lambda: self.origin.arrived > arrived))
        stalled_token = self.origin.seen_fencing[-1]
        # The lease runs out while the origin still works on the first request.
        self.assertTrue(wait_until(lambda: not any(
            self.value(k).startswith(f"RI1 F {stalled_token} ".encode())
            for k in self.record_keys()), timeout=5))
        second = post(b.port, "/pay/f", "fence-1")
        self.assertEqual(second[0], 201)
        self.assertGreater(int(self.origin.seen_fencing[-1]), int(stalled_token))
        t.join()
        self.assertEqual(late["r"][0], 201)  # the stalled holder's client still gets its answer
        self.assertTrue(wait_until(lambda: a.metric(
            'rampart_idempotency_requests_total{route="pay",outcome="write_refused"}') == 1))
        notes = [g["decision"] for l in a.access_log("/pay/f") if l["path"] == "/pay/f"
                 for g in l.get("gates", []) if g["gate"] == "idempotency"]
        self.assertIn("lease_expired", notes)
        # Every instance replays the answer of the holder that replaced it.
        replay = []
        self.assertTrue(wait_until(lambda: replay.append(post(c.port, "/pay/f", "fence-1")) or
                                   replayed(replay[-1])))
        self.assertEqual(replay[-1][1]["x-charge-id"], second[1]["x-charge-id"])

    @staticmethod
    def swallow(fn, *args):
        try:
            fn(*args)
        except OSError:
            pass


class ConfigTest(unittest.TestCase):
    def test_bad_settings_are_refused_with_file_and_line(self):
        base = """
listeners: [ {{ name: p, address: 127.0.0.1:1 }} ]
routes:
  - name: pay
    match: {{ path_prefix: / }}
    upstream: app
    gates: [ {{ idempotency: {{ SETTINGS }} }} ]
upstreams: {{ app: {{ endpoints: [127.0.0.1:2] }} }}
state: {{ redis: {{ address: 127.0.0.1:3 }} }}
""".replace("{{", "{").replace("}}", "}")
        with tempfile.TemporaryDirectory() as d:
            short = os.path.join(d, "short.key")
            with open(short, "w") as f:
                f.write("ab" * 31)
            cases = {
                "store: redis": "records on Redis are encrypted at rest",
                "lease: 2h, retention: 1h": "lease must be shorter than retention",
                "methods: [post]": "upper-case method",
                "release_on: [timeout]": "not connect_failure or server_error",
                f"encryption_keys: [ {{ id: a, file: {short} }} ]": "must hold 32 bytes",
                "encryption_keys: [ { id: a, file: /x }, { id: a, file: /y } ]": "must be unique",
                "wait: true": "unknown key 'wait'",
            }
            for text in assert_refused(self, base, 7, cases):
                self.assertNotIn("abababab", text)  # never key material


if __name__ == "__main__":
    unittest.main()
