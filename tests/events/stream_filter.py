"""Lambda's event filtering of stream records, evaluated by a real implementation of the pattern
language Lambda's `FilterCriteria` uses (EventBridge's: exact values, `prefix`, ...): moto's
`EventPattern` (moto pinned in requirements-dev.txt). For tests/api/deliver_events.rs.

    python stream_filter.py PATTERN < records.json

PATTERN is one filter's `Pattern` (JSON text, as template.yaml has it); standard input is a JSON
list of stream records in Lambda's event shape. Prints a JSON list: whether each record passes.
"""

import json
import sys

from moto.events.models import EventPattern


def main():
    pattern = EventPattern.load(sys.argv[1])
    records = json.load(sys.stdin)
    print(json.dumps([bool(pattern.matches_event(record)) for record in records]))


if __name__ == "__main__":
    main()
