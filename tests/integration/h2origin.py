"""An HTTP/2 origin for tests of `protocol: h2` upstreams, on the h2 library (python3-h2): a
separate HTTP/2 implementation from rampart's nghttp2, cleartext prior-knowledge h2c or TLS with
ALPN h2. Run as a program: h2origin.py PORT [--tls CERT KEY [--alpn PROTO]] [--max-streams N].

What a request gets depends on its path:
  /grpc           gRPC-shaped: content-type application/grpc, no content-length, the request
                  body echoed back as it arrives (full duplex), then trailers grpc-status: 0 and
                  grpc-message: ok once the request ends
  /grpc-error     trailers-only: one HEADERS with :status 200, grpc-status 13, END_STREAM
  /stream?n=K     K DATA pieces of 1 KiB, 50 ms apart, then trailers x-pieces: K
  /big?bytes=N    N bytes of body (with content-length), sent as the client's window allows;
                  /stats reports its progress ("big": bytes sent, and whether it waits for a
                  window)
  /delay?ms=M     the answer after M ms (/stats: "delaying", how many wait now)
  /refuse-once    the first such stream on each connection is reset with REFUSED_STREAM
  /goaway-once    the first time: GOAWAY naming the stream before it, on that connection
  /reset          reset with INTERNAL_ERROR before any answer
  /hints?n=K      K interim 103 heads (link: </aI.css>; rel=preload), a 102 first with
                  &processing=1, then the JSON echo
  /continue       an interim 100, then the JSON echo
  /hints-refused  an interim 103, then the stream reset with REFUSED_STREAM
  /stats          connections (opened, open now), streams and most streams at once, so far
  anything else   a JSON echo: method, path, authority, scheme, headers, body length
"""
import asyncio
import hashlib
import json
import ssl
import sys
import urllib.parse

import h2.config
import h2.connection
import h2.errors
import h2.events
import h2.settings

STATS = {"connections": 0, "open_connections": 0, "streams": 0, "max_concurrent": 0}
GOAWAY_DONE = False


class Stream:
    def __init__(self, sid, headers):
        self.id = sid
        self.headers = headers
        self.body = bytearray()
        self.ended = False
        self.event = asyncio.Event()


class Conn(asyncio.Protocol):
    def __init__(self, max_streams):
        self.max_streams = max_streams
        self.streams = {}
        self.window_open = asyncio.Event()
        self.refused = False
        self.open = 0

    def connection_made(self, transport):
        STATS["connections"] += 1
        STATS["open_connections"] += 1
        self.transport = transport
        cfg = h2.config.H2Configuration(client_side=False, header_encoding="utf-8",
                                        validate_inbound_headers=True)
        self.h2 = h2.connection.H2Connection(config=cfg)
        self.h2.initiate_connection()
        if self.max_streams:
            self.h2.update_settings({h2.settings.SettingCodes.MAX_CONCURRENT_STREAMS:
                                     self.max_streams})
        self.flush()

    def flush(self):
        data = self.h2.data_to_send()
        if data:
            self.transport.write(data)

    def connection_lost(self, exc):
        STATS["open_connections"] -= 1
        self.window_open.set()
        for s in self.streams.values():
            s.ended = True
            s.event.set()

    def data_received(self, data):
        try:
            events = self.h2.receive_data(data)
        except Exception:
            self.transport.close()
            return
        for ev in events:
            if isinstance(ev, h2.events.RequestReceived):
                STATS["streams"] += 1
                self.open += 1
                STATS["max_concurrent"] = max(STATS["max_concurrent"], self.open)
                s = Stream(ev.stream_id, ev.headers)
                self.streams[ev.stream_id] = s
                asyncio.get_event_loop().create_task(self.handle(s))
            elif isinstance(ev, h2.events.DataReceived):
                s = self.streams.get(ev.stream_id)
                self.h2.acknowledge_received_data(ev.flow_controlled_length, ev.stream_id)
                if s:
                    s.body += ev.data
                    s.event.set()
            elif isinstance(ev, h2.events.StreamEnded):
                s = self.streams.get(ev.stream_id)
                if s:
                    s.ended = True
                    s.event.set()
            elif isinstance(ev, h2.events.StreamReset):
                s = self.streams.pop(ev.stream_id, None)
                if s:
                    self.open -= 1
                    s.ended = True
                    s.event.set()
            elif isinstance(ev, (h2.events.WindowUpdated, h2.events.RemoteSettingsChanged)):
                self.window_open.set()
        self.flush()

    async def body(self, s):
        while not s.ended:
            s.event.clear()
            await s.event.wait()
        return bytes(s.body)

    async def send(self, sid, data, end=False, progress=None):
        """Sends `data` as the peer's windows allow. `progress` (a dict) gets "sent" and
        "blocked": whether the send now waits for a window."""
        view, off = memoryview(data), 0
        while off < len(view):
            if sid not in self.streams:
                return
            room = min(self.h2.local_flow_control_window(sid), self.h2.max_outbound_frame_size)
            if room <= 0:
                if progress is not None:
                    progress["blocked"] = True
                self.window_open.clear()
                await self.window_open.wait()
                if progress is not None:
                    progress["blocked"] = False
                continue
            piece = view[off:off + room]
            off += len(piece)
            self.h2.send_data(sid, piece.tobytes(), end_stream=end and off == len(view))
            self.flush()
            if progress is not None:
                progress["sent"] = off

    def finish(self, sid):
        if self.streams.pop(sid, None) is not None:
            self.open -= 1

    def respond(self, sid, status, headers, end=False):
        self.h2.send_headers(sid, [(":status", str(status))] + headers, end_stream=end)
        self.flush()

    async def handle(self, s):
        h = dict(s.headers)
        url = urllib.parse.urlsplit(h.get(":path", "/"))
        q = dict(urllib.parse.parse_qsl(url.query))
        path = url.path
        sid = s.id
        try:
            if path == "/refuse-once" and not self.refused:
                self.refused = True
                self.h2.reset_stream(sid, h2.errors.ErrorCodes.REFUSED_STREAM)
                self.flush()
                self.finish(sid)
                return
            if path == "/goaway-once":
                global GOAWAY_DONE
                if not GOAWAY_DONE:
                    GOAWAY_DONE = True
                    self.h2.close_connection(error_code=0, last_stream_id=sid - 2 if sid > 2 else 0)
                    self.flush()
                    return
            if path == "/reset":
                self.h2.reset_stream(sid, h2.errors.ErrorCodes.INTERNAL_ERROR)
                self.flush()
                self.finish(sid)
                return
            if path == "/hints":
                # n interim heads (103, a Link each; 102 first when asked), then the JSON echo.
                if q.get("processing"):
                    self.respond(sid, 102, [])
                for i in range(int(q.get("n", "1"))):
                    self.respond(sid, 103, [("link", f"</a{i}.css>; rel=preload")])
            if path == "/hints-refused":  # a 103, then the stream reset as refused
                self.respond(sid, 103, [("link", "</r.css>; rel=preload")])
                self.h2.reset_stream(sid, h2.errors.ErrorCodes.REFUSED_STREAM)
                self.flush()
                self.finish(sid)
                return
            if path == "/continue":
                self.respond(sid, 100, [])
            if path == "/grpc-error":
                await self.body(s)
                self.respond(sid, 200, [("content-type", "application/grpc"),
                                        ("grpc-status", "13"), ("grpc-message", "boom")], end=True)
                self.finish(sid)
                return
            if path == "/grpc":
                self.respond(sid, 200, [("content-type", "application/grpc")])
                sent = 0
                while True:
                    s.event.clear()
                    if len(s.body) > sent:
                        piece = bytes(s.body[sent:])
                        sent += len(piece)
                        await self.send(sid, piece)
                        continue
                    if s.ended:
                        break
                    await s.event.wait()
                if sid in self.streams:
                    self.h2.send_headers(sid, [("grpc-status", "0"), ("grpc-message", "ok")],
                                         end_stream=True)
                    self.flush()
                self.finish(sid)
                return
            if path == "/stream":
                await self.body(s)
                n = int(q.get("n", "3"))
                self.respond(sid, 200, [("content-type", "application/octet-stream")])
                for i in range(n):
                    await asyncio.sleep(0.05)
                    await self.send(sid, bytes([65 + i % 26]) * 1024)
                if sid in self.streams:
                    self.h2.send_headers(sid, [("x-pieces", str(n))], end_stream=True)
                    self.flush()
                self.finish(sid)
                return
            if path == "/big":
                await self.body(s)
                n = int(q.get("bytes", "1048576"))
                data = (bytes(range(251)) * (n // 251 + 1))[:n]
                self.respond(sid, 200, [("content-length", str(n)),
                                        ("x-sha256", hashlib.sha256(data).hexdigest())])
                STATS["big"] = {"sent": 0, "blocked": False}
                await self.send(sid, data, end=True, progress=STATS["big"])
                self.finish(sid)
                return
            if path == "/delay":
                STATS["delaying"] = STATS.get("delaying", 0) + 1
                await asyncio.sleep(int(q.get("ms", "100")) / 1000)
                STATS["delaying"] -= 1
            body = await self.body(s)
            if path == "/stats":
                out = json.dumps(STATS).encode()
            else:
                out = json.dumps({
                    "method": h.get(":method"), "path": h.get(":path"),
                    "authority": h.get(":authority"), "scheme": h.get(":scheme"),
                    "headers": [[k, v] for k, v in s.headers if not k.startswith(":")],
                    "body_length": len(body), "body_sha256": hashlib.sha256(body).hexdigest(),
                    "stream_id": sid}).encode()
            self.respond(sid, 200, [("content-type", "application/json"),
                                    ("content-length", str(len(out)))])
            await self.send(sid, out, end=True)
            self.finish(sid)
        except Exception:
            self.finish(sid)


def main():
    port = int(sys.argv[1])
    ctx = None
    max_streams = 0
    args = sys.argv[2:]
    while args:
        if args[0] == "--tls":
            ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            ctx.load_cert_chain(args[1], args[2])
            ctx.set_alpn_protocols(["h2"])
            args = args[3:]
        elif args[0] == "--alpn":  # what the TLS listener offers instead of h2
            ctx.set_alpn_protocols([args[1]])
            args = args[2:]
        elif args[0] == "--max-streams":
            max_streams = int(args[1])
            args = args[2:]
        else:
            raise SystemExit(f"unknown argument {args[0]}")
    loop = asyncio.new_event_loop()
    server = loop.run_until_complete(
        loop.create_server(lambda: Conn(max_streams), "127.0.0.1", port, ssl=ctx))
    try:
        loop.run_forever()
    finally:
        server.close()


if __name__ == "__main__":
    main()
