"""Judges one schemathesis run by its JSON report, for scripts/schemathesis.

    python3 tests/schemathesis/check_run.py REPORT_JSON MIN_CASES

Fails (exit status 1, saying why) when the run generated fewer than MIN_CASES test cases (an
operation no longer tested, a phase stopped early, a schema the generator gives up on), or when an
operation never answered a valid request with 2xx in the examples, coverage and fuzzing phases (the
operator token not taken, no real id reaching it): without these a run that tests little passes.
"""

import json
import sys


def main():
    report_file, min_cases = sys.argv[1], int(sys.argv[2])
    with open(report_file, encoding="utf-8") as report_fd:
        report = json.load(report_fd)
    problems = []
    cases = report["test_cases"]["generated"]
    if cases < min_cases:
        problems.append(f"{cases} test cases run, below the floor of {min_cases} (SCHEMATHESIS_MIN_CASES)")
    rates = report["valid_rates"]
    tested = report["operations"]["tested"]
    if len(rates) < tested:
        problems.append(
            f"{tested} operations tested, {len(rates)} answered a valid request with anything but"
            f" 401/403/5xx: {tested - len(rates)} never got past authentication (or always failed)"
        )
    served = {}
    for operation, phases in sorted(rates.items()):
        served[operation] = sum(phase["accepted"] for phase in phases.values())
        if served[operation] == 0:
            outcomes = {
                outcome: sum(phase[outcome] for phase in phases.values())
                for outcome in ("unreachable", "conflicts", "rejected")
            }
            problems.append(f"{operation} never served a valid request (2xx); instead: {outcomes}")
    print(f"{cases} test cases; valid requests served (2xx) per operation: " + ", ".join(
        f"{operation} {count}" for operation, count in served.items()))
    for problem in problems:
        print(f"check_run.py: {problem}", file=sys.stderr)
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
