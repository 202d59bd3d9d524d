"""An origin that records every request exactly as it arrived: its head, its framing and its
body, and whether it was complete or ended by a reset or a close mid-request. Tests that guard
against smuggling assert on what the origin received, not only on what the client got back.

The origin parses strictly (one Content-Length, or chunked; anything else is recorded as a
framing error) and answers each complete request with 200 and {"body_bytes": N}."""
import json
import socket
import threading
import time

from harness import SLOW


class Recorded:
    def __init__(self):
        self.method = self.target = None
        self.headers = []          # (name, value) as received
        self.body = b""
        self.complete = False
        self.ended = None          # None, "eof" (FIN mid-request) or "reset"
        self.framing_error = None

    def header(self, name):
        for n, v in self.headers:
            if n.lower() == name.lower():
                return v
        return None

    def __repr__(self):
        return (f"Recorded({self.method} {self.target} complete={self.complete} ended={self.ended} "
                f"body={len(self.body)}B headers={self.headers})")


class _Reader:
    def __init__(self, conn):
        self.conn = conn
        self.buf = b""

    def more(self):
        try:
            data = self.conn.recv(65536)
        except ConnectionResetError:
            raise _Ended("reset")
        except OSError:
            raise _Ended("reset")
        if not data:
            raise _Ended("eof")
        self.buf += data

    def line(self):
        while b"\r\n" not in self.buf:
            self.more()
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def exactly(self, n):
        while len(self.buf) < n:
            self.more()
        out, self.buf = self.buf[:n], self.buf[n:]
        return out


class _Ended(Exception):
    def __init__(self, how):
        self.how = how


class RecordingOrigin:
    def __init__(self):
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.address = f"127.0.0.1:{self.port}"
        self.requests = []
        self.connections = 0
        self.cond = threading.Condition()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with self.cond:
                self.connections += 1
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _record(self, r):
        with self.cond:
            if r not in self.requests:
                self.requests.append(r)
            self.cond.notify_all()

    def _serve(self, conn):
        reader = _Reader(conn)
        try:
            while True:
                r = Recorded()
                try:
                    line = reader.line()
                except _Ended:
                    return  # closed between requests
                try:
                    r.method, r.target, _ = line.decode("latin-1").split(" ", 2)
                    while True:
                        h = reader.line()
                        if not h:
                            break
                        name, value = h.decode("latin-1").split(":", 1)
                        r.headers.append((name, value.strip()))
                    self._record(r)  # the head is here: visible to tests while the body comes
                    self._read_body(reader, r)
                except _Ended as e:
                    r.ended = e.how
                    self._record(r)
                    return
                r.complete = r.framing_error is None
                self._record(r)
                if not r.complete:
                    return
                body = json.dumps({"body_bytes": len(r.body)}).encode()
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                             b"Content-Length: %d\r\n\r\n" % len(body) + body)
        except OSError:
            return
        finally:
            conn.close()

    def _read_body(self, reader, r):
        cls = [v for n, v in r.headers if n.lower() == "content-length"]
        tes = [v for n, v in r.headers if n.lower() == "transfer-encoding"]
        if cls and tes or len(cls) > 1 or len(tes) > 1:
            r.framing_error = "ambiguous framing"
            return
        if tes:
            if tes[0].lower() != "chunked":
                r.framing_error = "transfer-encoding " + tes[0]
                return
            while True:
                size_line = reader.line()
                size = int(size_line.split(b";", 1)[0], 16)
                if size == 0:
                    while reader.line():  # trailer section
                        pass
                    return
                r.body += reader.exactly(size)
                if reader.exactly(2) != b"\r\n":
                    r.framing_error = "chunk not followed by CRLF"
                    return
        elif cls:
            r.body = reader.exactly(int(cls[0]))

    def wait_for(self, predicate, timeout=5.0):
        """Waits (bounded) until predicate(requests) holds; returns the requests."""
        deadline = time.monotonic() + timeout * SLOW
        with self.cond:
            while not predicate(self.requests):
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"origin never saw what the test waited for: {self.requests}")
                self.cond.wait(left)
            return list(self.requests)

    def snapshot(self):
        with self.cond:
            return list(self.requests)

    def clear(self):
        with self.cond:
            self.requests = []

    def stop(self):
        self.sock.close()
