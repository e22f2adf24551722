"""A webhook receiver on loopback for tests/api/webhooks.rs: every delivery is verified with the
Standard Webhooks reference library (`standardwebhooks`, pinned in requirements-dev.txt).

    python receiver.py PORT      prints "listening on PORT" once it listens

Paths: /ok/<name> answers 200 to a delivery whose signature verifies (400 otherwise);
/flaky/<name> answers 500 to the first two deliveries of each webhook-id, then 200;
/gone/<name> answers 410; /back/<name> answers 410 to its first delivery and 200 after (an
endpoint taken down, then back); /hang/<name> answers after 60 s. Control: POST /_secrets with
{"<path>": "<whsec_…>"} says which secret signs which path; GET /_log answers every delivery
received so far as a JSON list of {"path", "webhook_id", "verified", "type", "status", "at"}.
"""

import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from standardwebhooks.webhooks import Webhook, WebhookVerificationError

secrets = {}
log = []
seen = {}
# deliveries per path (of /back/<name>)
per_path = {}
lock = threading.Lock()


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def answer(self, status, body=b""):
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        if self.path == "/_log":
            with lock:
                body = json.dumps(log).encode()
            return self.answer(200, body)
        self.answer(404)

    def do_POST(self):
        length = int(self.headers.get("content-length", "0"))
        body = self.rfile.read(length)
        if self.path == "/_secrets":
            with lock:
                secrets.update(json.loads(body))
            return self.answer(204)
        kind = self.path.strip("/").split("/")[0]
        webhook_id = self.headers.get("webhook-id")
        verified, event_type = False, None
        secret = secrets.get(self.path)
        if secret is not None:
            try:
                payload = Webhook(secret).verify(body, dict(self.headers))
                verified, event_type = True, payload.get("type")
            except WebhookVerificationError:
                verified = False
        if kind == "hang":
            time.sleep(60)
        with lock:
            count = seen.get((self.path, webhook_id), 0) + 1
            seen[(self.path, webhook_id)] = count
            on_path = per_path.get(self.path, 0) + 1
            per_path[self.path] = on_path
        if not verified:
            status = 400
        elif kind == "flaky" and count <= 2:
            status = 500
        elif kind == "gone" or (kind == "back" and on_path == 1):
            status = 410
        else:
            status = 200
        with lock:
            log.append(
                {
                    "path": self.path,
                    "webhook_id": webhook_id,
                    "verified": verified,
                    "type": event_type,
                    "status": status,
                    "at": time.time(),
                }
            )
        self.answer(status)


def main():
    server = ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler)
    server.daemon_threads = True
    print(f"listening on {server.server_address[1]}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
