#!/usr/bin/env python3
"""TLS side by side with nginx (the peers' nginx-proxy.conf, one worker), the same ECDSA P-256
certificate, each proxy pinned alone on CPU 0 with wrk and the nginx origin on CPU 1, rounds
interleaved. Scenarios: keep-alive HTTPS (64 connections), a resumed TLS 1.3 handshake per
request, a full TLS 1.3 handshake per request. Prints req/s, proxy CPU µs per request, ratios.
  python3 bench/tls_vs_nginx.py [--duration 10] [--rounds 3]"""
import argparse
import os
import shutil
import statistics
import subprocess
import tempfile
import time

from benchlib import BIN, PEERS, measure, paired_ratios, run_wrk, start_origin, stop_all, wait_port

RAMPART = """workers: 1
listeners:
  - name: tls
    address: 127.0.0.1:19104
    limits: {{ idle_timeout: 65s }}
    tls: {{ cert: {cert}, key: {key}, min_version: "1.2" }}
  - name: tls_full
    address: 127.0.0.1:19114
    limits: {{ idle_timeout: 65s }}
    tls: {{ cert: {cert}, key: {key}, min_version: "1.2", session_tickets: false }}
routes:
  - name: all
    upstream: origin
upstreams:
  origin:
    endpoints: [127.0.0.1:19000]
    keepalive: {{ max_idle: 128, idle_timeout: 60s }}
access_log: {{ enabled: false }}
admin: {{ enabled: false }}
"""
# (scenario, nginx port, rampart port, Connection: close)
SCENARIOS = [("tls_get_ka64", 19101, 19104, False), ("tls_resume64", 19101, 19104, True),
             ("tls_full64", 19111, 19114, True)]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--duration", type=int, default=10)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    work = tempfile.mkdtemp(prefix="rampart-tls-")
    procs = []
    try:
        os.makedirs(os.path.join(work, "tls"))
        cert, key = os.path.join(work, "tls/cert.pem"), os.path.join(work, "tls/key.pem")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                        "ec_paramgen_curve:P-256", "-nodes", "-days", "30", "-subj", "/CN=localhost",
                        "-keyout", key, "-out", cert], check=True, capture_output=True)
        procs.append(start_origin(work))
        shutil.copy(os.path.join(PEERS, "nginx-proxy.conf"), os.path.join(work, "nginx-proxy.conf"))
        nginx = subprocess.Popen(["taskset", "-c", "0", "nginx", "-p", work, "-c",
                                  "nginx-proxy.conf"], stdout=subprocess.DEVNULL,
                                 stderr=subprocess.DEVNULL)
        procs.append(nginx)
        wait_port(19101)
        time.sleep(0.3)
        # nginx's master forks the worker: measure the worker (the only child).
        ngx_pid = int(subprocess.run(["pgrep", "-P", str(nginx.pid)], capture_output=True,
                                     text=True).stdout.split()[0])
        with open(os.path.join(work, "rampart.yaml"), "w") as f:
            f.write(RAMPART.format(cert=cert, key=key))
        ramp = subprocess.Popen(["taskset", "-c", "0", BIN, "run", "-c",
                                 os.path.join(work, "rampart.yaml")],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        procs.append(ramp)
        wait_port(19104)
        pids = {"nginx": ngx_pid, "rampart": ramp.pid}
        print(f"{'scenario':<14} {'round':>5} {'target':>8} {'req/s':>9} {'CPU us/req':>11}")
        summary = []
        for scenario, nport, rport, close in SCENARIOS:
            ports = {"nginx": nport, "rampart": rport}
            for t in ports:
                run_wrk(f"https://127.0.0.1:{ports[t]}/", 2, close)  # warm-up
            res = {t: [] for t in ports}
            for r in range(args.rounds):
                for t in ports:
                    time.sleep(1)
                    rps, us = measure(pids[t], f"https://127.0.0.1:{ports[t]}/", args.duration,
                                      close)
                    res[t].append((rps, us))
                    print(f"{scenario:<14} {r + 1:>5} {t:>8} {rps:9.0f} {us:11.1f}", flush=True)
            ratio, cpu = paired_ratios(res, "rampart", "nginx")
            summary.append((scenario, statistics.median(x[0] for x in res["nginx"]),
                            statistics.median(x[0] for x in res["rampart"]), ratio, cpu))
        print()
        print(f"{'scenario':<14} {'nginx req/s':>12} {'rampart req/s':>14} {'ratio':>6} "
              f"{'CPU/req ratio':>14}")
        for s, n, r, ratio, cpu in summary:
            print(f"{s:<14} {n:12.0f} {r:14.0f} {ratio:6.2f} {cpu:14.2f}")
    finally:
        stop_all(procs)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
