#!/usr/bin/env python3
"""What authentication costs end to end, and HAProxy 2.6's jwt_verify beside it: the same route
open, behind the jwt gate (ES256, verified-token cache on, and off), an api_key gate (keys file),
and a session gate (Redis store); and HAProxy verifying the same ES256 tokens with jwt_verify
(plus the alg, iss and exp checks of its documented setup). Each proxy pinned alone on CPU 0;
wrk, the nginx origin and redis-server on CPU 1; rounds interleaved; every request carries the
token, the key and the session cookie, so the requests are the same size everywhere.
  python3 bench/auth_cost.py [--duration 10] [--rounds 3]"""
import argparse
import hashlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

from benchlib import compare_configs, free_port, paired_ratios, wait_port

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "../tests/integration"))
from jwt_tokens import Key, claims, jwks, token  # noqa: E402

CONFIG = """workers: 1
listeners:
  - {{ name: bench, address: 127.0.0.1:{port}, limits: {{ idle_timeout: 65s }} }}
routes:
  - name: all
    upstream: origin
GATESupstreams:
  origin:
    endpoints: [127.0.0.1:19000]
    keepalive: {{ max_idle: 128, idle_timeout: 60s }}
STATEaccess_log: {{ enabled: false }}
admin: {{ enabled: false }}
"""

HAPROXY = """global
    nbthread 1
    maxconn 8000
defaults
    mode http
    option http-keep-alive
    http-reuse always
    timeout connect 5s
    timeout client 65s
    timeout server 65s
    timeout http-keep-alive 65s
frontend fe
    bind 127.0.0.1:PORT backlog 4096
    http-request set-var(txn.bearer) http_auth_bearer
    http-request set-var(txn.alg) var(txn.bearer),jwt_header_query('$.alg')
    http-request deny deny_status 401 unless { var(txn.alg) -m str ES256 }
    http-request set-var(txn.iss) var(txn.bearer),jwt_payload_query('$.iss')
    http-request deny deny_status 401 unless { var(txn.iss) -m str https://id.example }
    http-request set-var(txn.exp) var(txn.bearer),jwt_payload_query('$.exp','int')
    http-request set-var(txn.now) date()
    http-request deny deny_status 401 unless { var(txn.exp),sub(txn.now) -m int gt 0 }
    http-request deny deny_status 401 unless { var(txn.bearer),jwt_verify(txn.alg,"PUBKEY") -m int 1 }
    default_backend origin
backend origin
    server o1 127.0.0.1:19000
"""


def gate(text):
    return "    gates:\n" + "".join(f"      - {line}\n" for line in text)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--duration", type=int, default=10)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    work = tempfile.mkdtemp(prefix="rampart-authcost-")
    redis = None
    try:
        key = Key("ES256", "bench-1")
        tok = token(key, claims(iss="https://id.example", aud="api", lifetime=3000,
                                roles=["reader"], scope="read write"))
        pubkey = os.path.join(work, "es256.pub.pem")
        with open(pubkey, "wb") as f:
            f.write(key.public_pem())
        jwks_file = os.path.join(work, "jwks.json")
        with open(jwks_file, "w") as f:
            f.write(jwks(key))
        api_key = "rk_bench_0123456789abcdefghijklmnopqrstuvwxyz"
        keys_file = os.path.join(work, "keys.yaml")
        with open(keys_file, "w") as f:
            f.write("keys:\n  - { id: bench, sha256: %s, principal: bench, tier: gold }\n"
                    % hashlib.sha256(api_key.encode()).hexdigest())
        # A session made the way the gate stores one: its id's hash names the record.
        redis_port = free_port()
        redis = subprocess.Popen(["taskset", "-c", "1", "redis-server", "--port", str(redis_port),
                                  "--save", "", "--appendonly", "no"],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_port(redis_port)
        sid = "S" * 43 + "." + hashlib.sha256(b"bench").hexdigest()[:16]  # id . principal tag
        now_ms = int(time.time() * 1000)
        record = json.dumps({"p": "bench", "r": [], "s": [], "c": now_ms, "l": now_ms},
                            separators=(",", ":"))
        subprocess.run(["redis-cli", "-p", str(redis_port), "SET",
                        "rampart:kv:sessions:s:" + hashlib.sha256(sid[:43].encode()).hexdigest(),
                        record, "PX", "3600000"], check=True, capture_output=True)
        provider = ("{ providers: [ { issuer: https://id.example, audiences: [api], "
                    f"algorithms: [ES256], jwks: {{ file: {jwks_file} }} }} ]")
        state = f"state: {{{{ redis: {{{{ address: 127.0.0.1:{redis_port} }}}} }}}}\n"
        configs = {
            "open": CONFIG.replace("GATES", "").replace("STATE", ""),
            "jwt_cached": CONFIG.replace("GATES", gate(["jwt: " + provider + " }"]))
                                .replace("STATE", ""),
            "jwt_uncached": CONFIG.replace("GATES", gate(["jwt: " + provider + ", cache: false }"]))
                                  .replace("STATE", ""),
            "api_key": CONFIG.replace("GATES", gate([f"api_key: {{ keys_file: {keys_file} }}"]))
                             .replace("STATE", ""),
            "session_redis": CONFIG.replace("GATES", gate(["session: { store: redis, secure: false }"]))
                                   .replace("STATE", state),
        }
        # The YAML goes through str.format: braces of the gates' flow maps are doubled.
        for name in configs:
            if name != "open":
                head, sep, tail = configs[name].partition("    gates:\n")
                gates_text, sep2, rest = tail.partition("upstreams:")
                configs[name] = head + sep + gates_text.replace("{", "{{").replace("}", "}}") + sep2 + rest

        def start_haproxy(w):
            port = free_port()
            cfg = os.path.join(w, "haproxy-jwt.cfg")
            with open(cfg, "w") as f:
                f.write(HAPROXY.replace("PORT", str(port)).replace("PUBKEY", pubkey))
            p = subprocess.Popen(["taskset", "-c", "0", "haproxy", "-db", "-f", cfg],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            wait_port(port)
            return f"http://127.0.0.1:{port}/", p

        headers = (f"Authorization: Bearer {tok}", f"X-API-Key: {api_key}",
                   f"Cookie: rampart_session={sid}")
        results = compare_configs(work, configs, args.duration, args.rounds, headers=headers,
                                  extra={"haproxy_jwt": start_haproxy})
        med = {n: statistics.median(x[0] for x in v) for n, v in results.items()}
        print("median req/s: " + ", ".join(f"{n} {v:.0f}" for n, v in med.items()))
        for name in ("jwt_cached", "jwt_uncached", "api_key", "session_redis"):
            rps, cpu = paired_ratios(results, name, "open")
            goal = " (goal <= 1.05)" if name == "jwt_cached" else ""
            print(f"{name} vs open: req/s ratio {rps:.3f}, CPU/request ratio {cpu:.3f}{goal}")
        for name in ("jwt_uncached", "jwt_cached"):
            rps, cpu = paired_ratios(results, name, "haproxy_jwt")
            print(f"{name} vs HAProxy jwt_verify: req/s ratio {rps:.3f} (goal >= 1), "
                  f"CPU/request ratio {cpu:.3f}")
    finally:
        if redis:
            redis.terminate()
            redis.wait()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
