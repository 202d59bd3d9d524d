#!/usr/bin/env python3
"""Slow clients side by side with nginx and HAProxy (issue 14): 1,000 slow connections from one
address, one attack at a time, while a well-behaved client opens a new connection for each GET.

  head   slowloris: a request head that never ends, one more header line every 5 s
  body   a POST declaring 1 MB whose body trickles one byte every 5 s
  read   a GET of a 1 MiB response by a client with a 4 KiB receive buffer that reads 100 bytes
         every 5 s

The attacker reopens every connection the proxy closes, so the proxy always faces 1,000.
Reported per proxy and attack: the good client's success rate and p99 (against its unloaded p99,
measured just before on the same proxy), the attack connections the proxy cut, and the
connections the proxy held open to the origin at the end (a slow upload that the proxy streams
holds one). Goal: success 100% and p99 under 2x unloaded.

Each proxy runs with one worker alone on CPU 0; the origin (rampart's demo origin, which reads a
whole request body before it answers, as an application does), the attacker and the good client
on CPU 1. Settings:
  rampart  its defaults (header_timeout 10s, min_request_body_rate and min_response_rate
           512 B/s over 10 s) and buffer_request_body: 64KiB
  nginx    its defaults (client_header_timeout, client_body_timeout, send_timeout 60s; request
           bodies buffered before the upstream is connected)
  HAProxy  the peers' timeouts (timeout http-request 10s, timeout client 65s); bodies stream

  python3 bench/slow_clients.py [--conns 1000] [--measure 10] [--attacks head,body,read]"""
import argparse
import asyncio
import os
import socket
import subprocess
import tempfile
import time
import urllib.request

from benchlib import BIN, stop_all, wait_port

ORIGIN_PORT = 19300
PORTS = {"rampart": 19301, "nginx": 19302, "haproxy": 19303}

NGINX_CONF = """daemon off;
master_process on;
worker_processes 1;
worker_rlimit_nofile 16384;
pid proxy.pid;
error_log logs/proxy-error.log crit;
events {{ worker_connections 8192; }}
http {{
    access_log off;
    keepalive_requests 1000000;
    client_body_temp_path tmp/body;
    proxy_temp_path tmp/proxy;
    upstream origin {{ server 127.0.0.1:{origin}; keepalive 128; }}
    server {{
        listen 127.0.0.1:{port} backlog=4096;
        location / {{
            proxy_pass http://origin;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
        }}
    }}
}}
"""

HAPROXY_CONF = """global
    nbthread 1
    maxconn 8000
defaults
    mode http
    option http-keep-alive
    http-reuse always
    timeout connect 5s
    timeout client 65s
    timeout server 65s
    timeout http-request 10s
    timeout http-keep-alive 65s
frontend fe
    bind 127.0.0.1:{port} backlog 4096
    default_backend origin
backend origin
    server o1 127.0.0.1:{origin}
"""

RAMPART_CONF = """workers: 1
listeners:
  - {{ name: bench, address: 127.0.0.1:{port}, limits: {{ buffer_request_body: 64KiB }} }}
routes: [{{ name: all, upstream: origin }}]
upstreams:
  origin: {{ endpoints: [127.0.0.1:{origin}], keepalive: {{ max_idle: 128 }} }}
access_log: {{ enabled: false }}
admin: {{ address: 127.0.0.1:{admin} }}
"""

ATTACK_PERIOD = 5.0


class Attack:
    """`conns` slow connections of one kind, each reopened when the proxy closes it."""

    def __init__(self, kind, port, conns):
        self.kind, self.port, self.conns = kind, port, conns
        self.open = 0
        self.cut = 0
        self.stopping = False

    async def one(self, i):
        await asyncio.sleep(i * 0.004)  # 250 new connections a second while ramping up
        while not self.stopping:
            writer = None
            try:
                sock = socket.socket()
                sock.setblocking(False)
                if self.kind == "read":
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
                await asyncio.get_running_loop().sock_connect(sock, ("127.0.0.1", self.port))
                reader, writer = await asyncio.open_connection(sock=sock)
                self.open += 1
                try:
                    await self.hold(reader, writer)
                finally:
                    self.open -= 1
            except (OSError, asyncio.IncompleteReadError):
                pass
            finally:
                if writer is not None:
                    writer.close()
            if not self.stopping:
                self.cut += 1
                await asyncio.sleep(0.05)

    async def hold(self, reader, writer):
        if self.kind == "head":
            writer.write(b"GET / HTTP/1.1\r\nHost: bench\r\n")
        elif self.kind == "body":
            writer.write(b"POST /?echo=body HTTP/1.1\r\nHost: bench\r\nContent-Length: 1000000\r\n\r\n")
        else:
            writer.write(b"GET /?size=1048576 HTTP/1.1\r\nHost: bench\r\n\r\n")
        await writer.drain()
        n = 0
        while not self.stopping:
            if self.kind == "read":
                try:
                    data = await asyncio.wait_for(reader.read(100), ATTACK_PERIOD)
                except asyncio.TimeoutError:
                    continue
                if not data:
                    return
                await asyncio.sleep(ATTACK_PERIOD)
                continue
            # head/body: a proxy that answers (408, 400) or closes ends this connection
            try:
                data = await asyncio.wait_for(reader.read(1), ATTACK_PERIOD)
                return  # an answer or the end: the proxy cut it
            except asyncio.TimeoutError:
                pass
            n += 1
            writer.write(b"X-Slow-%d: x\r\n" % n if self.kind == "head" else b"x")
            await writer.drain()


async def good_client(port, seconds, pace=0.02):
    """GET / on a new connection each time for `seconds`: (latencies in ms, failures)."""
    lat, failed = [], 0
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        t0 = time.monotonic()
        try:
            reader, writer = await asyncio.wait_for(
                asyncio.open_connection("127.0.0.1", port), 5)
            writer.write(b"GET / HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n")
            await writer.drain()
            data = await asyncio.wait_for(reader.read(), 5)
            writer.close()
            if data.startswith(b"HTTP/1.1 200"):
                lat.append((time.monotonic() - t0) * 1000)
            else:
                failed += 1
        except (OSError, asyncio.TimeoutError):
            failed += 1
        await asyncio.sleep(pace)
    return lat, failed


def p(values, q):
    values = sorted(values)
    return values[int(q * (len(values) - 1))] if values else float("nan")


def origin_connections():
    out = subprocess.run(["ss", "-Htn", "state", "established", "dst", f"127.0.0.1:{ORIGIN_PORT}"],
                         capture_output=True, text=True).stdout
    return len(out.splitlines())


async def scenario(kind, port, conns, measure):
    base, base_failed = await good_client(port, measure)
    attack = Attack(kind, port, conns)
    tasks = [asyncio.create_task(attack.one(i)) for i in range(conns)]
    await asyncio.sleep(conns * 0.004 + 2)  # ramped up
    loaded, failed = await good_client(port, measure)
    held_open, held_origin, cut = attack.open, origin_connections(), attack.cut
    attack.stopping = True
    for t in tasks:
        t.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    return {"base_p99": p(base, 0.99), "base_failed": base_failed, "p50": p(loaded, 0.5),
            "p99": p(loaded, 0.99), "ok": len(loaded), "failed": failed, "open": held_open,
            "cut": cut, "origin_conns": held_origin}


def start_proxy(name, work, procs):
    port = PORTS[name]
    if name == "rampart":
        admin = port + 100
        cfg = os.path.join(work, "rampart.yaml")
        with open(cfg, "w") as f:
            f.write(RAMPART_CONF.format(port=port, origin=ORIGIN_PORT, admin=admin))
        cmd = ["taskset", "-c", "0", BIN, "run", "-c", cfg]
    elif name == "nginx":
        cfg = os.path.join(work, "nginx-proxy.conf")
        with open(cfg, "w") as f:
            f.write(NGINX_CONF.format(port=port, origin=ORIGIN_PORT))
        cmd = ["taskset", "-c", "0", "nginx", "-p", work, "-c", "nginx-proxy.conf"]
    else:
        cfg = os.path.join(work, "haproxy.cfg")
        with open(cfg, "w") as f:
            f.write(HAPROXY_CONF.format(port=port, origin=ORIGIN_PORT))
        cmd = ["taskset", "-c", "0", "haproxy", "-db", "-f", cfg]
    proc = subprocess.Popen(cmd, cwd=work, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    procs.append(proc)
    wait_port(port)
    return proc


def rampart_slow_counts(port):
    with urllib.request.urlopen(f"http://127.0.0.1:{port + 100}/metrics", timeout=5) as r:
        text = r.read().decode()
    out = {}
    for line in text.splitlines():
        if line.startswith("rampart_slow_clients_total{"):
            phase = line.split('phase="')[1].split('"')[0]
            out[phase] = int(float(line.rsplit(" ", 1)[1]))
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--conns", type=int, default=1000)
    ap.add_argument("--measure", type=float, default=20)
    ap.add_argument("--attacks", default="head,body,read")
    ap.add_argument("--proxies", default="rampart,nginx,haproxy")
    args = ap.parse_args()
    os.sched_setaffinity(0, {1})
    procs = []
    with tempfile.TemporaryDirectory() as work:
        for d in ("logs", "tmp/body", "tmp/proxy"):
            os.makedirs(os.path.join(work, d), exist_ok=True)
        procs.append(subprocess.Popen(["taskset", "-c", "1", BIN, "demo-origin", "--listen",
                                       f"127.0.0.1:{ORIGIN_PORT}", "--threads", "1"],
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        wait_port(ORIGIN_PORT)
        try:
            rows = []
            for kind in args.attacks.split(","):
                for name in args.proxies.split(","):
                    proxy = start_proxy(name, work, procs)
                    r = asyncio.run(scenario(kind, PORTS[name], args.conns, args.measure))
                    if name == "rampart":
                        r["slow"] = rampart_slow_counts(PORTS[name])
                    stop_all([proxy])
                    procs.remove(proxy)
                    time.sleep(1)
                    rows.append((kind, name, r))
                    total = r["ok"] + r["failed"]
                    print(f"{kind:5} {name:8} good client: {r['ok']}/{total} ok "
                          f"({100.0 * r['ok'] / max(total, 1):.1f}%), p50 {r['p50']:.2f} ms, "
                          f"p99 {r['p99']:.2f} ms = {r['p99'] / r['base_p99']:.2f}x unloaded "
                          f"({r['base_p99']:.2f} ms); attack conns open {r['open']}, cut "
                          f"{r['cut']}; origin conns {r['origin_conns']}"
                          + (f"; rampart_slow_clients_total {r['slow']}" if "slow" in r else ""),
                          flush=True)
        finally:
            stop_all(procs)


if __name__ == "__main__":
    main()
