#!/usr/bin/env python3
"""Cold start of a function binary, measured against a minimal Lambda Runtime API on loopback.

For each run: start the binary (a new process, as Lambda does on a cold start), and time
  init   = process start -> its first `GET /runtime/invocation/next` (config read, store opened),
  first  = event handed out -> its response posted (the first request, connections included).
Prints the median and the worst of the runs; asserts nothing.

usage: bench/cold_start.py BINARY EVENT_JSON [RUNS]   (store env: SQLITE_PATH or TABLE_NAME, ...)
"""
import json
import os
import statistics
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def run_once(binary, event):
    marks = {}
    done = threading.Event()

    class Api(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_GET(self):  # /2018-06-01/runtime/invocation/next
            if "first_next" in marks:  # after the one event: park until the process is stopped
                done.wait(5)
                self.send_response(500)
                self.end_headers()
                return
            marks["first_next"] = time.perf_counter()
            body = json.dumps(event).encode()
            self.send_response(200)
            self.send_header("Lambda-Runtime-Aws-Request-Id", "cold-start-1")
            self.send_header("Lambda-Runtime-Deadline-Ms", str(int(time.time() * 1000) + 10_000))
            self.send_header("Lambda-Runtime-Invoked-Function-Arn", "arn:aws:lambda:eu-west-1:123456789012:function:bench")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            marks["event_sent"] = time.perf_counter()

        def do_POST(self):  # .../invocation/{id}/response, /error, /init/error
            length = int(self.headers.get("Content-Length") or 0)
            marks["answer"] = json.loads(self.rfile.read(length) or b"null")
            marks["responded"] = time.perf_counter()
            marks["path"] = self.path
            self.send_response(202)
            self.end_headers()
            done.set()

    server = ThreadingHTTPServer(("127.0.0.1", 0), Api)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    env = dict(os.environ,
               AWS_LAMBDA_RUNTIME_API=f"127.0.0.1:{server.server_address[1]}",
               AWS_LAMBDA_FUNCTION_NAME="bench", AWS_LAMBDA_FUNCTION_MEMORY_SIZE="256",
               AWS_LAMBDA_FUNCTION_VERSION="1", AWS_LAMBDA_LOG_STREAM_NAME="bench",
               AWS_LAMBDA_LOG_GROUP_NAME="bench", RUST_LOG="warn")
    started = time.perf_counter()
    proc = subprocess.Popen([binary], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    peak_kib = None
    try:
        if not done.wait(10):
            raise SystemExit(f"{binary} did not answer within 10 s")
        # The process's peak resident memory so far (it is parked, waiting for the next event).
        with open(f"/proc/{proc.pid}/status") as status_file:
            for line in status_file:
                if line.startswith("VmHWM:"):
                    peak_kib = int(line.split()[1])
    finally:
        proc.kill()
        proc.wait()
        server.shutdown()
    marks["peak_kib"] = peak_kib
    if not marks["path"].endswith("/response"):
        raise SystemExit(f"{binary} reported an error: {marks['answer']}")
    status = marks["answer"].get("statusCode")
    return ((marks["first_next"] - started) * 1000, (marks["responded"] - marks["event_sent"]) * 1000, status,
            (marks["responded"] - started) * 1000, marks["peak_kib"])


def main():
    binary, event_file = sys.argv[1], sys.argv[2]
    runs = int(sys.argv[3]) if len(sys.argv) > 3 else 20
    with open(event_file) as f:
        event = json.load(f)
    results = [run_once(binary, event) for _ in range(runs)]
    statuses = sorted({r[2] for r in results})
    spawns = [r[3] for r in results]
    inits = [r[0] for r in results]
    firsts = [r[1] for r in results]
    print(f"{os.path.basename(binary)}: {runs} cold starts, answered {statuses}")
    print(f"  init (start -> ready):     median {statistics.median(inits):6.1f} ms, worst {max(inits):6.1f} ms")
    print(f"  first request:             median {statistics.median(firsts):6.1f} ms, worst {max(firsts):6.1f} ms")
    print(f"  spawn -> first response:   median {statistics.median(spawns):6.1f} ms, worst {max(spawns):6.1f} ms")


if __name__ == "__main__":
    main()
