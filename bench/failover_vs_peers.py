#!/usr/bin/env python3
"""Upstream failures side by side with nginx and HAProxy, configured as closely as each allows,
in one run (each proxy with one worker pinned alone on CPU 0; wrk and three nginx origins on
CPU 1):

  failover  wrk (16 connections, GET) for WINDOW seconds through a pool of three origins; one
            origin is killed at 3 s and started again at 7 s. Reported: client-visible errors
            (non-2xx answers and socket errors), and for rampart and HAProxy the time from the
            kill to the proxy taking the origin out (rampart: /admin/upstreams says it is not up;
            HAProxy: its stats socket says DOWN; nginx has no active view: passive max_fails).
  outage    every origin answers 503 for 5 s: how many requests the origins receive per client
            request (retry amplification), rampart with its default retry budget and without a
            budget, nginx (proxy_next_upstream http_503, 3 tries), HAProxy (retry-on 503,
            retries 2).

  rampart  retries {attempts: 3} + outlier_detection {consecutive_gateway_failures: 2}
           + health_check {interval: 1s, unhealthy_threshold: 2}
  nginx    max_fails=2 fail_timeout=10s, proxy_next_upstream error timeout, 3 tries
  HAProxy  check inter 1s fall 2 rise 1, option redispatch, retry-on conn-failure empty-response
           response-timeout, retries 2

  python3 bench/failover_vs_peers.py [--window 10] [--rounds 1]"""
import argparse
import json
import os
import re
import socket
import subprocess
import tempfile
import threading
import time
import urllib.request

from benchlib import BIN, free_port, stop_all, wait_port

ORIGIN_PORTS = (19201, 19202, 19203)

ORIGIN_CONF = """daemon off;
master_process off;
worker_processes 1;
pid origin.pid;
error_log logs/error.log warn;
events {{ worker_connections 4096; }}
http {{
    access_log logs/access.log;
    server_tokens off;
    keepalive_requests 1000000;
    server {{
        listen 127.0.0.1:{port} backlog=4096;
        location /health {{ access_log off; return 200 "ok"; }}
        location / {{ return {status} "origin {port}"; }}
    }}
}}
"""

NGINX_CONF = """daemon off;
master_process on;
worker_processes 1;
pid proxy.pid;
error_log logs/error.log crit;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    upstream pool {{
        server 127.0.0.1:19201 max_fails=2 fail_timeout=10s;
        server 127.0.0.1:19202 max_fails=2 fail_timeout=10s;
        server 127.0.0.1:19203 max_fails=2 fail_timeout=10s;
        keepalive 64;
    }}
    server {{
        listen 127.0.0.1:{port} backlog=4096;
        location / {{
            proxy_pass http://pool;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_connect_timeout 1s;
            proxy_read_timeout 2s;
            proxy_next_upstream error timeout{extra};
            proxy_next_upstream_tries 3;
        }}
    }}
}}
"""

HAPROXY_CONF = """global
    nbthread 1
    maxconn 8000
    stats socket {sock} level admin
defaults
    mode http
    option http-keep-alive
    http-reuse always
    timeout connect 1s
    timeout client 30s
    timeout server 2s
frontend fe
    bind 127.0.0.1:{port} backlog 4096
    default_backend pool
backend pool
    balance roundrobin
    option redispatch
    retries 2
    retry-on conn-failure empty-response response-timeout{extra}
    option httpchk GET /health
    default-server check inter 1s fall 2 rise 1
    server s1 127.0.0.1:19201
    server s2 127.0.0.1:19202
    server s3 127.0.0.1:19203
"""

RAMPART_CONF = """workers: 1
listeners:
  - {{ name: bench, address: 127.0.0.1:{port} }}
routes: [{{ name: all, upstream: pool }}]
upstreams:
  pool:
    endpoints: [127.0.0.1:19201, 127.0.0.1:19202, 127.0.0.1:19203]
    timeouts: {{ connect: 1s, response: 2s }}
    policies:
      - retries: {{ attempts: 3, backoff_base: 1ms, backoff_max: 10ms{retry_extra} }}
      - outlier_detection: {{ consecutive_gateway_failures: 2, base_ejection_time: 10s,
                              max_ejection_percent: 34% }}
      - health_check: {{ path: /health, interval: 1s, timeout: 500ms, unhealthy_threshold: 2,
                         healthy_threshold: 1 }}
access_log: {{ enabled: false }}
admin: {{ address: 127.0.0.1:{admin} }}
"""


class Origin:
    def __init__(self, work, port, status):
        self.dir = os.path.join(work, f"origin{port}")
        os.makedirs(os.path.join(self.dir, "logs"), exist_ok=True)
        with open(os.path.join(self.dir, "nginx.conf"), "w") as f:
            f.write(ORIGIN_CONF.format(port=port, status=status))
        self.port = port
        self.proc = None

    def start(self):
        with socket.socket() as probe:  # a leftover process on the port would serve instead
            if probe.connect_ex(("127.0.0.1", self.port)) == 0:
                raise RuntimeError(f"port {self.port} is taken: stop what listens there")
        log = os.path.join(self.dir, "logs/access.log")
        if os.path.exists(log):
            os.remove(log)
        self.proc = subprocess.Popen(["taskset", "-c", "1", "nginx", "-p", self.dir, "-c",
                                      "nginx.conf"], stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        wait_port(self.port)

    def kill(self):
        self.proc.kill()  # one process (master_process off): the port closes with it
        self.proc.wait()

    def requests(self):
        try:
            with open(os.path.join(self.dir, "logs/access.log")) as f:
                return sum(1 for _ in f)
        except FileNotFoundError:
            return 0


def wrk(url, seconds, conns=16):
    out = subprocess.run(["taskset", "-c", "1", "wrk", "-t1", f"-c{conns}", f"-d{seconds}s",
                          "--timeout", "5s", url], capture_output=True, text=True,
                         check=True).stdout
    total = int(re.search(r"(\d+) requests in", out).group(1))
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = int(non2xx.group(1)) if non2xx else 0
    sock = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    if sock:
        errors += sum(int(x) for x in sock.groups())
    return total, errors


def start_proxy(kind, work, outage, budget=True):
    port = free_port()
    d = os.path.join(work, f"{kind}-{port}")
    os.makedirs(os.path.join(d, "logs"), exist_ok=True)
    info = {"port": port}
    if kind == "nginx":
        with open(os.path.join(d, "nginx.conf"), "w") as f:
            f.write(NGINX_CONF.format(port=port, extra=" http_503" if outage else ""))
        cmd = ["nginx", "-p", d, "-c", "nginx.conf"]
    elif kind == "haproxy":
        sock = os.path.join(d, "stats.sock")
        with open(os.path.join(d, "haproxy.cfg"), "w") as f:
            f.write(HAPROXY_CONF.format(port=port, sock=sock, extra=" 503" if outage else ""))
        cmd = ["haproxy", "-db", "-f", os.path.join(d, "haproxy.cfg")]
        info["sock"] = sock
    else:
        admin = free_port()
        extra = ", statuses: [503]" if outage else ""
        if not budget:
            extra += ", budget_percent: 100%, budget_min: 100000"
        with open(os.path.join(d, "rampart.yaml"), "w") as f:
            f.write(RAMPART_CONF.format(port=port, admin=admin, retry_extra=extra))
        cmd = [BIN, "run", "-c", os.path.join(d, "rampart.yaml")]
        info["admin"] = admin
    proc = subprocess.Popen(["taskset", "-c", "0"] + cmd, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    wait_port(port)
    if "admin" in info:
        wait_port(info["admin"])
    info["proc"] = proc
    return info


def taken_out(kind, info, port):
    """Whether the proxy has taken origin `port` out of its pool (None: not observable)."""
    if kind == "rampart":
        with urllib.request.urlopen(f"http://127.0.0.1:{info['admin']}/admin/upstreams") as r:
            ups = json.loads(r.read())["upstreams"]
        for e in ups[0]["endpoints"]:
            if e["address"].endswith(f":{port}"):
                return not e["up"]
    if kind == "haproxy":
        s = socket.socket(socket.AF_UNIX)
        s.connect(info["sock"])
        s.sendall(b"show stat\n")
        data = b""
        while chunk := s.recv(65536):
            data += chunk
        s.close()
        for line in data.decode().splitlines():
            f = line.split(",")
            if len(f) > 17 and f[0] == "pool" and f[1] == f"s{port - 19200}":
                return f[17].startswith("DOWN")
    return None


def failover(kind, work, window):
    origins = [Origin(work, p, 200) for p in ORIGIN_PORTS]
    for o in origins:
        o.start()
    info = start_proxy(kind, work, outage=False)
    try:
        url = f"http://127.0.0.1:{info['port']}/"
        wrk(url, 2)  # warm-up: pools and health state settle
        result = {}
        t = threading.Thread(target=lambda: result.update(zip(("total", "errors"),
                                                               wrk(url, window))))
        t.start()
        time.sleep(3)
        victim = origins[2]
        killed = time.monotonic()
        victim.kill()
        ejected_ms = None
        while time.monotonic() - killed < 3.5:
            state = taken_out(kind, info, victim.port)
            if state is None:
                break
            if state:
                ejected_ms = (time.monotonic() - killed) * 1000
                break
            time.sleep(0.01)
        time.sleep(max(0.0, 4 - (time.monotonic() - killed)))
        victim.start()
        t.join()
        result["ejected_ms"] = ejected_ms
        return result
    finally:
        stop_all([info["proc"]])
        for o in origins:
            o.kill()


def outage(kind, work, budget=True, seconds=5):
    origins = [Origin(work, p, 503) for p in ORIGIN_PORTS]
    for o in origins:
        o.start()
    info = start_proxy(kind, work, outage=True, budget=budget)
    try:
        total, _ = wrk(f"http://127.0.0.1:{info['port']}/", seconds)
        seen = sum(o.requests() for o in origins)
        return {"client": total, "origin": seen, "amplification": seen / max(total, 1)}
    finally:
        stop_all([info["proc"]])
        for o in origins:
            o.kill()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--window", type=int, default=10)
    ap.add_argument("--rounds", type=int, default=1)
    args = ap.parse_args()
    work = tempfile.mkdtemp(prefix="rampart-failover-")
    for r in range(args.rounds):
        for kind in ("rampart", "nginx", "haproxy"):
            res = failover(kind, work, args.window)
            ej = f"{res['ejected_ms']:.0f} ms" if res["ejected_ms"] is not None else "n/a"
            print(f"round {r + 1} failover {kind:>8}: {res['errors']:5d} client-visible errors of "
                  f"{res['total']:7d} requests; taken out after {ej}", flush=True)
        for kind, budget in (("rampart", True), ("rampart", False), ("nginx", True),
                             ("haproxy", True)):
            res = outage(kind, work, budget)
            name = kind if kind != "rampart" else ("rampart" if budget else "rampart-nobudget")
            print(f"round {r + 1} outage   {name:>16}: origins saw {res['origin']:7d} requests for "
                  f"{res['client']:7d} client requests: x{res['amplification']:.2f}", flush=True)


if __name__ == "__main__":
    main()
