#!/usr/bin/env python3
"""Redis store throughput: rate-limit decisions/s through rampart's gate and client, against
redis-benchmark running the same Lua script (EVALSHA) with the same keys and pipelining, in one
run. redis-server is pinned alone on CPU 0; the client side (either one) on CPU 1.
  python3 bench/redis_decisions.py [--rounds 3]"""
import argparse
import json
import os
import statistics
import subprocess
import sys

from benchlib import ROOT, free_port, wait_port

MICRO = os.path.join(ROOT, "build/release/rampart_micro_bench")
SCRIPT_ARGS = ["acquire", "gcra", "100", "1000000", "100", "0", "0", "1", "0"]


def rampart_rate(port, depth):
    env = dict(os.environ, RAMPART_BENCH_REDIS_PORT=str(port))
    out = subprocess.run(["taskset", "-c", "1", MICRO, f"--benchmark_filter=BM_RedisDecisions/{depth}/",
                          "--benchmark_format=json", "--benchmark_min_time=2"],
                         env=env, capture_output=True, text=True, check=True).stdout
    b = json.loads(out)["benchmarks"][0]
    if b.get("error_occurred"):
        sys.exit(b.get("error_message"))
    return b["decisions_per_s"], b["label"], b["fallbacks"]


def redis_benchmark_rate(port, depth, sha, n):
    out = subprocess.run(["taskset", "-c", "1", "redis-benchmark", "-p", str(port), "-c", "1",
                          "-P", str(depth), "-n", str(n), "-r", "100000", "--csv",
                          "EVALSHA", sha, "1", "rampart:rl:{bench:__rand_int__}", *SCRIPT_ARGS],
                         capture_output=True, text=True, check=True).stdout
    line = [l for l in out.splitlines() if l.startswith('"EVALSHA')][0]
    return float(line.split('","')[1].strip('"'))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    port = free_port()
    redis = subprocess.Popen(["taskset", "-c", "0", "redis-server", "--port", str(port), "--bind",
                              "127.0.0.1", "--save", "", "--appendonly", "no"],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_port(port)
        print(f"{'depth':>5} {'rampart dec/s':>14} {'redis-benchmark/s':>18} {'ratio':>6}")
        for depth in (1, 16):
            ours, theirs = [], []
            for _ in range(args.rounds):  # interleaved: A B A B ...
                rate, sha, fallbacks = rampart_rate(port, depth)
                if fallbacks:
                    sys.exit(f"{fallbacks:.0f} decisions fell back: Redis was not used")
                ours.append(rate)
                theirs.append(redis_benchmark_rate(port, depth, sha, int(rate * 2)))
            ratios = [a / b for a, b in zip(ours, theirs)]
            print(f"{depth:>5} {statistics.median(ours):>14.0f} {statistics.median(theirs):>18.0f} "
                  f"{statistics.median(ratios):>6.2f}")
    finally:
        redis.kill()
        redis.wait()


if __name__ == "__main__":
    main()
