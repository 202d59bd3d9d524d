#!/usr/bin/env python3
"""RSS of each proxy (one worker, same origin) holding N idle keep-alive client connections.

Each connection sends one GET, reads the response, then stays open and idle. RSS is summed over
the proxy's process group (nginx master + worker, HAProxy, rampart) from /proc, after the
connections are idle. Prints one line per target and the rampart/nginx ratio.
  python3 bench/idle_rss.py          plain HTTP/1.1
  python3 bench/idle_rss.py --tls    TLS 1.3 (ECDSA P-256, http/1.1 by ALPN) on every proxy"""
import os
import ssl
import resource
import signal
import socket
import subprocess
import sys
import tempfile
import time

from benchlib import wait_port

N = int(os.environ.get("IDLE_CONNECTIONS", "10000"))
BIN = os.environ.get("RAMPART_BIN", "build/release/rampart")
ORIGIN, NGINX, HAPROXY, RAMPART = 19500, 19501, 19502, 19503


def pg_rss_kib(pgid):
    total = 0
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            if int(fields[2]) != pgid:
                continue
            with open(f"/proc/{pid}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
        except (FileNotFoundError, ProcessLookupError, IndexError):
            continue
    return total


def start(cmd):
    return subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)


def client_tls():
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ctx.set_alpn_protocols(["http/1.1"])
    return ctx


def hold_idle(port, n, tls):
    socks = []
    req = b"GET / HTTP/1.1\r\nHost: bench\r\n\r\n"
    ctx = client_tls() if tls else None
    for _ in range(n):
        s = socket.create_connection(("127.0.0.1", port))
        if ctx:
            s = ctx.wrap_socket(s)
        s.sendall(req)
        got = b""
        while b"\r\n\r\n" not in got:
            got += s.recv(4096)
        socks.append(s)
    return socks


def make_certificate(work):
    cert, key = f"{work}/cert.pem", f"{work}/key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                    "-nodes", "-days", "2", "-subj", "/CN=bench", "-keyout", key, "-out", cert],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    with open(f"{work}/both.pem", "w") as f:  # HAProxy wants certificate and key in one file
        f.write(open(cert).read() + open(key).read())
    return cert, key


def main():
    tls = "--tls" in sys.argv[1:]
    # Raise the soft descriptor limit to the hard one (inherited by the proxies we start).
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    if hard < N + 1000:
        raise SystemExit(f"descriptor limit {hard} is too low for {N} connections")
    work = tempfile.mkdtemp(prefix="rampart-idle-")
    os.makedirs(f"{work}/logs", exist_ok=True)
    cert, key = make_certificate(work) if tls else (None, None)
    nginx_tls = f" ssl; ssl_certificate {cert}; ssl_certificate_key {key}; ssl_protocols TLSv1.2 TLSv1.3" if tls else ""
    haproxy_tls = f" ssl crt {work}/both.pem alpn http/1.1" if tls else ""
    rampart_tls = f', tls: {{ cert: "{cert}", key: "{key}" }}' if tls else ""
    with open(f"{work}/nginx.conf", "w") as f:
        f.write(f"""daemon off; master_process on; worker_processes 1; worker_rlimit_nofile {hard};
pid {work}/nginx.pid; error_log {work}/logs/error.log warn;
events {{ worker_connections {N + 1000}; }}
http {{ access_log off; keepalive_timeout 300s; keepalive_requests 1000000;
  client_body_temp_path {work}/body; proxy_temp_path {work}/proxy;
  upstream origin {{ server 127.0.0.1:{ORIGIN}; keepalive 128; }}
  server {{ listen 127.0.0.1:{NGINX} backlog=4096{nginx_tls};
    location / {{ proxy_pass http://origin; proxy_http_version 1.1; proxy_set_header Connection ""; }} }}
  server {{ listen 127.0.0.1:{ORIGIN} backlog=4096; location / {{ return 200 "ok"; }} }} }}
""")
    # HAProxy reserves two descriptors per connection: under a low hard limit it holds fewer
    # connections than N, and its row says how many.
    haproxy_maxconn = min(N + 1000, (hard - 100) // 2)
    with open(f"{work}/haproxy.cfg", "w") as f:
        f.write(f"""global
    nbthread 1
    maxconn {haproxy_maxconn}
defaults
    mode http
    option http-keep-alive
    http-reuse always
    timeout connect 5s
    timeout client 300s
    timeout server 300s
    timeout http-keep-alive 300s
frontend fe
    bind 127.0.0.1:{HAPROXY}{haproxy_tls}
    default_backend origin
backend origin
    server o1 127.0.0.1:{ORIGIN}
""")
    with open(f"{work}/rampart.yaml", "w") as f:
        f.write(f"""workers: 1
listeners: [{{ name: b, address: "127.0.0.1:{RAMPART}", limits: {{ idle_timeout: 300s }}{rampart_tls} }}]
routes: [{{ upstream: origin }}]
upstreams: {{ origin: {{ endpoints: ["127.0.0.1:{ORIGIN}"] }} }}
access_log: {{ enabled: false }}
admin: {{ enabled: false }}
""")
    # nginx serves as the origin too (same process group as the nginx proxy: measure the proxy
    # separately by giving the origin its own nginx).
    with open(f"{work}/origin.conf", "w") as f:
        f.write(f"""daemon off; master_process on; worker_processes 1; worker_rlimit_nofile {hard};
pid {work}/origin.pid; error_log {work}/logs/origin.log warn;
events {{ worker_connections 4096; }}
http {{ access_log off; keepalive_requests 1000000; client_body_temp_path {work}/obody;
  server {{ listen 127.0.0.1:{ORIGIN} backlog=4096; location / {{ return 200 "ok"; }} }} }}
""")
    # the proxy conf must not also listen on the origin port
    conf = open(f"{work}/nginx.conf").read()
    conf = conf.replace(f'  server {{ listen 127.0.0.1:{ORIGIN} backlog=4096; location / {{ return 200 "ok"; }} }} }}', "}")
    open(f"{work}/nginx.conf", "w").write(conf)
    origin = start(["nginx", "-p", work, "-c", f"{work}/origin.conf", "-e", f"{work}/logs/o.log"])
    wait_port(ORIGIN)
    targets = [
        ("nginx", ["nginx", "-p", work, "-c", f"{work}/nginx.conf", "-e", f"{work}/logs/n.log"], NGINX, N),
        ("haproxy", ["haproxy", "-db", "-f", f"{work}/haproxy.cfg"], HAPROXY, min(N, haproxy_maxconn - 50)),
        ("rampart", [BIN, "run", "-c", f"{work}/rampart.yaml"], RAMPART, N),
    ]
    results = {}
    try:
        for name, cmd, port, count in targets:
            p = start(cmd)
            try:
                wait_port(port)
                base = pg_rss_kib(p.pid)
                socks = hold_idle(port, count, tls)
                time.sleep(2)  # let the proxies settle (buffers released on idle)
                rss = pg_rss_kib(p.pid)
                results[name] = (base, rss, count)
                print(f"{name:8s} idle connections={count}  RSS before={base / 1024:.1f} MiB  "
                      f"with connections={rss / 1024:.1f} MiB  per connection={(rss - base) * 1024 / count:.0f} B",
                      flush=True)
                for s in socks:
                    s.close()
            finally:
                os.killpg(p.pid, signal.SIGTERM)
                p.wait(timeout=20)
    finally:
        os.killpg(origin.pid, signal.SIGTERM)
        origin.wait(timeout=20)
    kind = "TLS " if tls else ""
    if "nginx" in results and "rampart" in results:
        print(f"ratio rampart/nginx RSS with {N} idle {kind}connections: {results['rampart'][1] / results['nginx'][1]:.2f}"
              + ("" if tls else " (goal <= 2.0)"))
    if "haproxy" in results and "rampart" in results:
        per = lambda r: (r[1] - r[0]) / r[2]
        print(f"ratio rampart/haproxy memory per idle connection: {per(results['rampart']) / per(results['haproxy']):.2f}"
              f" (haproxy held {results['haproxy'][2]})")


if __name__ == "__main__":
    sys.exit(main())
