#!/usr/bin/env python3
"""The long mode of the benchmark (`scripts/benchmark contested [SQLITE-ATTEMPTS [DYNAMODB-ATTEMPTS]]`):
a million contested hold attempts on each store, checked for double holds.

Many clients (CLIENTS, each its own keep-alive connection from its own loopback address
127.0.0.2, .3, …, each its own user) send `POST /holds` for a random one of a few slots (SLOTS) as
fast as they can, with a hold TTL of TTL seconds, so holds expire and are retaken all through the
run. No hold is released, extended or confirmed: a slot is free again only when its hold
expires, so every answer 201 says "this slot was mine from `expires_at - TTL` to `expires_at`".

Checked, from the answers: per slot, no two of those intervals overlap (an overlap is two
players holding the slot at once). From the final state: SQLite — the database file read after
the server stops has exactly the holds answered 201 (none lost, none unanswered beyond the
requests that failed in flight), each with the interval its answer gave, and no overlap among
them; DynamoDB — each hold answered 201 is found (`GET /holds/{id}`) with its answer's
`expires_at`, and is the slot's only live one by the end (all expired). Printed: attempts,
winners, overlaps, 5xx, other answers, time.

Every run's figures are also written into BENCHMARKS.md's section 10 (its rows replaced per store).
"""
import datetime
import json
import multiprocessing
import os
import random
import shutil
import sqlite3
import sys
import tempfile
import time
from http.client import HTTPConnection

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchmark  # noqa: E402

CLIENTS = int(os.environ.get("BENCH_CONTESTED_CLIENTS", "64"))
PROCESSES = int(os.environ.get("BENCH_CONTESTED_PROCESSES", "4"))
SLOTS = int(os.environ.get("BENCH_CONTESTED_SLOTS", "8"))
TTL = 1  # seconds: HOLD_TTL_SECONDS' lowest value
# DynamoDB Local (one JVM, on the cores the clients and the server share) can take seconds to
# answer a TransactWriteItems under this load, where DynamoDB answers in milliseconds: the store's
# per-request timeout (DYNAMODB_TIMEOUT_MS, 2 s by default, a 503 past it) is raised for this run
# so that its 5xx count measures the service, not the machine. The report's row names it.
DYNAMODB_TIMEOUT_MS = os.environ.get("BENCH_CONTESTED_DYNAMODB_TIMEOUT_MS", "15000")
HEADING = "## 10. A million contested holds"
# The server binary: the release build scripts/benchmark makes, or another (BENCH_SERVER).
benchmark.SERVER = os.environ.get("BENCH_SERVER", benchmark.SERVER)


def millis(stamp):
    return int(datetime.datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp() * 1000)


def client_process(base, first_client, clients, attempts, results):
    """`clients` threads of one process, each its own connection, address and user."""
    import threading
    host, port = base.replace("http://", "").split(":")
    counts, winners, samples = {}, [], []
    lock = threading.Lock()

    def client(n, quota):
        address = f"127.0.0.{2 + n}"
        user = f"u-bench-{n + 1}"
        rng = random.Random(n)
        conn = HTTPConnection(host, int(port), timeout=30, source_address=(address, 0))
        mine_counts, mine = {}, []
        for _ in range(quota):
            slot = f"s-bench-1-{rng.randrange(SLOTS) + 1}"
            try:
                conn.request("POST", "/holds", json.dumps({"slot_id": slot, "user_id": user}),
                             {"Content-Type": "application/json"})
                response = conn.getresponse()
                body = response.read()
                status = response.status
            except Exception as e:  # a failed request counts as what it was
                status = f"error {type(e).__name__}"
                conn = HTTPConnection(host, int(port), timeout=30, source_address=(address, 0))
                body = b""
            mine_counts[status] = mine_counts.get(status, 0) + 1
            if status == 201:
                hold = json.loads(body)
                mine.append((slot, hold["hold_id"], user, millis(hold["expires_at"])))
            elif status != 409 and len(samples) < 5:
                samples.append(f"{status}: {body[:200]!r}")
        with lock:
            for k, v in mine_counts.items():
                counts[k] = counts.get(k, 0) + v
            winners.extend(mine)

    threads = []
    for i in range(clients):
        n = first_client + i
        quota = attempts // CLIENTS + (1 if n < attempts % CLIENTS else 0)
        threads.append(threading.Thread(target=client, args=(n, quota)))
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    results.put((counts, winners, samples))


def overlaps(intervals):
    """Per slot, the pairs of consecutive intervals (start, end, hold) that overlap."""
    found = 0
    by_slot = {}
    for slot, start, end, hold in intervals:
        by_slot.setdefault(slot, []).append((start, end, hold))
    for spans in by_slot.values():
        spans.sort()
        for (_, end, _), (start, _, _) in zip(spans, spans[1:]):
            found += start < end
    return found


def start(env):
    """The server on its seeded store. A DynamoDB Local just started on a busy machine can take
    longer than the store's 4 s operation timeout to create its first table: seeding is retried
    (it is idempotent)."""
    for attempt in range(5):
        try:
            return benchmark.Server(env, seed_args=["--bench", f"1x{max(SLOTS, CLIENTS)}"])
        except benchmark.subprocess.CalledProcessError:
            if attempt == 4:
                raise
            time.sleep(5)


def run(label, env, attempts):
    """One store: the server, the clients, the checks; returns the report's row and whether it passed."""
    work = tempfile.mkdtemp(prefix="bench-contested-")
    env = {**env, "HOLD_TTL_SECONDS": str(TTL)}
    if "STORE" not in env:
        env["SQLITE_PATH"] = os.path.join(work, "contested.db")
    server = start(env)
    results = multiprocessing.Queue()
    started = time.perf_counter()
    per = CLIENTS // PROCESSES
    processes = [multiprocessing.Process(target=client_process,
                                         args=(server.base, p * per, per if p < PROCESSES - 1 else CLIENTS - p * per,
                                               attempts, results))
                 for p in range(PROCESSES)]
    for p in processes:
        p.start()
    counts, winners, samples = {}, [], []
    for _ in processes:
        c, w, s = results.get()
        for k, v in c.items():
            counts[k] = counts.get(k, 0) + v
        winners.extend(w)
        samples.extend(s)
    for p in processes:
        p.join()
    elapsed = time.perf_counter() - started
    answered = [(slot, end - TTL * 1000, end, hold) for slot, hold, _, end in winners]
    answer_overlaps = overlaps(answered)
    state_problems = final_state(label, server, env, winners, work)
    server.stop()
    shutil.rmtree(work, ignore_errors=True)
    total = sum(counts.values())
    five = sum(v for k, v in counts.items() if isinstance(k, int) and k >= 500)
    other = sum(v for k, v in counts.items() if k not in (201, 409) and not (isinstance(k, int) and k >= 500))
    print(f"{label}: {total:,} attempts, {len(winners):,} winners (201), {counts.get(409, 0):,} refused (409), "
          f"{answer_overlaps} overlaps in the answers, {state_problems} problems in the final state, "
          f"{five} 5xx, {other} other, {elapsed:.0f} s ({total / elapsed:,.0f} attempts/s)", flush=True)
    for s in samples:
        print(f"  sample answer {s}")
    load = f"{CLIENTS} clients, {SLOTS} slots, TTL {TTL} s"
    if "DYNAMODB_TIMEOUT_MS" in env:
        load += f", `DYNAMODB_TIMEOUT_MS={env['DYNAMODB_TIMEOUT_MS']}`"
    row = (f"| {label} | {total:,} | {load} | {len(winners):,} | "
           f"{answer_overlaps} | {state_problems} | {five} | {other} | {elapsed:.0f} s ({total / elapsed:,.0f}/s) |")
    return row, answer_overlaps == 0 and state_problems == 0 and five == 0 and other == 0


def final_state(label, server, env, winners, work):
    """The number of ways the stored holds disagree with the answers (0 when all is well)."""
    if "STORE" not in env:
        server.stop()
        db = sqlite3.connect(env["SQLITE_PATH"])
        rows = db.execute("SELECT id, slot_id, user_id, created_at, expires_at FROM holds").fetchall()
        db.close()
        stored = {r[0]: r for r in rows}
        problems = len(set(stored) ^ {w[1] for w in winners})
        for slot, hold, user, end in winners:
            row = stored.get(hold)
            problems += row is not None and (row[1], row[2], row[4]) != (slot, user, end)
        problems += overlaps([(r[1], r[3], r[4], r[0]) for r in rows])
        return problems
    host, port = server.base.replace("http://", "").split(":")
    conn = HTTPConnection(host, int(port), timeout=30)
    problems = 0
    for slot, hold, user, end in winners:
        conn.request("GET", f"/holds/{hold}?user_id={user}")
        response = conn.getresponse()
        body = response.read()
        if response.status != 200:
            problems += 1
            continue
        found = json.loads(body)
        problems += (found.get("slot_id"), millis(found["expires_at"])) != (slot, end)
    return problems


def write_section(rows):
    """Section 9 of BENCHMARKS.md: its rows replaced per store, the rest of the file kept."""
    path = benchmark.OUT
    text = open(path).read() if os.path.exists(path) else ""
    commit = benchmark.subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=benchmark.ROOT,
                                      capture_output=True, text=True).stdout.strip()
    old_rows = {}
    if HEADING in text:
        before, rest = text.split(HEADING, 1)
        after = rest[rest.find("\n## ") + 1:] if "\n## " in rest else ""
        for line in rest.split("\n## ")[0].splitlines():
            if line.startswith("| ") and not line.startswith("| store") and "---" not in line:
                old_rows[line.split("|")[1].strip()] = line
    elif "## Targets" in text:
        before, after = text.split("## Targets", 1)
        after = "## Targets" + after
    else:
        before, after = text, ""
    for row in rows:
        old_rows[row.split("|")[1].strip()] = row
    section = [HEADING, "",
               "`scripts/benchmark contested` (bench/contested.py): clients on 127.0.0.2 … each its own connection "
               "and user, `POST /holds` on a random one of a few slots as fast as they can; `HOLD_TTL_SECONDS=1`, "
               "so holds expire and are retaken all through the run. An overlap is two answers 201 for one slot "
               "whose hold intervals (`expires_at` − TTL … `expires_at`) intersect: two players holding it at once. "
               "The final state is read after the run (SQLite: the file, every hold; DynamoDB: each winner's hold "
               "looked up) and compared with the answers. "
               f"Last run: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, commit `{commit}`.", "",
               "| store | attempts | load | winners (201) | overlaps in the answers | final state disagreeing | 5xx | other answers | time |",
               "|---|---|---|---|---|---|---|---|---|",
               *old_rows.values(), "", ""]
    with open(path, "w") as f:
        f.write(before + "\n".join(section) + after)


def main(args):
    sqlite_attempts = int(args[0]) if args else 1_000_000
    dynamo_attempts = int(args[1]) if len(args) > 1 else sqlite_attempts
    rows, ok = [], True
    if sqlite_attempts > 0:
        row, passed = run("SQLite (local server)", {}, sqlite_attempts)
        rows.append(row)
        ok &= passed
    if dynamo_attempts > 0:
        dynamo = benchmark.DynamoLocal()
        try:
            env = {**dynamo.env(), "DYNAMODB_TIMEOUT_MS": DYNAMODB_TIMEOUT_MS}
            row, passed = run("DynamoDB Local (local server)", env, dynamo_attempts)
            rows.append(row)
            ok &= passed
        finally:
            dynamo.stop()
    write_section(rows)
    print(f"contested: wrote section 10 of {benchmark.OUT}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
