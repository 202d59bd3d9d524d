#!/usr/bin/env python3
"""The botnet scenario: more demand than an origin can serve, from clients that each stay under
any per-client limit, with adaptive concurrency on and off, in one run.

The origin is rampart's demo origin with `--capacity 32` answering `?work=20`: 32 requests served
at once in 20 ms each (1,600 a second at most), the rest queued. rampart (one worker, CPU 0)
sends every route to it; wrk (CPU 1) first measures the unloaded latency with 16 connections,
then floods with 256. The adaptive limiter does not look at client addresses (it bounds what is
sent in total), so one wrk address stands for many.
Reported per case, from rampart's access log (its own measure of each exchange) and the origin's
counters: the most requests the origin held at once during the flood (capacity: 32), the share
answered 503, the p99 of admitted requests against the unloaded p99, and the p99 of a 503.
Goals (issue 14): origin held at or near its capacity, 503 p99 under 1 ms, admitted p99 within
2x unloaded; without the limiter the origin's queue grows with the load.
  python3 bench/botnet.py [--duration 8] [--rounds 2]"""
import argparse
import json
import os
import subprocess
import tempfile
import time
import urllib.request

from benchlib import BIN, free_port, stop_all, wait_port

CONFIG = """workers: 1
listeners:
  - {{ name: bench, address: 127.0.0.1:{port} }}
routes:
  - {{ name: api, upstream: app }}
upstreams:
  app:
    endpoints: [127.0.0.1:{origin}]
    keepalive: {{ max_idle: 512 }}
{policies}
access_log: {{ path: {log} }}
admin: {{ enabled: false }}
"""

LIMITER = """    policies:
      - adaptive_concurrency: { min_limit: 4, initial_limit: 32, interval: 100ms, buffer: 10%,
                                min_rtt_interval: 1h }"""


def wrk(url, duration, conns):
    return subprocess.run(["taskset", "-c", "1", "wrk", "-t1", f"-c{conns}", f"-d{duration}s",
                           "--timeout", "10s", url],
                          stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True).stdout


def origin_stats(port, clear=False):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/__stats" + ("?clear=1" if clear else ""),
                                timeout=5) as r:
        return json.loads(r.read())


def p99(values):
    values = sorted(values)
    return values[int(0.99 * (len(values) - 1))] if values else float("nan")


def run_case(work, name, limiter, origin_port, duration):
    port = free_port()
    log = os.path.join(work, f"{name}.log")
    if os.path.exists(log):
        os.remove(log)
    path = os.path.join(work, f"{name}.yaml")
    with open(path, "w") as f:
        f.write(CONFIG.format(port=port, origin=origin_port, log=log,
                              policies=LIMITER if limiter else ""))
    proc = subprocess.Popen(["taskset", "-c", "0", BIN, "run", "-c", path],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_port(port)
        base = f"http://127.0.0.1:{port}"
        wrk(f"{base}/base?work=20", duration, 16)
        flood = subprocess.Popen(["taskset", "-c", "1", "wrk", "-t1", "-c256", f"-d{duration + 1}s",
                                  "--timeout", "10s", f"{base}/flood?work=20"],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(1.0)  # the limit settles
        origin_stats(origin_port, clear=True)
        flood.wait()
        held = origin_stats(origin_port)["held_max"]
    finally:
        stop_all([proc])
    lines = []
    with open(log) as f:
        for l in f:
            try:
                lines.append(json.loads(l))
            except ValueError:
                pass
    unloaded = [l["duration_ms"] for l in lines if l["path"] == "/base" and l["status"] == 200]
    ok = [l["duration_ms"] for l in lines if l["path"] == "/flood" and l["status"] == 200]
    shed = [l["duration_ms"] for l in lines if l["path"] == "/flood" and l["status"] == 503]
    return {"held": held, "unloaded_p99": p99(unloaded), "admitted_p99": p99(ok),
            "shed_share": len(shed) / max(1, len(ok) + len(shed)), "shed_p99": p99(shed),
            "admitted": len(ok)}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--duration", type=int, default=8)
    ap.add_argument("--rounds", type=int, default=2)
    args = ap.parse_args()
    work = tempfile.mkdtemp(prefix="rampart-botnet-")
    origin_port = free_port()
    origin = subprocess.Popen(["taskset", "-c", "1", BIN, "demo-origin", "--listen",
                               f"127.0.0.1:{origin_port}", "--threads", "2", "--capacity", "32"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_port(origin_port)
        for r in range(args.rounds):
            for name, limiter in (("limiter_on", True), ("limiter_off", False)):
                x = run_case(work, name, limiter, origin_port, args.duration)
                print(f"round {r + 1} {name:>11}: origin held max {x['held']:4d} (capacity 32)  "
                      f"admitted {x['admitted']:6d}, p99 {x['admitted_p99']:7.2f} ms "
                      f"(x{x['admitted_p99'] / x['unloaded_p99']:.2f} unloaded "
                      f"{x['unloaded_p99']:.2f} ms)  503 share {100 * x['shed_share']:5.1f}%  "
                      f"503 p99 {x['shed_p99']:.3f} ms", flush=True)
        print("goals: limiter on: held near 32, 503 p99 < 1 ms, admitted p99 <= 2x unloaded")
    finally:
        stop_all([origin])


if __name__ == "__main__":
    main()
