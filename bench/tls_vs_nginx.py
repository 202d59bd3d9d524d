#!/usr/bin/env python3
"""TLS side by side with nginx and HAProxy (the peers' nginx-proxy.conf and haproxy.cfg, one
worker each), the same ECDSA P-256 certificate, each proxy pinned alone on CPU 0 with the load
generator and the nginx origin on CPU 1, rounds interleaved. Scenarios: keep-alive HTTPS (64
connections), a resumed TLS 1.3 handshake per request, a full TLS 1.3 handshake per request, and
HTTP/2 over one TLS connection with 100 concurrent streams (h2load). Prints req/s, proxy CPU µs
per request, and ratios to nginx.
  python3 bench/tls_vs_nginx.py [--duration 10] [--rounds 3] [--only h2_tls_c1m100]"""
import argparse
import os
import shutil
import statistics
import subprocess
import tempfile
import time

from benchlib import (BIN, PEERS, measure, paired_ratios, run_h2load, run_wrk, start_origin,
                      stop_all, wait_port)

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
# (scenario, {target: port}, Connection: close, runner)
SCENARIOS = [
    ("tls_get_ka64", {"nginx": 19101, "haproxy": 19102, "rampart": 19104}, False, None),
    ("tls_resume64", {"nginx": 19101, "haproxy": 19102, "rampart": 19104}, True, None),
    ("tls_full64", {"nginx": 19111, "haproxy": 19112, "rampart": 19114}, True, None),
    ("h2_tls_c1m100", {"nginx": 19101, "haproxy": 19102, "rampart": 19104}, False, run_h2load),
]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--duration", type=int, default=10)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--only", help="run only this scenario")
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
        # HAProxy reads tls/server.pem: certificate and key in one file.
        with open(os.path.join(work, "tls/server.pem"), "w") as out:
            for part in (cert, key):
                with open(part) as f:
                    out.write(f.read())
        shutil.copy(os.path.join(PEERS, "haproxy.cfg"), os.path.join(work, "haproxy.cfg"))
        haproxy = subprocess.Popen(["taskset", "-c", "0", "haproxy", "-db", "-f", "haproxy.cfg"],
                                   cwd=work, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        procs.append(haproxy)
        wait_port(19102)
        with open(os.path.join(work, "rampart.yaml"), "w") as f:
            f.write(RAMPART.format(cert=cert, key=key))
        ramp = subprocess.Popen(["taskset", "-c", "0", BIN, "run", "-c",
                                 os.path.join(work, "rampart.yaml")],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        procs.append(ramp)
        wait_port(19104)
        pids = {"nginx": ngx_pid, "haproxy": haproxy.pid, "rampart": ramp.pid}
        print(f"{'scenario':<14} {'round':>5} {'target':>8} {'req/s':>9} {'CPU us/req':>11}")
        summary = []
        for scenario, ports, close, runner in SCENARIOS:
            if args.only and scenario != args.only:
                continue
            for t in ports:  # warm-up
                (runner or (lambda u, d: run_wrk(u, d, close)))(f"https://127.0.0.1:{ports[t]}/", 2)
            res = {t: [] for t in ports}
            for r in range(args.rounds):
                for t in ports:
                    time.sleep(1)
                    rps, us = measure(pids[t], f"https://127.0.0.1:{ports[t]}/", args.duration,
                                      close, runner)
                    res[t].append((rps, us))
                    print(f"{scenario:<14} {r + 1:>5} {t:>8} {rps:9.0f} {us:11.1f}", flush=True)
            ratio, cpu = paired_ratios(res, "rampart", "nginx")
            hratio, _ = paired_ratios(res, "rampart", "haproxy")
            summary.append((scenario, *(statistics.median(x[0] for x in res[t])
                                        for t in ("nginx", "haproxy", "rampart")),
                            ratio, cpu, hratio))
        print()
        print(f"{'scenario':<14} {'nginx req/s':>12} {'haproxy req/s':>14} {'rampart req/s':>14} "
              f"{'÷nginx':>7} {'CPU/req ÷nginx':>15} {'÷haproxy':>9}")
        for s, n, h, r, ratio, cpu, hratio in summary:
            print(f"{s:<14} {n:12.0f} {h:14.0f} {r:14.0f} {ratio:7.2f} {cpu:15.2f} {hratio:9.2f}")
    finally:
        stop_all(procs)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
