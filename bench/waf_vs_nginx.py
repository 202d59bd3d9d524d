#!/usr/bin/env python3
"""The WAF end to end: rampart with OWASP CRS v4 at paranoia level 1 against nginx with
ModSecurity v3 (Debian's libnginx-mod-http-modsecurity) and the same CRS files, and against
rampart without the WAF, on the same benign requests, rounds interleaved. Each proxy runs one
worker pinned to CPU 0; wrk and the peers' nginx origin share CPU 1.

Figures: req/s and the proxy's CPU time per request; the ratios rampart+CRS / nginx+ModSecurity
(goal: >= 20x req/s) and rampart+CRS / rampart (goal: it costs at most 30% of req/s).

  python3 bench/waf_vs_nginx.py [--duration 10] [--rounds 3] [--scenario get|json]"""
import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchlib import BIN, ROOT, free_port, measure, run_wrk, start_origin, stop_all, wait_port  # noqa: E402

CRS = os.path.join(ROOT, "rules/crs")
MODSEC_MODULE = "/usr/lib/nginx/modules/ngx_http_modsecurity_module.so"

RAMPART = """workers: 1
listeners:
  - {{ name: bench, address: 127.0.0.1:{port}, limits: {{ idle_timeout: 65s }} }}
routes:
  - name: all
    upstream: origin
    gates: GATES
upstreams:
  origin: {{ endpoints: [127.0.0.1:19000], keepalive: {{ max_idle: 128, idle_timeout: 60s }} }}
access_log: {{ enabled: false }}
admin: {{ enabled: false }}
"""

NGINX = """daemon off;
master_process off;
worker_processes 1;
error_log {work}/nginx-error.log error;
pid {work}/nginx-waf.pid;
load_module {module};
events {{ worker_connections 4096; }}
http {{
  access_log off;
  client_body_temp_path {work}/tmp;
  proxy_temp_path {work}/tmp;
  upstream origin {{ server 127.0.0.1:19000; keepalive 128; }}
  server {{
    listen 127.0.0.1:{port};
    modsecurity on;
    modsecurity_rules_file {work}/modsec.conf;
    location / {{
      proxy_pass http://origin;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }}
  }}
}}
"""

# What both WAFs load: the engine on, bodies inspected (JSON and XML too: ModSecurity needs its
# recommended configuration's rules 200000/200001 for that, rampart does it by Content-Type),
# paranoia level 1, then CRS unmodified.
MODSEC = """SecRuleEngine On
SecRequestBodyAccess On
SecRequestBodyLimit 13107200
SecRequestBodyNoFilesLimit 131072
SecAuditEngine Off
SecRule REQUEST_HEADERS:Content-Type "^(?:application(?:/soap\\+|/)|text/)xml" "id:200000,phase:1,t:none,t:lowercase,pass,nolog,ctl:requestBodyProcessor=XML"
SecRule REQUEST_HEADERS:Content-Type "^application/json" "id:200001,phase:1,t:none,t:lowercase,pass,nolog,ctl:requestBodyProcessor=JSON"
SecAction "id:899100,phase:1,pass,t:none,nolog,setvar:tx.blocking_paranoia_level=1,setvar:tx.detection_paranoia_level=1"
Include {crs}/crs-setup.conf.example
Include {crs}/rules/*.conf
"""

BROWSER_HEADERS = (
    "Host: shop.example.com",
    "User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36",
    "Accept: text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
    "Accept-Language: en-US,en;q=0.9",
    "Accept-Encoding: gzip, deflate, br",
    "Cookie: session=8f3a9c2e7b1d4f6a; cart=3; theme=dark",
)

JSON_SCRIPT = """wrk.method = "POST"
wrk.body = '{"customer":{"id":42,"name":"Ann O\\'Brien","email":"ann@example.com"},"items":[{"sku":"SH-001","qty":2},{"sku":"SO-7","qty":1}],"note":"Please leave at the door"}'
wrk.headers["Content-Type"] = "application/json"
"""


def start(cmd, port):
    p = subprocess.Popen(["taskset", "-c", "0"] + cmd, stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL)
    wait_port(port)
    return p


def rss_mib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--duration", type=int, default=10)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--scenario", default="get", choices=["get", "json"])
    args = ap.parse_args()
    if not os.path.exists(MODSEC_MODULE):
        sys.exit(f"{MODSEC_MODULE} is missing: scripts/install-deps.sh installs it")
    work = tempfile.mkdtemp(prefix="rampart-waf-bench-")
    os.makedirs(os.path.join(work, "tmp"), exist_ok=True)
    procs = [start_origin(work)]
    script = None
    if args.scenario == "json":
        script = os.path.join(work, "json.lua")
        with open(script, "w") as f:
            f.write(JSON_SCRIPT)
    try:
        targets = {}
        for name, gates in (("rampart", "[]"), ("rampart+crs", "[ { waf: { rules: [crs], paranoia: 1 } } ]")):
            port = free_port()
            path = os.path.join(work, f"{name}.yaml")
            with open(path, "w") as f:
                f.write(RAMPART.format(port=port).replace("GATES", gates))
            procs.append(start([BIN, "run", "-c", path], port))
            targets[name] = (f"http://127.0.0.1:{port}/products?category=shirts&page=2", procs[-1].pid)
        with open(os.path.join(work, "modsec.conf"), "w") as f:
            f.write(MODSEC.format(crs=CRS))
        port = free_port()
        with open(os.path.join(work, "nginx-waf.conf"), "w") as f:
            f.write(NGINX.format(work=work, module=MODSEC_MODULE, port=port))
        procs.append(start(["nginx", "-p", work, "-c", "nginx-waf.conf"], port))
        targets["nginx+modsec"] = (f"http://127.0.0.1:{port}/products?category=shirts&page=2",
                                   procs[-1].pid)

        def runner(u, d):
            return run_wrk(u, d, headers=BROWSER_HEADERS, script=script, all_2xx=True)

        for url, _ in targets.values():
            runner(url, 2)  # warm-up, and every answer must be a 2xx (nothing blocked)
        results = {name: [] for name in targets}
        for r in range(args.rounds):
            for name, (url, pid) in targets.items():
                time.sleep(1)
                rps, us = measure(pid, url, args.duration, runner=runner)
                results[name].append((rps, us))
                print(f"round {r + 1} {name:>13}: {rps:9.0f} req/s  {us:7.1f} us CPU/request",
                      flush=True)

        def ratio(a, b, i):
            return statistics.median(x[i] / y[i] for x, y in zip(results[a], results[b]))

        print(f"scenario {args.scenario}: rampart+crs / nginx+modsec: "
              f"{ratio('rampart+crs', 'nginx+modsec', 0):.1f}x req/s, "
              f"{ratio('nginx+modsec', 'rampart+crs', 1):.1f}x less CPU per request (goal >= 20x)")
        print(f"scenario {args.scenario}: rampart+crs / rampart: "
              f"{ratio('rampart+crs', 'rampart', 0):.2f}x req/s "
              f"({(1 - ratio('rampart+crs', 'rampart', 0)) * 100:.0f}% less; goal <= 30%), "
              f"{ratio('rampart+crs', 'rampart', 1):.2f}x CPU per request")
        for name in ("rampart", "rampart+crs"):
            print(f"memory: {name} worker VmRSS {rss_mib(targets[name][1]):.1f} MiB")
    finally:
        stop_all(procs)


if __name__ == "__main__":
    main()
