#!/usr/bin/env python3
"""What busy polling (`busy_poll`) changes: rampart with it off and at its default, one worker
pinned alone on CPU 0, wrk and the nginx origin on CPU 1, 10 KiB POSTs over 64 keep-alive
connections (the scenario where the wake-ups the polling saves decide req/s), rounds
interleaved. Prints req/s, rampart CPU time per request, and the wake-up IPIs per request
(/proc/interrupts CAL, every CPU), and the ratios.
  python3 bench/busy_poll.py [--duration 10] [--rounds 3]"""
import argparse
import shutil
import statistics
import tempfile

from benchlib import compare_configs, paired_ratios, plain_config



def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--duration", type=int, default=10)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    work = tempfile.mkdtemp(prefix="rampart-busypoll-")
    try:
        configs = {"polling_off": plain_config("busy_poll: 0s\n"),
                   "polling_30us": plain_config("busy_poll: 30us\n")}
        results = compare_configs(work, configs, args.duration, args.rounds, body_bytes=10240)
        for name, runs in results.items():
            print(f"{name}: median {statistics.median(r[0] for r in runs):.0f} req/s, "
                  f"{statistics.median(r[1] for r in runs):.1f} us CPU/request, "
                  f"{statistics.median(r[2] for r in runs):.2f} wake-up IPIs/request")
        ratio, cpu = paired_ratios(results, "polling_30us", "polling_off")
        print(f"polling on / off: req/s {ratio:.3f}, CPU/request {cpu:.3f}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
