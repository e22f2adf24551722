"""Schemathesis hooks for scripts/schemathesis, loaded through SCHEMATHESIS_HOOKS.

They read the ids that tests/schemathesis/write_config.py took from the running server
(SCHEMATHESIS_IDS: a JSON file with `operator_rooms`, `rooms`, `slots` and `holds`) and change
the cases of every phase in three ways, each only on values that are valid, so that no negative
case is made positive:

1. The document's example slot, `s-1` (a slot of the test fixture, not of the demo data), becomes a
   slot of the running server, the next one of the list each time: the requests made from the
   examples then hold, confirm and cancel real slots instead of all answering 404.
2. The operator's writes (`PUT /rooms/{room_id}`, `PUT /rooms/{room_id}/schedule`) go each to a
   room of its own (`operator_rooms`) whenever they would name another room that exists: otherwise
   the first schedule published on a demo room (the document's own example does it) removes its
   free slots, and with them the slot ids the run took, and random room rules (a notice of days)
   turn away most of the holds that follow (write_config.py says why two rooms). Random and
   malformed room ids are left as drawn, for the 201, 404 and 422 answers.
3. A hold action (confirm, release, extend, cancel) on the document's example hold id goes to one
   of the holds write_config.py made for that action, and a player's request on one of those
   holds names its owner: the 200 answers are reached, not only 403 and 410.
4. `POST /holds/{hold_id}/cancel` always carries the operator's token here (the run's auth), and a
   request with credentials is judged by them: it is an operator's cancellation, whose body is
   `{"reason"}`. A player's body (a valid `user_id`, no `reason`) becomes an operator's with a reason,
   so the operator's cancellation of real bookings is reached instead of a 422 for a missing
   reason. (A player's own cancellation, without credentials, is the contract suite's:
   tests/api/contract/cancellation.rs.)
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
HOLDS = IDS["holds"]  # {"METHOD path": {hold_id: owner}}
NEXT_HOLD = {label: itertools.cycle(holds) for label, holds in HOLDS.items()}
EXAMPLE_HOLD = "0b6f2f0c-91d4-4a3e-9c1b-5d7e8f9a0b1c"
VALID_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")


def with_real_ids(case):
    """The case with the changes above; returns it."""
    label = f"{case.method.upper()} {case.operation.path}"
    body = case.body if isinstance(case.body, dict) else {}
    if body.get("slot_id") == EXAMPLE_SLOT:
        body["slot_id"] = next(REAL_SLOTS)
    path = case.path_parameters or {}
    if label in HOLDS:
        if path.get("hold_id") == EXAMPLE_HOLD:
            path["hold_id"] = next(NEXT_HOLD[label])
        owner = HOLDS[label].get(path.get("hold_id"))
        if owner is not None and isinstance(body.get("user_id"), str) and VALID_ID.fullmatch(body["user_id"]):
            body["user_id"] = owner
    if (label == "POST /holds/{hold_id}/cancel" and "reason" not in body
            and isinstance(body.get("user_id"), str) and VALID_ID.fullmatch(body["user_id"])):
        body.clear()
        body["reason"] = "Cancelled by the schemathesis run"
    operator_room = OPERATOR_ROOMS.get(label)
    if operator_room is not None and path.get("room_id") in ROOMS:
        path["room_id"] = operator_room
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
