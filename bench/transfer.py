#!/usr/bin/env python3
"""A mode of the benchmark (`scripts/benchmark transfer [ROOMSxSLOTS [BOOKINGS]]`): moving a
venue between stores with `export` and `import`, timed, with DynamoDB's requests counted.

1. A new SQLite file gets the benchmark venue (`seed --bench 100x1000`: 100 rooms of 1,000 slots,
   100,000 slots, and 1,000 users) and the local server makes BOOKINGS bookings through the API
   (`POST /holds`, then `POST /holds/{id}/confirm` with a contact), spread over the rooms' first
   slots, 8 clients at once.
2. export from SQLite; import into DynamoDB Local (a new table); import again (idempotent: writes
   nothing); export from DynamoDB Local; import that into a new SQLite file; export it again.
3. Checked: the three exports are the same records (sorted lines), and the second import wrote
   nothing. Printed per step: wall time, what the command printed (records per kind, DynamoDB
   requests by action). The figures go into BENCHMARKS.md's section 12 (replaced).

The server binary is the release build scripts/benchmark makes (or BENCH_SERVER); every command
runs at the niceness this script was started with.
"""
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
from http.client import HTTPConnection

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchmark  # noqa: E402

HEADING = "## 12. Moving a venue between stores: export and import"
CLIENTS = 8
benchmark.SERVER = os.environ.get("BENCH_SERVER", benchmark.SERVER)


def command(args, env):
    """Runs the server binary with `args`; returns (seconds, its last output line)."""
    started = time.perf_counter()
    done = subprocess.run([benchmark.SERVER, *args], env={**os.environ, "RUST_LOG": "warn", **env},
                          capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"transfer: {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    out = [line for line in done.stdout.splitlines() if line.strip()]
    return elapsed, out[-1] if out else ""


def make_bookings(base, rooms, slots_per_room, bookings):
    """`bookings` bookings through the API, over the rooms' first slots, CLIENTS at once."""
    per_room = -(-bookings // rooms)
    if per_room > slots_per_room:
        raise SystemExit(f"transfer: {bookings} bookings do not fit {rooms} rooms of {slots_per_room} slots")
    wanted = [(r, s) for s in range(1, per_room + 1) for r in range(1, rooms + 1)][:bookings]
    host, port = base.replace("http://", "").split(":")
    failures = []

    def client(n):
        conn = HTTPConnection(host, int(port), timeout=30)
        for i, (r, s) in enumerate(wanted[n::CLIENTS]):
            user = f"u-bench-{(n * 7919 + i) % 1000 + 1}"
            conn.request("POST", "/holds", json.dumps({"slot_id": f"s-bench-{r}-{s}", "user_id": user, "players": 4}),
                         {"Content-Type": "application/json"})
            response = conn.getresponse()
            body = response.read()
            if response.status != 201:
                failures.append(f"hold {response.status} {body[:200]!r}")
                continue
            hold = json.loads(body)["hold_id"]
            contact = {"name": f"Player {user}", "email": f"{user}@example.org", "phone": "+493012345678"}
            conn.request("POST", f"/holds/{hold}/confirm", json.dumps({"user_id": user, "contact": contact}),
                         {"Content-Type": "application/json"})
            response = conn.getresponse()
            body = response.read()
            if response.status != 200:
                failures.append(f"confirm {response.status} {body[:200]!r}")

    started = time.perf_counter()
    threads = [threading.Thread(target=client, args=(n,)) for n in range(CLIENTS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if failures:
        raise SystemExit(f"transfer: {len(failures)} bookings failed, e.g. {failures[:3]}")
    return time.perf_counter() - started


def sorted_lines(path):
    with open(path) as f:
        return sorted(line for line in f if line.strip())


def requests_of(line):
    """The `DynamoDB requests: N in all (…)` part of a command's line."""
    found = re.search(r"DynamoDB requests: (.*)$", line)
    return found.group(1) if found else "–"


def counts_of(line):
    """The per-kind part of a command's line (between `: ` and `; DynamoDB`)."""
    text = line.split("DynamoDB requests")[0].rstrip("; ")
    return text.split(": ", 1)[1] if ": " in text else text


def write_section(rows, size, bookings, load, when):
    path = benchmark.OUT
    text = open(path).read() if os.path.exists(path) else ""
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=benchmark.ROOT,
                            capture_output=True, text=True).stdout.strip()
    if HEADING in text:
        before, rest = text.split(HEADING, 1)
        after = rest[rest.find("\n## ") + 1:] if "\n## " in rest else ""
    elif "## Targets" in text:
        before, after = text.split("## Targets", 1)
        after = "## Targets" + after
    else:
        before, after = text, ""
    section = [HEADING, "",
               f"`scripts/benchmark transfer` (bench/transfer.py): a venue of {size} slots (`seed --bench`) with "
               f"{bookings:,} bookings made through the API (each with a contact), exported from SQLite, imported into "
               "DynamoDB Local, imported again (idempotent), exported from DynamoDB Local and imported into a new "
               "SQLite file; the three exports compared (sorted lines): the same. Wall time of each command (a "
               "process start included); the requests are those the command's DynamoDB client sent, counted by "
               f"action. Last run: {when}, commit `{commit}`, at `nice 10` on a shared machine (load average at the "
               f"start {load}).", "",
               "| step | time | records | DynamoDB requests |",
               "|---|---|---|---|",
               *rows, "", ""]
    with open(path, "w") as f:
        f.write(before + "\n".join(section) + after)


def main(args):
    size = args[0] if args else "100x1000"
    bookings = int(args[1]) if len(args) > 1 else 20_000
    rooms, slots_per_room = (int(x) for x in size.split("x"))
    load = os.getloadavg()
    load_text = f"{load[0]:.2f}, {load[1]:.2f}, {load[2]:.2f}"
    when = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    work = tempfile.mkdtemp(prefix="bench-transfer-")
    source = {"SQLITE_PATH": os.path.join(work, "source.db"), "DEMO": "0"}
    rows = []

    def step(label, seconds, line):
        print(f"{label}: {seconds:.1f} s — {line}", flush=True)
        rows.append(f"| {label} | {seconds:.1f} s | {counts_of(line)} | {requests_of(line)} |")

    print(f"transfer: load average {load_text}; work in {work}", flush=True)
    seconds, _ = command(["seed", "--bench", size], source)
    print(f"seed --bench {size}: {seconds:.1f} s", flush=True)
    server = benchmark.Server(source)
    try:
        seconds = make_bookings(server.base, rooms, slots_per_room, bookings)
    finally:
        server.stop()
    print(f"{bookings:,} bookings through the API: {seconds:.1f} s ({2 * bookings / seconds:,.0f} requests/s)",
          flush=True)

    files = {name: os.path.join(work, f"{name}.jsonl") for name in ["sqlite", "dynamodb", "back"]}
    step("export from SQLite", *command(["export", "--to", files["sqlite"]], source))
    dynamo = benchmark.DynamoLocal()
    try:
        target = dynamo.env()
        for attempt in range(5):  # a DynamoDB Local just started can be slow to make its first table
            try:
                command(["seed"], target)
                break
            except SystemExit:
                if attempt == 4:
                    raise
                time.sleep(5)
        step("import into DynamoDB Local", *command(["import", "--from", files["sqlite"]], target))
        seconds, again = command(["import", "--from", files["sqlite"]], target)
        step("import again (nothing to write)", seconds, again)
        step("export from DynamoDB Local", *command(["export", "--to", files["dynamodb"]], target))
    finally:
        dynamo.stop()
    back = {"SQLITE_PATH": os.path.join(work, "back.db"), "DEMO": "0"}
    step("import into a new SQLite file", *command(["import", "--from", files["dynamodb"]], back))
    step("export from it", *command(["export", "--to", files["back"]], back))

    same = sorted_lines(files["sqlite"]) == sorted_lines(files["dynamodb"]) == sorted_lines(files["back"])
    wrote_nothing = " 0 written" in again and not re.search(r" [1-9][0-9]* written", again)
    print(f"the three exports the same: {same}; the second import wrote nothing: {wrote_nothing}")
    write_section(rows, f"{rooms * slots_per_room:,}", bookings, load_text, when)
    print(f"transfer: wrote section 12 of {benchmark.OUT}")
    for path in files.values():
        os.remove(path)
    return 0 if same and wrote_nothing else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
