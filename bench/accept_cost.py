#!/usr/bin/env python3
"""What the connection gates cost at accept: new connections per second (every request on its
own connection, `Connection: close`, wrk -c64) through one rampart worker pinned to CPU 0, with
and without the gates, rounds interleaved in one run:
  plain   no connection gates;
  gates   connections {max, max_per_source, rate_per_source} (none binding) and a listener deny
          list of 1,000,000 mixed IPv4/IPv6 prefixes from a file (the client is not in it).
Reported: connections/s and rampart's CPU time per connection, and the ratios gates/plain.
  python3 bench/accept_cost.py [--duration 8] [--rounds 3]"""
import argparse
import os
import random
import tempfile

from benchlib import compare_configs, paired_ratios, plain_config

GATES = """  - {{ name: bench, address: 127.0.0.1:{port}, limits: {{ idle_timeout: 65s }},
      connections: {{ max: 100000, max_per_source: 100000, rate_per_source: 10000000/s }},
      ip_list: {{ deny_files: [feed.txt] }} }}
"""


def write_feed(path, n=1_000_000, seed=7):
    rnd = random.Random(seed)
    with open(path, "w") as f:
        f.write("# a reputation feed of mixed prefixes; 127.0.0.0/8 is never in it\n")
        for _ in range(n):
            if rnd.random() < 0.7:
                first = rnd.choice([x for x in range(1, 224) if x != 127])
                f.write(f"{first}.{rnd.randrange(256)}.{rnd.randrange(256)}.0/"
                        f"{rnd.choice([16, 20, 24, 24, 24, 32])}\n")
            else:
                f.write(f"2001:{rnd.randrange(65536):x}:{rnd.randrange(65536):x}::/"
                        f"{rnd.choice([32, 48, 56, 64])}\n")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--duration", type=int, default=8)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    work = tempfile.mkdtemp(prefix="rampart-accept-")
    write_feed(os.path.join(work, "feed.txt"))
    plain = plain_config()
    gates = plain.replace(
        "  - {{ name: bench, address: 127.0.0.1:{port}, limits: {{ idle_timeout: 65s }} }}\n", GATES)
    assert gates != plain
    results = compare_configs(work, {"plain": plain, "gates": gates}, args.duration, args.rounds,
                              headers=("Connection: close",))
    rps, cpu = paired_ratios(results, "gates", "plain")
    print(f"\ngates/plain: connections/s x{rps:.3f}, CPU per connection x{cpu:.3f} "
          "(median of per-round ratios)")


if __name__ == "__main__":
    main()
