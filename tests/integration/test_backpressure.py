"""Bodies stream through rampart without being buffered whole: when the receiving side stops
reading, the sending side is stopped too, and everything arrives once it reads again."""
import socket
import threading
import time
import unittest

from harness import SLOW, Rampart, read_response

CONFIG = """
listeners: [{{ name: public, address: "127.0.0.1:{port}", limits: {{ max_body: 0 }} }}]
routes: [{{ name: all, upstream: app }}]
upstreams: {{ app: {{ endpoints: ["{origin}"], timeouts: {{ response: 60s }} }} }}
access_log: {{ enabled: false }}
admin: {{ address: "127.0.0.1:{admin}" }}
"""

BODY = 128 * 1024 * 1024  # far more than every socket buffer on the way holds together
IN_FLIGHT_BOUND = 48 * 1024 * 1024  # what the kernel's buffers between the two ends may hold
CHUNK = 64 * 1024
SMALL_BUFFER = 64 * 1024


def pattern(offset, n):
    """Body bytes that show where they came from: a stream cut or reordered fails the count check."""
    start = offset % 256
    return (bytes(range(256)) * ((start + n) // 256 + 1))[start:start + n]


def send_body(sock, progress):
    """Sends BODY bytes of pattern() in CHUNK pieces, counting each piece once it is sent."""
    sent = 0
    while sent < BODY:
        piece = pattern(sent, min(CHUNK, BODY - sent))
        sock.sendall(piece)
        sent += len(piece)
        progress.add(len(piece))


class Progress:
    """A byte counter that a blocked sender or receiver stops moving."""

    def __init__(self):
        self.n = 0
        self.lock = threading.Lock()

    def add(self, k):
        with self.lock:
            self.n += k

    def value(self):
        with self.lock:
            return self.n

    def wait_stalled(self, quiet=0.3, limit=20.0):
        """Returns the count once it has not moved for `quiet` seconds (at most `limit`)."""
        deadline = time.monotonic() + limit * SLOW
        last, since = self.value(), time.monotonic()
        while time.monotonic() < deadline:
            time.sleep(0.05)
            now = self.value()
            if now != last:
                last, since = now, time.monotonic()
            elif time.monotonic() - since >= quiet * SLOW:
                return now
        return self.value()


class StallingOrigin:
    """One-connection origin on a raw socket. mode "send": answers with a BODY-byte response and
    counts what it managed to send. mode "receive": reads the request head, waits for `resume`,
    then reads the body, counting it, and answers 200."""

    def __init__(self, mode):
        self.mode = mode
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(4)
        self.address = "127.0.0.1:%d" % self.listener.getsockname()[1]
        self.progress = Progress()
        self.resume = threading.Event()
        self.received_ok = None
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self):
        conn, _ = self.listener.accept()
        with conn:
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, SMALL_BUFFER)
            head = b""
            while b"\r\n\r\n" not in head:
                head += conn.recv(4096)
            head, _, rest = head.partition(b"\r\n\r\n")
            if self.mode == "send":
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % BODY)
                send_body(conn, self.progress)
                return
            self.resume.wait(60)
            got, ok = len(rest), rest == pattern(0, len(rest))
            self.progress.add(len(rest))
            while got < BODY:
                data = conn.recv(min(CHUNK, BODY - got))
                if not data:
                    break
                ok = ok and data == pattern(got, len(data))
                got += len(data)
                self.progress.add(len(data))
            self.received_ok = ok and got == BODY
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")

    def stop(self):
        self.resume.set()
        self.listener.close()
        self.thread.join(timeout=30)


class BackpressureTest(unittest.TestCase):
    def start(self, mode):
        self.origin = StallingOrigin(mode)
        self.addCleanup(self.origin.stop)
        self.rampart = Rampart(CONFIG, self.origin)
        self.addCleanup(self.rampart.stop)

    def client(self):
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, SMALL_BUFFER)
        s.connect(("127.0.0.1", self.rampart.port))
        s.settimeout(60 * SLOW)
        self.addCleanup(s.close)
        return s

    def test_client_that_stops_reading_stops_the_origin(self):
        self.start("send")
        s = self.client()
        s.sendall(b"GET /big HTTP/1.1\r\nHost: x\r\n\r\n")
        head = b""
        while b"\r\n\r\n" not in head:
            head += s.recv(1024)
        head, _, got = head.partition(b"\r\n\r\n")
        self.assertTrue(head.startswith(b"HTTP/1.1 200"), head)
        self.assertIn(b"content-length: %d" % BODY, head.lower())
        stalled = self.origin.progress.wait_stalled()
        self.assertLess(stalled, IN_FLIGHT_BOUND,
                        f"the origin sent {stalled} bytes to a client that read none of them")
        received, ok = len(got), got == pattern(0, len(got))
        while received < BODY:
            data = s.recv(1 << 20)
            self.assertTrue(data, f"connection closed after {received} bytes")
            ok = ok and data == pattern(received, len(data))
            received += len(data)
        self.assertEqual(received, BODY)
        self.assertTrue(ok, "the body arrived altered")

    def test_origin_that_stops_reading_stops_the_client(self):
        self.start("receive")
        s = self.client()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, SMALL_BUFFER)
        sent = Progress()
        failure = []

        def upload():
            try:
                s.sendall(b"POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % BODY)
                send_body(s, sent)
            except OSError as e:
                failure.append(repr(e))

        t = threading.Thread(target=upload, daemon=True)
        t.start()
        stalled = sent.wait_stalled()
        self.assertLess(stalled, IN_FLIGHT_BOUND,
                        f"the client sent {stalled} bytes to an origin that read none of them")
        self.origin.resume.set()
        t.join(timeout=60 * SLOW)
        self.assertFalse(t.is_alive(), "the upload never finished")
        self.assertEqual(failure, [])
        status, _, body, _ = read_response(s, timeout=30)
        self.assertEqual(status, 200)
        self.assertEqual(body, b"ok")
        self.assertTrue(self.origin.received_ok, "the origin did not get the body byte-exact")


if __name__ == "__main__":
    unittest.main()
