#!/usr/bin/env python3
"""JWT signature verification against `openssl speed` for the same algorithms and key sizes
(ECDSA P-256, RSA 2048, Ed25519), both on CPU 0, alternating. rampart's figure is
BM_Verify/<alg> of rampart_micro_bench: VerifySignature on a parsed token, which hashes the
signing input too (openssl speed verifies a ready digest). Goal: within 1.1x.
  python3 bench/jwt_verify_speed.py [--rounds 3]"""
import argparse
import json
import os
import re
import statistics
import subprocess

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MICRO = os.path.join(ROOT, "build/release/rampart_micro_bench")
# benchmark name -> (openssl speed algorithm, the line of its output)
ALGS = {"ES256": ("ecdsap256", r"256 bits ecdsa \(nistp256\)"),
        "RS256": ("rsa2048", r"rsa 2048 bits"),
        "EdDSA": ("ed25519", r"253 bits EdDSA \(Ed25519\)")}


def rampart_us():
    out = subprocess.run(["taskset", "-c", "0", MICRO, "--benchmark_filter=BM_Verify/",
                          "--benchmark_min_time=1", "--benchmark_format=json"],
                         capture_output=True, text=True, check=True).stdout
    return {b["name"].split("/")[1]: b["cpu_time"] / 1000.0 for b in json.loads(out)["benchmarks"]}


def openssl_us():
    out = subprocess.run(["taskset", "-c", "0", "openssl", "speed", "-seconds", "2",
                          *[a for a, _ in ALGS.values()]],
                         capture_output=True, text=True, check=True).stdout
    res = {}
    for name, (_, line) in ALGS.items():
        m = re.search(line + r"\s+\S+s\s+\S+s\s+[\d.]+\s+([\d.]+)", out)
        res[name] = 1e6 / float(m.group(1))
    return res


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    ratios = {n: [] for n in ALGS}
    for r in range(args.rounds):
        ours, theirs = rampart_us(), openssl_us()
        for n in ALGS:
            ratios[n].append(ours[n] / theirs[n])
            print(f"round {r + 1} {n}: rampart {ours[n]:7.1f} us  openssl speed {theirs[n]:7.1f} us"
                  f"  ratio {ours[n] / theirs[n]:.3f}", flush=True)
    for n in ALGS:
        print(f"{n}: median ratio rampart/openssl {statistics.median(ratios[n]):.3f} (goal <= 1.10)")


if __name__ == "__main__":
    main()
