#!/usr/bin/env python3
"""CPU instructions per request, one setting beside another, counted by valgrind's callgrind.

Throughput ratios (bench/benchmark.py sections 8, 9, 11) need a quiet machine: on a shared one a
round's ratio was seen anywhere from 0.38 to 1.56. Instructions do not depend on what else the
machine is doing — callgrind counts the same total for the same binary, inputs and environment —
so this measures what a setting costs per request whatever the load. On a CPU-bound server (as the
local server is on loopback) instructions per request are what throughput is the inverse of; the
throughput figures remain the headline when a quiet machine is at hand.

How: the release server runs under `valgrind --tool=callgrind` (every thread of the process
counted, the background tasks and the SQLite writer thread included) on a fresh copy of a small
benchmark data set, is sent N requests one after another on one keep-alive connection, and is
stopped; that is done with N = FEW and N = MANY, and the difference of the two totals divided by
MANY − FEW is the instructions one request costs (start-up and shut-down cancel out). Each
setting is measured that way for each kind of request; the table prints on ÷ off.

usage: bench/instructions.py metrics      METRICS=on beside METRICS=off
       bench/instructions.py player-auth  PLAYER_AUTH=guest (each request with one of 200 players'
                                          signed tokens, made by POST /players before the count)
                                          beside trusted (the player named by user_id)
needs: target/release/escape-room-server (cargo build --release -p server) and valgrind
"""
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from http.client import HTTPConnection

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SERVER = os.path.join(os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target")), "release",
                      "escape-room-server")
FEW, MANY = int(os.environ.get("BENCH_FEW", "1000")), int(os.environ.get("BENCH_MANY", "6000"))
ROOMS, SLOTS = 4, 2000
COMMON = {"RUST_LOG": "warn", "RATE_LIMIT": "off", "MAX_LIVE_HOLDS_PER_PLAYER": "0",
          "MAX_UPCOMING_BOOKINGS_PER_PLAYER": "0", "DEMO": "0"}
PLAYER_KEY = "benchmark-player-key-0123456789abcdef0123"
GUEST_PLAYERS = 200
SETTINGS = {
    "metrics": {"off": {"METRICS": "off"}, "on": {"METRICS": "on"}},
    "player-auth": {"trusted": {"PLAYER_AUTH": "trusted"},
                    "guest": {"PLAYER_AUTH": "guest", "PLAYER_TOKEN_SECRET": PLAYER_KEY}},
}


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def requests(kind, n, tokens):
    """The n requests of one run: a 16-slot listing page, or holds on distinct slots; with tokens,
    each carries one of them as its bearer and names no user_id."""
    for i in range(n):
        headers = {"Authorization": f"Bearer {tokens[i % len(tokens)]}"} if tokens else {}
        if kind == "listing":
            path = "/slots?room_id=r-bench-1&limit=16" + ("" if tokens else f"&user_id=u-bench-{i % 100 + 1}")
            yield "GET", path, None, headers
        else:
            room, slot = 1 + i // SLOTS, i % SLOTS + 1
            body = {"slot_id": f"s-bench-{room}-{slot}"}
            if not tokens:
                body["user_id"] = f"u-bench-{slot}"
            yield "POST", "/holds", json.dumps(body), {**headers, "Content-Type": "application/json"}


def make_tokens(env, seeded_db):
    """Players' tokens made by POST /players on a native server over the seeded file."""
    port = free_port()
    full_env = {**os.environ, **COMMON, **env, "SQLITE_PATH": seeded_db, "PORT": str(port)}
    process = subprocess.Popen([SERVER], env=full_env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(300):
            try:
                connection = HTTPConnection("127.0.0.1", port, timeout=10)
                connection.request("GET", "/rooms")
                connection.getresponse().read()
                break
            except OSError:
                time.sleep(0.1)
        tokens = []
        for _ in range(GUEST_PLAYERS):
            connection.request("POST", "/players", body="{}", headers={"Content-Type": "application/json"})
            answer = connection.getresponse()
            tokens.append(json.loads(answer.read())["token"])
        return tokens
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(30)


def instructions(env, seeded_db, kind, n, tokens):
    """Total instructions of one server process that answered n requests of `kind`."""
    work = tempfile.mkdtemp(prefix="bench-instr-")
    try:
        db = os.path.join(work, "bench.db")
        shutil.copy(seeded_db, db)
        port = free_port()
        out = os.path.join(work, "callgrind.out")
        full_env = {**os.environ, **COMMON, **env, "SQLITE_PATH": db, "PORT": str(port)}
        with open(os.path.join(work, "server.log"), "wb") as log:
            process = subprocess.Popen(["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", SERVER],
                                       env=full_env, stdout=log, stderr=log)
            connection = None
            for _ in range(600):
                try:
                    connection = HTTPConnection("127.0.0.1", port, timeout=60)
                    connection.request("GET", "/rooms")
                    connection.getresponse().read()
                    break
                except OSError:
                    connection = None
                    time.sleep(0.2)
            if connection is None:
                process.kill()
                raise SystemExit("instructions: the server did not answer under valgrind")
            for method, path, body, headers in requests(kind, n, tokens):
                connection.request(method, path, body=body, headers=headers)
                answer = connection.getresponse()
                answer.read()
                if answer.status not in (200, 201):
                    raise SystemExit(f"instructions: {method} {path} answered {answer.status}")
            connection.close()
            process.send_signal(signal.SIGTERM)
            process.wait(120)
        with open(out) as f:
            text = f.read()
        match = re.search(r"^(?:summary|totals): (\d+)", text, re.M)
        if not match:
            raise SystemExit("instructions: callgrind wrote no total")
        return int(match.group(1))
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main():
    if len(sys.argv) != 2 or sys.argv[1] not in SETTINGS:
        raise SystemExit(__doc__)
    if not os.access(SERVER, os.X_OK):
        raise SystemExit(f"instructions: no release server at {SERVER} (cargo build --release -p server)")
    if shutil.which("valgrind") is None:
        raise SystemExit("instructions: valgrind is needed (apt-get install valgrind)")
    modes = SETTINGS[sys.argv[1]]
    seeded = tempfile.mkdtemp(prefix="bench-instr-seed-")
    try:
        seeded_db = os.path.join(seeded, "bench.db")
        subprocess.run([SERVER, "seed", "--bench", f"{ROOMS}x{SLOTS}"],
                       env={**os.environ, **COMMON, "SQLITE_PATH": seeded_db}, check=True,
                       stdout=subprocess.DEVNULL)
        tokens = {mode: make_tokens(env, seeded_db) if "PLAYER_TOKEN_SECRET" in env else []
                  for mode, env in modes.items()}
        print(f"instructions per request (callgrind, release server, {ROOMS} x {SLOTS} data set, "
              f"one keep-alive connection, ({MANY} − {FEW} requests) difference)")
        print()
        print(f"| request | " + " | ".join(modes) + " | " + " ÷ ".join(reversed(list(modes))) + " |")
        print("|---|" + "---|" * (len(modes) + 1))
        for kind in ("listing", "holds"):
            per = {}
            for mode, env in modes.items():
                few = instructions(env, seeded_db, kind, FEW, tokens[mode])
                many = instructions(env, seeded_db, kind, MANY, tokens[mode])
                per[mode] = (many - few) / (MANY - FEW)
            names = list(modes)
            ratio = per[names[1]] / per[names[0]]
            print(f"| {kind} | " + " | ".join(f"{per[m]:,.0f}" for m in names) + f" | {ratio:.3f} |",
                  flush=True)
    finally:
        shutil.rmtree(seeded, ignore_errors=True)


if __name__ == "__main__":
    main()
