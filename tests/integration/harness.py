"""Starts the real rampart binary and the demo origin on loopback ports, and talks raw HTTP."""
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
import unittest
import weakref

BIN = os.environ.get("RAMPART_BIN", os.path.join(os.path.dirname(__file__), "../../build/release/rampart"))
# The same program with the test-only gates registered (tests/gates/).
PROBE_BIN = os.environ.get("RAMPART_PROBE_BIN",
                           os.path.join(os.path.dirname(__file__), "../../build/release/rampart_probe"))
SANITIZED = os.environ.get("RAMPART_SANITIZE", "OFF") in ("ON", "1", "TRUE")
# Sanitized builds are several times slower: scale waits (deadlines, not sleeps) accordingly.
SLOW = 4 if SANITIZED else 1


def wait_until(pred, timeout=5.0):
    """Polls `pred` (bounded by timeout, scaled for sanitizer builds) until it holds; its last
    value."""
    deadline = time.monotonic() + timeout * SLOW
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(0.05)
    return pred()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def connect_from(port, source="127.0.0.1", timeout=5.0):
    """A TCP connection to 127.0.0.1:`port` from the loopback address `source` (127.0.0.x stands
    for as many clients as the tests need)."""
    s = socket.socket()
    s.settimeout(timeout * SLOW)
    s.bind((source, 0))
    s.connect(("127.0.0.1", port))
    return s


def status_from(port, source, path="/x"):
    """The status of one GET on a new connection from `source`; None when rampart closed the
    connection without an answer (refused at accept)."""
    s = connect_from(port, source)
    try:
        s.sendall(f"GET {path} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n".encode())
        return read_response(s)[0]
    except ConnectionError:
        return None
    finally:
        s.close()


class PortTaken(RuntimeError):
    """Another process listens on the port a test picked (free_port() found it free a moment
    before, and tests run in parallel)."""


def listeners(port):
    """Inodes of the sockets listening on TCP `port` at any local address (IPv4 and IPv6)."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(table) as f:
                rows = f.read().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            cols = row.split()
            if cols[3] == "0A" and int(cols[1].rsplit(":", 1)[1], 16) == port:
                found.add(cols[9])
    return found


def sockets_of(pid):
    """Inodes of the sockets process `pid` holds open."""
    inodes = set()
    fd_dir = f"/proc/{pid}/fd"
    for fd in os.listdir(fd_dir):
        try:
            link = os.readlink(os.path.join(fd_dir, fd))
        except OSError:
            continue
        if link.startswith("socket:["):
            inodes.add(link[8:-1])
    return inodes


def wait_port(port, proc, timeout=10.0):
    """Waits until `proc` itself listens on `port`. A connection that succeeds proves less: under
    SO_REUSEPORT, or before `proc` binds, it may reach another test's process on the same port,
    which later goes away and leaves every request refused."""
    deadline = time.monotonic() + timeout * SLOW
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"process exited with {proc.returncode}")
        on_port = listeners(port)
        if on_port:
            try:
                own = on_port & sockets_of(proc.pid)
            except OSError:
                own = set()
            if own and own != on_port:
                raise PortTaken(f"port {port} has another listener besides process {proc.pid}")
            if own:
                return
        time.sleep(0.02)
    raise RuntimeError(f"port {port} did not open")


class Origin:
    def __init__(self, threads=2, capacity=0):
        self.port = free_port()
        self.threads = threads
        self.capacity = capacity  # servers for ?work=MS requests (0: unlimited)
        self.address = f"127.0.0.1:{self.port}"
        self.start()

    def start(self):
        """(Again, after stop: an endpoint that died comes back on the same port.)"""
        self.proc = subprocess.Popen([BIN, "demo-origin", "--listen", self.address,
                                      "--threads", str(self.threads),
                                      "--capacity", str(self.capacity)],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_port(self.port, self.proc)
        self.stats_calls = 0

    def stats(self):
        """Requests and connections the origin saw, not counting these stats calls."""
        self.stats_calls += 1
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
        conn.request("GET", "/__stats")
        body = json.loads(conn.getresponse().read())
        conn.close()
        body["requests"] -= self.stats_calls
        body["connections"] -= self.stats_calls
        return body

    def stop(self):
        stop_process(self.proc)


def stop_process(proc, timeout=10):
    """SIGTERM, then SIGKILL after `timeout` seconds; waits for the process either way."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def curl_response(url, *args):
    """(status, {header or trailer: value lower-case name}, body bytes) of `curl url` with `args`
    (e.g. --http2-prior-knowledge, -H, --data-binary)."""
    with tempfile.TemporaryDirectory() as d:
        head = os.path.join(d, "head")
        out = subprocess.run(["curl", "-sS", "-D", head, *args, url], capture_output=True,
                             timeout=30 * SLOW)
        if out.returncode != 0:
            raise RuntimeError(f"curl {url}: {out.stderr.decode(errors='replace')}")
        with open(head) as f:
            lines = [l.strip() for l in f if l.strip()]
    status = int(lines[0].split()[1])
    fields = {}
    for l in lines[1:]:
        k, _, v = l.partition(":")
        fields[k.strip().lower()] = v.strip()
    return status, fields, out.stdout


def validate(text, name="c.yaml"):
    """`rampart validate -c` on `text` written to a fresh folder as `name`: (the finished
    process, the file's path as rampart names it in errors)."""
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, name)
        with open(path, "w") as f:
            f.write(text)
        return subprocess.run([BIN, "validate", "-c", path], capture_output=True, text=True), path


def assert_refused(test, template, line, cases):
    """For each {settings: message} of `cases`: `template` with SETTINGS replaced fails
    `rampart validate` naming the file and `line` and saying `message`. Returns the outputs."""
    outputs = []
    for settings, message in cases.items():
        out, path = validate(template.replace("SETTINGS", settings))
        text = out.stdout + out.stderr
        test.assertEqual(out.returncode, 1, settings)
        test.assertIn(f"{path}:{line}:", text, settings)
        test.assertIn(message, text, settings)
        outputs.append(text)
    return outputs


def policy_config(kind):
    """A config whose one upstream has the policy `kind` with SETTINGS (line 7), for
    assert_refused."""
    return f"""
listeners: [ {{ name: p, address: 127.0.0.1:1 }} ]
routes: [ {{ name: r, upstream: app }} ]
upstreams:
  app:
    endpoints: [127.0.0.1:2]
    policies: [ {{ {kind}: {{ SETTINGS }} }} ]
"""


def http_request(port, method, path, body=None, headers=None, timeout=10.0):
    """One request on its own connection: (status, response headers, body)."""
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout * SLOW)
    c.request(method, path, body=body, headers=headers or {})
    r = c.getresponse()
    out = (r.status, r.headers, r.read())
    c.close()
    return out


class H2Origin:
    """h2origin.py (an HTTP/2 origin on the h2 library, python3-h2) on a loopback port; the
    Debian interpreter runs it, where that package installs."""
    PYTHON = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else sys.executable

    def __init__(self, args=()):
        self.port = free_port()
        script = os.path.join(os.path.dirname(os.path.abspath(__file__)), "h2origin.py")
        self.proc = subprocess.Popen([self.PYTHON, script, str(self.port), *args],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_port(self.port, self.proc)
        self.address = f"127.0.0.1:{self.port}"

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=10)


class Rampart:
    """rampart run -c <generated config>. `body` is YAML with {port}, {admin}, {origin} filled in."""

    def __init__(self, body, origin=None, workers=1, config_dir=None, binary=None):
        self.port = free_port()
        self.admin_port = free_port()
        self.dir = tempfile.TemporaryDirectory()
        # Relative paths in the config (certificates) resolve against the config's folder.
        self.config_path = os.path.join(config_dir or self.dir.name, "rampart.yaml")
        self.log_path = os.path.join(self.dir.name, "access.log")
        self.origin = origin
        self.workers = workers
        self.stderr = open(os.path.join(self.dir.name, "stderr.log"), "w+")
        for attempt in range(3):
            self.write_config(body)
            self.proc = subprocess.Popen([binary or BIN, "run", "-c", self.config_path],
                                         stdout=subprocess.DEVNULL, stderr=self.stderr)
            try:
                wait_port(self.port, self.proc)
                wait_port(self.admin_port, self.proc)
                return
            except RuntimeError as e:
                # free_port() only found the ports free a moment ago; another process may have
                # taken one since. Try again on new ports, but fail on any other start-up error.
                taken = isinstance(e, PortTaken)
                if taken:
                    stop_process(self.proc)
                elif self.proc.poll() is None or "in use" not in self.logs():
                    raise RuntimeError(f"rampart did not start:\n{self.logs()}")
                if attempt == 2:
                    raise RuntimeError(f"rampart did not start ({e}):\n{self.logs()}")
                self.port, self.admin_port = free_port(), free_port()

    def write_config(self, body):
        text = textwrap.dedent(body).format(port=self.port, admin=self.admin_port,
                                            origin=self.origin.address if self.origin else "127.0.0.1:1",
                                            log=self.log_path, workers=self.workers)
        with open(self.config_path + ".tmp", "w") as f:
            f.write(text)
        os.replace(self.config_path + ".tmp", self.config_path)

    def admin(self, method, path, body=None, content_type="application/json"):
        conn = http.client.HTTPConnection("127.0.0.1", self.admin_port, timeout=10 * SLOW)
        headers = {"Content-Type": content_type} if body is not None else {}
        conn.request(method, path, body=body, headers=headers)
        r = conn.getresponse()
        out = (r.status, r.read().decode())
        conn.close()
        return out

    def metric(self, name_and_labels):
        _, text = self.admin("GET", "/metrics")
        for line in text.splitlines():
            if line.startswith(name_and_labels + " "):
                return float(line.rsplit(" ", 1)[1])
        return None

    def logs(self):
        self.stderr.flush()
        self.stderr.seek(0)
        return self.stderr.read()

    def access_log(self, path=None):
        # The log is written by a background thread: poll (bounded) until lines appear (with
        # `path`, until a line for that path does).
        deadline = time.monotonic() + 5 * SLOW
        lines = []
        while time.monotonic() < deadline:
            try:
                with open(self.log_path) as f:
                    # A line without its newline is still being written: leave it for the next read.
                    lines = [json.loads(l) for l in f if l.endswith("\n") and l.strip()]
            except FileNotFoundError:
                lines = []
            if lines and (path is None or any(l.get("path") == path for l in lines)):
                break
            time.sleep(0.02)
        return lines

    def stop(self, sig=signal.SIGTERM, timeout=20):
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=timeout * SLOW)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.stderr.close()
        self.dir.cleanup()
        return self.proc.returncode

    def get(self, path, headers=None):
        """The status of GET `path` over a new connection (the body is read and dropped)."""
        c = self.http()
        c.request("GET", path, headers=headers or {})
        r = c.getresponse()
        r.read()
        c.close()
        return r.status

    def connect(self, timeout=5):
        return socket.create_connection(("127.0.0.1", self.port), timeout=timeout * SLOW)

    def http(self, timeout=5):
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout * SLOW)


_LEFTOVER = weakref.WeakKeyDictionary()  # bytes read past the end of a response, per socket


def read_response(sock, timeout=5.0):
    """Reads one HTTP/1.1 response (Content-Length or chunked or until close). Returns
    (status, headers dict lower-case, body bytes, raw head). Bytes past the end of the response
    (pipelining) are kept for the next call on the same socket."""
    sock.settimeout(timeout * SLOW)
    buf = _LEFTOVER.pop(sock, b"")

    def more(required=True):
        chunk = sock.recv(65536)
        if not chunk and required:
            raise ConnectionError(f"closed in the middle of a response: {buf!r}")
        return chunk

    while b"\r\n\r\n" not in buf:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError(f"closed before a response head: {buf!r}")
        buf += chunk
    head, rest = buf.split(b"\r\n\r\n", 1)
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ")[1])
    headers = {}
    for line in lines[1:]:
        k, v = line.split(":", 1)
        headers.setdefault(k.strip().lower(), v.strip())
    if status < 200 and status != 101:
        _LEFTOVER[sock] = rest
        return status, headers, b"", head
    if "content-length" in headers:
        n = int(headers["content-length"])
        while len(rest) < n:
            rest += more()
        _LEFTOVER[sock] = rest[n:]
        return status, headers, rest[:n], head
    if headers.get("transfer-encoding", "").lower() == "chunked":
        body = b""
        while True:
            while b"\r\n" not in rest:
                rest += more()
            size_line, rest = rest.split(b"\r\n", 1)
            size = int(size_line.split(b";")[0], 16)
            while len(rest) < size + 2:
                rest += more()
            body += rest[:size]
            rest = rest[size + 2:]
            if size == 0:
                _LEFTOVER[sock] = rest
                return status, headers, body, head
    body = rest
    while True:
        chunk = more(required=False)
        if not chunk:
            return status, headers, body, head
        body += chunk


def is_closed(sock, timeout=5.0):
    """True when the peer closed the connection (EOF or reset) within timeout."""
    sock.settimeout(timeout * SLOW)
    try:
        while True:
            data = sock.recv(65536)
            if not data:
                return True
    except ConnectionResetError:
        return True
    except socket.timeout:
        return False


BASIC = """
workers: {workers}
listeners:
  - name: public
    address: 127.0.0.1:{port}
    limits: {{ max_request_line: 1KiB, max_header_bytes: 4KiB, max_headers: 20, max_body: 64KiB,
               header_timeout: 1s, body_timeout: 1s, idle_timeout: 5s }}
routes:
  - name: api
    match: {{ path_prefix: /api/, host: [api.test, "*.api.test"] }}
    upstream: app
    rewrite: {{ path_prefix: /v2/, host: internal.test }}
    request_headers: {{ add: {{ X-Route: api }}, remove: [X-Secret] }}
    response_headers: {{ add: {{ X-Gateway: rampart }}, remove: [Server] }}
  - name: exact
    match: {{ path: /exact, methods: [GET] }}
    upstream: app
  - name: regex
    match: {{ path_regex: "^/items/[0-9]+$" }}
    upstream: app
  - name: by-header
    match: {{ path_prefix: /h, headers: [{{ name: X-Tenant, value: blue }}] }}
    upstream: app
    response_headers: {{ add: {{ X-Tenant-Route: blue }} }}
  - name: unreachable
    match: {{ path_prefix: /down }}
    upstream: down
  - name: default
    match: {{ path_prefix: / }}
    upstream: app
upstreams:
  app:
    endpoints: [{origin}]
    timeouts: {{ connect: 1s, response: 1s }}
  down:
    endpoints: [127.0.0.1:1]
access_log: {{ path: {log} }}
admin: {{ address: 127.0.0.1:{admin} }}
"""


class ProxyTestCase(unittest.TestCase):
    CONFIG = BASIC
    WORKERS = 1

    @classmethod
    def setUpClass(cls):
        cls.origin = Origin()
        cls.rampart = Rampart(cls.CONFIG, cls.origin, workers=cls.WORKERS)

    @classmethod
    def tearDownClass(cls):
        cls.rampart.stop()
        cls.origin.stop()

    def raw(self, data, timeout=5.0):
        s = self.rampart.connect()
        s.sendall(data)
        return s, read_response(s, timeout)


class RedisServer:
    """A real redis-server on a loopback port, no persistence; restartable on the same port."""

    def __init__(self, port=None, args=()):
        self.port = port or free_port()
        self.args = list(args)  # more redis-server options, e.g. ["--requirepass", "x"]
        self.proc = None
        self.start()

    def start(self):
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--protected-mode", "no", "--enable-debug-command", "yes",
             *self.args],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_port(self.port, self.proc)

    def cli(self, *args, password=None, db=0):
        auth = ["--no-auth-warning", "-a", password] if password else []
        return subprocess.run(["redis-cli", "-p", str(self.port), "-n", str(db), *auth, *args],
                              capture_output=True, text=True, timeout=10).stdout

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
