#!/usr/bin/env python3
"""Before/after in one sitting (`bench/compare-servers BEFORE AFTER`): the write path's figures of
`bench/benchmark.py` section 1, each beside the same-run ceiling, for two server binaries,
alternating before, after, before, after (ROUNDS rounds), so a change is judged against figures
of the same minutes on the same machine.

Per binary and round, each on a fresh copy of the data set (`seed --bench 100x3000`):
  NORMAL: listing at 16 connections, holds at 16 connections, holds at 1 connection (p50);
  FULL:   holds at 16 connections, holds at 1 connection (p50);
each preceded by the ceiling (`GET /__ceiling?bytes=N`, the route's body size) at the same
connections. Printed: every figure, then per binary the mean over the rounds of each fraction of
the ceiling and of each p50.

usage: bench/compare.py BEFORE-BINARY AFTER-BINARY   (BENCH_DURATION default 5s, BENCH_COMPARE_ROUNDS default 2)
"""
import json
import os
import shutil
import statistics
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchmark  # noqa: E402  (the same Server, wrk and body sizes as the benchmark)

ROUNDS = int(os.environ.get("BENCH_COMPARE_ROUNDS", "2"))
SLOTS = benchmark.SLOTS_PER_ROOM


def measure(binary):
    """One round of one binary: {figure name: (route figure, ceiling figure)}."""
    benchmark.SERVER = binary
    figures = {}
    for durability in ["normal", "full"]:
        work = tempfile.mkdtemp(prefix=f"compare-{durability}-")
        server = benchmark.Server({"SQLITE_PATH": os.path.join(work, "bench.db"), "SQLITE_SYNCHRONOUS": durability},
                                  seed_args=["--bench", f"100x{SLOTS}"])
        try:
            listing = server.base + "/slots?room_id=r-101&limit=16"
            hold_bytes = benchmark.body_size(
                server.base + "/holds", "POST",
                json.dumps({"slot_id": f"s-bench-100-{SLOTS}", "user_id": "u-bench-1"}).encode())
            runs = [(f"holds 16 {durability.upper()}", server.base, "holds.lua", hold_bytes, 16),
                    (f"holds 1 {durability.upper()}", server.base, "holds.lua", hold_bytes, 1)]
            if durability == "normal":
                runs.insert(0, ("listing 16", listing, None, benchmark.body_size(listing), 16))
            skip = 0
            for name, url, script, size, c in runs:
                ceiling = benchmark.wrk(f"{server.base}/__ceiling?bytes={size}", c)
                args = (str(skip), str(SLOTS)) if script else ()
                figure = benchmark.wrk(url, c, script, args)
                if script:
                    # wrk's two threads need not share the requests evenly on a busy machine.
                    skip += figure["requests"] + 100
                figures[name] = (figure, ceiling)
                print(f"  {name}: {figure['rps']:,.0f}/s, p50 {figure['p50']:.3f} ms, p99 {figure['p99']:.2f} ms, "
                      f"non-2xx {figure['non2xx']}; ceiling {ceiling['rps']:,.0f}/s; "
                      f"fraction {figure['rps'] / ceiling['rps']:.3f}", flush=True)
        finally:
            server.stop()
            shutil.rmtree(work, ignore_errors=True)
    return figures


def main(before, after):
    rounds = {"before": [], "after": []}
    for r in range(ROUNDS):
        for label, binary in (("before", before), ("after", after)):
            print(f"== {label} #{r + 1} ({binary})", flush=True)
            rounds[label].append(measure(binary))
    print()
    print(f"Means over {ROUNDS} rounds (fraction = requests/s ÷ the same-run ceiling at the same connections):")
    print("| figure | before | after |")
    print("|---|---|---|")
    for name in rounds["before"][0]:
        cells = []
        for label in ("before", "after"):
            runs = [r[name] for r in rounds[label]]
            fraction = statistics.mean(f["rps"] / c["rps"] for f, c in runs)
            rps = statistics.mean(f["rps"] for f, _ in runs)
            p50 = statistics.mean(f["p50"] for f, _ in runs)
            non2xx = sum(f["non2xx"] for f, _ in runs)
            cells.append(f"{fraction:.3f} ({rps:,.0f}/s, p50 {p50:.3f} ms, non-2xx {non2xx})")
        print(f"| {name} | {cells[0]} | {cells[1]} |")
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 3:
        raise SystemExit(__doc__)
    sys.exit(main(os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])))
