#!/usr/bin/env python3
"""Two rampart builds side by side with nginx and HAProxy, in one run, on the scenarios a change
to the request path must not slow down: get_ka64 and post10k_ka64 (wrk, 64 keep-alive
connections; 1 KiB GET, 10 KiB POST), tls_get_ka64 (the same GET over TLS) and h2_tls_c64m10
(h2load, 64 TLS connections x 10 streams). Each proxy runs one worker pinned alone on CPU 0;
wrk/h2load and the origin (the peers' nginx, 1 KiB body) share CPU 1; rounds interleaved,
each round starting one target later than the last.
Prints req/s and proxy CPU us per request, each build's ratios to nginx and HAProxy, and
build B's to build A's.
  python3 bench/builds_vs_peers.py --a /path/to/old/rampart [--b build/release/rampart]
                                   [--duration 8] [--rounds 3] [--only get_ka64]
`--probe-hold` runs build B's route through the test-only probe gate holding up to 64 KiB of
body (rampart_probe), to price the request-body phase."""
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
  - {{ name: plain, address: 127.0.0.1:{plain}, limits: {{ idle_timeout: 65s }} }}
  - name: tls
    address: 127.0.0.1:{tls}
    limits: {{ idle_timeout: 65s }}
    tls: {{ cert: {cert}, key: {key}, min_version: "1.2" }}
routes:
  - name: all
    upstream: origin{gates}
upstreams:
  origin:
    endpoints: [127.0.0.1:19000]
    keepalive: {{ idle_timeout: 60s }}  # max_idle at its default: the pool follows the peak
access_log: {{ enabled: false }}
admin: {{ enabled: false }}
"""
HOLD = "\n    gates: [{ probe: { body_bytes: 64KiB } }]"

# target -> (plain port, TLS port)
PORTS = {"nginx": (19001, 19101), "haproxy": (19002, 19102), "a": (19201, 19211),
         "b": (19202, 19212)}
# (scenario, scheme, POST body bytes, runner)
SCENARIOS = [
    ("get_ka64", "http", 0, None),
    ("post10k_ka64", "http", 10240, None),
    ("tls_get_ka64", "https", 0, None),
    ("h2_tls_c64m10", "https", 0, lambda u, d: run_h2load(u, d, conns=64, streams=10)),
]


def start_peers(work, cert, key, procs):
    shutil.copy(os.path.join(PEERS, "nginx-proxy.conf"), os.path.join(work, "nginx-proxy.conf"))
    nginx = subprocess.Popen(["taskset", "-c", "0", "nginx", "-p", work, "-c", "nginx-proxy.conf"],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    procs.append(nginx)
    wait_port(19101)
    time.sleep(0.3)
    # nginx's master forks the worker: measure the worker (the only child).
    ngx = int(subprocess.run(["pgrep", "-P", str(nginx.pid)], capture_output=True,
                             text=True).stdout.split()[0])
    with open(os.path.join(work, "tls/server.pem"), "w") as out:  # HAProxy: cert and key
        for part in (cert, key):
            with open(part) as f:
                out.write(f.read())
    shutil.copy(os.path.join(PEERS, "haproxy.cfg"), os.path.join(work, "haproxy.cfg"))
    haproxy = subprocess.Popen(["taskset", "-c", "0", "haproxy", "-db", "-f", "haproxy.cfg"],
                               cwd=work, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    procs.append(haproxy)
    wait_port(19102)
    return {"nginx": ngx, "haproxy": haproxy.pid}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--a", required=True, help="the build to compare against")
    ap.add_argument("--b", default=BIN)
    ap.add_argument("--duration", type=int, default=8)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--only", help="run only this scenario")
    ap.add_argument("--probe-hold", action="store_true",
                    help="build B's route holds up to 64 KiB of body (probe gate)")
    args = ap.parse_args()
    work = tempfile.mkdtemp(prefix="rampart-builds-")
    procs = []
    try:
        os.makedirs(os.path.join(work, "tls"))
        cert, key = os.path.join(work, "tls/cert.pem"), os.path.join(work, "tls/key.pem")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                        "ec_paramgen_curve:P-256", "-nodes", "-days", "30", "-subj", "/CN=localhost",
                        "-keyout", key, "-out", cert], check=True, capture_output=True)
        procs.append(start_origin(work))
        pids = start_peers(work, cert, key, procs)
        for name, binary in (("a", args.a), ("b", args.b)):
            plain, tls = PORTS[name]
            path = os.path.join(work, f"{name}.yaml")
            with open(path, "w") as f:
                f.write(RAMPART.format(plain=plain, tls=tls, cert=cert, key=key,
                                       gates=HOLD if args.probe_hold and name == "b" else ""))
            p = subprocess.Popen(["taskset", "-c", "0", os.path.abspath(binary), "run", "-c", path],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            procs.append(p)
            wait_port(tls)
            pids[name] = p.pid
        print(f"{'scenario':<14} {'round':>5} {'target':>8} {'req/s':>9} {'CPU us/req':>11}")
        summary = []
        for scenario, scheme, body, runner in SCENARIOS:
            if args.only and scenario != args.only:
                continue
            run = runner or (lambda u, d, b=body: run_wrk(u, d, body_bytes=b))
            url = {t: f"{scheme}://127.0.0.1:{PORTS[t][0 if scheme == 'http' else 1]}/"
                   for t in PORTS}
            for t in PORTS:
                run(url[t], 2)  # warm-up
            res = {t: [] for t in PORTS}
            for r in range(args.rounds):
                # Each round starts with the next target: the run that follows another proxy's
                # run on CPU 0 measured a few percent apart from the same build run first.
                order = list(PORTS)[r % len(PORTS):] + list(PORTS)[:r % len(PORTS)]
                for t in order:
                    time.sleep(1)
                    rps, us = measure(pids[t], url[t], args.duration, runner=run)
                    res[t].append((rps, us))
                    print(f"{scenario:<14} {r + 1:>5} {t:>8} {rps:9.0f} {us:11.1f}", flush=True)
            row = [scenario] + [statistics.median(x[1] for x in res[t]) for t in PORTS]
            for build in ("a", "b"):  # CPU per request, paired by round
                row += [paired_ratios(res, build, "nginx")[1], paired_ratios(res, build, "haproxy")[1]]
            row += list(paired_ratios(res, "b", "a"))
            summary.append(row)
        print()
        print("CPU per request: medians (us), then medians of per-round ratios")
        print(f"{'scenario':<14} {'nginx':>7} {'haproxy':>8} {'A':>6} {'B':>6} "
              f"{'A/ngx':>6} {'A/hap':>6} {'B/ngx':>6} {'B/hap':>6} {'B/A req/s':>10} "
              f"{'B/A CPU':>8}")
        for s, n, h, a, b, an, ah, bn, bh, rps, cpu in summary:
            print(f"{s:<14} {n:7.1f} {h:8.1f} {a:6.1f} {b:6.1f} {an:6.2f} {ah:6.2f} {bn:6.2f} "
                  f"{bh:6.2f} {rps:10.3f} {cpu:8.3f}")
    finally:
        stop_all(procs)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
