"""Writes scripts/schemathesis's configuration for one run, from the running server's own data.

    python3 tests/schemathesis/write_config.py BASE_URL OPERATOR_TOKEN CONFIG_FILE IDS_FILE

Before schemathesis starts, asks the server for its rooms (GET /rooms) and for the demo rooms'
slots, paging on with `cursor` (GET /slots?room_id=..), and writes them to CONFIG_FILE as
schemathesis dictionaries, so that the generated requests name rooms, slots and cursors that exist
(drawn often, not always: random ids still come, for the 404 and 422 answers).

Creates, with the operator token, one room for each of the operator's two writes (OPERATOR_ROOMS),
which tests/schemathesis/hooks.py sends them to instead of any other room that exists: a schedule
published on a demo room would remove its free slots (and with them the slot ids taken here), and
random rules (a notice of days) would turn away the holds that follow. Two rooms, not one, to keep
the run's cost bounded: the rules room has a few slots, so that new rules are copied onto some
(on DynamoDB one UpdateItem each), and the schedule room has a fixed horizon of three days, so that
a random schedule makes at most three days of slots.

Makes a few holds for each hold action (confirm, release, extend, cancel: HOLD_ACTIONS), drawn
as that operation's `hold_id`, and one booking whose reference and manage key the manage link's
routes are given.

Writes the ids to IDS_FILE as well (JSON: `operator_rooms`, `rooms`, `slots`, `holds`), for the
hooks.

Also writes the operator token for the operations whose `security` names `operatorToken` in
openapi.yaml, the checks' settings and the warnings that fail the run. Exits non-zero, saying
why, if the server has no demo room or no slots, or refuses the token.
"""

import json
import sys
import urllib.error
import urllib.parse
import urllib.request

# The demo data's users (shared/src/seed.rs): the local server knows no others, and has no route
# that lists them.
USERS = ["u-demo", "u-alice", "u-bob"]
# The most slot ids taken per room (the listing is in start order: the soonest first).
SLOTS_PER_ROOM = 100
# The room each of the operator's writes goes to (the operation as `METHOD path`), and its games.
OPERATOR_ROOMS = {
    "PUT /rooms/{room_id}": ("r-schemathesis-rules", ["11:00"]),
    "PUT /rooms/{room_id}/schedule": ("r-schemathesis-schedule", ["11:00", "15:00"]),
    # Rotations go to a room of their own: one on a demo room would end the key the feed's
    # operation is given (below).
    "POST /rooms/{room_id}/calendar-feed/rotate": ("r-schemathesis-feed", ["11:00"]),
}
# The hold actions (`METHOD path`: operationId), each with holds of its own, made before the run:
# the fuzzer confirms every hold it finds before it tries to extend or release one, so shared holds
# would all be bookings by then. The holds of `cancel-hold` are confirmed: bookings to cancel.
HOLD_ACTIONS = {
    "POST /holds/{hold_id}/confirm": "confirm-hold",
    "POST /holds/{hold_id}/release": "release-hold",
    "POST /holds/{hold_id}/extend": "extend-hold",
    "POST /holds/{hold_id}/cancel": "cancel-hold",
}
HOLDS_PER_ACTION = 3
# The stateful phase's scenarios (scripts/schemathesis's SCHEMATHESIS_MAX_EXAMPLES is 50).
STATEFUL_EXAMPLES = 25


def call(base_url, method, path, token=None, body=None):
    """The decoded JSON answer of one request; fails with the status and body if not 2xx."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(base_url + path, data=data, method=method)
    if token is not None:
        request.add_header("Authorization", f"Bearer {token}")
    if data is not None:
        request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.load(response)
    except urllib.error.HTTPError as error:
        sys.exit(f"write_config.py: {method} {path} answered {error.code}: {error.read().decode()}")


def slots_of(base_url, room_id):
    """The ids of the room's slots (at most SLOTS_PER_ROOM) and the cursors met paging through them."""
    slots, cursors, cursor = [], [], None
    while len(slots) < SLOTS_PER_ROOM:
        query = {"room_id": room_id, "limit": 50}
        if cursor is not None:
            query["cursor"] = cursor
        page = call(base_url, "GET", "/slots?" + urllib.parse.urlencode(query))
        slots += [slot["slot_id"] for slot in page["slots"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
        cursors.append(cursor)
    return slots[:SLOTS_PER_ROOM], cursors


def create_operator_room(base_url, token, room_id, starts):
    """A room with a horizon of three days and a daily schedule, made with the operator token."""
    rules = {
        "name": "Schemathesis",
        "time_zone": "Europe/Berlin",
        "min_players": 2,
        "max_players": 6,
        "duration_minutes": 60,
        "buffer_minutes": 15,
        "max_advance_days": 3,
    }
    call(base_url, "PUT", f"/rooms/{room_id}", token, rules)
    every_day = ["MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN"]
    schedule = {"weekly": [{"days": every_day, "starts": starts}]}
    call(base_url, "PUT", f"/rooms/{room_id}/schedule", token, schedule)


def create_holds(base_url, slots):
    """For each hold action, HOLDS_PER_ACTION holds ({hold_id: user_id}) on slots taken off the end
    of `slots` (the latest, far from the ones the fuzzer draws first)."""
    holds = {}
    for label, operation_id in HOLD_ACTIONS.items():
        holds[label] = {}
        for n in range(HOLDS_PER_ACTION):
            user = USERS[n % len(USERS)]
            hold = call(base_url, "POST", "/holds", body={"slot_id": slots.pop(), "user_id": user})
            if operation_id == "cancel-hold":
                call(base_url, "POST", f"/holds/{hold['hold_id']}/confirm", body={"user_id": user})
            holds[label][hold["hold_id"]] = user
    return holds


def create_booking(base_url, slots):
    """One booking with a contact, for the manage link's routes: (reference, manage_key). The
    routes are given its key (`manageKey`) and its reference as a dictionary, so that they answer
    200 (GET; its cancel, then again idempotently), not only 404."""
    hold = call(base_url, "POST", "/holds", body={"slot_id": slots.pop(), "user_id": USERS[0]})
    booked = call(base_url, "POST", f"/holds/{hold['hold_id']}/confirm",
                  body={"user_id": USERS[0], "contact": {"name": "Schemathesis", "email": "run@example.org"}})
    return booked["reference"], booked["manage_key"]


def create_feed(base_url, token, room_id):
    """The staff calendar feed of a demo room (its bookings: the holds confirmed above): its key,
    given to `get-room-calendar` as a dictionary with the room, so that its 200 is reached."""
    rotated = call(base_url, "POST", f"/rooms/{room_id}/calendar-feed/rotate", token)
    return rotated["url"].rsplit("key=", 1)[1]


# Where the run's webhooks point: a loopback port nobody listens on (the server runs with
# WEBHOOK_ALLOW_INSECURE=1, scripts/schemathesis), so their deliveries fail and are retried, and
# no request leaves the machine. The endpoint's URL must resolve, which no schema can state, so
# the generated requests are given this one.
WEBHOOK_URL = "http://127.0.0.1:9/schemathesis"
WEBHOOKS = 6


def create_webhooks(base_url, token):
    """Webhook endpoints for `delete-webhook` and `list-webhook-deliveries` to find: their ids."""
    return [
        call(base_url, "POST", "/webhooks", token,
             {"url": WEBHOOK_URL, "events": ["booking.confirmed", "booking.cancelled"]})["webhook_id"]
        for _ in range(WEBHOOKS)
    ]


def hold_settings(holds):
    """The TOML giving each hold action its holds as the dictionary of its `hold_id`."""
    return "".join(
        f"""
[dictionaries.holds-{HOLD_ACTIONS[label]}]
values = {toml_list(list(action_holds))}

[[operations]]
include-operation-id = "{HOLD_ACTIONS[label]}"
parameters = {{ "path.hold_id" = {{ dictionary = "holds-{HOLD_ACTIONS[label]}", probability = 0.5 }} }}
"""
        for label, action_holds in holds.items()
    )


def toml_list(values):
    return "[" + ", ".join(json.dumps(value) for value in values) + "]"


def main():
    base_url, token, config_file, ids_file = sys.argv[1:5]
    for room_id, starts in OPERATOR_ROOMS.values():
        create_operator_room(base_url, token, room_id, starts)
    operator_rooms = {room_id for room_id, _ in OPERATOR_ROOMS.values()}
    rooms = [room["room_id"] for room in call(base_url, "GET", "/rooms")["rooms"]]
    demo_rooms = [room for room in rooms if room not in operator_rooms]
    if not demo_rooms:
        sys.exit("write_config.py: GET /rooms lists no room but the operator's: the demo data is missing")
    slots, cursors = [], []
    for room in demo_rooms:
        room_slots, room_cursors = slots_of(base_url, room)
        if not room_slots:
            sys.exit(f"write_config.py: room {room} has no slots (GET /slots?room_id={room})")
        slots += room_slots
        cursors += room_cursors
    holds = create_holds(base_url, slots)
    reference, manage_key = create_booking(base_url, slots)
    feed_room = demo_rooms[0]
    feed_key = create_feed(base_url, token, feed_room)
    webhook_ids = create_webhooks(base_url, token)

    with open(config_file, "w", encoding="utf-8") as config:
        config.write(f"""# Written by tests/schemathesis/write_config.py from the server at {base_url}.
[cache]
enabled = false

# Half as many stateful scenarios as the other phases' cases: with real ids most chains now run
# to their end (create, confirm, cancel...), and a full set doubled the phase's time.
[phases.stateful]
generation.max-examples = {STATEFUL_EXAMPLES}

[warnings]
# Fail the run, not just warn, when an operation answers only 401/403 (the operator token is not
# sent or not taken), when none of an operation's valid requests is served and most are 404 (no
# real data reaches it), or when a dictionary's entries mostly do not fit the parameter's schema.
fail-on = ["missing_auth", "missing_test_data", "dictionary_mismatch"]
# Every warning but `validation_mismatch` (and the opt-in `low_valid_rate`): it counts any 4xx
# but 404 as the schema being looser than the server, and so fires on the hold actions for their
# documented 410 `HOLD_GONE` to a hold id that does not exist.
display = ["missing_auth", "missing_test_data", "base_url_mismatch", "missing_deserializer",
  "unused_openapi_auth", "unsupported_regex", "method_not_allowed", "constants_extraction",
  "unmatched_filter", "unresolvable_reference", "rate_limited", "dictionary_mismatch", "timeout_units"]

# Every check (the command line names the ones left out, scripts/schemathesis says why).
[checks]
enabled = true

# positive_data_acceptance (a request the schema allows must not be refused): 410 `HOLD_GONE` is
# this API's documented answer for a hold id it does not know, where others say 404.
[checks.positive_data_acceptance]
expected-statuses = ["2xx", "401", "403", "404", "409", "410"]

# ... and not for the operations whose requests are also judged by rules no schema can state, so
# that a schema-valid request may rightly be 422 (each documented in openapi.yaml):
#   list-slots          `cursor` is opaque: only a `next_cursor` of the same room's listing is taken;
#   list-user-holds     the same: only a `next_cursor` of the same user's holds is taken;
#   list-room-bookings  `to` needs `from`, after it and at most 31 days later;
#   create-hold         `players` within the room's stored `min_players`..`max_players`; an
#                       integer written `4.0` is refused (openapi.yaml, "JSON everywhere");
#   confirm-hold        `contact`: a name of spaces only, an email by the rule of docs/api.md
#                       (no leading, trailing or doubled dot; a letters-only top-level label);
#   put-room            `max_players` at least `min_players`; `time_zone` a known IANA zone;
#   put-schedule        games that overlap (buffer included), closures that end before they start;
#   preview-schedule    the same body, judged the same way;
#   retire-room         `reason` goes with `cancel_bookings=true` (alone it is 422);
#   list-webhooks, list-webhook-deliveries   `cursor` is opaque, as for list-slots;
#   create-webhook      `url` must resolve to an address the deliveries may reach.
[[operations]]
include-operation-id = ["list-slots", "list-user-holds", "list-room-bookings", "create-hold", "confirm-hold",
  "put-room", "put-schedule", "preview-schedule", "retire-room", "list-webhooks", "list-webhook-deliveries",
  "create-webhook"]
checks.positive_data_acceptance.enabled = false

# ignored_auth (a request without credentials must be 401/403): the manage link's routes answer a
# missing key as they answer a wrong one, 404 `BOOKING_NOT_FOUND`, on purpose, so that nobody learns
# that a reference exists (openapi.yaml, docs/security.md). A bearer of another kind is 401.
[[operations]]
include-operation-id = ["get-booking", "cancel-booking", "get-booking-calendar"]
checks.ignored_auth.enabled = false

[auth.openapi.operatorToken]
bearer = {json.dumps(token)}

[auth.openapi.manageKey]
bearer = {json.dumps(manage_key)}

[dictionaries.references]
values = {toml_list([reference])}

[[operations]]
include-operation-id = ["get-booking", "cancel-booking", "get-booking-calendar"]
parameters = {{ "path.reference" = {{ dictionary = "references", probability = 0.5 }} }}

# The staff feed: its key is its only credential, in the query (no security scheme).
[dictionaries.feed-rooms]
values = {toml_list([feed_room])}

[dictionaries.feed-keys]
values = {toml_list([feed_key])}

[[operations]]
include-operation-id = ["get-room-calendar"]
parameters = {{ "path.room_id" = {{ dictionary = "feed-rooms", probability = 0.7 }}, "query.key" = {{ dictionary = "feed-keys", probability = 0.7 }} }}

# The webhooks made before the run, and the URL of new ones.
[dictionaries.webhook-ids]
values = {toml_list(webhook_ids)}

[dictionaries.webhook-urls]
values = {toml_list([WEBHOOK_URL])}

[[operations]]
include-operation-id = ["delete-webhook", "list-webhook-deliveries", "enable-webhook"]
parameters = {{ "path.webhook_id" = {{ dictionary = "webhook-ids", probability = 0.7 }} }}

[[operations]]
include-operation-id = ["create-webhook"]
parameters = {{ "body.url" = {{ dictionary = "webhook-urls", probability = 0.7 }} }}

[dictionaries.users]
values = {toml_list(USERS)}

[dictionaries.rooms]
values = {toml_list(rooms)}

[dictionaries.slots]
values = {toml_list(slots)}

[dictionaries.cursors]
values = {toml_list(cursors or ["none"])}

[parameters]
"query.room_id" = {{ dictionary = "rooms", probability = 0.7 }}
"path.room_id" = {{ dictionary = "rooms", probability = 0.7 }}
"query.user_id" = {{ dictionary = "users", probability = 0.6 }}
"path.user_id" = {{ dictionary = "users", probability = 0.6 }}
"body.user_id" = {{ dictionary = "users", probability = 0.7 }}
"body.slot_id" = {{ dictionary = "slots", probability = 0.7 }}
"query.cursor" = {{ dictionary = "cursors", probability = 0.5 }}
{hold_settings(holds)}""")
    with open(ids_file, "w", encoding="utf-8") as ids:
        operator_room_of = {operation: room_id for operation, (room_id, _) in OPERATOR_ROOMS.items()}
        json.dump({"operator_rooms": operator_room_of, "rooms": rooms, "slots": slots, "holds": holds}, ids)


if __name__ == "__main__":
    main()
