"""The player page in guest mode (PLAYER_AUTH=guest): each browser gets a booking pass of its own
(POST /players, kept in localStorage) and sends its token; "My bookings" is that browser's; the
demo player picker is not shown. Run by scripts/browser-test beside test_pages.py, against the
guest-mode server it starts (GUEST_BASE_URL; the same operator token).
"""
import json
import os
import re

from playwright.sync_api import expect

from test_pages import call, cell, future_slot, make_room, ok, shot

GUEST = os.environ.get("GUEST_BASE_URL", "").rstrip("/")


def open_as_guest(page, room):
    """The page on the guest server, the room chosen; returns the browser's pass."""
    page.goto(GUEST + "/")
    button = page.locator(f'.room[data-room="{room["room_id"]}"]')
    button.click()
    expect(button).to_have_attribute("aria-pressed", "true")
    expect(page.locator("#days .slot").first).to_be_visible()
    return json.loads(page.evaluate("() => localStorage.getItem('er.guest')"))


def give_contact(page):
    """In guest mode the hold box asks for a contact (open, required): a booking needs one."""
    expect(page.locator("details.contact")).to_have_attribute("open", "")
    page.fill("#c-name", "Guest Player")
    page.fill("#c-email", "guest@example.org")


def test_a_guest_books_end_to_end_with_a_pass_of_their_own(new_page):
    assert GUEST, "GUEST_BASE_URL: the guest scenarios need a guest-mode server"
    room = make_room("guest", base=GUEST)
    slot = future_slot(room, base=GUEST)
    page = new_page()
    passed = open_as_guest(page, room)
    assert passed["player_id"].startswith("p-"), passed
    expect(page.locator(".who")).to_be_hidden()
    expect(page.locator("details.token")).to_be_hidden()
    cell(page, slot).click()
    expect(page.locator("#confirm")).to_be_visible()
    # Without a contact the service refuses, and the page says what is missing.
    page.locator("#confirm").click()
    expect(page.locator("#msg")).to_contain_text("needs your name and email")
    give_contact(page)
    page.locator("#confirm").click()
    expect(page.locator("#msg")).to_contain_text("Booked!")
    expect(page.locator(f'#mine li[data-slot="{slot["slot_id"]}"]')).to_contain_text("Booked")
    # The booking is the pass's player's, as the API says with its token.
    status, mine = call("GET", f"/users/{passed['player_id']}/holds", token=passed["token"], base=GUEST)
    assert status == 200 and [h["slot_id"] for h in mine["holds"]] == [slot["slot_id"]], mine
    # Without the token, nobody may read them.
    status, _ = call("GET", f"/users/{passed['player_id']}/holds", base=GUEST)
    assert status == 401
    # The same browser later: the same pass, the same bookings.
    page.reload()
    expect(page.locator(f'#mine li[data-slot="{slot["slot_id"]}"]')).to_contain_text("Booked")
    shot(page, "guest-book")


def test_a_second_guest_neither_sees_nor_can_cancel_the_first_ones_booking(new_page):
    room = make_room("guests", base=GUEST)
    slot = future_slot(room, base=GUEST)
    first, second = new_page(), new_page()
    first_pass = open_as_guest(first, room)
    cell(first, slot).click()
    give_contact(first)
    first.locator("#confirm").click()
    expect(first.locator("#msg")).to_contain_text("Booked!")
    hold_id = call("GET", f"/users/{first_pass['player_id']}/holds", token=first_pass["token"],
                   base=GUEST)[1]["holds"][0]["hold_id"]

    second_pass = open_as_guest(second, room)
    assert second_pass["player_id"] != first_pass["player_id"]
    expect(cell(second, slot)).to_contain_text("Booked")
    expect(cell(second, slot)).to_be_disabled()
    expect(second.locator("#mine")).not_to_contain_text(slot["local_start"][11:16])
    # Through the API with the second browser's token: not theirs to cancel, nor to read.
    status, body = call("POST", f"/holds/{hold_id}/cancel", {}, token=second_pass["token"], base=GUEST)
    assert (status, body["error"]) == (403, "NOT_HOLD_OWNER"), body
    status, body = call("POST", f"/holds/{hold_id}/cancel", {"user_id": first_pass["player_id"]},
                        token=second_pass["token"], base=GUEST)
    assert (status, body["error"]) == (403, "IDENTITY_MISMATCH"), body
    first.reload()
    expect(first.locator(f'#mine li[data-slot="{slot["slot_id"]}"]')).to_contain_text("Booked")
    shot(second, "guest-second")


def test_the_hold_cap_and_a_pass_no_longer_accepted_are_explained_on_screen(new_page):
    room = make_room("cap", base=GUEST)
    slot = future_slot(room, base=GUEST)
    page = new_page()
    open_as_guest(page, room)
    cap = ok("GET", "/service", base=GUEST)["max_live_holds_per_player"]
    # The service's answer when the player already holds as many times as the cap allows.
    def hold_limit(route):
        if route.request.method != "POST":
            route.continue_()
            return
        route.fulfill(status=429, headers={"Retry-After": "120"}, content_type="application/json",
                      body=json.dumps({"error": "HOLD_LIMIT", "message": "hold limit"}))

    page.route(re.compile(r".*/holds$"), hold_limit)
    cell(page, slot).click()
    expect(page.locator("#msg")).to_contain_text(f"You already hold {cap} times, the most one player may")
    expect(page.locator("#msg")).to_contain_text("Confirm or release one first")
    page.unroute(re.compile(r".*/holds$"))
    shot(page, "guest-hold-cap")

    # A pass the service no longer accepts (as after its key was dropped): said in words, and the
    # next visit gets a new one.
    stale = new_page()
    stale.goto(GUEST + "/service")
    stale.evaluate("""() => localStorage.setItem('er.guest', JSON.stringify({player_id: 'p-gone',
        token: 'cC1nb25l.99999999999.AAAA', expires_at: '2099-01-01T00:00:00Z'}))""")
    stale.goto(GUEST + "/")
    expect(stale.locator("#mine")).to_contain_text("no longer accepts this browser’s booking pass")
    stale.reload()
    button = stale.locator(f'.room[data-room="{room["room_id"]}"]')
    button.click()
    expect(stale.locator("#mine")).not_to_contain_text("booking pass")
    fresh = json.loads(stale.evaluate("() => localStorage.getItem('er.guest')"))
    assert fresh["player_id"] != "p-gone", fresh
