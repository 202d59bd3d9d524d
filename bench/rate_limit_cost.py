#!/usr/bin/env python3
"""What a per-IP rate limit costs end to end: the same route with and without a local GCRA limit
on client_ip (never refusing), rampart pinned alone on CPU 0, wrk and the nginx origin on CPU 1,
rounds interleaved. Prints req/s and rampart CPU time per request, and the ratios.
  python3 bench/rate_limit_cost.py [--duration 10] [--rounds 3]"""
import argparse
import shutil
import statistics
import tempfile

from benchlib import compare_configs, paired_ratios

# compare_configs fills in {port}; GATES is where the limit goes.
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
access_log: {{ enabled: false }}
admin: {{ enabled: false }}
"""
GATE = "    gates:\n      - rate_limit: {{ key: [client_ip], algorithm: gcra, rate: 100000000/s }}\n"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--duration", type=int, default=10)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    work = tempfile.mkdtemp(prefix="rampart-rlcost-")
    try:
        configs = {"plain": CONFIG.replace("GATES", ""), "per_ip_limit": CONFIG.replace("GATES", GATE)}
        results = compare_configs(work, configs, args.duration, args.rounds)
        med = {n: statistics.median(x[0] for x in v) for n, v in results.items()}
        ratio, cpu = paired_ratios(results, "per_ip_limit", "plain")
        print(f"median req/s: plain {med['plain']:.0f}, per-IP limit {med['per_ip_limit']:.0f}; "
              f"ratio {ratio:.3f} (goal >= 0.90); CPU/request ratio {cpu:.3f}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
