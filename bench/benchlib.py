"""Helpers shared by rampart's side-by-side bench scripts: ports, /proc CPU time, wrk runs, and
the nginx origin of ../shared/bench (a fixed 1 KiB body on 127.0.0.1:19000, pinned to CPU 1)."""
import os
import re
import shutil
import socket
import statistics
import subprocess
import time

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
BIN = os.path.join(ROOT, "build/release/rampart")
PEERS = os.path.join(ROOT, "../shared/bench/peers")
TICK = os.sysconf("SC_CLK_TCK")


# One rampart worker against the peers' origin, comparable to their configs (keep-alive upstream,
# no access log); compare_configs fills in {port}, `top` adds top-level keys (e.g. busy_poll).
def plain_config(top=""):
    return top + """workers: 1
listeners:
  - {{ name: bench, address: 127.0.0.1:{port}, limits: {{ idle_timeout: 65s }} }}
routes: [{{ name: all, upstream: origin }}]
upstreams:
  origin: {{ endpoints: [127.0.0.1:19000], keepalive: {{ max_idle: 128, idle_timeout: 60s }} }}
access_log: {{ enabled: false }}
admin: {{ enabled: false }}
"""


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port):
    for _ in range(200):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"port {port} did not open")


def cpu_ticks(pid):
    """utime + stime of a process, in clock ticks."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


def run_wrk(url, duration, close=False, body_bytes=0, headers=(), script=None, script_env=None,
            all_2xx=False):
    """wrk -t1 -c64 on CPU 1 (POSTs of `body_bytes` when set, by the peers' wrk script, or
    `script` with `script_env` in its environment; each of `headers`, "Name: value", on every
    request); returns (req/s, requests). `all_2xx`: more than 1% other answers is an error (a
    figure about the wrong path)."""
    cmd = ["taskset", "-c", "1", "wrk", "-t1", "-c64", f"-d{duration}s", url]
    if close:
        cmd[5:5] = ["-H", "Connection: close"]
    for h in headers:
        cmd[5:5] = ["-H", h]
    env = None
    if body_bytes:
        cmd[5:5] = ["-s", os.path.join(PEERS, "wrk-report.lua")]
        env = dict(os.environ, WRK_BODY_BYTES=str(body_bytes))
    if script:
        cmd[5:5] = ["-s", script]
        env = dict(os.environ, **(script_env or {}))
    out = subprocess.run(cmd, capture_output=True, text=True, check=True, env=env).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    total = int(re.search(r"(\d+) requests in", out).group(1))
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if all_2xx and non2xx and int(non2xx.group(1)) > total // 100:
        raise RuntimeError(f"{url}: {non2xx.group(1)} of {total} answers were not 2xx:\n{out}")
    return rps, total


def run_h2load(url, duration, conns=1, streams=100):
    """h2load -t1 on CPU 1 (HTTP/2, over TLS for https URLs); returns (req/s, requests)."""
    cmd = ["taskset", "-c", "1", "h2load", "-t1", f"-c{conns}", f"-m{streams}", "-D",
           str(duration), url]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"finished in [\d.]+\w+, ([\d.]+) req/s", out).group(1))
    done = int(re.search(r"(\d+) succeeded", out).group(1))
    if "status codes: 0 2xx" in out or done == 0:
        raise RuntimeError(f"h2load got no successful responses from {url}:\n{out}")
    return rps, done


def start_origin(work):
    """The peers' nginx origin, prefix `work`; returns its Popen."""
    for d in ("logs", "tmp"):
        os.makedirs(os.path.join(work, d), exist_ok=True)
    shutil.copy(os.path.join(PEERS, "nginx-origin.conf"), os.path.join(work, "nginx-origin.conf"))
    p = subprocess.Popen(["taskset", "-c", "1", "nginx", "-p", work, "-c", "nginx-origin.conf"],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_port(19000)
    return p


def wakeup_ipis():
    """Function-call interrupts on all CPUs so far (/proc/interrupts CAL): how Linux wakes a
    task sleeping on another CPU."""
    with open("/proc/interrupts") as f:
        for line in f:
            if line.split(":")[0].strip() == "CAL":
                return sum(int(x) for x in line.split()[1:] if x.isdigit())
    return 0


def compare_configs(work, configs, duration, rounds, body_bytes=0, headers=(), extra=None):
    """Runs rampart once per config (YAML with {port}, or (YAML, binary) to run another build;
    pinned to CPU 0) against the peers' origin, interleaves `rounds` wrk runs over them, prints
    each, and returns {name: [(req/s, CPU us per request, wake-up IPIs per request), ...]}.
    `extra`: {name: start(work) -> (url, Popen)} for other proxies measured the same way."""
    procs = [start_origin(work)]
    try:
        targets = {}
        for name, start in (extra or {}).items():
            url, p = start(work)
            procs.append(p)
            targets[name] = (url, p.pid)
        for name, text in configs.items():
            binary = BIN
            if isinstance(text, tuple):
                text, binary = text
            port = free_port()
            path = os.path.join(work, f"{name}.yaml")
            with open(path, "w") as f:
                f.write(text.format(port=port))
            p = subprocess.Popen(["taskset", "-c", "0", binary, "run", "-c", path],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            procs.append(p)
            wait_port(port)
            targets[name] = (f"http://127.0.0.1:{port}/", p.pid)
        for url, _ in targets.values():
            run_wrk(url, 2, body_bytes=body_bytes, headers=headers)  # warm-up
        results = {name: [] for name in targets}
        for r in range(rounds):
            for name, (url, pid) in targets.items():
                time.sleep(1)
                ipis = wakeup_ipis()
                rps, us = measure(pid, url, duration,
                                  runner=lambda u, d: run_wrk(u, d, body_bytes=body_bytes,
                                                              headers=headers))
                per_req = (wakeup_ipis() - ipis) / max(rps * duration, 1)
                results[name].append((rps, us, per_req))
                print(f"round {r + 1} {name:>14}: {rps:9.0f} req/s  {us:5.1f} us CPU/request  "
                      f"{per_req:.2f} wake-up IPIs/request", flush=True)
        return results
    finally:
        stop_all(procs)


def measure(pid, url, duration, close=False, runner=None):
    """(req/s, proxy CPU microseconds per request) for one load run against `pid`: wrk, or
    `runner(url, duration)` returning (req/s, requests)."""
    before = cpu_ticks(pid)
    rps, total = runner(url, duration) if runner else run_wrk(url, duration, close)
    return rps, (cpu_ticks(pid) - before) / TICK * 1e6 / max(total, 1)


def paired_ratios(results, a, b):
    """Medians of the per-round ratios a/b of (req/s, CPU per request): a round's two runs are
    closest in time, which cancels slow drifts of a shared host better than a ratio of medians."""
    rps = statistics.median(x[0] / y[0] for x, y in zip(results[a], results[b]))
    cpu = statistics.median(x[1] / y[1] for x, y in zip(results[a], results[b]))
    return rps, cpu


def stop_all(procs):
    for p in procs:
        p.terminate()
        p.wait()
