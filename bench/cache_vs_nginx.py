#!/usr/bin/env python3
"""The response cache side by side with nginx's proxy_cache (issue 18), rounds interleaved (every
other round in reverse order), reporting ratios. Three parts:

  hit       the hit path: rampart with a cache gate on its route against nginx proxy_cache
            (proxy_cache_path under /dev/shm, proxy_cache_lock on), one worker each pinned to
            CPU 0, wrk -c64 keep-alive on CPU 1, a 1 KiB and a 16 KiB object (the origin sends
            Cache-Control: public, max-age=3600). Both caches are warmed and checked to answer
            from cache (X-Rampart-Cache: HIT; nginx: add_header X-Cache $upstream_cache_status)
            before measuring, and the origin's request count (stub_status) during each run shows
            it was not asked. req/s and proxy CPU per request (CPU time of all the proxy's
            threads, from schedstat in nanoseconds, / requests); goal: rampart/nginx CPU per request <= 0.8x.
  miss      the miss path's overhead: a rampart route with the cache gate whose answers are all
            uncacheable (the origin sends Cache-Control: no-store) against a route of the same
            rampart without the gate; goal: CPU per request ratio <= 1.05x.
  miss_paired  the same overhead with both sides loaded at once: two rampart processes of that
            configuration share CPU 0, two wrk (CPU 1) load the gate's route on one and the plain
            route on the other concurrently, the processes swapping sides every round; each
            process's CPU per request is its own, and whatever slows the machine during a round
            slows both alike.
  stampede  a hot key expiring under load: a slow origin in this script (ThreadingHTTPServer,
            every answer 200 ms late, Cache-Control: public, max-age=2, 4 KiB) behind rampart
            and behind nginx (proxy_cache_lock on; proxy_cache_lock_timeout 5s;
            proxy_cache_use_stale updating error timeout; proxy_cache_background_update on).
            Cold start: 1,000 clients connect, then all send the same request for a key not yet
            cached at once; the origin requests that caused. Hot key: wrk -t1 -c1000 --latency
            for --duration on one cached key; the origin requests during the run, the expiries
            it spanned (duration / max-age), origin requests per expiry, non-2xx answers and
            socket errors, p99 latency.

rampart's cache gate gets coalesce_timeout, stale_while_revalidate, stale_if_error and
early_refresh; a build that does not know one of them yet (`unknown key` at validation) runs
without it and the output says so. The rampart binary is copied at start, so a rebuild during the
run does not mix builds. The origin for hit and miss is an nginx of this script's own (pinned to
CPU 1, fixed bodies from memory); this script and its slow origin also run on CPU 1.

  python3 bench/cache_vs_nginx.py [--duration 10] [--rounds 3]
                                  [--only hit|miss|miss_paired|stampede]
                                  [--conns 1000]
Exits non-zero only when something failed to run, not when a goal is missed."""
import argparse
import asyncio
import http.client
import http.server
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import traceback

from benchlib import BIN, PEERS, free_port, run_wrk, wait_port

NEW_KEYS = ("coalesce_timeout", "stale_while_revalidate", "stale_if_error", "early_refresh")
CACHE_GATE = {"max_bytes": "64MiB", "coalesce_timeout": "5s", "stale_while_revalidate": "10s",
              "stale_if_error": "60s", "early_refresh": "1.0"}

RAMPART_CONF = """workers: 1
listeners:
  - {{ name: bench, address: 127.0.0.1:{port}, limits: {{ idle_timeout: 65s }} }}
routes:
  - name: cached
    match: {{ path_prefix: /c/ }}
    upstream: origin
    gates:
      - cache: {{ {gate} }}
  - name: plain
    upstream: origin
upstreams:
  origin: {{ endpoints: [127.0.0.1:{origin}], keepalive: {{ max_idle: 128, idle_timeout: 60s }} }}
access_log: {{ enabled: false }}
admin: {{ enabled: false }}
"""

KIB = "x" * 1024
# As cheap as the peers' origin (one worker, no log, bodies from memory by `return`): /…/1k and
# /…/16k cacheable for an hour, /…/nostore never; stub_status counts the requests it served.
ORIGIN_CONF = """daemon off;
master_process on;
worker_processes 1;
worker_rlimit_nofile 16384;
pid origin.pid;
error_log logs/origin-error.log warn;
events {{ worker_connections 8192; }}
http {{
    access_log off;
    server_tokens off;
    default_type application/octet-stream;
    keepalive_timeout 65s;
    keepalive_requests 1000000;
    client_body_temp_path tmp/origin-body;
    server {{
        listen 127.0.0.1:{port} backlog=4096;
        set $k "{kib}";
        location = /_status {{ stub_status; }}
        location ~ /1k$ {{
            add_header Cache-Control "public, max-age=3600";
            return 200 $k;
        }}
        location ~ /16k$ {{
            add_header Cache-Control "public, max-age=3600";
            return 200 "$k$k$k$k$k$k$k$k$k$k$k$k$k$k$k$k";
        }}
        location ~ /nostore$ {{
            add_header Cache-Control "no-store";
            return 200 $k;
        }}
        location / {{ return 404; }}
    }}
}}
"""

# One worker like rampart, upstream keep-alive as in the peers' nginx-proxy.conf, sendfile on
# (Debian's default nginx.conf; cached bodies are files on tmpfs), the cache in memory.
NGINX_CONF = """daemon off;
master_process on;
worker_processes 1;
worker_rlimit_nofile 16384;
pid proxy.pid;
error_log logs/proxy-error.log warn;
events {{ worker_connections 8192; }}
http {{
    access_log off;
    server_tokens off;
    default_type application/octet-stream;
    keepalive_timeout 65s;
    keepalive_requests 1000000;
    sendfile on;
    client_body_temp_path tmp/proxy-body;
    proxy_temp_path tmp/proxy-temp;
    proxy_cache_path {cache_dir} levels=1:2 keys_zone=bench:16m max_size=64m inactive=1h
                     use_temp_path=off;
    upstream origin {{
        server 127.0.0.1:{origin};
        keepalive 128;
        keepalive_requests 1000000;
        keepalive_timeout 60s;
    }}
    server {{
        listen 127.0.0.1:{port} backlog=4096;
        location / {{
            proxy_pass http://origin;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_cache bench;
            proxy_cache_lock on;
            proxy_cache_lock_timeout 5s;
            proxy_cache_use_stale updating error timeout;
            proxy_cache_background_update on;
            add_header X-Cache $upstream_cache_status always;
        }}
    }}
}}
"""

SLOW_DELAY = 0.2
SLOW_MAX_AGE = 2
SLOW_BODY = b"s" * 4096


class Env:
    """The run's folders, its copy of the rampart binary and the cache keys it accepts."""

    def __init__(self):
        self.work = tempfile.mkdtemp(prefix="rampart-cachebench-")
        self.shm = tempfile.mkdtemp(prefix="rampart-cachebench-", dir="/dev/shm")
        for d in (self.work, self.shm):  # nginx's workers (user nobody) go through them
            os.chmod(d, 0o755)
        for d in ("logs", "tmp"):
            os.makedirs(os.path.join(self.work, d), exist_ok=True)
        self.bin = os.path.join(self.work, "rampart")
        self.gate = None
        self.dropped = []

    def cleanup(self, keep_logs=False):
        shutil.rmtree(self.shm, ignore_errors=True)
        if keep_logs:
            print(f"configs and logs kept in {self.work}")
        else:
            shutil.rmtree(self.work, ignore_errors=True)

    def snapshot_binary(self):
        """Copies build/release/rampart (it may be mid-rebuild: waits up to 2 minutes for a copy
        that runs)."""
        deadline = time.monotonic() + 120
        while True:
            try:
                shutil.copy2(BIN, self.bin)
                out = subprocess.run([self.bin, "version"], capture_output=True, text=True,
                                     timeout=10)
                if out.returncode == 0:
                    return out.stdout.strip()
            except (OSError, subprocess.SubprocessError):
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"{BIN} is missing or does not run")
            time.sleep(2)

    def settle_gate(self):
        """The cache gate's settings this binary accepts: keys of NEW_KEYS it reports as unknown
        are dropped; any other validation error is fatal."""
        settings = dict(CACHE_GATE)
        for _ in range(len(NEW_KEYS) + 1):
            text = rampart_text(settings, 1, 2)
            path = os.path.join(self.work, "validate.yaml")
            with open(path, "w") as f:
                f.write(text)
            out = subprocess.run([self.bin, "validate", "-c", path], capture_output=True,
                                 text=True)
            if out.returncode == 0:
                self.gate = settings
                return
            msg = out.stdout + out.stderr
            unknown = {k for k in re.findall(r"unknown key '(\w+)' in routes\.cached\.gates", msg)
                       if k in settings and k in NEW_KEYS}
            if not unknown:
                raise RuntimeError(f"rampart refuses the bench config:\n{msg}")
            for k in sorted(unknown):
                del settings[k]
                self.dropped.append(k)
        raise RuntimeError("could not settle the cache gate's settings")


def rampart_text(gate, port, origin):
    return RAMPART_CONF.format(port=port, origin=origin,
                               gate=", ".join(f"{k}: {v}" for k, v in gate.items()))


class Procs:
    """Processes this script started, stopped by PID (SIGTERM, then SIGKILL after 20 s)."""

    def __init__(self, work):
        self.work = work
        self.procs = []

    def start(self, cmd, cwd=None):
        """Starts `cmd`, its stderr in a file (p.err_path) of the run's folder."""
        err_path = os.path.join(self.work, "logs", f"stderr-{len(self.procs)}-{time.time():.0f}")
        with open(err_path, "w") as err:
            p = subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.DEVNULL, stderr=err)
        p.err_path = err_path
        self.procs.append(p)
        return p

    def stop_all(self):
        for p in reversed(self.procs):
            if p.poll() is None:
                p.terminate()
        for p in reversed(self.procs):
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        self.procs = []


def started(p, port, what):
    try:
        wait_port(port)
    except RuntimeError:
        with open(p.err_path, errors="replace") as f:
            err = f.read()[-2000:]
        raise RuntimeError(f"{what} did not open port {port}: {err}")


def start_origin(env, procs):
    port = free_port()
    with open(os.path.join(env.work, "origin.conf"), "w") as f:
        f.write(ORIGIN_CONF.format(port=port, kib=KIB))
    p = procs.start(["taskset", "-c", "1", "nginx", "-p", env.work, "-c", "origin.conf"])
    started(p, port, "the nginx origin")
    return port


def start_rampart(env, procs, origin, **overrides):
    """`overrides`: cache gate settings that replace the run's (e.g. early_refresh="0")."""
    port = free_port()
    path = os.path.join(env.work, f"rampart-{port}.yaml")
    gate = dict(env.gate)
    gate.update({k: v for k, v in overrides.items() if k in gate})
    with open(path, "w") as f:
        f.write(rampart_text(gate, port, origin))
    p = procs.start(["taskset", "-c", "0", env.bin, "run", "-c", path])
    started(p, port, "rampart")
    return port, p.pid


def start_nginx(env, procs, origin):
    port = free_port()
    cache_dir = os.path.join(env.shm, f"nginx-cache-{port}")  # nginx makes it for its workers
    with open(os.path.join(env.work, "proxy.conf"), "w") as f:
        f.write(NGINX_CONF.format(port=port, origin=origin, cache_dir=cache_dir))
    p = procs.start(["taskset", "-c", "0", "nginx", "-p", env.work, "-c", "proxy.conf"])
    started(p, port, "nginx")
    return port, p.pid


def tree_cpu_ns(pid):
    """{task id: CPU nanoseconds} of every thread of a process and its children (nginx: master,
    worker, cache manager and loader; rampart: its threads), from /proc/PID/task/TID/schedstat:
    nanosecond counts where utime+stime would round each run to 10 ms ticks."""
    pids = [pid]
    out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout
    pids += [int(x) for x in out.split()]
    ns = {}
    for p in pids:
        try:
            tids = os.listdir(f"/proc/{p}/task")
        except OSError:
            continue
        for t in tids:
            try:
                with open(f"/proc/{p}/task/{t}/schedstat") as f:
                    ns[int(t)] = int(f.read().split()[0])
            except (OSError, IndexError, ValueError):
                pass
    return ns


def get(port, path, headers=None):
    """(status, {lower-case name: value}, body) of one GET."""
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        c.request("GET", path, headers=headers or {})
        r = c.getresponse()
        body = r.read()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, body
    finally:
        c.close()


def origin_served(origin):
    """Requests the nginx origin has handled (stub_status), the status request included."""
    _, _, body = get(origin, "/_status")
    return int(body.decode().splitlines()[2].split()[2])


def cache_status(headers):
    return headers.get("x-rampart-cache") or headers.get("x-cache") or "-"


def measure(pid, url, duration, origin=None):
    """(req/s, proxy CPU us per request, origin requests during the run) for one wrk run."""
    o0 = origin_served(origin) if origin else 0
    before = tree_cpu_ns(pid)
    rps, total = run_wrk(url, duration, all_2xx=True)
    after = tree_cpu_ns(pid)
    cpu = sum(after[p] - t for p, t in before.items() if p in after)
    o1 = origin_served(origin) if origin else 0
    return rps, cpu / 1e3 / max(total, 1), max(o1 - o0 - 1, 0)


def abba(items, r):
    """A round's runs: in order on even rounds, reversed on odd ones."""
    items = list(items)
    return items if r % 2 == 0 else items[::-1]


def med(values):
    return statistics.median(values) if values else float("nan")


def median_interval(values):
    """A distribution-free 95% confidence interval of the median: the order statistics k and
    n-1-k with k = floor(n/2 - 0.98 sqrt(n)) (the binomial's normal approximation); the whole
    range below about six values."""
    v = sorted(values)
    if not v:
        return float("nan"), float("nan")
    k = max(0, int(len(v) / 2 - 0.98 * len(v) ** 0.5))
    return v[k], v[len(v) - 1 - k]


def ratios(results, a, b, i):
    """a/b of field i, round by round (a round's runs are closest in time)."""
    return [x[i] / y[i] for x, y in zip(results[a], results[b]) if y[i]]


def paired(results, a, b, i):
    """Median over rounds of a/b of field i."""
    return med(ratios(results, a, b, i))


def part_hit(env, args):
    procs = Procs(env.work)
    try:
        origin = start_origin(env, procs)
        rport, rpid = start_rampart(env, procs, origin)
        nport, npid = start_nginx(env, procs, origin)
        targets = {}
        for size in ("1k", "16k"):
            for name, port, pid in (("rampart", rport, rpid), ("nginx", nport, npid)):
                targets[(size, name)] = (f"http://127.0.0.1:{port}/c/{size}", port, pid)
        for (size, name), (url, port, _) in targets.items():
            run_wrk(url, 1, all_2xx=True)  # warm-up: fills the cache
            status, headers, body = get(port, f"/c/{size}")
            seen = cache_status(headers)
            print(f"check {name:7} /c/{size:3}: {status}, {len(body)} bytes, cache status {seen}",
                  flush=True)
            if status != 200 or seen != "HIT":
                raise RuntimeError(f"{name} did not answer /c/{size} from its cache ({status}, "
                                   f"{seen}): the hit figures would be about another path")
        results = {k: [] for k in targets}
        for r in range(args.rounds):
            # Every other round in reverse order (ABBA): a drift in the machine's speed over a
            # round weighs on both sides alike.
            for key, (url, _, pid) in abba(targets.items(), r):
                time.sleep(0.5)
                res = measure(pid, url, args.duration, origin)
                results[key].append(res)
                print(f"round {r + 1} {key[0]:>3} {key[1]:7}: {res[0]:9.0f} req/s  "
                      f"{res[1]:6.2f} us CPU/request  origin requests {res[2]}", flush=True)
        print()
        print("hit path (medians over rounds; ratios: median of per-round rampart/nginx)")
        print(f"{'object':6} {'proxy':8} {'req/s':>9} {'us CPU/req':>11} {'origin req':>10}")
        for size in ("1k", "16k"):
            for name in ("rampart", "nginx"):
                v = results[(size, name)]
                print(f"{size:6} {name:8} {med([x[0] for x in v]):9.0f} "
                      f"{med([x[1] for x in v]):11.2f} {max(x[2] for x in v):10d}")
            cpu = paired(results, (size, "rampart"), (size, "nginx"), 1)
            rps = paired(results, (size, "rampart"), (size, "nginx"), 0)
            print(f"{size:6} {'ratio':8} {rps:8.3f}x {cpu:10.3f}x   CPU/req goal <= 0.8x: "
                  f"{'met' if cpu <= 0.8 else 'MISSED'}")
        print("(origin req: the most origin requests any one run caused; 0 = all hits)")
    finally:
        procs.stop_all()


def check_miss_routes(port):
    """Both miss routes of a rampart answer 200 as set up: the plain one without the gate's
    status header, the gate's with MISS (an uncacheable answer)."""
    for name, path in (("plain", "/p/nostore"), ("cache_gate", "/c/nostore")):
        run_wrk(f"http://127.0.0.1:{port}{path}", 1, all_2xx=True)  # warm-up
        status, headers, body = get(port, path)
        seen = headers.get("x-rampart-cache", "-")
        print(f"check {name:10} {path}: {status}, {len(body)} bytes, "
              f"cache-control {headers.get('cache-control')}, X-Rampart-Cache {seen}", flush=True)
        want = "-" if name == "plain" else "MISS"
        if status != 200 or seen != want:
            raise RuntimeError(f"{path}: expected X-Rampart-Cache {want}, got {seen}")


def print_miss_summary(title, results, duration=None):
    """Medians of both routes and the paired ratios; `duration`: also the origin requests per
    request (results then hold measure()'s third field)."""
    print()
    print(f"{title} (medians over rounds)")
    extra = f" {'origin req/req':>14}" if duration else ""
    print(f"{'route':22} {'req/s':>9} {'us CPU/req':>11}{extra}")
    for name, label in (("plain", "plain (no gate)"), ("cache_gate", "cache gate, no-store")):
        v = results[name]
        line = f"{label:22} {med([x[0] for x in v]):9.0f} {med([x[1] for x in v]):11.2f}"
        if duration:
            line += f" {med([x[2] / max(x[0] * duration, 1) for x in v]):14.2f}"
        print(line)
    cpu_ratios = ratios(results, "cache_gate", "plain", 1)
    cpu = med(cpu_ratios)
    rps = paired(results, "cache_gate", "plain", 0)
    lo, hi = median_interval(cpu_ratios)
    verdict = "met" if hi <= 1.05 else "MISSED" if lo > 1.05 else "undecided (interval spans it)"
    print(f"{'ratio gate/plain':22} {rps:8.3f}x {cpu:10.3f}x   CPU/req goal <= 1.05x: {verdict}")
    print(f"{'':22} {'':9} {'':1}95% interval of the median ratio: {lo:.3f}x to {hi:.3f}x")


def part_miss(env, args):
    procs = Procs(env.work)
    try:
        origin = start_origin(env, procs)
        rport, rpid = start_rampart(env, procs, origin)
        targets = {"plain": "/p/nostore", "cache_gate": "/c/nostore"}
        check_miss_routes(rport)
        results = {k: [] for k in targets}
        for r in range(args.rounds):
            for name, path in abba(targets.items(), r):
                time.sleep(0.5)
                res = measure(rpid, f"http://127.0.0.1:{rport}{path}", args.duration, origin)
                results[name].append(res)
                print(f"round {r + 1} {name:10}: {res[0]:9.0f} req/s  {res[1]:6.2f} us "
                      f"CPU/request  origin requests {res[2]}", flush=True)
        print_miss_summary("miss path: every answer no-store", results, args.duration)
    finally:
        procs.stop_all()


def part_miss_paired(env, args):
    """The miss path's overhead with both sides loaded at the same time: two rampart processes of
    the same configuration share CPU 0, one wrk sends /c/nostore (the gate) to one and another
    /p/nostore (no gate) to the other, concurrently; each process's CPU per request is its
    own. Whatever slows the machine during a round slows both sides alike, which one after the
    other (part miss) cannot promise. The processes swap sides every round."""
    procs = Procs(env.work)
    try:
        origin = start_origin(env, procs)
        servers = [start_rampart(env, procs, origin) for _ in range(2)]
        for port, _ in servers:
            check_miss_routes(port)
        results = {"plain": [], "cache_gate": []}
        for r in range(args.rounds):
            sides = {"cache_gate": servers[r % 2], "plain": servers[1 - r % 2]}
            time.sleep(0.5)
            out = {}

            def load(name, port, pid):
                path = "/c/nostore" if name == "cache_gate" else "/p/nostore"
                out[name] = measure(pid, f"http://127.0.0.1:{port}{path}", args.duration)

            threads = [threading.Thread(target=load, args=(n, port, pid))
                       for n, (port, pid) in sides.items()]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            if len(out) != 2:
                raise RuntimeError("a load run failed")
            for name in results:
                results[name].append(out[name])
            print(f"round {r + 1}: plain {out['plain'][0]:8.0f} req/s {out['plain'][1]:6.2f} us"
                  f"   cache gate {out['cache_gate'][0]:8.0f} req/s "
                  f"{out['cache_gate'][1]:6.2f} us   ratio "
                  f"{out['cache_gate'][1] / out['plain'][1]:.3f}", flush=True)
        print_miss_summary("miss path, both sides at once", results)
    finally:
        procs.stop_all()


class SlowOrigin(http.server.ThreadingHTTPServer):
    """Every GET answered SLOW_DELAY late with SLOW_BODY, fresh for SLOW_MAX_AGE seconds;
    counts requests per path (counted on arrival)."""
    daemon_threads = True
    request_queue_size = 4096

    def __init__(self):
        self.counts = {}
        self.lock = threading.Lock()
        super().__init__(("127.0.0.1", 0), SlowHandler)

    def count(self, path):
        with self.lock:
            return self.counts.get(path, 0)


class SlowHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):
        with self.server.lock:
            self.server.counts[self.path] = self.server.counts.get(self.path, 0) + 1
        time.sleep(SLOW_DELAY)
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(len(SLOW_BODY)))
        self.send_header("Cache-Control", f"public, max-age={SLOW_MAX_AGE}")
        self.end_headers()
        self.wfile.write(SLOW_BODY)

    def log_message(self, *a):
        pass


async def cold_start(port, path, conns):
    """`conns` connections opened first, then the same GET sent on all at once: (statuses,
    errors, latencies in ms, {cache status: count})."""
    async def connect():
        try:
            return await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), 10)
        except (OSError, asyncio.TimeoutError):
            return None

    opened = await asyncio.gather(*(connect() for _ in range(conns)))
    go = asyncio.Event()
    req = f"GET {path} HTTP/1.1\r\nHost: bench\r\n\r\n".encode()

    async def one(conn):
        if conn is None:
            return None, None, None
        reader, writer = conn
        await go.wait()
        t0 = time.monotonic()
        try:
            writer.write(req)
            await writer.drain()
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 30)
            lines = head.decode("latin-1").split("\r\n")
            status = int(lines[0].split()[1])
            headers = {}
            for line in lines[1:]:
                if ":" in line:
                    k, v = line.split(":", 1)
                    headers[k.strip().lower()] = v.strip()
            await asyncio.wait_for(
                reader.readexactly(int(headers.get("content-length", "0"))), 30)
            return status, (time.monotonic() - t0) * 1000, cache_status(headers)
        except (OSError, ValueError, IndexError, asyncio.TimeoutError,
                asyncio.IncompleteReadError):
            return None, None, None
        finally:
            writer.close()

    tasks = [asyncio.create_task(one(c)) for c in opened]
    await asyncio.sleep(0.2)  # every task is waiting on `go`
    go.set()
    done = await asyncio.gather(*tasks)
    statuses = [s for s, _, _ in done if s is not None]
    lat = sorted(ms for _, ms, _ in done if ms is not None)
    seen = {}
    for _, _, c in done:
        if c is not None:
            seen[c] = seen.get(c, 0) + 1
    return statuses, conns - len(statuses), lat, seen


def pct(values, q):
    return values[int(q * (len(values) - 1))] if values else float("nan")


def wrk_stampede(url, duration, conns):
    """wrk -t1 -c`conns` --latency on CPU 1 with the peers' reporting script: its RESULT
    fields."""
    cmd = ["taskset", "-c", "1", "wrk", "-t1", f"-c{conns}", f"-d{duration}s", "--latency",
           "-s", os.path.join(PEERS, "wrk-report.lua"), url]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    m = re.search(r"^RESULT (.*)$", out, re.M)
    if not m:
        raise RuntimeError(f"no RESULT line from wrk:\n{out}")
    return {k: float(v) for k, v in (kv.split("=") for kv in m.group(1).split())}


def part_stampede(env, args):
    origin = SlowOrigin()
    oport = origin.server_address[1]
    thread = threading.Thread(target=origin.serve_forever, daemon=True)
    thread.start()
    procs = Procs(env.work)
    try:
        rport, _ = start_rampart(env, procs, oport)
        nport, _ = start_nginx(env, procs, oport)
        ports = {"rampart": rport, "nginx": nport}
        # The same without early refresh: entries are refreshed only once stale
        # (stale-while-revalidate), as nginx's background update does.
        if "early_refresh" in env.gate:
            ports["rampart-swr"], _ = start_rampart(env, procs, oport, early_refresh="0")
        cold, hot = {n: [] for n in ports}, {n: [] for n in ports}
        for r in range(args.rounds):
            for name, port in ports.items():
                path = f"/c/cold/{name}/{r}"
                statuses, errors, lat, seen = asyncio.run(cold_start(port, path, args.conns))
                time.sleep(SLOW_DELAY * 2)  # background updates still on their way
                row = {"origin": origin.count(path), "non2xx": sum(s >= 300 for s in statuses),
                       "errors": errors, "p50": pct(lat, 0.5), "p99": pct(lat, 0.99),
                       "max": lat[-1] if lat else float("nan"), "seen": seen}
                cold[name].append(row)
                print(f"round {r + 1} cold {name:11}: {args.conns} simultaneous misses -> origin "
                      f"requests {row['origin']}; non-2xx {row['non2xx']}, errors {errors}; "
                      f"p50 {row['p50']:.0f} ms, p99 {row['p99']:.0f} ms; cache status "
                      f"{dict(sorted(seen.items()))}", flush=True)

                path = f"/c/hot/{name}/{r}"
                status, headers, _ = get(port, path)  # stores the key
                if status != 200:
                    raise RuntimeError(f"{name} {path}: {status}")
                time.sleep(0.5)
                before = origin.count(path)
                res = wrk_stampede(f"http://127.0.0.1:{port}{path}", args.duration, args.conns)
                got = origin.count(path) - before
                secs = res["duration_us"] / 1e6
                expiries = secs / SLOW_MAX_AGE
                row = {"origin": got, "expiries": expiries, "per_expiry": got / expiries,
                       "requests": int(res["requests"]), "rps": res["rps"],
                       "non2xx": int(res["err_status"]),
                       "errors": int(res["err_connect"] + res["err_read"] + res["err_write"]
                                     + res["err_timeout"]),
                       "p99": res["p99_us"] / 1000, "p50": res["p50_us"] / 1000}
                hot[name].append(row)
                print(f"round {r + 1} hot  {name:11}: {row['requests']} requests in {secs:.1f} s, "
                      f"origin requests {got} over {expiries:.1f} expiries = "
                      f"{row['per_expiry']:.1f}/expiry; non-2xx {row['non2xx']}, socket errors "
                      f"{row['errors']}; p50 {row['p50']:.1f} ms, p99 {row['p99']:.1f} ms",
                      flush=True)
                time.sleep(0.5)
        print()
        print(f"stampede, cold start: {args.conns} simultaneous requests for one uncached key "
              f"(origin {int(SLOW_DELAY * 1000)} ms per answer; medians over rounds)")
        print(f"{'proxy':11} {'origin req':>10} {'non-2xx':>8} {'errors':>7} {'p50 ms':>7} "
              f"{'p99 ms':>7} {'max ms':>7}")
        for name, rows in cold.items():
            print(f"{name:11} {med([x['origin'] for x in rows]):10.0f} "
                  f"{med([x['non2xx'] for x in rows]):8.0f} {med([x['errors'] for x in rows]):7.0f} "
                  f"{med([x['p50'] for x in rows]):7.0f} {med([x['p99'] for x in rows]):7.0f} "
                  f"{med([x['max'] for x in rows]):7.0f}")
        print()
        print(f"stampede, hot key: wrk -t1 -c{args.conns} for {args.duration} s on one key, "
              f"max-age={SLOW_MAX_AGE} (medians over rounds)")
        print(f"{'proxy':11} {'req/s':>8} {'expiries':>8} {'origin req':>10} {'per expiry':>10} "
              f"{'non-2xx':>8} {'errors':>7} {'p50 ms':>7} {'p99 ms':>8}")
        for name, rows in hot.items():
            print(f"{name:11} {med([x['rps'] for x in rows]):8.0f} "
                  f"{med([x['expiries'] for x in rows]):8.1f} "
                  f"{med([x['origin'] for x in rows]):10.0f} "
                  f"{med([x['per_expiry'] for x in rows]):10.1f} "
                  f"{med([x['non2xx'] for x in rows]):8.0f} {med([x['errors'] for x in rows]):7.0f} "
                  f"{med([x['p50'] for x in rows]):7.1f} {med([x['p99'] for x in rows]):8.1f}")
        print("(expiries: run time / max-age; rampart's ttl_jitter (default 10%) may expire its "
              "entries up to 10% sooner. errors: wrk's connect, read, write errors and timeouts, "
              "a request over 2 s being a timeout)")
    finally:
        procs.stop_all()
        origin.shutdown()
        origin.server_close()


PARTS = {"hit": part_hit, "miss": part_miss, "miss_paired": part_miss_paired,
         "stampede": part_stampede}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--duration", type=int, default=10, help="seconds per load run")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--only", default="hit,miss,miss_paired,stampede",
                    help="hit, miss, miss_paired or stampede (or a comma-separated list)")
    ap.add_argument("--conns", type=int, default=1000, help="clients in the stampede part")
    args = ap.parse_args()
    parts = args.only.split(",")
    for p in parts:
        if p not in PARTS:
            ap.error(f"--only: unknown part {p!r} (hit, miss, miss_paired, stampede)")
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    need = 2 * args.conns + 1024  # clients, the proxies' upstream connections, the rest
    if soft < need:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(max(need, 16384), hard), hard))
    if resource.getrlimit(resource.RLIMIT_NOFILE)[0] < need:
        print(f"warning: open files limited to {hard}; {args.conns} clients need about {need}")
    os.sched_setaffinity(0, {1})  # this script, its slow origin and wrk: CPU 1

    env = Env()
    failed = []
    try:
        print(f"rampart: {env.snapshot_binary()} (copy of {os.path.normpath(BIN)})")
        env.settle_gate()
        if env.dropped:
            print(f"note: this rampart does not know the cache gate keys {', '.join(env.dropped)} "
                  f"yet (unknown key at validation): running without them")
        print("rampart cache gate: { " + ", ".join(f"{k}: {v}" for k, v in env.gate.items())
              + " }")
        print(f"nginx: {subprocess.run(['nginx', '-v'], capture_output=True, text=True).stderr.strip()}"
              f"; {args.duration} s per run, {args.rounds} rounds", flush=True)
        for p in parts:
            print(f"\n== {p}", flush=True)
            try:
                PARTS[p](env, args)
            except Exception:
                traceback.print_exc()
                failed.append(p)
                print(f"{p}: FAILED to run", flush=True)
    except Exception:
        traceback.print_exc()
        failed.append("setup")
    finally:
        env.cleanup(keep_logs=bool(failed))
    if failed:
        print(f"\nfailed to run: {', '.join(failed)}")
        sys.exit(1)


if __name__ == "__main__":
    main()
