//! Paging a player's holds and a room's day sheet (issue 16): every entry exactly once across
//! pages, past holds on request, the limit's bounds, cursors bound to their player or room, and
//! a cancelled booking kept on the day sheet after its slot is booked again.

use std::collections::HashSet;

use serde_json::{Value, json};

use crate::harness::{TestApp, assert_status};

/// Every page of `first` (a path with a query), following `next_cursor`; the pages' entries
/// under `field`, and how many pages there were.
async fn every_page(
    t: &TestApp,
    first: &str,
    field: &str,
    sheet: Option<&str>,
) -> (Vec<Value>, usize) {
    let (mut entries, mut pages) = (Vec::new(), 0);
    let mut path = first.to_owned();
    loop {
        let page = match sheet {
            Some(room) => t.day_sheet(room, &path).await,
            None => t.get(&path).await,
        };
        assert_status(&page, 200, None);
        pages += 1;
        entries.extend(page.body[field].as_array().unwrap().iter().cloned());
        match page.body["next_cursor"].as_str() {
            Some(cursor) => path = format!("{first}&cursor={cursor}"),
            None => return (entries, pages),
        }
        assert!(pages < 50, "the pages never end: {path}");
    }
}

fn ids(entries: &[Value]) -> Vec<String> {
    entries
        .iter()
        .map(|e| e["hold_id"].as_str().unwrap().to_owned())
        .collect()
}

/// A window around every fixture slot, as a day sheet's query.
fn fixture_window() -> String {
    let now = chrono::Utc::now();
    let at = |t: chrono::DateTime<chrono::Utc>| t.format("%Y-%m-%dT%H:%M:%SZ").to_string();
    format!(
        "?from={}&to={}",
        at(now - chrono::Duration::days(2)),
        at(now + chrono::Duration::days(7))
    )
}

pub async fn a_players_holds_come_page_by_page_each_exactly_once(t: TestApp) {
    let mut made = Vec::new();
    for slot in ["s-1", "s-2", "s-3", "s-17", "s-18"] {
        made.push(t.book(slot, "u-alice", None).await);
    }
    for slot in ["s-4", "s-19"] {
        made.push(t.hold(slot, "u-alice").await);
    }
    t.hold("s-5", "u-bob").await;
    let (listed, pages) = every_page(&t, "/users/u-alice/holds?limit=3", "holds", None).await;
    let listed = ids(&listed);
    assert_eq!(pages, 3, "7 holds, 3 a page");
    let unique: HashSet<&String> = listed.iter().collect();
    assert_eq!(unique.len(), listed.len(), "each once: {listed:?}");
    let (mut expected, mut got) = (made.clone(), listed.clone());
    expected.sort();
    got.sort();
    assert_eq!(got, expected, "every hold of hers, none of his");
    let whole = t.get("/users/u-alice/holds?limit=200").await;
    assert_eq!(
        ids(whole.body["holds"].as_array().unwrap()),
        listed,
        "the pages in the one page's order"
    );
    assert_eq!(whole.body["next_cursor"], Value::Null);

    for limit in ["0", "201", "x"] {
        let refused = t.get(&format!("/users/u-alice/holds?limit={limit}")).await;
        assert_status(&refused, 422, Some("VALIDATION_ERROR"));
    }
    let flag = t.get("/users/u-alice/holds?include_past=yes").await;
    assert_status(&flag, 422, Some("VALIDATION_ERROR"));
    // A cursor is bound to its player: hers on his listing is refused, as is a garbled one.
    let first = t.get("/users/u-alice/holds?limit=1").await;
    let cursor = first.body["next_cursor"].as_str().unwrap().to_owned();
    let theirs = t.get(&format!("/users/u-bob/holds?cursor={cursor}")).await;
    assert_status(&theirs, 422, Some("VALIDATION_ERROR"));
    let garbled = t
        .get(&format!("/users/u-alice/holds?cursor={}", &cursor[2..]))
        .await;
    assert_status(&garbled, 422, Some("VALIDATION_ERROR"));
}

pub async fn past_holds_are_listed_with_include_past_only(t: TestApp) {
    let expired = t.hold("s-5", "u-alice").await;
    t.advance(crate::harness::TTL_SECONDS);
    // A second apart each: newest first is the order they were made in, backwards.
    let released = t.hold("s-6", "u-alice").await;
    assert_status(&t.release(&released, "u-alice").await, 200, None);
    t.advance(1);
    let cancelled = t.book("s-7", "u-alice", None).await;
    assert_status(&t.cancel(&cancelled, "u-alice").await, 200, None);
    t.advance(1);
    let played = t.book("s-1", "u-alice", None).await;
    t.advance(1);
    let upcoming = t.book("s-8", "u-alice", None).await;
    // Past the start of s-1, the first game: it has been played.
    let listed = t.slots("r-101", None).await;
    let start: chrono::DateTime<chrono::Utc> =
        listed.iter().find(|s| s["slot_id"] == "s-1").unwrap()["start_time"]
            .as_str()
            .unwrap()
            .parse()
            .unwrap();
    t.advance((start - t.clock.now()).num_seconds() + 60);
    let held = t.hold("s-9", "u-alice").await;

    let current = t.bookings_of("u-alice").await;
    assert_status(&current, 200, None);
    assert_eq!(
        ids(current.body["holds"].as_array().unwrap()),
        [held.clone(), upcoming.clone()],
        "by default the live hold and the upcoming booking"
    );
    let (every, _) = every_page(
        &t,
        "/users/u-alice/holds?include_past=true&limit=2",
        "holds",
        None,
    )
    .await;
    assert_eq!(
        ids(&every),
        [held, upcoming, played, cancelled, released, expired],
        "every hold, newest first"
    );
    let status: Vec<&str> = every
        .iter()
        .map(|h| h["status"].as_str().unwrap())
        .collect();
    assert_eq!(
        status,
        [
            "HOLD",
            "CONFIRMED",
            "CONFIRMED",
            "CANCELLED",
            "EXPIRED",
            "EXPIRED"
        ]
    );
    assert_eq!(every[2]["slot_id"], "s-1");
    assert_eq!(
        every[2]["start_time"],
        json!(start.format("%Y-%m-%dT%H:%M:%SZ").to_string())
    );
    assert_eq!(every[3]["room_id"], "r-101");
}

pub async fn a_booking_the_operator_cancelled_stays_on_the_day_sheet_when_the_slot_is_booked_again(
    t: TestApp,
) {
    let flooded = t.book("s-2", "u-alice", Some(3)).await;
    assert_status(&t.operator_cancel(&flooded, "Flood").await, 200, None);
    t.advance(1); // a slot's bookings are in the order they were made, by the second
    let rebooked = t.book("s-2", "u-bob", None).await;
    let window = fixture_window();
    let sheet = t.day_sheet("r-101", &window).await;
    assert_status(&sheet, 200, None);
    let bookings = sheet.body["bookings"].as_array().unwrap();
    assert_eq!(
        ids(bookings),
        [flooded.clone(), rebooked.clone()],
        "{sheet:?}"
    );
    let (cancelled, confirmed) = (&bookings[0], &bookings[1]);
    assert_eq!(
        (
            &cancelled["slot_id"],
            &cancelled["user_id"],
            &cancelled["status"]
        ),
        (&json!("s-2"), &json!("u-alice"), &json!("CANCELLED"))
    );
    assert_eq!(
        (&cancelled["reason"], &cancelled["players"]),
        (&json!("Flood"), &json!(3))
    );
    assert!(
        cancelled["cancelled_by"]
            .as_str()
            .unwrap()
            .starts_with("operator"),
        "{cancelled:?}"
    );
    assert!(cancelled["confirmed_at"].as_str().unwrap().ends_with('Z'));
    assert!(cancelled["cancelled_at"].as_str().unwrap().ends_with('Z'));
    assert_eq!(
        (&confirmed["user_id"], &confirmed["status"]),
        (&json!("u-bob"), &json!("CONFIRMED"))
    );
    assert_eq!(sheet.body["next_cursor"], Value::Null);
}

pub async fn the_day_sheet_comes_page_by_page_each_booking_exactly_once(t: TestApp) {
    // Each slot's bookings: s-1 twice cancelled and booked a third time, s-3 cancelled by its
    // player, s-4 and s-16 booked; s-5 only held, and s-17 another room's.
    // A slot's bookings a second apart (on the manual clock; the function binaries' clock
    // moves by itself between requests): the sheet shows them in the order they were made.
    let mut expected = Vec::new();
    for (slot, user) in [("s-1", "u-alice"), ("s-1", "u-bob")] {
        let id = t.book(slot, user, None).await;
        assert_status(&t.operator_cancel(&id, "Flood").await, 200, None);
        expected.push(id);
        t.advance(1);
    }
    expected.push(t.book("s-1", "u-demo", None).await);
    let withdrawn = t.book("s-3", "u-alice", None).await;
    assert_status(&t.cancel(&withdrawn, "u-alice").await, 200, None);
    expected.push(withdrawn);
    expected.push(t.book("s-4", "u-bob", None).await);
    expected.push(t.book("s-16", "u-alice", None).await);
    t.hold("s-5", "u-demo").await;
    t.book("s-17", "u-alice", None).await;

    let window = fixture_window();
    let (listed, pages) =
        every_page(&t, &format!("{window}&limit=2"), "bookings", Some("r-101")).await;
    assert_eq!(
        ids(&listed),
        expected,
        "in start order, a slot's in the order they were made"
    );
    assert!(pages >= 3, "{pages} pages");
    let whole = t.day_sheet("r-101", &format!("{window}&limit=200")).await;
    assert_eq!(ids(whole.body["bookings"].as_array().unwrap()), expected);

    for limit in ["0", "201"] {
        let refused = t
            .day_sheet("r-101", &format!("{window}&limit={limit}"))
            .await;
        assert_status(&refused, 422, Some("VALIDATION_ERROR"));
    }
    // A cursor is bound to its room.
    let first = t.day_sheet("r-101", &format!("{window}&limit=1")).await;
    let cursor = first.body["next_cursor"].as_str().unwrap().to_owned();
    let other = t
        .day_sheet("r-102", &format!("{window}&cursor={cursor}"))
        .await;
    assert_status(&other, 422, Some("VALIDATION_ERROR"));
    let garbled = t
        .day_sheet("r-101", &format!("{window}&cursor=x{cursor}"))
        .await;
    assert_status(&garbled, 422, Some("VALIDATION_ERROR"));
}
