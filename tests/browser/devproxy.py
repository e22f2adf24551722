#!/usr/bin/env python3
"""A tiny development proxy: serves the web pages from shared/assets/web and passes every other
request on to an API server. For trying the pages (and running the browser tests) against a server
binary that does not serve the pages itself yet.

    python3 tests/browser/devproxy.py --port 18081 --api http://127.0.0.1:18080

It sends the pages with the headers the real server should send (see STATIC and PAGE_HEADERS).
"""
import argparse
import http.client
import pathlib
import sys
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

WEB = pathlib.Path(__file__).resolve().parents[2] / "shared" / "assets" / "web"

STATIC = {
    "/": ("index.html", "text/html; charset=utf-8"),
    "/operator": ("operator.html", "text/html; charset=utf-8"),
    "/app.css": ("app.css", "text/css; charset=utf-8"),
    "/app.js": ("app.js", "text/javascript; charset=utf-8"),
    "/operator.js": ("operator.js", "text/javascript; charset=utf-8"),
}

PAGE_HEADERS = {
    "Cache-Control": "no-cache",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    ),
}

# Response headers of the API worth passing back to the browser.
PASS_BACK = ("content-type", "location", "retry-after", "www-authenticate", "idempotent-replayed", "date")


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    api = None  # (host, port)

    def log_message(self, fmt, *args):  # quiet
        pass

    def _static(self):
        path = urllib.parse.urlsplit(self.path).path
        entry = STATIC.get(path)
        if entry is None or self.command not in ("GET", "HEAD"):
            return False
        body = (WEB / entry[0]).read_bytes()
        self.send_response(200)
        self.send_header("Content-Type", entry[1])
        self.send_header("Content-Length", str(len(body)))
        for k, v in PAGE_HEADERS.items():
            self.send_header(k, v)
        self.end_headers()
        if self.command == "GET":
            self.wfile.write(body)
        return True

    def _proxy(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else None
        headers = {k: v for k, v in self.headers.items()
                   if k.lower() in ("authorization", "idempotency-key", "content-type", "accept")}
        conn = http.client.HTTPConnection(*self.api, timeout=30)
        try:
            conn.request(self.command, self.path, body=body, headers=headers)
            res = conn.getresponse()
            data = res.read()
        except OSError as e:
            msg = b'{"error":"SERVICE_UNAVAILABLE","message":"Service temporarily unavailable, retry shortly."}'
            self.send_response(503)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(msg)))
            self.end_headers()
            self.wfile.write(msg)
            print(f"devproxy: API unreachable: {e}", file=sys.stderr)
            return
        finally:
            conn.close()
        self.send_response_only(res.status, res.reason)
        for k, v in res.getheaders():
            if k.lower() in PASS_BACK:
                self.send_header(k, v)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def _handle(self):
        if not self._static():
            self._proxy()

    do_GET = do_HEAD = do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = _handle


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--port", type=int, default=18081)
    ap.add_argument("--bind", default="127.0.0.1")
    ap.add_argument("--api", default="http://127.0.0.1:18080", help="the API server's base URL")
    a = ap.parse_args()
    u = urllib.parse.urlsplit(a.api)
    Handler.api = (u.hostname, u.port or 80)
    srv = ThreadingHTTPServer((a.bind, a.port), Handler)
    srv.daemon_threads = True
    print(f"devproxy: http://{a.bind}:{srv.server_address[1]}/ -> pages from {WEB}, API {a.api}", flush=True)
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
