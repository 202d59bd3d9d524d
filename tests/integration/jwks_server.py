"""A JWKS endpoint on a loopback port, for the jwt tests: serves whatever key set it is given
with a Cache-Control max-age, counts fetches, and can stop answering (connections refused)."""
import http.server
import threading
import time

from harness import free_port


class JwksServer:
    def __init__(self, body, max_age=1):
        self.body, self.max_age, self.fetches = body, max_age, 0
        self.delay = 0.0  # seconds before each answer
        self.lock = threading.Lock()
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/jwks.json"
        self._start()

    def _start(self):
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                with server.lock:
                    server.fetches += 1
                    body = server.body.encode()
                    delay = server.delay
                if delay:
                    time.sleep(delay)
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Cache-Control", f"max-age={server.max_age}")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def set(self, body):
        with self.lock:
            self.body = body

    def count(self):
        with self.lock:
            return self.fetches

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()

    def restart(self):
        self._start()
