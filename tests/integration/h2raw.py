"""A minimal HTTP/2 frame writer and reader (RFC 9113) for tests that must send what no
well-behaved client sends: reset floods, CONTINUATION floods, ping floods. HPACK is encoded as
literals without indexing (RFC 7541 section 6.2.2), which every decoder must accept."""
import socket
import struct
import time

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
DATA, HEADERS, PRIORITY, RST_STREAM, SETTINGS, PUSH_PROMISE, PING, GOAWAY, WINDOW_UPDATE, \
    CONTINUATION = range(10)
END_STREAM, END_HEADERS, ACK = 0x1, 0x4, 0x1
NO_ERROR, PROTOCOL_ERROR, INTERNAL_ERROR, STREAM_CLOSED, CANCEL, ENHANCE_YOUR_CALM = \
    0x0, 0x1, 0x2, 0x5, 0x8, 0xB


def frame(ftype, flags, stream_id, payload=b""):
    return struct.pack(">I", len(payload))[1:] + bytes([ftype, flags]) + \
        struct.pack(">I", stream_id & 0x7FFFFFFF) + payload


def _int(value, prefix_bits, first=0):
    limit = (1 << prefix_bits) - 1
    if value < limit:
        return bytes([first | value])
    out = [first | limit]
    value -= limit
    while value >= 128:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def hpack(headers):
    out = b""
    for name, value in headers:
        n, v = name.encode(), value.encode()
        out += b"\x00" + _int(len(n), 7) + n + _int(len(v), 7) + v
    return out


def request_headers(authority, path="/", method="GET", extra=()):
    return [(":method", method), (":scheme", "http"), (":authority", authority),
            (":path", path)] + list(extra)


class Client:
    def __init__(self, port, timeout=10, preface=PREFACE):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.sock.sendall(preface + frame(SETTINGS, 0, 0))
        self.buf = b""
        self.authority = f"127.0.0.1:{port}"

    def send(self, data):
        self.sock.sendall(data)

    def headers_frame(self, stream_id, headers, end_stream=True, end_headers=True):
        flags = (END_STREAM if end_stream else 0) | (END_HEADERS if end_headers else 0)
        return frame(HEADERS, flags, stream_id, hpack(headers))

    def read_frame(self):
        """(type, flags, stream_id, payload), or None when the server closed."""
        while len(self.buf) < 9:
            chunk = self.sock.recv(65536)
            if not chunk:
                return None
            self.buf += chunk
        length = int.from_bytes(self.buf[:3], "big")
        while len(self.buf) < 9 + length:
            chunk = self.sock.recv(65536)
            if not chunk:
                return None
            self.buf += chunk
        ftype, flags = self.buf[3], self.buf[4]
        sid = int.from_bytes(self.buf[5:9], "big") & 0x7FFFFFFF
        payload = self.buf[9:9 + length]
        self.buf = self.buf[9 + length:]
        return ftype, flags, sid, payload

    def frames_until_close(self, deadline_s):
        """Every frame until the server closes (or the deadline passes); acks SETTINGS."""
        frames = []
        deadline = time.monotonic() + deadline_s
        while time.monotonic() < deadline:
            try:
                f = self.read_frame()
            except (ConnectionResetError, socket.timeout):
                break
            if f is None:
                break
            frames.append(f)
        return frames

    def settings(self):
        """The server's first SETTINGS frame as {id: value}."""
        while True:
            f = self.read_frame()
            if f is None:
                return None
            if f[0] == SETTINGS and not f[1] & ACK:
                p = f[3]
                return {struct.unpack(">H", p[i:i + 2])[0]: struct.unpack(">I", p[i + 2:i + 6])[0]
                        for i in range(0, len(p), 6)}

    def close(self):
        self.sock.close()


def goaway_code(frames):
    for ftype, _, _, payload in frames:
        if ftype == GOAWAY:
            return struct.unpack(">I", payload[4:8])[0]
    return None


def paused_download(sock, authority, path, pause_s):
    """GET `path` on a connected socket (plain or TLS, ALPN h2) with every window wide open, then
    reads nothing for `pause_s` seconds before taking the whole answer: (status seen, body)."""
    c = Client.__new__(Client)
    c.sock, c.buf, c.authority = sock, b"", authority
    wide = (2 ** 31 - 1).to_bytes(4, "big")
    c.send(PREFACE + frame(SETTINGS, 0, 0, b"\x00\x04" + wide) +
           frame(WINDOW_UPDATE, 0, 0, (2 ** 31 - 1 - 65535).to_bytes(4, "big")))
    c.send(c.headers_frame(1, request_headers(authority, path)))
    time.sleep(pause_s)
    body = bytearray()
    headers = False
    while True:
        f = c.read_frame()
        if f is None:
            return headers, bytes(body)  # closed before the end of the stream
        ftype, flags, sid, payload = f
        if sid != 1:
            continue
        headers = headers or ftype == HEADERS
        if ftype == DATA:
            body += payload
        if flags & END_STREAM:
            return headers, bytes(body)


def origin_bytes(size):
    """The demo origin's body for ?size=N: 'a' to 'z' over and over."""
    return (bytes(range(97, 123)) * (size // 26 + 1))[:size]

