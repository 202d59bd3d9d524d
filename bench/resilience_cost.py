#!/usr/bin/env python3
"""What the upstream resilience policies cost on the hot path: get_ka64 (GET 1 KiB, 64
keep-alive connections) through an upstream with a circuit breaker, a bulkhead, retries, outlier
detection and active health checks, against the same upstream without policies, CPU per request
in one run (rampart pinned alone on CPU 0; wrk and the peers' nginx origin on CPU 1; rounds
interleaved). Goal: at most 3% more CPU per request.
  python3 bench/resilience_cost.py [--duration 10] [--rounds 3]"""
import argparse
import statistics
import tempfile

from benchlib import compare_configs, paired_ratios, plain_config

POLICIES = """    policies:
      - circuit_breaker: { window: 100, minimum_calls: 20, failure_rate: 50% }
      - bulkhead: { max_requests: 1000, max_pending: 100, queue_timeout: 100ms }
      - retries: { attempts: 3, statuses: [502, 503] }
      - outlier_detection: { consecutive_5xx: 5, success_rate: 80% }
      - health_check: { path: /, interval: 1s, timeout: 500ms }
"""


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--duration", type=int, default=10)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    plain = plain_config()
    raw = "  origin: {{ endpoints: [127.0.0.1:19000], keepalive: {{ max_idle: 128, idle_timeout: 60s }} }}\n"
    assert raw in plain
    with_policies = plain.replace(
        raw,
        "  origin:\n    endpoints: [127.0.0.1:19000]\n"
        "    keepalive: {{ max_idle: 128, idle_timeout: 60s }}\n"
        + POLICIES.replace("{", "{{").replace("}", "}}"))
    work = tempfile.mkdtemp(prefix="rampart-resilience-cost-")
    results = compare_configs(work, {"no_policies": plain, "all_policies": with_policies},
                              args.duration, args.rounds)
    rps, cpu = paired_ratios(results, "all_policies", "no_policies")
    for name, runs in results.items():
        print(f"{name:>14}: median {statistics.median(r[1] for r in runs):5.1f} us CPU/request, "
              f"{statistics.median(r[0] for r in runs):8.0f} req/s")
    print(f"all policies / none: CPU per request x{cpu:.3f} (goal <= 1.03), req/s x{rps:.3f}")


if __name__ == "__main__":
    main()
