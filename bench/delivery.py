#!/usr/bin/env python3
"""What booking events cost the booking path, and how long they take to arrive.

  bench/delivery.py throughput   bookings (POST /holds then POST /holds/{id}/confirm with a
                                 contact) per second at 16 connections, events delivered
                                 ("on": a webhook subscribed to both event types and SMTP_URL set,
                                 each booking mailed to its contact) beside not ("off": no webhook,
                                 no SMTP_URL; the outbox row is written either way, as it is part
                                 of the booking's transaction), rounds alternating which goes first
  bench/delivery.py latency      from the event's timestamp (taken when the booking is decided,
                                 just before its commit) to the webhook receiver's arrival, p50 and
                                 p99 over BENCH_BOOKINGS (500) bookings made at BENCH_RATE (20) a
                                 second, on SQLite and on DynamoDB Local; then the same number made
                                 as fast as one client can (a burst) and the time until the last
                                 event arrived: the drainer's deliveries per second

Everything runs on loopback: the release server, a webhook receiver and an SMTP sink (aiosmtpd,
pinned in requirements-dev.txt) in this process, DynamoDB Local from node_modules. Run it with the
project's Python (`source scripts/dev-venv`); needs target/release/escape-room-server with the
`webhooks` and `mail` features (the default build) and wrk for `throughput`.
"""
import json
import re
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchmark  # noqa: E402

OPERATOR = "benchmark-operator-token-0123456789abcdef"
ROUNDS = int(os.environ.get("BENCH_ROUNDS_EVENTS", "4"))
BOOKINGS = int(os.environ.get("BENCH_BOOKINGS", "500"))
RATE = float(os.environ.get("BENCH_RATE", "20"))  # bookings a second in `latency`
SLOTS = 3000
COMMON = {"OPERATOR_TOKEN": OPERATOR, "WEBHOOK_ALLOW_INSECURE": "1", "DEMO": "0",
          "PUBLIC_BASE_URL": "http://127.0.0.1"}


class Receiver:
    """A webhook endpoint on loopback: answers 204 and notes each delivery's arrival."""

    def __init__(self):
        self.arrivals = []  # (arrival, webhook-id, type, timestamp)
        lock = threading.Lock()
        arrivals = self.arrivals

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as a real endpoint would

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                now = time.time()
                self.send_response(204)
                self.send_header("Content-Length", "0")
                self.end_headers()
                event = json.loads(body)
                with lock:
                    arrivals.append((now, self.headers.get("webhook-id"), event["type"], event["timestamp"]))

            def log_message(self, *args):
                pass

        class Server(ThreadingHTTPServer):
            request_queue_size = 1024  # the default 5 drops connections the drainer opens at once
            daemon_threads = True

        self.server = Server(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self):
        self.server.shutdown()


class SmtpSink:
    """aiosmtpd on loopback, counting the messages it accepts."""

    def __init__(self):
        from aiosmtpd.controller import Controller

        sink = self

        class Handler:
            async def handle_DATA(self, server, session, envelope):
                sink.count += 1
                return "250 2.0.0 OK"

        self.count = 0
        self.port = benchmark.free_port()
        self.controller = Controller(Handler(), hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self):
        self.controller.stop()


def call(base, method, path, body=None, token=None):
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(base + path, data=data, method=method, headers=headers)
    with urllib.request.urlopen(request, timeout=30) as answer:
        return json.load(answer) if answer.status != 204 else None


def subscribe(base, receiver):
    call(base, "POST", "/webhooks", {"url": receiver.url, "events": ["booking.confirmed", "booking.cancelled"]},
         token=OPERATOR)


def parse_time(text):
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def throughput():
    receiver, smtp = Receiver(), SmtpSink()
    works, servers = [], {}
    try:
        modes = {"off": {}, "on": {"SMTP_URL": f"smtp://127.0.0.1:{smtp.port}",
                                           "MAIL_FROM": "Bench Venue <bench@example.com>"}}
        for mode, env in modes.items():
            work = tempfile.mkdtemp(prefix=f"bench-events-{mode}-")
            works.append(work)
            servers[mode] = benchmark.Server({"SQLITE_PATH": os.path.join(work, "bench.db"), **COMMON, **env},
                                             seed_args=["--bench", f"{16 * ROUNDS}x{SLOTS}"])
        subscribe(servers["on"].base, receiver)
        figures = {mode: [] for mode in modes}
        for round_ in range(ROUNDS):
            for mode in (["off", "on"] if round_ % 2 == 0 else ["on", "off"]):
                email = "player@example.com" if mode == "on" else "-"
                args = ["wrk", "-t16", "-c16", f"-d{benchmark.DURATION}", "-s",
                        os.path.join(benchmark.ROOT, "bench", "booking.lua"), servers[mode].base, "--",
                        str(round_), email]
                result = subprocess.run(args, capture_output=True, text=True, check=True)
                out = result.stdout
                found = re.search(r"(\d+) requests in ([\d.]+)(m?s)", out)
                requests = int(found.group(1))
                seconds = float(found.group(2)) / (1000 if found.group(3) == "ms" else 1)
                non2xx = sum(int(line.split()[-1]) for line in out.splitlines() if "Non-2xx" in line)
                if non2xx:
                    raise SystemExit(f"delivery: {non2xx} answers were not 2xx ({mode}):\n{result.stderr[-2000:]}")
                figures[mode].append(requests / seconds)
                print(f"round {round_ + 1} {mode}: {requests / seconds:,.0f} requests/s "
                      f"({requests / seconds / 2:,.0f} bookings/s)", flush=True)
        time.sleep(3)
        ratios = [on / off for on, off in zip(figures["on"], figures["off"])]
        print()
        print("| | off (requests/s) | on (requests/s) | on ÷ off |")
        print("|---|---|---|---|")
        for i, (off, on) in enumerate(zip(figures["off"], figures["on"])):
            print(f"| round {i + 1} | {off:,.0f} | {on:,.0f} | {on / off:.3f} |")
        print(f"| **median** | | | **{statistics.median(ratios):.3f}** |")
        print()
        print(f"webhook deliveries received: {len(receiver.arrivals)}; emails accepted by the sink: {smtp.count}")
    finally:
        for server in servers.values():
            server.stop()
        receiver.stop()
        smtp.stop()


def book(base, n):
    hold = call(base, "POST", "/holds", {"slot_id": f"s-bench-1-{n}", "user_id": "u-bench-1"})
    call(base, "POST", f"/holds/{hold['hold_id']}/confirm", {"user_id": "u-bench-1"})


def wait_for_arrivals(receiver, start, count, store):
    deadline = time.time() + 120
    while len(receiver.arrivals) - start < count and time.time() < deadline:
        time.sleep(0.05)
    got = receiver.arrivals[start:]
    if len(got) < count:
        raise SystemExit(f"delivery: {store}: {len(got)} of {count} events arrived within two minutes")
    return got


def latency():
    receiver = Receiver()
    dynamo = None
    try:
        rows, bursts = [], []
        for store in ("SQLite", "DynamoDB Local"):
            work = tempfile.mkdtemp(prefix="bench-latency-")
            if store == "SQLite":
                env = {"SQLITE_PATH": os.path.join(work, "bench.db")}
            else:
                dynamo = benchmark.DynamoLocal()
                env = dynamo.env()
            server = benchmark.Server({**env, **COMMON}, seed_args=["--bench", f"1x{2 * BOOKINGS}"])
            try:
                subscribe(server.base, receiver)
                start = len(receiver.arrivals)
                began = time.time()
                for i in range(BOOKINGS):
                    time.sleep(max(0.0, began + i / RATE - time.time()))
                    book(server.base, i + 1)
                got = wait_for_arrivals(receiver, start, BOOKINGS, store)
                burst_start, began = len(receiver.arrivals), time.time()
                for i in range(BOOKINGS):
                    book(server.base, BOOKINGS + i + 1)
                booked = time.time() - began
                wait_for_arrivals(receiver, burst_start, BOOKINGS, store)
                drained = receiver.arrivals[-1][0] - began
                bursts.append((store, booked, drained))
                waits = sorted((arrival - parse_time(stamp)) * 1000 for arrival, _, _, stamp in got)
                p50 = statistics.median(waits)
                p99 = waits[min(len(waits) - 1, int(len(waits) * 0.99))]
                rows.append((store, len(got), p50, p99, waits[-1]))
                print(f"{store}: {len(got)} deliveries, p50 {p50:.1f} ms, p99 {p99:.1f} ms, max {waits[-1]:.1f} ms",
                      flush=True)
            finally:
                server.stop()
                if dynamo:
                    dynamo.stop()
                    dynamo = None
        print()
        print("| store | deliveries | p50 | p99 | max |")
        print("|---|---|---|---|---|")
        for store, n, p50, p99, top in rows:
            print(f"| {store} | {n} | {p50:.1f} ms | {p99:.1f} ms | {top:.1f} ms |")
        print()
        print(f"A burst of {BOOKINGS} bookings, one client as fast as it goes:")
        print()
        print("| store | booked in | last event arrived after | deliveries per second |")
        print("|---|---|---|---|")
        for store, booked, drained in bursts:
            print(f"| {store} | {booked:.2f} s | {drained:.2f} s | {BOOKINGS / drained:,.0f} |")
    finally:
        receiver.stop()


def main():
    if not os.access(benchmark.SERVER, os.X_OK):
        raise SystemExit(f"delivery: no release server at {benchmark.SERVER} (cargo build --release -p server)")
    if sys.argv[1:] == ["throughput"]:
        throughput()
    elif sys.argv[1:] == ["latency"]:
        latency()
    else:
        raise SystemExit(__doc__)


if __name__ == "__main__":
    main()
