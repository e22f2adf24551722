"""Schemathesis hooks for scripts/schemathesis, loaded through SCHEMATHESIS_HOOKS.

They read the ids that tests/schemathesis/write_config.py took from the running server
(SCHEMATHESIS_IDS: a JSON file with `operator_rooms`, `rooms` and `slots`) and change the cases
of every phase in three ways, each only on values that are valid, so that no negative case is made
positive:

1. The document's example slot, `s-1` (a slot of the test fixture, not of the demo data), becomes a
   slot of the running server, the next one of the list each time: the requests made from the
   examples then hold, confirm and cancel real slots instead of all answering 404.
2. The operator's writes (`PUT /rooms/{room_id}`, `PUT /rooms/{room_id}/schedule`) go each to a
   room of its own (`operator_rooms`) whenever they would name another room that exists: otherwise
   the first schedule published on a demo room (the document's own example does it) removes its
   free slots, and with them the slot ids the run took, and random room rules (a notice of days)
   turn away most of the holds that follow (write_config.py says why two rooms). Random and
   malformed room ids are left as drawn, for the 201, 404 and 422 answers.
3. Until the server decodes percent-encoded path segments (reported, see below), a `:` in a valid
   id in the path becomes `-`. Schemathesis sends `:` as `%3A` (OpenAPI's `simple` style encodes
   reserved characters), and the local server reads `/rooms/%3Ax` as the id `%3Ax`, 422, where
   `:x` is a valid id (`/rooms/r-10%31` is 422 too, for `r-101`).
"""

import itertools
import json
import os
import re

import schemathesis

with open(os.environ["SCHEMATHESIS_IDS"], encoding="utf-8") as ids_file:
    IDS = json.load(ids_file)
OPERATOR_ROOMS = IDS["operator_rooms"]
ROOMS = frozenset(IDS["rooms"])
REAL_SLOTS = itertools.cycle(IDS["slots"])
EXAMPLE_SLOT = "s-1"
VALID_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")


def with_real_ids(case):
    """The case with the three changes above; returns it."""
    if isinstance(case.body, dict) and case.body.get("slot_id") == EXAMPLE_SLOT:
        case.body["slot_id"] = next(REAL_SLOTS)
    path = case.path_parameters or {}
    operator_room = OPERATOR_ROOMS.get(f"{case.method.upper()} {case.operation.path}")
    if operator_room is not None and path.get("room_id") in ROOMS:
        path["room_id"] = operator_room
    for name, value in path.items():
        if isinstance(value, str) and ":" in value and VALID_ID.fullmatch(value):
            path[name] = value.replace(":", "-")
    return case


@schemathesis.hook
def map_case(context, case):
    """Every generated case (coverage, fuzzing and stateful phases)."""
    return with_real_ids(case)


@schemathesis.hook
def before_add_examples(context, examples):
    """The cases made from the document's examples (the examples phase)."""
    for case in examples:
        with_real_ids(case)
