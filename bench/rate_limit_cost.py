#!/usr/bin/env python3
"""What a per-IP rate limit costs end to end: the same route with and without a local GCRA limit
on client_ip (never refusing), rampart pinned alone on CPU 0, wrk and the nginx origin on CPU 1,
rounds interleaved. Prints req/s and rampart CPU time per request, and the ratios.
  python3 bench/rate_limit_cost.py [--duration 10] [--rounds 3]"""
import argparse
import os
import shutil
import statistics
import subprocess
import tempfile
import time

from benchlib import BIN, measure, paired_ratios, run_wrk, start_origin, stop_all, wait_port

CONFIG = """workers: 1
listeners:
  - {{ name: bench, address: 127.0.0.1:{port}, limits: {{ idle_timeout: 65s }} }}
routes:
  - name: all
    upstream: origin
{gates}upstreams:
  origin:
    endpoints: [127.0.0.1:19000]
    keepalive: {{ max_idle: 128, idle_timeout: 60s }}
access_log: {{ enabled: false }}
admin: {{ enabled: false }}
"""
GATE = "    gates:\n      - rate_limit: { key: [client_ip], algorithm: gcra, rate: 100000000/s }\n"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--duration", type=int, default=10)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    work = tempfile.mkdtemp(prefix="rampart-rlcost-")
    procs = []
    try:
        procs.append(start_origin(work))
        targets = {}
        for name, port, gates in (("plain", 19005, ""), ("per_ip_limit", 19006, GATE)):
            path = os.path.join(work, f"{name}.yaml")
            with open(path, "w") as f:
                f.write(CONFIG.format(port=port, gates=gates))
            p = subprocess.Popen(["taskset", "-c", "0", BIN, "run", "-c", path],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            procs.append(p)
            wait_port(port)
            targets[name] = (port, p.pid)
        for port, _ in targets.values():
            run_wrk(f"http://127.0.0.1:{port}/", 2)  # warm-up
        results = {name: [] for name in targets}
        for r in range(args.rounds):
            for name, (port, pid) in targets.items():
                time.sleep(1)
                rps, us = measure(pid, f"http://127.0.0.1:{port}/", args.duration)
                results[name].append((rps, us))
                print(f"round {r + 1} {name:>13}: {rps:9.0f} req/s  {us:5.1f} us CPU/request",
                      flush=True)
        med = {n: (statistics.median(x[0] for x in v), statistics.median(x[1] for x in v))
               for n, v in results.items()}
        ratio, cpu = paired_ratios(results, "per_ip_limit", "plain")
        print(f"median req/s: plain {med['plain'][0]:.0f}, per-IP limit {med['per_ip_limit'][0]:.0f}; "
              f"ratio {ratio:.3f} (goal >= 0.90); CPU/request ratio {cpu:.3f}")
    finally:
        stop_all(procs)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
