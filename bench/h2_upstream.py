#!/usr/bin/env python3
"""HTTP/2 end to end: h2load (16 cleartext connections x 10 streams) through each proxy to one
HTTP/2 origin (nghttpd serving a 1 KiB file, cleartext), the proxy speaking HTTP/2 to it:
rampart (`protocol: h2`), HAProxy (`proto h2` on both sides) and nginx (`grpc_pass`, its only
HTTP/2 upstream). One worker each, the proxy pinned alone on CPU 0, h2load and the origin on
CPU 1, rounds interleaved. Prints req/s, proxy CPU µs per request, and ratios.
With --baseline BIN another rampart build runs beside on its own port (the same config), and
its ratios to rampart are printed too.
  python3 bench/h2_upstream.py [--duration 8] [--rounds 3] [--baseline path/to/rampart]"""
import argparse
import os
import shutil
import statistics
import subprocess
import tempfile
import time

from benchlib import BIN, measure, paired_ratios, run_h2load, stop_all, wait_port

ORIGIN_PORT = 19300
PORTS = {"nginx": 19303, "haproxy": 19302, "rampart": 19301}

BASELINE_PORT = 19304
RAMPART_TEMPLATE = """workers: 1
listeners:
  - {{ name: h2c, address: 127.0.0.1:{port} }}
routes:
  - {{ name: all, upstream: origin }}
upstreams:
  origin: {{ endpoints: [127.0.0.1:{origin}], protocol: h2 }}
access_log: {{ enabled: false }}
admin: {{ enabled: false }}
"""
RAMPART = RAMPART_TEMPLATE.format(port=PORTS["rampart"], origin=ORIGIN_PORT)

HAPROXY = f"""global
    nbthread 1
    maxconn 8000
defaults
    mode http
    timeout connect 5s
    timeout client 65s
    timeout server 65s
frontend fe
    bind 127.0.0.1:{PORTS["haproxy"]} proto h2
    default_backend origin
backend origin
    http-reuse always
    server o1 127.0.0.1:{ORIGIN_PORT} proto h2
"""

NGINX = f"""worker_processes 1;
daemon off;
error_log logs/error.log crit;
pid nginx.pid;
events {{ worker_connections 8192; }}
http {{
    access_log off;
    upstream origin {{ server 127.0.0.1:{ORIGIN_PORT}; keepalive 32; }}
    server {{
        listen 127.0.0.1:{PORTS["nginx"]} http2;
        location / {{ grpc_pass grpc://origin; }}
    }}
}}
"""


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--duration", type=int, default=8)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--baseline", help="another rampart build to run beside")
    args = ap.parse_args()
    ports = dict(PORTS)
    if args.baseline:
        ports["baseline"] = BASELINE_PORT
    work = tempfile.mkdtemp(prefix="rampart-h2up-")
    procs = []
    try:
        for d in ("htdocs", "logs"):
            os.makedirs(os.path.join(work, d))
        with open(os.path.join(work, "htdocs/index.html"), "wb") as f:
            f.write(b"x" * 1024)
        procs.append(subprocess.Popen(
            ["taskset", "-c", "1", "nghttpd", "--no-tls", "-d", os.path.join(work, "htdocs"),
             str(ORIGIN_PORT)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        wait_port(ORIGIN_PORT)
        for name, text in (("rampart.yaml", RAMPART), ("haproxy.cfg", HAPROXY),
                           ("nginx.conf", NGINX)):
            with open(os.path.join(work, name), "w") as f:
                f.write(text)
        nginx = subprocess.Popen(["taskset", "-c", "0", "nginx", "-p", work, "-c", "nginx.conf"],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        procs.append(nginx)
        haproxy = subprocess.Popen(["taskset", "-c", "0", "haproxy", "-db", "-f", "haproxy.cfg"],
                                   cwd=work, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        procs.append(haproxy)
        ramp = subprocess.Popen(["taskset", "-c", "0", BIN, "run", "-c",
                                 os.path.join(work, "rampart.yaml")],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        procs.append(ramp)
        pids = {"haproxy": haproxy.pid, "rampart": ramp.pid}
        if args.baseline:
            path = os.path.join(work, "baseline.yaml")
            with open(path, "w") as f:
                f.write(RAMPART_TEMPLATE.format(port=BASELINE_PORT, origin=ORIGIN_PORT))
            base = subprocess.Popen(["taskset", "-c", "0", args.baseline, "run", "-c", path],
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            procs.append(base)
            pids["baseline"] = base.pid
        for port in ports.values():
            wait_port(port)
        time.sleep(0.3)
        ngx_pid = int(subprocess.run(["pgrep", "-P", str(nginx.pid)], capture_output=True,
                                     text=True).stdout.split()[0])
        pids["nginx"] = ngx_pid
        runner = lambda url, d: run_h2load(url, d, conns=16, streams=10)  # noqa: E731
        for t, port in ports.items():  # warm-up, and a check that each proxy answers
            runner(f"http://127.0.0.1:{port}/", 2)
        res = {t: [] for t in ports}
        print(f"{'round':>5} {'target':>8} {'req/s':>9} {'CPU us/req':>11}")
        for r in range(args.rounds):
            order = list(ports.items())
            if r % 2:  # alternate the order, so no target always follows another
                order.reverse()
            for t, port in order:
                time.sleep(1)
                rps, us = measure(pids[t], f"http://127.0.0.1:{port}/", args.duration,
                                  runner=runner)
                res[t].append((rps, us))
                print(f"{r + 1:>5} {t:>8} {rps:9.0f} {us:11.1f}", flush=True)
        med = {t: statistics.median(x[0] for x in res[t]) for t in ports}
        cpu = {t: statistics.median(x[1] for x in res[t]) for t in ports}
        print()
        pairs = [("rampart", "nginx"), ("rampart", "haproxy")]
        if args.baseline:
            pairs += [("baseline", "nginx"), ("baseline", "haproxy"), ("rampart", "baseline")]
        for a, b in pairs:
            ratio, cpu_ratio = paired_ratios(res, a, b)
            print(f"h2_upstream_c16m10 {a} {med[a]:.0f} req/s ({cpu[a]:.1f} "
                  f"us/req), {b} {med[b]:.0f} ({cpu[b]:.1f}): req/s x{ratio:.2f}, "
                  f"CPU/req x{cpu_ratio:.2f}")
    finally:
        stop_all(procs)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
