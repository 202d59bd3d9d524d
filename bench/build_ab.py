#!/usr/bin/env python3
"""Two rampart builds side by side on the same scenario: the proxy's CPU time per request and
req/s of build B against build A (for a change's "no regression" figure), one worker pinned
alone on CPU 0, wrk and the nginx origin on CPU 1, rounds interleaved.
  python3 bench/build_ab.py --a /path/to/old/rampart [--b build/release/rampart]
                            [--body 10240] [--duration 8] [--rounds 5]"""
import argparse
import os
import shutil
import statistics
import tempfile

from benchlib import BIN, compare_configs, paired_ratios, plain_config



def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--a", required=True, help="the build to compare against")
    ap.add_argument("--b", default=BIN)
    ap.add_argument("--body", type=int, default=0, help="POST bodies of this many bytes")
    ap.add_argument("--duration", type=int, default=8)
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args()
    work = tempfile.mkdtemp(prefix="rampart-ab-")
    try:
        config = plain_config()
        configs = {"a": (config, os.path.abspath(args.a)), "b": (config, os.path.abspath(args.b))}
        results = compare_configs(work, configs, args.duration, args.rounds, body_bytes=args.body)
        for name, runs in results.items():
            print(f"{name}: median {statistics.median(r[0] for r in runs):.0f} req/s, "
                  f"{statistics.median(r[1] for r in runs):.1f} us CPU/request")
        ratio, cpu = paired_ratios(results, "b", "a")
        print(f"b / a: req/s {ratio:.3f}, CPU/request {cpu:.3f}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
