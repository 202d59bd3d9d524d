"""Reloads under load, refused reloads, draining on SIGTERM, and `rampart validate`."""
import http.client
import os
import signal
import socket
import subprocess
import threading
import time
import unittest

from harness import BIN, SLOW, Origin, Rampart, free_port, validate

CONFIG = """
workers: 2
listeners: [{{ name: public, address: "127.0.0.1:{port}" }}]
routes: [{{ name: r{generation}, upstream: app }}]
upstreams: {{ app: {{ endpoints: ["{origin}"] }} }}
access_log: {{ enabled: false }}
admin: {{ address: "127.0.0.1:{admin}" }}
drain_timeout: 10s
"""


def config(generation):
    return CONFIG.replace("{generation}", str(generation))


class LifecycleTest(unittest.TestCase):
    def setUp(self):
        self.origin = Origin(threads=2)
        self.rampart = Rampart(config(0), self.origin)

    def tearDown(self):
        self.rampart.stop()
        self.origin.stop()

    def test_20_reloads_under_load_lose_no_request(self):
        stop = threading.Event()
        results = {"ok": 0, "failed": []}
        lock = threading.Lock()

        def client():
            c = self.rampart.http()
            while not stop.is_set():
                try:
                    c.request("GET", "/load")
                    r = c.getresponse()
                    r.read()
                    with lock:
                        if r.status == 200:
                            results["ok"] += 1
                        else:
                            results["failed"].append(r.status)
                except Exception as e:  # noqa: BLE001 - any failure is a lost request
                    with lock:
                        results["failed"].append(repr(e))
                    c.close()
                    c = self.rampart.http()

        threads = [threading.Thread(target=client) for _ in range(4)]
        [t.start() for t in threads]
        for generation in range(1, 21):
            self.rampart.write_config(config(generation))
            self.rampart.proc.send_signal(signal.SIGHUP)
            # the reload is done when the new route's metrics family appears
            deadline = time.monotonic() + 10 * SLOW
            while time.monotonic() < deadline:
                if self.rampart.metric(f'rampart_http_requests_total{{route="r{generation}",status_class="2xx"}}'):
                    break
                time.sleep(0.01)
            else:
                self.fail(f"reload {generation} not applied")
        stop.set()
        [t.join() for t in threads]
        self.assertEqual(results["failed"], [])
        self.assertGreater(results["ok"], 100)
        self.assertEqual(self.rampart.metric('rampart_config_reloads_total{result="ok"}'), 20)

    def test_bad_reload_is_refused_and_old_config_serves(self):
        self.rampart.write_config(config(0) + "\nbogus_key: 1\n")
        status, body = self.rampart.admin("POST", "/admin/reload")
        self.assertEqual(status, 400)
        self.assertIn("rampart.yaml:10: unknown key 'bogus_key'", body)
        c = self.rampart.http()
        c.request("GET", "/still")
        self.assertEqual(c.getresponse().status, 200)
        self.assertEqual(self.rampart.metric('rampart_config_reloads_total{result="error"}'), 1)

    def test_reload_adds_and_removes_listeners(self):
        extra_port = free_port()
        extra = f'\n  - {{{{ name: extra, address: "127.0.0.1:{extra_port}" }}}}\n'
        with_extra = config(1).replace('listeners: [{{ name: public, address: "127.0.0.1:{port}" }}]',
                                       'listeners:\n  - {{ name: public, address: "127.0.0.1:{port}" }}' + extra)
        self.rampart.write_config(with_extra)
        status, body = self.rampart.admin("POST", "/admin/reload")
        self.assertEqual(status, 200, body)
        c = http.client.HTTPConnection("127.0.0.1", extra_port, timeout=5 * SLOW)
        c.request("GET", "/via-extra")
        self.assertEqual(c.getresponse().status, 200)
        c.close()
        self.rampart.write_config(config(2))
        status, body = self.rampart.admin("POST", "/admin/reload")
        self.assertEqual(status, 200, body)
        deadline = time.monotonic() + 5 * SLOW
        refused = False
        while time.monotonic() < deadline and not refused:
            try:
                socket.create_connection(("127.0.0.1", extra_port), timeout=1).close()
                time.sleep(0.02)  # the workers close the acceptor right after the swap
            except ConnectionResetError:
                # Caught in the backlog as the acceptor closed: the next try tells.
                time.sleep(0.02)
            except ConnectionRefusedError:
                refused = True
        self.assertTrue(refused, "removed listener still accepts")
        c = self.rampart.http()
        c.request("GET", "/still-public")
        self.assertEqual(c.getresponse().status, 200)

    def test_sigterm_drains_in_flight_requests(self):
        c = self.rampart.http(timeout=20)
        c.request("GET", "/slow?delay=800")
        time.sleep(0.2)  # the request is now in flight at the origin (it sleeps 800 ms)
        self.rampart.proc.send_signal(signal.SIGTERM)
        r = c.getresponse()
        self.assertEqual(r.status, 200)
        self.assertEqual(r.getheader("Connection"), "close")
        r.read()
        self.assertEqual(self.rampart.proc.wait(timeout=10 * SLOW), 0)
        # no longer accepting
        with self.assertRaises(OSError):
            self.rampart.connect(timeout=1).sendall(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n")
            raise OSError("connected")


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class BusyPollTest(unittest.TestCase):
    """Workers poll briefly before sleeping only while events come close together."""

    BODY = """
workers: 2
{busy_poll}
listeners: [{{ name: public, address: "127.0.0.1:{port}" }}]
routes: [{{ name: all, upstream: app }}]
upstreams: {{ app: {{ endpoints: ["{origin}"] }} }}
access_log: {{ enabled: false }}
admin: {{ address: "127.0.0.1:{admin}" }}
"""

    def start(self, busy_poll):
        self.origin = Origin(threads=2)
        self.addCleanup(self.origin.stop)
        self.rampart = Rampart(self.BODY.replace("{busy_poll}", busy_poll), self.origin, workers=2)
        self.addCleanup(self.rampart.stop)

    def serve_burst(self, n=300):
        conns = [self.rampart.http() for _ in range(4)]
        for i in range(n):
            c = conns[i % len(conns)]
            c.request("GET", f"/burst/{i}")
            r = c.getresponse()
            r.read()
            self.assertEqual(r.status, 200)
        return conns

    def test_idle_workers_sleep_after_a_burst(self):
        self.start("busy_poll: 1ms")  # the largest window, so a worker that never stops polling shows
        conns = self.serve_burst()
        before = cpu_seconds(self.rampart.proc.pid)
        time.sleep(1.0)  # a measuring interval: the open connections send nothing in it
        used = cpu_seconds(self.rampart.proc.pid) - before
        # Two workers polling without end would use about 2 s of CPU here; asleep they use ticks.
        self.assertLess(used, 0.3, f"idle rampart used {used:.2f}s of CPU in 1s")
        for c in conns:
            c.close()

    def test_busy_poll_off_serves_and_drains(self):
        self.start("busy_poll: 0s")
        self.serve_burst(40)
        self.assertEqual(self.rampart.stop(), 0)


class ValidateTest(unittest.TestCase):
    def run_validate(self, text):
        return validate(text)

    def test_valid(self):
        p, _ = self.run_validate('listeners: [{address: "127.0.0.1:1"}]\nroutes: []\n')
        self.assertEqual(p.returncode, 0, p.stderr)

    def test_every_error_with_file_and_line(self):
        p, name = self.run_validate(
            'listeners:\n  - address: "nope"\n    limits: { max_body: lots }\n'
            'routes:\n  - upstream: missing\n    gates:\n      - waf_typo: {}\n')
        self.assertEqual(p.returncode, 1)
        lines = p.stderr.strip().splitlines()
        self.assertIn(f"{name}:2: listeners[0].address: 'nope' is not host:port", p.stderr)
        self.assertIn(f"{name}:3: listeners[0].limits.max_body: expected a size", p.stderr)
        self.assertIn(f"{name}:5: route 'route0': upstream 'missing' is not defined", p.stderr)
        self.assertEqual(len(lines), 3, p.stderr)

    def test_version(self):
        p = subprocess.run([BIN, "version"], capture_output=True, text=True)
        self.assertTrue(p.stdout.startswith("rampart "))


if __name__ == "__main__":
    unittest.main()
