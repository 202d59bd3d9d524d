#!/usr/bin/env python3
"""What the idempotency gate costs on a POST route, CPU per request against the same route
without it, in one run: the first execution of every key (a new key per request) with the
in-process store and with Redis (records sealed with AES-256-GCM), and a replay (one key on
every request: one execution, then the stored answer) with each store. rampart pinned alone on
CPU 0; wrk, the peers' nginx origin (1 KiB answers) and redis-server on CPU 1; rounds
interleaved; every request is the same 70-byte form POST with an Idempotency-Key.
  python3 bench/idempotency_cost.py [--duration 10] [--rounds 3]"""
import argparse
import os
import shutil
import statistics
import subprocess
import tempfile
import time

from benchlib import (BIN, ROOT, TICK, cpu_ticks, free_port, paired_ratios, run_wrk, start_origin,
                      stop_all, wait_port)

CONFIG = """workers: 1
listeners:
  - { name: bench, address: 127.0.0.1:PORT, limits: { idle_timeout: 65s } }
routes:
  - name: all
    upstream: origin
GATESupstreams:
  origin:
    endpoints: [127.0.0.1:19000]
    keepalive: { max_idle: 128, idle_timeout: 60s }
    timeouts: { response: 1s }
STATEaccess_log: { enabled: false }
admin: { enabled: false }
"""
SCRIPT = os.path.join(ROOT, "bench/idempotency.lua")


def wrk(url, duration, key):
    return run_wrk(url, duration, script=SCRIPT, script_env={"IDEM_KEY": key}, all_2xx=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--duration", type=int, default=10)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    work = tempfile.mkdtemp(prefix="rampart-idemcost-")
    procs = []
    try:
        procs.append(start_origin(work))
        redis_port = free_port()
        redis = subprocess.Popen(["taskset", "-c", "1", "redis-server", "--port", str(redis_port),
                                  "--save", "", "--appendonly", "no"],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        procs.append(redis)
        wait_port(redis_port)
        key_file = os.path.join(work, "k1.key")
        with open(key_file, "w") as f:
            f.write(os.urandom(32).hex() + "\n")
        # Short retention: a run of new keys stays bounded in memory.
        local = "      - idempotency: { retention: 5s, lease: 2s, max_records: 4000000 }\n"
        shared = ("      - idempotency: { retention: 5s, lease: 2s, store: redis, "
                  f"encryption_keys: [ {{ id: k1, file: {key_file} }} ] }}\n")
        state = f"state: {{ redis: {{ address: 127.0.0.1:{redis_port}, timeout: 200ms }} }}\n"
        targets = {  # name: (gates, state, key)
            "open": ("", "", "unique"),
            "first_local": (local, "", "unique"),
            "first_redis": (shared, state, "unique"),
            "replay_local": (local, "", "bench-replay-1"),
            "replay_redis": (shared, state, "bench-replay-1"),
        }
        running = {}
        for name, (gates, st, key) in targets.items():
            port = free_port()
            path = os.path.join(work, f"{name}.yaml")
            text = (CONFIG.replace("PORT", str(port))
                    .replace("GATES", "    gates:\n" + gates if gates else "")
                    .replace("STATE", st))
            with open(path, "w") as f:
                f.write(text)
            p = subprocess.Popen(["taskset", "-c", "0", BIN, "run", "-c", path],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            procs.append(p)
            wait_port(port)
            running[name] = (f"http://127.0.0.1:{port}/v1/payments", p.pid, key)
        for url, _, key in running.values():
            wrk(url, 2, key)  # warm-up (and the replays' one execution)
        results = {name: [] for name in running}
        redis_us = {name: [] for name in running}
        for r in range(args.rounds):
            for name, (url, pid, key) in running.items():
                time.sleep(1)
                before, rb = cpu_ticks(pid), cpu_ticks(redis.pid)
                rps, total = wrk(url, args.duration, key)
                us = (cpu_ticks(pid) - before) / TICK * 1e6 / max(total, 1)
                rus = (cpu_ticks(redis.pid) - rb) / TICK * 1e6 / max(total, 1)
                results[name].append((rps, us))
                redis_us[name].append(rus)
                print(f"round {r + 1} {name:>13}: {rps:9.0f} req/s  {us:5.1f} us CPU/request "
                      f"(redis-server {rus:4.1f} us)", flush=True)
        for name in running:
            if name == "open":
                continue
            rps, cpu = paired_ratios(results, name, "open")
            print(f"{name} vs open: req/s ratio {rps:.3f}, rampart CPU/request ratio {cpu:.3f}, "
                  f"redis-server CPU/request {statistics.median(redis_us[name]):.1f} us")
    finally:
        stop_all(procs)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
