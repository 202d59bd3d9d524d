"""WebSocket pass-through: the upgrade request runs the route's gates, the 101 and the frames pass
both ways (plain and TLS), idle tunnels close, and routes without `websocket` do not upgrade."""
import base64
import os
import socket
import struct
import tempfile
import time
import unittest

from certs import Pki
from harness import SLOW, Origin, Rampart, free_port

CONFIG = """
listeners:
  - name: plain
    address: 127.0.0.1:{port}
  - name: tls
    address: 127.0.0.1:{tls_port}
    tls: {{ cert: server.pem, key: server.key }}
routes:
  - name: ws
    match: {{ path_prefix: /ws }}
    upstream: app
    websocket: {{ idle_timeout: 1s }}
    gates:
      - rate_limit: {{ key: [{{ header: x-tenant }}], rate: 2/h }}
  - name: plain_http
    match: {{ path_prefix: / }}
    upstream: app
upstreams:
  app:
    endpoints: [{origin}]
access_log: {{ path: {log} }}
admin: {{ address: 127.0.0.1:{admin} }}
"""


def handshake(sock, path="/ws", headers=None):
    key = base64.b64encode(os.urandom(16)).decode()
    extra = "".join(f"{k}: {v}\r\n" for k, v in (headers or {}).items())
    sock.sendall((f"GET {path} HTTP/1.1\r\nHost: ws.test\r\nUpgrade: websocket\r\n"
                  f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                  f"Sec-WebSocket-Version: 13\r\n{extra}\r\n").encode())
    # A 101 has no body and the connection stays open: read exactly the head (and, for other
    # answers, the Content-Length body).
    sock.settimeout(5 * SLOW)
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(1)
        if not chunk:
            raise ConnectionError("closed before the response head")
        data += chunk
    lines = data.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ")[1])
    headers = {}
    for line in lines[1:]:
        if ":" in line:
            k, v = line.split(":", 1)
            headers[k.strip().lower()] = v.strip()
    body = recv_exact(sock, int(headers.get("content-length", "0"))) if status != 101 else b""
    return status, headers, body


def send_frame(sock, payload, opcode=1):
    mask = os.urandom(4)
    n = len(payload)
    head = bytes([0x80 | opcode])
    if n < 126:
        head += bytes([0x80 | n])
    else:
        head += bytes([0x80 | 126]) + struct.pack("!H", n)
    sock.sendall(head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload)))


def recv_exact(sock, n):
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise ConnectionError("closed")
        data += chunk
    return data


def recv_frame(sock):
    """One whole message: (opcode, payload), continuation frames joined."""
    opcode, payload = None, b""
    while True:
        b0, b1 = recv_exact(sock, 2)
        n = b1 & 0x7F
        if n == 126:
            n = struct.unpack("!H", recv_exact(sock, 2))[0]
        elif n == 127:
            n = struct.unpack("!Q", recv_exact(sock, 8))[0]
        if opcode is None:
            opcode = b0 & 0x0F
        payload += recv_exact(sock, n)
        if b0 & 0x80:
            return opcode, payload


class WebSocketTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        cls.pki = Pki(cls.tmp.name)
        cls.pki.issue("server", "localhost", "DNS:localhost")
        cls.origin = Origin()
        cls.tls_port = free_port()
        cls.rampart = Rampart(CONFIG.replace("{tls_port}", str(cls.tls_port)), cls.origin,
                              config_dir=cls.tmp.name)

    @classmethod
    def tearDownClass(cls):
        cls.rampart.stop()
        cls.origin.stop()
        cls.tmp.cleanup()

    def echo(self, sock):
        status, headers, _ = handshake(sock, headers={"X-Tenant": f"t{time.monotonic_ns()}"})
        self.assertEqual(status, 101)
        self.assertEqual(headers.get("upgrade", "").lower(), "websocket")
        self.assertIn("sec-websocket-accept", headers)
        for msg in (b"hello", b"x" * 5000):
            send_frame(sock, msg)
            self.assertEqual(recv_frame(sock), (1, msg))

    def test_frames_pass_both_ways(self):
        with self.rampart.connect() as s:
            self.echo(s)

    def test_over_tls(self):
        import ssl
        ctx = ssl.create_default_context(cafile=self.pki.ca)
        with socket.create_connection(("127.0.0.1", self.tls_port), timeout=5 * SLOW) as raw:
            with ctx.wrap_socket(raw, server_hostname="localhost") as s:
                self.echo(s)

    def test_gates_run_on_the_upgrade_request(self):
        h = {"X-Tenant": "limited"}
        for _ in range(2):
            with self.rampart.connect() as s:
                self.assertEqual(handshake(s, headers=h)[0], 101)
        with self.rampart.connect() as s:
            self.assertEqual(handshake(s, headers=h)[0], 429)

    def test_idle_tunnel_is_closed(self):
        with self.rampart.connect(timeout=10) as s:
            self.assertEqual(handshake(s, headers={"X-Tenant": "idle"})[0], 101)
            start = time.monotonic()
            s.settimeout(10 * SLOW)
            self.assertEqual(s.recv(1), b"")  # closed by rampart after ~1 s without frames
            self.assertGreaterEqual(time.monotonic() - start, 0.9)

    def test_routes_without_websocket_do_not_upgrade(self):
        with self.rampart.connect() as s:
            status, _, body = handshake(s, path="/plain")
            self.assertEqual(status, 200)  # the origin saw a plain GET: no Upgrade header
            self.assertNotIn(b'"Upgrade"', body)


if __name__ == "__main__":
    unittest.main()
