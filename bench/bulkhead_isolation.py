#!/usr/bin/env python3
"""Bulkhead isolation: does a slow route starve a second route of the same upstream?

One upstream (rampart's demo origin, 4 threads) behind a bulkhead of 64 places with a queue
(128 requests, 2 s). `/payments` answers at once; `/reports` waits 200 ms at the origin. wrk
measures /payments (8 connections, each pausing 1 ms between requests: a steady load that leaves
rampart's core room, so latency measures waiting, not a saturated core) three ways, in one run, rounds
interleaved:
  baseline      /payments alone;
  reserve       while 100 connections keep /reports busy (its 48 shared places full, the rest
                queued), with `reserve: { payments: 16 }`;
  no_reserve    the same load, the bulkhead without a reserve (all 64 places shared: /payments
                queues behind /reports).
Reported per case: /payments p50 and p99 and the share of its requests that failed (not 2xx, or
no answer within wrk's 2 s).
Goal: with the reserve, /payments p99 at most 1.5x its baseline and every answer 2xx.
rampart is pinned to CPU 0; wrk and the origin to CPU 1.
  python3 bench/bulkhead_isolation.py [--duration 8] [--rounds 3]"""
import argparse
import os
import re
import statistics
import subprocess
import tempfile

from benchlib import BIN, free_port, stop_all, wait_port

CONFIG = """workers: 1
listeners:
  - {{ name: bench, address: 127.0.0.1:{port} }}
routes:
  - {{ name: payments, match: {{ path_prefix: /payments }}, upstream: app }}
  - {{ name: reports, match: {{ path_prefix: /reports }}, upstream: app }}
upstreams:
  app:
    endpoints: [127.0.0.1:{origin}]
    keepalive: {{ max_idle: 256 }}
    policies:
      - bulkhead: {{ max_requests: 64, max_pending: 128, queue_timeout: 2s{reserve} }}
access_log: {{ enabled: false }}
admin: {{ enabled: false }}
"""


def wrk(url, duration, conns, latency=False, script=None):
    cmd = ["taskset", "-c", "1", "wrk", "-t1", f"-c{conns}", f"-d{duration}s", url]
    if latency:
        cmd.insert(5, "--latency")
    if script:
        cmd[5:5] = ["-s", script]
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)


def to_ms(value, unit):
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def parse(out):
    """(p50 ms, p99 ms, requests, failed: not 2xx or timed out) from wrk --latency output."""
    if "99%" not in out:
        raise RuntimeError(f"wrk gave no latency distribution:\n{out}")
    pct = dict(re.findall(r"^\s+(\d+)%\s+([\d.]+\w+)\s*$", out, re.M))
    p = {k: to_ms(*re.match(r"([\d.]+)(\w+)", v).groups()) for k, v in pct.items()}
    total = int(re.search(r"(\d+) requests in", out).group(1))
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    timeouts = re.search(r"Socket errors:.* timeout (\d+)", out)
    failed = (int(bad.group(1)) if bad else 0) + (int(timeouts.group(1)) if timeouts else 0)
    return p["50"], p["99"], total, failed


def start_rampart(work, name, origin_port, reserve):
    port = free_port()
    path = os.path.join(work, f"{name}.yaml")
    with open(path, "w") as f:
        f.write(CONFIG.format(port=port, origin=origin_port,
                              reserve=", reserve: { payments: 16 }" if reserve else ""))
    proc = subprocess.Popen(["taskset", "-c", "0", BIN, "run", "-c", path],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_port(port)
    return port, proc


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--duration", type=int, default=8)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    work = tempfile.mkdtemp(prefix="rampart-bulkhead-")
    paced = os.path.join(work, "paced.lua")
    with open(paced, "w") as f:  # 1 ms between a connection's requests: a load, not a flood
        f.write("function delay()\n  return 1\nend\n")
    origin_port = free_port()
    procs = [subprocess.Popen(["taskset", "-c", "1", BIN, "demo-origin", "--listen",
                               f"127.0.0.1:{origin_port}", "--threads", "4"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)]
    try:
        wait_port(origin_port)
        with_reserve, p1 = start_rampart(work, "reserve", origin_port, True)
        procs.append(p1)
        shared, p2 = start_rampart(work, "no_reserve", origin_port, False)
        procs.append(p2)
        cases = {"no_reserve": (shared, True), "baseline": (with_reserve, False),
                 "reserve": (with_reserve, True)}
        results = {name: [] for name in cases}
        for r in range(args.rounds):
            for name, (port, flood) in cases.items():
                base = f"http://127.0.0.1:{port}"
                flooder = wrk(f"{base}/reports?delay=200", args.duration + 2, 100) if flood else None
                try:
                    if flooder:  # let the flood fill the bulkhead first
                        subprocess.run(["sleep", "1"], check=True)
                    out = wrk(f"{base}/payments", args.duration, 8, latency=True,
                              script=paced).communicate()[0]
                finally:
                    if flooder:
                        flooder.communicate()
                p50, p99, total, bad = parse(out)
                results[name].append((p50, p99, total, bad))
                print(f"round {r + 1} {name:>10}: /payments p50 {p50:7.3f} ms  p99 {p99:7.3f} ms  "
                      f"{total} requests, {100.0 * bad / max(total, 1):5.1f}% failed")
        base99 = statistics.median(x[1] for x in results["baseline"])
        print()
        for name, runs in results.items():
            p99 = statistics.median(x[1] for x in runs)
            bad = sum(x[3] for x in runs) / max(sum(x[2] for x in runs), 1)
            print(f"{name:>10}: /payments p99 {p99:7.3f} ms (x{p99 / base99:.2f} baseline), "
                  f"{100.0 * bad:.2f}% failed (not 2xx or timed out)")
        print("goal: with the reserve, p99 <= 1.5x baseline and 0% failed")
    finally:
        stop_all(procs)


if __name__ == "__main__":
    main()
