#!/usr/bin/env python3
"""A small development proxy in front of an API server. Two uses:

* Pages from disk: it serves the web pages from shared/assets/web (with the headers the real
  server sends, see STATIC and PAGE_HEADERS) and passes every other request on, so a page can be
  edited and reloaded without rebuilding the server:

      python3 tests/browser/devproxy.py --port 18081 --api http://127.0.0.1:18080

* A gate for races (the browser tests import it): `start(api, gate=Gate("POST", "/holds", 2))`
  passes everything through, but parks the first two `POST /holds` until both have arrived and
  then sends them on together, so two players' requests really are in flight at once.
"""
import argparse
import http.client
import pathlib
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

WEB = pathlib.Path(__file__).resolve().parents[2] / "shared" / "assets" / "web"

# The pages as shared/src/pages.rs embeds them.
STATIC = {
    "/": ("index.html", "text/html; charset=utf-8"),
    "/operator": ("operator.html", "text/html; charset=utf-8"),
    "/app.css": ("app.css", "text/css; charset=utf-8"),
    "/common.js": ("common.js", "text/javascript; charset=utf-8"),
    "/app.js": ("app.js", "text/javascript; charset=utf-8"),
    "/operator.js": ("operator.js", "text/javascript; charset=utf-8"),
}

# pages::HEADERS of shared/src/pages.rs.
PAGE_HEADERS = {
    "Cache-Control": "no-cache",
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}

# Request headers passed on to the API, and response headers not passed back (hop by hop, or
# set by this proxy).
PASS_ON = ("authorization", "idempotency-key", "content-type", "accept")
HOLD_BACK = ("connection", "keep-alive", "transfer-encoding", "content-length", "server")


class Gate:
    """Parks the first `parties` requests with this method and path until all of them have
    arrived, then lets them go at once; later requests pass straight through. Records when each
    arrived and when they were let go (time.monotonic()), for the test to check."""

    def __init__(self, method, path, parties, timeout=30.0):
        self.method, self.path, self.parties = method, path, parties
        self.barrier = threading.Barrier(parties, timeout=timeout, action=self._release)
        self.lock = threading.Lock()
        self.arrived = []
        self.released = None

    def _release(self):
        self.released = time.monotonic()

    def wait(self, method, path):
        """Blocks a matching request until its party is complete; False if the party never
        completed (the request then fails)."""
        if (method, path) != (self.method, self.path):
            return True
        with self.lock:
            if len(self.arrived) >= self.parties:
                return True
            self.arrived.append(time.monotonic())
        try:
            self.barrier.wait()
            return True
        except threading.BrokenBarrierError:
            return False


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    api = None  # (host, port)
    pages_from_disk = True
    gate = None

    def log_message(self, fmt, *args):  # quiet
        pass

    def _static(self):
        path = urllib.parse.urlsplit(self.path).path
        entry = STATIC.get(path)
        if not self.pages_from_disk or entry is None or self.command not in ("GET", "HEAD"):
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

    def _answer(self, status, body):
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _proxy(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else None
        headers = {k: v for k, v in self.headers.items() if k.lower() in PASS_ON}
        if self.gate and not self.gate.wait(self.command, urllib.parse.urlsplit(self.path).path):
            self._answer(504, b'{"error":"GATE_TIMEOUT","message":"The other request never came."}')
            return
        conn = http.client.HTTPConnection(*self.api, timeout=30)
        try:
            conn.request(self.command, self.path, body=body, headers=headers)
            res = conn.getresponse()
            data = res.read()
        except OSError as e:
            print(f"devproxy: API unreachable: {e}", file=sys.stderr)
            self._answer(503, b'{"error":"SERVICE_UNAVAILABLE","message":"Service temporarily unavailable, retry shortly."}')
            return
        finally:
            conn.close()
        self.send_response_only(res.status, res.reason)
        for k, v in res.getheaders():
            if k.lower() not in HOLD_BACK:
                self.send_header(k, v)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def _handle(self):
        if not self._static():
            self._proxy()

    do_GET = do_HEAD = do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = _handle


def start(api, port=0, bind="127.0.0.1", pages_from_disk=False, gate=None):
    """A proxy to the API at base URL `api`, serving in a thread of its own: the server (its
    base URL is `"http://%s:%d" % server.server_address`; stop it with shutdown())."""
    u = urllib.parse.urlsplit(api)
    handler = type("BoundHandler", (Handler,), {
        "api": (u.hostname, u.port or 80), "pages_from_disk": pages_from_disk, "gate": gate})
    srv = ThreadingHTTPServer((bind, port), handler)
    srv.daemon_threads = True
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--port", type=int, default=18081)
    ap.add_argument("--bind", default="127.0.0.1")
    ap.add_argument("--api", default="http://127.0.0.1:18080", help="the API server's base URL")
    a = ap.parse_args()
    srv = start(a.api, a.port, a.bind, pages_from_disk=True)
    print(f"devproxy: http://{a.bind}:{srv.server_address[1]}/ -> pages from {WEB}, API {a.api}", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        srv.shutdown()


if __name__ == "__main__":
    main()
