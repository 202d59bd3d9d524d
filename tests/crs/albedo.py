#!/usr/bin/env python3
"""A stand-in for albedo (github.com/coreruleset/albedo), the origin CRS's regression suite runs
behind its WAF, implementing what the CRS tests use of it:

- any request: 200 with an empty body (albedo's default handler), after reading the whole
  request body (Content-Length or chunked) so a keep-alive connection from the proxy stays usable;
- `POST /reflect` (and `/reflect/...`): the body is a JSON spec {status, headers, body,
  encodedBody, logMessage}; the response carries that status (default 200; outside 100..599:
  400 "Invalid status code: N"), those headers and that body (`body`, else base64 `encodedBody`).
  Invalid JSON: 400 "Invalid JSON in request body". CRS's RESPONSE-95x tests send their leaking
  page this way;
- what albedo's Go server adds by itself: a Content-Type sniffed from the body as Go's
  http.DetectContentType does (a subset of its table: HTML, XML, PDF, images, archives, text vs
  binary) when the spec sets none, `Date`, `Content-Length`; and Go's ServeMux answer to a path
  that is not clean (`//`, `/./`, `/../`): 301 to the cleaned path, with Go's short HTML body
  on GET.

Not implemented (no CRS test uses them): /capabilities, /configure_reflection, /reset, /inspect.

Usage: albedo.py --port N [--bind 127.0.0.1]
"""
import argparse
import base64
import email.utils
import http.client
import json
import posixpath
import re
import socketserver
import sys
from http.server import BaseHTTPRequestHandler
from urllib.parse import urlsplit

_TOKEN = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")
_HTML_SIGS = [b"<!DOCTYPE HTML", b"<HTML", b"<HEAD", b"<SCRIPT", b"<IFRAME", b"<H1", b"<DIV",
              b"<FONT", b"<TABLE", b"<A", b"<STYLE", b"<TITLE", b"<B", b"<BODY", b"<BR", b"<P",
              b"<!--"]
_EXACT_SIGS = [(b"%PDF-", "application/pdf"), (b"%!PS-Adobe-", "application/postscript"),
               (b"\xfe\xff", "text/plain; charset=utf-16be"),
               (b"\xff\xfe", "text/plain; charset=utf-16le"),
               (b"\xef\xbb\xbf", "text/plain; charset=utf-8"),
               (b"\x00\x00\x01\x00", "image/x-icon"), (b"\x00\x00\x02\x00", "image/x-icon"),
               (b"BM", "image/bmp"), (b"GIF87a", "image/gif"), (b"GIF89a", "image/gif"),
               (b"\x89PNG\x0d\x0a\x1a\x0a", "image/png"), (b"\xff\xd8\xff", "image/jpeg"),
               (b"OggS\x00", "application/ogg"), (b"ID3", "audio/mpeg"),
               (b"\x1f\x8b\x08", "application/x-gzip"), (b"PK\x03\x04", "application/zip"),
               (b"Rar!\x1a\x07\x00", "application/x-rar-compressed"),
               (b"Rar!\x1a\x07\x01\x00", "application/x-rar-compressed"),
               (b"\x00\x61\x73\x6d", "application/wasm")]
_BINARY = set(range(0x00, 0x09)) | {0x0B} | set(range(0x0E, 0x1B)) | set(range(0x1C, 0x20))


def detect_content_type(data):
    """Go's net/http.DetectContentType, for the signatures a test page can plausibly start with."""
    data = data[:512]
    ws = data.lstrip(b"\t\n\x0c\r ")
    for sig in _HTML_SIGS:
        head = ws[:len(sig)]
        if len(ws) > len(sig) and head.upper() == sig and ws[len(sig)] in b" >":
            return "text/html; charset=utf-8"
    if ws.startswith(b"<?xml"):
        return "text/xml; charset=utf-8"
    for sig, ctype in _EXACT_SIGS:
        if data.startswith(sig):
            return ctype
    if data[:4] == b"RIFF" and data[8:14] == b"WEBPVP":
        return "image/webp"
    if any(b in _BINARY for b in data):
        return "application/octet-stream"
    return "text/plain; charset=utf-8"


def clean_path(p):
    """Go's net/http cleanPath: path.Clean, rooted, keeping a trailing slash."""
    if p == "":
        return "/"
    if p[0] != "/":
        p = "/" + p
    np = posixpath.normpath(p)
    if np.startswith("//"):  # posixpath keeps a leading '//' (POSIX); Go's path.Clean does not
        np = "/" + np.lstrip("/")
    if p[-1] == "/" and np != "/":
        np += "/"
    return np


def html_escape(s):
    return (s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace('"', "&#34;").replace("'", "&#39;"))


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "albedo"
    sys_version = ""

    def log_message(self, fmt, *args):  # quiet
        pass

    def handle_one_request(self):
        try:
            self.raw_requestline = self.rfile.readline(65537)
            if not self.raw_requestline:
                self.close_connection = True
                return
            if not self.parse_head():
                return
            body = self.read_body()
            if body is None:
                self.close_connection = True
                return
            self.dispatch(body)
            self.wfile.flush()
        except (ConnectionError, TimeoutError, http.client.HTTPException):
            self.close_connection = True

    def parse_head(self):
        """The request line split on single spaces (as Go does: a target may carry any byte but
        controls, e.g. raw UTF-8 that str.split() would cut at U+0085 or U+00A0), then the
        header fields."""
        self.request_version = "HTTP/1.1"
        self.command = ""
        line = self.raw_requestline.rstrip(b"\r\n")
        parts = line.split(b" ")
        if len(parts) != 3 or not parts[2].startswith(b"HTTP/1.") or \
                any(c < 0x20 or c == 0x7f for c in parts[1]):
            self.close_connection = True
            self.respond(400, [("Content-Type", "text/plain; charset=utf-8"), ("Connection", "close")],
                         b"400 Bad Request")
            return False
        self.command, self.path, self.request_version = (p.decode("latin-1") for p in parts)
        self.headers = http.client.parse_headers(self.rfile)
        conn = self.headers.get("Connection", "").lower()
        self.close_connection = "close" in conn or (self.request_version == "HTTP/1.0" and "keep-alive" not in conn)
        if self.headers.get("Expect", "").lower() == "100-continue":
            self.wfile.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        return True

    def read_body(self):
        te = self.headers.get("Transfer-Encoding", "")
        if "chunked" in te.lower():
            out = b""
            while True:
                line = self.rfile.readline(65537)
                if not line:
                    return None
                try:
                    size = int(line.split(b";")[0].strip(), 16)
                except ValueError:
                    return None
                if size == 0:
                    while True:  # trailers up to the empty line
                        t = self.rfile.readline(65537)
                        if t in (b"\r\n", b"\n", b""):
                            return out
                out += self.rfile.read(size)
                self.rfile.readline(65537)
        n = self.headers.get("Content-Length")
        if n:
            try:
                return self.rfile.read(int(n))
            except ValueError:
                return None
        return b""

    def respond(self, status, headers=(), body=b""):
        self.send_response_only(status)
        names = set()
        for name, value in headers:
            self.send_header(name, value)
            names.add(name.lower())
        if body and "content-type" not in names:
            self.send_header("Content-Type", detect_content_type(body))
        if "date" not in names:
            self.send_header("Date", email.utils.formatdate(usegmt=True))
        no_body = self.command == "HEAD" or status < 200 or status in (204, 304)
        if "content-length" not in names and status >= 200 and status not in (204, 304):
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if body and not no_body:
            self.wfile.write(body)

    def dispatch(self, body):
        target = urlsplit(self.path)
        raw_path = target.path if self.path.startswith("/") else "/" + target.path
        if self.command != "CONNECT":
            cleaned = clean_path(raw_path)
            if cleaned != raw_path:
                location = cleaned + ("?" + target.query if target.query else "")
                headers = [("Location", location)]
                page = b""
                if self.command in ("GET", "HEAD"):
                    headers.append(("Content-Type", "text/html; charset=utf-8"))
                if self.command == "GET":
                    page = ('<a href="%s">Moved Permanently</a>.\n\n' % html_escape(location)).encode()
                self.respond(301, headers, page)
                return
        if self.command == "POST" and (raw_path == "/reflect" or raw_path.startswith("/reflect/")):
            self.reflect(body)
            return
        self.respond(200)

    def reflect(self, body):
        try:
            spec = json.loads(body.decode("utf-8", errors="replace"))
            if not isinstance(spec, dict):
                raise ValueError("not an object")
            status = spec.get("status") or 0
            headers = spec.get("headers") or {}
            text = spec.get("body") or ""
            encoded = spec.get("encodedBody") or ""
            if not isinstance(status, int) or not isinstance(headers, dict) or \
                    not isinstance(text, str) or not isinstance(encoded, str) or \
                    not all(isinstance(v, str) for v in headers.values()):
                raise ValueError("wrong types")
        except ValueError:
            self.respond(400, [("Content-Type", "text/plain; charset=utf-8")],
                         b"Invalid JSON in request body")
            return
        if status < 0 or 0 < status < 100 or status >= 600:
            self.respond(400, [("Content-Type", "text/plain; charset=utf-8")],
                         b"Invalid status code: %d" % status)
            return
        if text:
            page = text.encode("utf-8")
        else:
            try:
                page = base64.b64decode(encoded, validate=True) if encoded else b""
            except ValueError:
                self.respond(400, [("Content-Type", "text/plain; charset=utf-8")],
                             b"invalid base64 encoding of response body")
                return
        # Go drops fields with invalid names and turns line breaks in values into spaces.
        out = [(k, re.sub(r"[\r\n]", " ", v)) for k, v in headers.items() if _TOKEN.match(k)]
        self.respond(status or 200, out, page)


class Server(socketserver.ThreadingMixIn, socketserver.TCPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--bind", default="127.0.0.1")
    args = ap.parse_args()
    with Server((args.bind, args.port), Handler) as srv:
        try:
            srv.serve_forever(poll_interval=0.2)
        except KeyboardInterrupt:
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
