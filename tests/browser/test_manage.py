"""The manage link in a real browser: a player books on the page with their contact, the
confirmation shows the reference and the link `/booking/{reference}#key=…`; the link's page shows
the booking in the venue's local time with the zone's name (the browser runs in another zone) and
cancels it. Run by scripts/browser-test beside test_pages.py, on the same server.
"""
import datetime as dt
import urllib.parse

from playwright.sync_api import expect

from test_pages import BASE, VENUE_TZ, call, cell, future_slot, make_room, open_player, shot


def test_book_then_open_the_manage_link_see_the_local_time_and_cancel(new_page):
    room = make_room("manage")
    slot = future_slot(room)
    page = new_page()
    open_player(page, room)
    cell(page, slot).click()
    expect(page.locator("#confirm")).to_be_visible()
    page.locator("details.contact summary").click()
    page.fill("#c-name", "Ada Lovelace")
    page.fill("#c-email", "ada@example.org")
    page.fill("#c-phone", "+49 30 1234567")
    page.locator("#confirm").click()
    expect(page.locator("#msg")).to_contain_text("Booked!")

    reference = page.locator("#reference").inner_text()
    assert len(reference) == 10, reference
    link = page.locator("#manage-link").get_attribute("href")
    parts = urllib.parse.urlsplit(link)
    assert parts.path == f"/booking/{reference}", link
    assert parts.fragment.startswith("key=") and len(parts.fragment) == 4 + 43, link
    # The page's requests: the key only ever as the bearer, never in a URL a server sees.
    seen = []
    manage = new_page()
    manage.on("request", lambda r: seen.append((r.url, r.headers.get("authorization", ""))))
    manage.goto(link)

    local = dt.datetime.fromisoformat(slot["local_start"])
    expect(manage.locator("#b-reference")).to_have_text(reference)
    when = manage.locator("#b-when")
    expect(when).to_contain_text(f"{local.day} {local.strftime('%B')} {local.year}, {local.strftime('%H:%M')}")
    expect(when).to_contain_text(f"({VENUE_TZ})")
    expect(manage.locator("#b-room")).to_have_text(room["name"])
    expect(manage.locator("#b-status")).to_have_text("Booked")
    expect(manage.locator("#b-name")).to_have_text("Ada Lovelace")
    key = parts.fragment[len("key="):]
    assert all(key not in url for url, _ in seen), seen
    assert any(url.endswith(f"/bookings/{reference}") and auth == f"Bearer {key}" for url, auth in seen), seen

    manage.locator("#cancel").click()
    manage.locator("#cancel-yes").click()
    expect(manage.locator("#msg")).to_have_text("Your booking is cancelled.")
    expect(manage.locator("#b-status")).to_have_text("Cancelled")
    expect(manage.locator("#cancel")).to_be_hidden()
    # The API agrees: the slot is free again, and the link still opens the cancelled booking.
    status, booking = call("GET", f"/bookings/{reference}", token=key)
    assert status == 200 and booking["status"] == "CANCELLED", booking
    assert booking["contact"]["phone"] == "+49301234567", booking
    shot(manage, "manage-cancelled")

    # A wrong key opens nothing and says so.
    wrong = new_page()
    wrong.goto(f"{BASE}/booking/{reference}#key={'A' * 43}")
    expect(wrong.locator("#msg")).to_contain_text("does not open a booking")
    expect(wrong.locator("#cancel")).to_be_hidden()


def test_the_confirmation_offers_add_to_calendar_which_saves_the_bookings_ics(new_page):
    room = make_room("ics")
    slot = future_slot(room)
    page = new_page()
    seen = []
    page.on("request", lambda r: seen.append((r.url, r.headers.get("authorization", ""))))
    open_player(page, room)
    cell(page, slot).click()
    expect(page.locator("#confirm")).to_be_visible()
    page.locator("details.contact summary").click()
    page.fill("#c-name", "Ada Lovelace")
    page.fill("#c-email", "ada@example.org")
    page.locator("#confirm").click()
    expect(page.locator("#msg")).to_contain_text("Booked!")
    reference = page.locator("#reference").inner_text()
    key = urllib.parse.urlsplit(page.locator("#manage-link").get_attribute("href")).fragment[len("key="):]

    with page.expect_download() as download:
        page.locator("#add-to-calendar").click()
    saved = download.value
    assert saved.suggested_filename == "booking.ics", saved.suggested_filename
    with open(saved.path(), encoding="utf-8", newline="") as f:
        text = f.read()
    lines = text.replace("\r\n ", "").split("\r\n")
    start = dt.datetime.fromisoformat(slot["start_time"].replace("Z", "+00:00"))
    end = dt.datetime.fromisoformat(slot["end_time"].replace("Z", "+00:00"))
    for expected in ("BEGIN:VCALENDAR", "METHOD:REQUEST", f"UID:{reference}@escape-room.invalid",
                     f"DTSTART:{start:%Y%m%dT%H%M%SZ}", f"DTEND:{end:%Y%m%dT%H%M%SZ}",
                     "SEQUENCE:0", "STATUS:CONFIRMED", f"LOCATION:{room['name']}"):
        assert expected in lines, (expected, text)
    expect(page.locator("#msg")).to_contain_text("Saved booking.ics")
    # The key went only as the bearer of the file's request, never into a URL.
    assert all(key not in url for url, _ in seen), seen
    assert any(url.endswith(f"/bookings/{reference}/booking.ics") and auth == f"Bearer {key}"
               for url, auth in seen), seen
    shot(page, "add-to-calendar")


def test_the_bookings_page_without_its_key_as_in_an_email_says_where_the_full_link_is(new_page):
    page = new_page()
    page.goto(f"{BASE}/booking/7K3M9QXA2B")
    expect(page.locator("#msg")).to_contain_text("open the manage link you were shown when you booked")
    expect(page.locator("#msg")).to_contain_text("7K3M9QXA2B")
