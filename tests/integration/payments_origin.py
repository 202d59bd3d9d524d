"""A payments origin for the idempotency tests: it counts every execution, so a test can assert
that the origin acted exactly once per key. Each POST gets 201 with a new charge id (in the body
and in X-Charge-Id), so a replay that is not byte-exact shows; X-Answer-Status picks another
status. hold_next(ms) makes the next POST wait before it answers (a stalled request)."""
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from harness import free_port


class PaymentsOrigin:
    def __init__(self):
        self.port = free_port()
        self.address = f"127.0.0.1:{self.port}"
        self.lock = threading.Lock()
        self.executions = 0
        self.arrived = 0
        self.hold_next_ms = 0
        self.seen_fencing = []
        origin = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def reply(self, status, body, extra=()):
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                for k, v in extra:
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(body)

            def do_POST(self):
                n = int(self.headers.get("Content-Length", "0"))
                data = self.rfile.read(n)
                with origin.lock:
                    origin.arrived += 1
                    hold, origin.hold_next_ms = origin.hold_next_ms, 0
                    origin.seen_fencing.append(self.headers.get("Idempotency-Fencing-Token"))
                time.sleep(hold / 1000.0)
                with origin.lock:
                    origin.executions += 1
                    charge = origin.executions
                status = int(self.headers.get("X-Answer-Status", "201"))
                body = json.dumps({"charge": f"ch_{charge}", "amount": data.decode()}).encode()
                self.reply(status, body, [("X-Charge-Id", f"ch_{charge}"),
                                          ("Set-Cookie", "seen=1")])

            do_PATCH = do_POST

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.server.daemon_threads = True
        self.server.handle_error = lambda *args: None  # a client killed mid-request is expected
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def hold_next(self, ms):
        with self.lock:
            self.hold_next_ms = ms

    def stop(self):
        self.server.shutdown()
        self.server.server_close()
