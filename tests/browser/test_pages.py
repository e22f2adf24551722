"""The player page and the operator view, driven in a real browser (Debian's Chromium, headless,
through Playwright for Python). Run by scripts/browser-test, which starts two servers with an
operator token, one with holds long enough for any flow (20 s) and one with short holds (3 s) for
the scenario that watches a hold run out, and sets:

    BASE_URL              the server every flow runs on, e.g. http://127.0.0.1:39123
    BOOKING_HOLD_TTL      its hold length in seconds (at least 15)
    SHORT_HOLD_BASE_URL   the server with short holds, for the expiry scenario
    SHORT_HOLD_TTL        its hold length in seconds (default 3)
    OPERATOR_TOKEN        the operator token both servers were started with
    CHROMIUM              the browser (default /usr/bin/chromium)

Each scenario works in rooms of its own (made through the operator API), so the scenarios do not
depend on the demo data or on each other, and saves a screenshot of its final state as
target/browser/<scenario>.png. Nothing waits by sleeping: every wait is on a condition (a locator's
text or state, a request seen).
"""
import datetime as dt
import json
import os
import pathlib
import re
import urllib.error
import urllib.parse
import urllib.request
import uuid
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect

import devproxy

ROOT = pathlib.Path(__file__).resolve().parents[2]
SHOTS = ROOT / "target" / "browser"
BASE = os.environ.get("BASE_URL", "http://127.0.0.1:3000").rstrip("/")
SHORT_BASE = os.environ.get("SHORT_HOLD_BASE_URL", "").rstrip("/")
TOKEN = os.environ.get("OPERATOR_TOKEN", "")
TTL = float(os.environ.get("BOOKING_HOLD_TTL", "20"))
SHORT_TTL = float(os.environ.get("SHORT_HOLD_TTL", "3"))
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
# The browser's own zone, far from the test venues': the page must show the venue's wall clock.
BROWSER_TZ = "America/Los_Angeles"
VENUE_TZ = "Europe/Berlin"
ALL_DAYS = ["MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN"]
EVERY_TWO_HOURS = [f"{h:02d}:00" for h in range(0, 24, 2)]
ROOM_FIELDS = ("name", "time_zone", "min_players", "max_players", "duration_minutes", "buffer_minutes",
               "min_notice_minutes", "max_advance_days", "cancel_cutoff_minutes")
PAGE_BUDGET = 150 * 1024

expect.set_options(timeout=10_000)


def test_the_flows_run_on_holds_long_enough_to_click_within():
    assert TTL >= 15, f"BOOKING_HOLD_TTL={TTL}: the flows need holds of at least 15 s"
    assert SHORT_BASE and SHORT_BASE != BASE, "SHORT_HOLD_BASE_URL: the expiry scenario needs a server of its own"


# ---- the API, directly -------------------------------------------------------------------------
def call(method, path, body=None, token=None, base=BASE):
    """(status, JSON body) of one API request."""
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(base + path, data=data, method=method)
    req.add_header("Content-Type", "application/json")
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(req, timeout=10) as res:
            return res.status, json.loads(res.read() or b"null")
    except urllib.error.HTTPError as e:
        raw = e.read()
        try:
            return e.code, json.loads(raw)
        except ValueError:
            return e.code, raw.decode(errors="replace")


def ok(method, path, body=None, token=None, want=(200, 201), base=BASE):
    status, data = call(method, path, body, token, base)
    assert status in want, f"{method} {path}: {status} {data}"
    return data


def slots_of(room_id, user=None, base=BASE, **q):
    """Every slot of the room in the window, all pages."""
    params = {"room_id": room_id, "limit": "200", **q}
    if user:
        params["user_id"] = user
    out = []
    while True:
        page = ok("GET", "/slots?" + urllib.parse.urlencode(params), base=base)
        out += page["slots"]
        if not page["next_cursor"]:
            return out
        params["cursor"] = page["next_cursor"]


def slot_now(room_id, slot_id, user=None, base=BASE):
    found = [s for s in slots_of(room_id, user, base) if s["slot_id"] == slot_id]
    assert found, f"{slot_id} is not listed"
    return found[0]


def parse_time(s):
    return dt.datetime.fromisoformat(s.replace("Z", "+00:00"))


def utc_now():
    return dt.datetime.now(dt.timezone.utc)


def make_room(label, base=BASE, **rules):
    """A room of the test's own, in Berlin, with a game every two hours for the next days."""
    assert TOKEN, "OPERATOR_TOKEN is not set"
    rid = f"t-{label}-{uuid.uuid4().hex[:8]}"
    body = {"name": f"Test {label} {rid[-4:]}", "time_zone": VENUE_TZ, "min_players": 2,
            "max_players": 5, "duration_minutes": 60, "buffer_minutes": 0, "max_advance_days": 2}
    body.update(rules)
    room = ok("PUT", f"/rooms/{rid}", body, TOKEN, want=(201,), base=base)
    published = ok("PUT", f"/rooms/{rid}/schedule",
                   {"weekly": [{"days": ALL_DAYS, "starts": EVERY_TWO_HOURS}]}, TOKEN, want=(200,), base=base)
    assert published["created"] > 0, published
    return room


def change_rules(room, **rules):
    """The venue changes the room's rules (the operator API), while players' pages are open."""
    body = {k: room[k] for k in ROOM_FIELDS if k in room}
    body.update(rules)
    return ok("PUT", f"/rooms/{room['room_id']}", body, TOKEN, want=(200,))


def free_slots(room, lead_minutes=10, base=BASE):
    """The free slots of the room that start at least lead_minutes from now."""
    soon = utc_now() + dt.timedelta(minutes=lead_minutes)
    return [s for s in slots_of(room["room_id"], base=base)
            if s["status"] == "AVAILABLE" and parse_time(s["start_time"]) > soon]


def future_slot(room, lead_minutes=10, index=0, base=BASE):
    """A free slot of the room that starts at least lead_minutes from now."""
    free = free_slots(room, lead_minutes, base)
    assert len(free) > index, f"no free slot in {room['room_id']}"
    return free[index]


def hold_of(user, slot_id, base=BASE):
    holds = ok("GET", f"/users/{user}/holds", base=base)["holds"]
    mine = [h for h in holds if h["slot_id"] == slot_id]
    return mine[0] if mine else None


def book(user, slot):
    """A booking made through the API: (hold, confirmed hold)."""
    h = ok("POST", "/holds", {"slot_id": slot["slot_id"], "user_id": user}, want=(201,))
    return h, ok("POST", f"/holds/{h['hold_id']}/confirm", {"user_id": user})


def as_sentence(message):
    """A server message as the pages quote it (common.js: backticks dropped, a full stop)."""
    m = message.replace("`", "").strip()
    return m if re.search(r"[.!?]$", m) else m + "."


# ---- the browser -------------------------------------------------------------------------------
def shot(page, name):
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def open_player(page, room, user="u-demo", base=BASE):
    page.goto(base + "/")
    if user != "u-demo":
        page.select_option("#user", user)
    button = page.locator(f'.room[data-room="{room["room_id"]}"]')
    button.click()
    expect(button).to_have_attribute("aria-pressed", "true")
    expect(page.locator("#days .slot").first).to_be_visible()


def path_is(path):
    return lambda url: urllib.parse.urlsplit(url).path == path


def cell(page, slot):
    return page.locator(f'.slot[data-slot="{slot["slot_id"]}"]')


def tab_to(page, selector, limit=250):
    """Press Tab until the focused element matches selector."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate("s => !!document.activeElement && document.activeElement.matches(s)", selector):
            return
    raise AssertionError(f"Tab never reached {selector}")


def focus_ring(page):
    """The focused element's outline: (style, width in px)."""
    return page.evaluate("""() => { const s = getComputedStyle(document.activeElement);
        return [s.outlineStyle, parseFloat(s.outlineWidth)]; }""")


def slot_boxes(page):
    return page.evaluate("""() => [...document.querySelectorAll('#days .slot')].map(b => {
        const r = b.getBoundingClientRect(); return [b.dataset.slot, r.x, r.y + scrollY, r.width, r.height]; })""")


def watch_layout_shifts(page):
    page.evaluate("""() => { window.__shifts = [];
        new PerformanceObserver(l => { for (const e of l.getEntries())
            if (!e.hadRecentInput) window.__shifts.push(e.value); }).observe({type: 'layout-shift'}); }""")


def layout_shift(page):
    return page.evaluate("() => window.__shifts.reduce((a, b) => a + b, 0)")


def book_on_page(page, slot):
    """Hold the slot and confirm it, on the page."""
    cell(page, slot).click()
    expect(page.locator("#confirm")).to_be_visible()
    page.locator("#confirm").click()
    expect(page.locator("#msg")).to_contain_text("Booked!")


# ---- the scenarios -----------------------------------------------------------------------------------
def test_book_a_slot_end_to_end(new_page):
    room = make_room("book")
    slot = future_slot(room)
    page = new_page()
    open_player(page, room)
    c = cell(page, slot)
    expect(c).to_contain_text("Free")
    # The venue's wall clock as local_start writes it, under the day it falls on there.
    expect(c.locator(".t")).to_have_text(slot["local_start"][11:16])
    day = dt.date.fromisoformat(slot["local_start"][:10])
    expect(page.locator(f'.day[data-date="{day.isoformat()}"] h3')).to_contain_text(
        f"{day.strftime('%A')} {day.day} {day.strftime('%B')}")
    expect(page.locator("#party-hint")).to_contain_text("2 to 5 players")

    page.locator("#more").click()
    expect(page.locator("#players")).to_have_text("3")
    c.click()
    expect(page.locator("#timer")).to_have_text(re.compile(r"^\d+:\d\d left to confirm$"))
    expect(page.locator("#hold-body")).to_contain_text("3 players")
    expect(c).to_contain_text("Held by you")
    page.locator("#confirm").click()

    expect(page.locator("#msg")).to_contain_text("Booked!")
    expect(page.locator("#hold-body")).to_contain_text("Booked:")
    expect(c).to_contain_text("Booked")
    expect(c).to_be_disabled()
    mine = page.locator(f'#mine li[data-slot="{slot["slot_id"]}"]')
    expect(mine).to_contain_text("Booked")
    expect(mine).to_contain_text(slot["local_start"][11:16])

    held = hold_of("u-demo", slot["slot_id"])
    assert held and held["status"] == "CONFIRMED", held
    look = ok("GET", f"/holds/{held['hold_id']}?user_id=u-demo")
    assert look["status"] == "CONFIRMED"
    if "players" in look:
        assert look["players"] == 3, look
    assert slot_now(room["room_id"], slot["slot_id"], "u-alice")["status"] == "BOOKED"
    shot(page, "book")


def test_two_players_race_for_one_slot(new_page):
    """Both players click the same free slot. Their POST /holds are parked at a gate in front of
    the server until both have arrived, then sent on together: the server decides the race, one
    wins, the other reads why."""
    room = make_room("race")
    slot = future_slot(room)
    gate = devproxy.Gate("POST", "/holds", parties=2, timeout=20)
    proxy = devproxy.start(BASE, gate=gate)
    try:
        via = "http://%s:%d" % proxy.server_address
        alice, bob = new_page(), new_page()
        open_player(alice, room, "u-alice", base=via)
        open_player(bob, room, "u-bob", base=via)
        expect(cell(alice, slot)).to_contain_text("Free")
        expect(cell(bob, slot)).to_contain_text("Free")

        cell(alice, slot).click()
        # Alice's request waits at the gate (her page says so) until Bob's arrives.
        expect(cell(alice, slot)).to_contain_text("Holding…")
        expect(alice.locator("#msg")).to_contain_text("Holding")
        assert len(gate.arrived) <= 1 and gate.released is None
        cell(bob, slot).click()

        outcome = re.compile(r"^(Held .* for you\.|Sorry, someone else has just held or booked this time)")
        for p in (alice, bob):
            expect(p.locator("#msg")).to_have_text(outcome)
        assert len(gate.arrived) == 2 and gate.released is not None and max(gate.arrived) <= gate.released, \
            "both requests reached the gate before either went on"
        won = {name: p.locator("#msg").inner_text().startswith("Held")
               for name, p in (("u-alice", alice), ("u-bob", bob))}
        assert sum(won.values()) == 1, won
        winner_name = next(n for n, w in won.items() if w)
        loser_name = next(n for n, w in won.items() if not w)
        winner, loser = (alice, bob) if won["u-alice"] else (bob, alice)

        winner.locator("#confirm").click()
        expect(winner.locator("#msg")).to_contain_text("Booked!")

        # The loser is told why, in words, and sees the slot taken.
        msg = loser.locator("#msg")
        expect(msg).to_have_text("Sorry, someone else has just held or booked this time. Please pick another one.")
        expect(msg).to_have_attribute("data-kind", "error")
        expect(cell(loser, slot)).to_contain_text(re.compile("^.*(Held|Booked)$"))
        expect(cell(loser, slot)).to_be_disabled()
        expect(loser.locator("#hold-body")).to_contain_text("No hold yet")

        assert slot_now(room["room_id"], slot["slot_id"])["status"] == "BOOKED"
        assert hold_of(winner_name, slot["slot_id"])["status"] == "CONFIRMED"
        assert hold_of(loser_name, slot["slot_id"]) is None
        shot(loser, "race")
        shot(winner, "race-winner")
    finally:
        proxy.shutdown()
        proxy.server_close()


def test_hold_expires_on_screen(new_page):
    """On the server with short holds: the hold runs out while the page is watched."""
    room = make_room("expiry", base=SHORT_BASE)
    slot = future_slot(room, base=SHORT_BASE)
    page = new_page()
    open_player(page, room, base=SHORT_BASE)
    c = cell(page, slot)
    expect(c).to_contain_text("Free")
    page.evaluate("window.__sameDocument = true")
    before = slot_boxes(page)
    watch_layout_shifts(page)

    c.click()
    timer = page.locator("#timer")
    expect(timer).to_have_text(re.compile(r"^\d+:\d\d left to confirm$"))
    expect(c).to_contain_text("Held by you")
    listed = slot_now(room["room_id"], slot["slot_id"], "u-demo", base=SHORT_BASE)
    assert listed["status"] == "HELD_BY_ME", listed
    first = timer.inner_text()
    expect(timer).not_to_have_text(first)  # it counts down

    # No reload, no click: the hold runs out and the slot is free again.
    expect(page.locator("#msg")).to_contain_text("ran out", timeout=(SHORT_TTL + 10) * 1000)
    expect(c).to_contain_text("Free")
    expect(c).to_be_enabled()
    expect(page.locator("#hold-body")).to_contain_text("No hold yet")
    assert page.evaluate("window.__sameDocument") is True
    assert slot_now(room["room_id"], slot["slot_id"], "u-demo", base=SHORT_BASE)["status"] == "AVAILABLE"
    assert ok("GET", f"/holds/{listed['hold_id']}?user_id=u-demo", base=SHORT_BASE)["status"] == "EXPIRED"
    # Statuses changed, nothing moved.
    assert slot_boxes(page) == before
    assert layout_shift(page) == 0
    shot(page, "expiry")


def test_cancel_a_booking(new_page):
    room = make_room("cancel")
    slot = future_slot(room)
    page = new_page()
    open_player(page, room, "u-alice")
    book_on_page(page, slot)
    held = hold_of("u-alice", slot["slot_id"])
    assert held["status"] == "CONFIRMED"

    item = page.locator(f'#mine li[data-hold="{held["hold_id"]}"]')
    expect(item).to_contain_text("Booked")
    item.locator(".cancel").click()
    expect(item.locator(".cancel-yes")).to_be_focused()
    item.locator(".cancel-yes").click()

    expect(page.locator("#msg")).to_contain_text("Cancelled your booking")
    expect(item).to_have_count(0)
    expect(cell(page, slot)).to_contain_text("Free")
    assert ok("GET", f"/holds/{held['hold_id']}?user_id=u-alice")["status"] == "CANCELLED"
    assert slot_now(room["room_id"], slot["slot_id"])["status"] == "AVAILABLE"
    shot(page, "cancel")


def test_cancel_cutoff_is_explained(new_page):
    # A room whose bookings can be cancelled online only up to 3 days before the game: a
    # booking for the next two days is past its cut-off.
    room = make_room("cutoff", cancel_cutoff_minutes=3 * 1440)
    h, _ = book("u-bob", future_slot(room))
    page = new_page()
    open_player(page, room, "u-bob")
    item = page.locator(f'#mine li[data-hold="{h["hold_id"]}"]')
    expect(item).to_contain_text("Online cancellation closed 3 days before the game. Please contact the venue.")
    expect(item.locator(".cancel")).to_have_count(0)
    shot(page, "cancel-cutoff")


def preview_games(op):
    """The games the operator's preview shows: (change, status, slot id, start) of each."""
    return op.eval_on_selector_all("#preview .g", """els => els.map(e =>
        [e.dataset.change, e.dataset.status, e.dataset.slot, e.dataset.start])""")


def test_operator_creates_room_previews_and_publishes_schedule_and_sees_booking(new_page):
    assert TOKEN, "OPERATOR_TOKEN is not set"
    op = new_page(viewport={"width": 1100, "height": 900})
    op.goto(BASE + "/operator")
    op.locator("#op-token").fill("not-the-token-0123456789")
    op.locator("#signin-btn").click()
    expect(op.locator("#msg")).to_have_text("That operator token was not accepted. Please check it and try again.")
    expect(op.locator("#app")).to_be_hidden()
    op.locator("#op-token").fill(TOKEN)
    op.locator("#signin-btn").click()
    expect(op.locator("#app")).to_be_visible()
    expect(op.locator("#msg")).to_contain_text("Signed in")

    # A new room.
    rid = f"t-op-{uuid.uuid4().hex[:8]}"
    name = f"Operator Vault {rid[-4:]}"
    op.select_option("#room-pick", "")
    expect(op.locator("#preview-sum")).to_have_text("Save the room to preview its schedule.")
    op.locator("#f-room_id").fill(rid)
    op.locator("#f-name").fill(name)
    op.locator("#f-time_zone").fill(VENUE_TZ)
    for field, value in (("min_players", 2), ("max_players", 5), ("duration_minutes", 60),
                         ("buffer_minutes", 15), ("max_advance_days", 7)):
        op.locator(f"#f-{field}").fill(str(value))
    op.locator("#save-room").click()
    expect(op.locator("#msg")).to_contain_text(f"Created room “{name}”")
    room = ok("GET", f"/rooms/{rid}")
    assert (room["name"], room["time_zone"], room["buffer_minutes"]) == (name, VENUE_TZ, 15)

    # Its weekly schedule, with a closure the day after tomorrow: the server's preview shows
    # every game as new, and the closed day without games.
    sum_ = op.locator("#preview-sum")
    week = op.locator("#weekly .week").first
    for box in week.locator(".day-cb").all():
        box.check()
    week.locator(".starts").fill(", ".join(EVERY_TWO_HOURS))
    closed_day = (dt.datetime.now(ZoneInfo(VENUE_TZ)) + dt.timedelta(days=2)).date().isoformat()
    op.locator("#add-closure").click()
    closure = op.locator("#closed .closure").first
    closure.locator(".c-from").fill(closed_day)
    closure.locator(".c-to").fill(closed_day)
    closure.locator(".c-reason").fill("Staff training")
    closed_li = op.locator(f'#preview li[data-date="{closed_day}"]')
    expect(closed_li).to_contain_text("closed (Staff training)")
    expect(closed_li).to_have_attribute("data-games", "0")
    expect(sum_).to_have_attribute("data-total", re.compile(r"^[1-9]\d*$"))

    # A second opening time that overlaps two games: the server's 422, in its words, in the
    # preview and when publishing; removing it brings the preview back.
    op.locator("#add-week").click()
    second = op.locator("#weekly .week").nth(1)
    for box in second.locator(".day-cb").all():
        box.check()
    second.locator(".starts").fill("01:30")
    status, refusal = call("POST", f"/rooms/{rid}/schedule/preview", {"weekly": [
        {"days": ALL_DAYS, "starts": EVERY_TWO_HOURS}, {"days": ALL_DAYS, "starts": ["01:30"]}],
        "closed": [{"from": closed_day, "to": closed_day, "reason": "Staff training"}]}, TOKEN)
    assert status == 422 and refusal["error"] == "VALIDATION_ERROR", (status, refusal)
    said = f"That was not accepted: {as_sentence(refusal['message'])}"
    expect(sum_).to_have_text(f"No preview: {said}")
    expect(sum_).to_have_attribute("data-kind", "error")
    expect(op.locator("#preview li")).to_have_count(0)
    op.locator("#publish").click()
    expect(op.locator("#msg")).to_have_text(f"The schedule was not published. {said}")
    assert call("GET", f"/rooms/{rid}/schedule")[0] == 404, "nothing was published"
    second.locator(".remove").click()
    expect(sum_).to_have_attribute("data-total", re.compile(r"^[1-9]\d*$"))
    games = preview_games(op)
    assert games and {c for c, *_ in games} == {"CREATE"}, games
    assert sum_.get_attribute("data-create") == sum_.get_attribute("data-total") == str(len(games))
    for li in op.locator("#preview li[data-date]").all():  # each day's count is its games
        day = li.get_attribute("data-date")
        assert int(li.get_attribute("data-games")) == sum(
            1 for *_, start in games if parse_time(start).astimezone(ZoneInfo(VENUE_TZ)).date().isoformat() == day)
    window = (parse_time(sum_.get_attribute("data-from")), parse_time(sum_.get_attribute("data-to")))
    assert dt.timedelta(days=6) < window[1] - window[0] <= dt.timedelta(days=7), window
    planned = int(sum_.get_attribute("data-planned"))

    # Publishing makes exactly the games the preview showed (less any that started meanwhile).
    op.locator("#publish").click()
    result = op.locator("#sched-result")
    expect(result).to_contain_text("Planned")
    published = int(result.locator('dd[data-k="planned"]').inner_text())
    assert int(result.locator('dd[data-k="created"]').inner_text()) == published > 0
    assert result.locator('dd[data-k="removed"]').inner_text() == "0"
    expect(op.locator("#msg")).to_contain_text(f"Published the schedule of {name}")
    made = slots_of(rid)
    assert len(made) == published
    assert not [s for s in made if s["local_start"].startswith(closed_day)]
    made_in_window = {s["slot_id"] for s in made if window[0] <= parse_time(s["start_time"]) < window[1]}
    previewed = {slot_id: parse_time(start) for _, _, slot_id, start in games}
    assert made_in_window <= set(previewed), made_in_window - set(previewed)
    started = [i for i in previewed if i not in made_in_window]
    assert all(previewed[i] <= utc_now() for i in started), started
    assert published == planned - len(started)
    schedule = ok("GET", f"/rooms/{rid}/schedule", token=TOKEN)
    assert schedule["weekly"] == [{"days": ALL_DAYS, "starts": EVERY_TWO_HOURS}]
    assert schedule["closed"] == [{"from": closed_day, "to": closed_day, "reason": "Staff training"}]
    # A player sees that the day is closed, not why.
    assert ok("GET", f"/rooms/{rid}/schedule")["closed"] == [{"from": closed_day, "to": closed_day}]
    # Published, the preview of the same schedule changes nothing.
    expect(sum_).to_have_attribute("data-create", "0")
    assert {c for c, *_ in preview_games(op)} == {"KEEP"}
    bad = op.evaluate(CONTRAST_JS)
    assert not bad, bad
    shot(op, "operator-schedule")

    # A player books a game in the new room.
    player = new_page()
    slot = future_slot(room, lead_minutes=180)
    open_player(player, room, "u-bob")
    player.locator("#more").click()
    player.locator("#more").click()
    expect(player.locator("#players")).to_have_text("4")
    book_on_page(player, slot)
    booking = hold_of("u-bob", slot["slot_id"])
    assert booking["status"] == "CONFIRMED"

    # The games move to half past the odd hours: the preview keeps the booked game, does not make
    # the one game that would overlap it (half an hour before), removes the other even-hour games
    # and creates the rest.
    op.locator("#weekly .week .starts").first.fill(", ".join(f"{h:02d}:30" for h in range(1, 24, 2)))
    kept = op.locator(f'#preview .g[data-slot="{slot["slot_id"]}"]')
    expect(kept).to_have_attribute("data-status", "BOOKED")
    expect(kept).to_have_attribute("data-change", "KEEP")
    expect(kept).to_contain_text("booked, kept")
    changes, created = {}, set()
    for change, _, slot_id, start in preview_games(op):
        changes.setdefault(change, []).append(parse_time(start))
        if change == "CREATE":
            created.add(slot_id)
    booked_at = parse_time(slot["start_time"])
    assert changes["SKIP"] == [booked_at - dt.timedelta(minutes=30)], changes
    assert changes["CREATE"] and all(t.minute == 30 for t in changes["CREATE"]), changes
    assert changes["REMOVE"] and all(t.minute == 0 for t in changes["REMOVE"]), changes
    assert changes["KEEP"] == [booked_at] and "MOVE" not in changes, changes
    expect(sum_).to_have_attribute("data-keep", "1")
    expect(op.locator(f'#preview .g[data-change="SKIP"]')).to_contain_text("not made: overlaps a held or booked game")
    # A preview writes nothing: the booked game and the even hours are still there, no half past.
    listed = {s["slot_id"]: s for s in slots_of(rid)}
    assert listed[slot["slot_id"]]["status"] == "BOOKED"
    assert not created & set(listed) and all(s["local_start"][14:16] == "00" for s in listed.values())
    shot(op, "operator-preview-changes")

    # The operator sees the booking on the day sheet of its (local) date, and cancels it with a reason.
    op.locator("#sheet-date").fill(slot["local_start"][:10])
    op.locator("#sheet-show").click()
    row = op.locator(f'#sheet tr[data-hold="{booking["hold_id"]}"]')
    expect(row).to_contain_text(slot["local_start"][11:16])
    expect(row).to_contain_text("u-bob")
    expect(row).to_contain_text("Booked")
    expect(row.locator('td[data-h="Players"]')).to_have_text("4")
    row.locator(".op-cancel").click()
    row.locator(".op-reason").fill("Room flooded")
    row.locator(".op-cancel-yes").click()
    expect(op.locator("#msg")).to_contain_text("Cancelled the")
    expect(row).to_have_attribute("data-status", "CANCELLED")
    expect(row).to_contain_text("Room flooded")
    assert ok("GET", f"/holds/{booking['hold_id']}?user_id=u-bob")["status"] == "CANCELLED"
    assert slot_now(rid, slot["slot_id"])["status"] == "AVAILABLE"
    shot(op, "operator-day-sheet")


def test_keyboard_only_booking(new_page):
    room = make_room("keys")
    slot = future_slot(room)
    page = new_page()
    page.goto(BASE + "/")
    expect(page.locator(f'.room[data-room="{room["room_id"]}"]')).to_be_visible()

    tab_to(page, f'.room[data-room="{room["room_id"]}"]')
    style, width = focus_ring(page)
    assert style != "none" and width >= 2, (style, width)  # the focus is visible
    page.keyboard.press("Enter")
    expect(page.locator(f'.room[data-room="{room["room_id"]}"]')).to_have_attribute("aria-pressed", "true")
    expect(cell(page, slot)).to_contain_text("Free")

    tab_to(page, "#more")
    page.keyboard.press("Space")
    expect(page.locator("#players")).to_have_text("3")

    tab_to(page, f'.slot[data-slot="{slot["slot_id"]}"]')
    style, width = focus_ring(page)
    assert style != "none" and width >= 2, (style, width)
    page.keyboard.press("Enter")
    expect(page.locator("#confirm")).to_be_focused()  # the hold's next step has the focus
    page.keyboard.press("Enter")

    expect(page.locator("#msg")).to_contain_text("Booked!")
    expect(page.locator("#hold-h")).to_be_focused()
    held = hold_of("u-demo", slot["slot_id"])
    assert held and held["status"] == "CONFIRMED", held
    shot(page, "keyboard")


CONTRAST_JS = """() => {
  const rgb = (c) => (c.match(/[\\d.]+/g) || []).map(Number);
  const lum = ([r, g, b]) => { const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; };
    return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b); };
  const bg = (e) => { for (; e; e = e.parentElement) { const c = rgb(getComputedStyle(e).backgroundColor);
    if (c.length === 3 || c[3] > 0) return c.slice(0, 3); } return [255, 255, 255]; };
  const bad = [];
  for (const e of document.querySelectorAll('body *')) {
    if (![...e.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim())) continue;
    const s = getComputedStyle(e);
    if (s.visibility === 'hidden' || s.display === 'none' || !e.getClientRects().length) continue;
    const a = lum(rgb(s.color)), b = lum(bg(e));
    const ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
    const size = parseFloat(s.fontSize), bold = parseInt(s.fontWeight, 10) >= 700;
    const need = size >= 24 || (bold && size >= 18.66) ? 3 : 4.5;
    if (ratio < need) bad.push(`${e.tagName}.${e.className} "${e.textContent.trim().slice(0, 30)}" ${ratio.toFixed(2)}`);
  }
  return bad;
}"""


def test_phone_width_contrast_and_no_layout_shift(new_page):
    room = make_room("phone")
    slot, other, taken = future_slot(room, index=0), future_slot(room, index=1), future_slot(room, index=2)
    book("u-alice", taken)
    page = new_page(viewport={"width": 375, "height": 740}, is_mobile=True, has_touch=True)
    open_player(page, room)
    expect(cell(page, taken)).to_contain_text("Booked")
    assert page.evaluate("document.documentElement.scrollWidth <= innerWidth"), "the page scrolls sideways"

    before = slot_boxes(page)
    sizes = {(round(w, 1), round(hh, 1)) for _, _, _, w, hh in before}
    assert len(sizes) == 1, f"slot cells differ in size: {sizes}"
    watch_layout_shifts(page)
    cell(page, slot).click()
    expect(cell(page, slot)).to_contain_text("Held by you")
    for part in ("#hold-h", "#timer", "#confirm", "#extend", "#release", "#msg"):
        expect(page.locator(part)).to_be_in_viewport(ratio=0.99)  # the docked hold panel, on screen
    assert page.evaluate("() => document.querySelectorAll('.slot[data-status]').length") == len(before)
    assert slot_boxes(page) == before
    bad = page.evaluate(CONTRAST_JS)
    assert not bad, bad
    shot(page, "phone")
    page.locator("#release").click()
    expect(cell(page, slot)).to_contain_text("Free")
    expect(cell(page, other)).to_contain_text("Free")
    assert slot_boxes(page) == before
    assert layout_shift(page) == 0


def test_refusals_from_the_room_rules_are_sentences(new_page):
    """The server's own refusals under a room's real rules, changed by the venue while the page is
    open: the notice period closes the games inside it (CLOSED) and refuses a hold on a game the
    page still shows free (TOO_LATE_TO_BOOK); the cancellation cut-off refuses a cancellation
    (CANCEL_CUTOFF). Each is told in words with the rules as they are now. Only a gateway's HTML
    502, which this server never sends, is played by the browser's network layer."""
    room = make_room("errors", min_notice_minutes=180, cancel_cutoff_minutes=60)
    notice_ends = utc_now() + dt.timedelta(minutes=180)
    inside = [s for s in slots_of(room["room_id"]) if utc_now() < parse_time(s["start_time"]) < notice_ends]
    assert inside, "a game every two hours: one starts within the three hours of notice"
    closed_one = inside[0]
    later = free_slots(room, lead_minutes=240)
    assert len(later) >= 3, later
    slot, other, booked = later[0], later[1], later[-1]
    h, _ = book("u-demo", booked)

    page = new_page()
    open_player(page, room)
    msg = page.locator("#msg")
    expect(page.locator("#tz-note")).to_contain_text("Online booking closes 3 hours before each game.")
    expect(cell(page, closed_one)).to_contain_text("Closed")
    expect(cell(page, closed_one)).to_be_disabled()
    expect(cell(page, slot)).to_contain_text("Free")
    item = page.locator(f'#mine li[data-hold="{h["hold_id"]}"]')
    expect(item).to_contain_text("You can cancel online until")

    # A gateway in front of the service answers with its own HTML page.
    def gateway(route):
        if route.request.method != "POST":
            return route.fallback()
        route.fulfill(status=502, content_type="text/html", body="<html><body>Bad gateway</body></html>")
    holds = path_is("/holds")
    page.route(holds, gateway)
    cell(page, other).click()
    expect(msg).to_have_text("Something went wrong (the booking service answered 502). Please try again.")
    page.unroute(holds, gateway)
    expect(cell(page, other)).to_contain_text("Free")

    # The venue now takes cancellations online only up to 3 days before a game: the booking the
    # page offers to cancel is past that.
    change_rules(room, cancel_cutoff_minutes=3 * 1440)
    item.locator(".cancel").click()
    item.locator(".cancel-yes").click()
    expect(msg).to_have_text(f"It is too close to the start to cancel online: bookings for {room['name']} can be "
                             "cancelled up to 3 days before the game. Please contact the venue.")
    expect(msg).to_have_attribute("data-kind", "error")
    expect(item).to_contain_text("Too close to the start to cancel online (bookings can be cancelled up to 3 days")
    expect(item.locator(".cancel")).to_have_count(0)
    assert hold_of("u-demo", booked["slot_id"])["status"] == "CONFIRMED"

    # And online booking now closes 3 days before a game: the free game on the page is too late.
    change_rules(room, cancel_cutoff_minutes=3 * 1440, min_notice_minutes=3 * 1440)
    cell(page, slot).click()
    expect(msg).to_have_text("This game starts too soon to book online: booking closes 3 days before each game. "
                             "Please pick a later time.")
    expect(page.locator("#tz-note")).to_contain_text("Online booking closes 3 days before each game.")
    expect(cell(page, slot)).to_contain_text("Closed")
    expect(cell(page, slot)).to_be_disabled()
    assert hold_of("u-demo", slot["slot_id"]) is None
    assert "{" not in msg.inner_text()
    shot(page, "errors")


def test_player_page_size_and_self_contained(new_page, capsys):
    page = new_page()
    done = []
    page.on("requestfinished", lambda r: done.append(r))
    page.goto(BASE + "/", wait_until="networkidle")
    expect(page.locator("#days .slot").first).to_be_visible()
    origin = urllib.parse.urlsplit(BASE)
    assert all(urllib.parse.urlsplit(r.url).netloc == origin.netloc or r.url.startswith("data:")
               for r in done), [r.url for r in done]
    static = [r for r in done if r.resource_type in ("document", "stylesheet", "script")]
    assert sorted(urllib.parse.urlsplit(r.url).path for r in static) == ["/", "/app.css", "/app.js", "/common.js"]
    body = sum(r.sizes()["responseBodySize"] for r in static)
    total = sum(r.sizes()["responseBodySize"] + r.sizes()["responseHeadersSize"] for r in static)
    with capsys.disabled():
        print(f"\nplayer page: {total} bytes transferred ({body} bytes of HTML, CSS and JS as served, "
              f"plus headers); budget {PAGE_BUDGET}")
    SHOTS.mkdir(parents=True, exist_ok=True)
    (SHOTS / "player-page-size.txt").write_text(f"{total}\n")
    assert total < PAGE_BUDGET

    # The pages as the server serves them.
    for path, ctype in (("/", "text/html"), ("/app.css", "text/css"), ("/common.js", "javascript"),
                        ("/app.js", "javascript"), ("/operator", "text/html"), ("/operator.js", "javascript")):
        with urllib.request.urlopen(BASE + path, timeout=10) as res:
            assert res.status == 200, path
            assert ctype in res.headers["Content-Type"], (path, res.headers["Content-Type"])
            text = res.read().decode()
        assert not re.search(r"(src|href)=[\"']?(https?:)?//", text), f"{path} points outside the server"
