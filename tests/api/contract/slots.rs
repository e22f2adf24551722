//! Listing a room's slots: every slot with its caller-aware status, in start order, one room
//! at a time, page by page with a cursor, within a `from`/`to` window.

use lambda_http::http::StatusCode;
use serde_json::json;

use crate::harness::{TestApp, assert_status};

pub async fn listing_a_fresh_room_shows_every_slot_available_in_start_time_order(t: TestApp) {
    let list = t.list("r-101", Some("u-demo")).await;
    assert_eq!(list.status, StatusCode::OK);
    assert_eq!(list.body["room_id"], "r-101");
    assert_eq!(list.body["next_cursor"], json!(null));
    let slots = list.body["slots"].as_array().unwrap();
    assert!(
        slots.len() >= 12,
        "at least 12 demo slots, got {}",
        slots.len()
    );
    assert!(
        slots
            .iter()
            .all(|s| s["status"] == "AVAILABLE" && s["room_id"] == "r-101")
    );
    let starts: Vec<&str> = slots
        .iter()
        .map(|s| s["start_time"].as_str().unwrap())
        .collect();
    let mut sorted = starts.clone();
    sorted.sort();
    assert_eq!(starts, sorted);
    assert!(starts.iter().all(|s| s.ends_with('Z')));
    // The demo rooms are in UTC: their local start is the start itself, with its offset.
    assert!(
        slots
            .iter()
            .all(|s| s["local_start"].as_str().unwrap().ends_with("+00:00"))
    );
    assert!(
        slots
            .iter()
            .all(|s| s.get("hold_id").is_none() && s.get("expires_at").is_none())
    );
}

pub async fn listing_tells_my_holds_from_other_users_holds(t: TestApp) {
    let mine = t.hold("s-1", "u-demo").await;
    t.hold("s-2", "u-alice").await;
    let list = t.list("r-101", Some("u-demo")).await;
    let slots = list.body["slots"].as_array().unwrap();
    let slot = |id: &str| slots.iter().find(|s| s["slot_id"] == id).unwrap().clone();
    assert_eq!(slot("s-1")["status"], "HELD_BY_ME");
    assert_eq!(slot("s-1")["hold_id"], mine.as_str());
    assert!(slot("s-1")["expires_at"].as_str().unwrap().ends_with('Z'));
    assert_eq!(slot("s-2")["status"], "HELD_BY_OTHER");
    assert!(slot("s-2").get("hold_id").is_none() && slot("s-2").get("expires_at").is_none());
    assert_eq!(slot("s-3")["status"], "AVAILABLE");
    // Without a user id every live hold is someone else's.
    assert_eq!(t.status_of("r-101", "s-1", None).await, "HELD_BY_OTHER");
}

pub async fn listing_an_unknown_room_returns_404(t: TestApp) {
    let list = t.list("r-999", Some("u-demo")).await;
    assert_eq!(
        (list.status, list.error_code()),
        (StatusCode::NOT_FOUND, "ROOM_NOT_FOUND")
    );
}

pub async fn listing_only_shows_the_asked_rooms_slots(t: TestApp) {
    let hold = t.hold("s-17", "u-demo").await; // s-17 is in r-102
    let r101 = t.list("r-101", Some("u-demo")).await;
    assert!(
        r101.body["slots"]
            .as_array()
            .unwrap()
            .iter()
            .all(|s| s["slot_id"] != "s-17")
    );
    let r102 = t.list("r-102", Some("u-demo")).await;
    let s17 = r102.body["slots"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["slot_id"] == "s-17")
        .cloned();
    assert_eq!(s17.map(|s| s["hold_id"].clone()), Some(json!(hold)));
}

pub async fn a_room_is_listed_page_by_page_with_a_cursor(t: TestApp) {
    let all = t.slots("r-101", None).await;
    assert_eq!(all.len(), 16);
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let query = cursor.map(|c| format!("&cursor={c}")).unwrap_or_default();
        let page = t.get(&format!("/slots?room_id=r-101&limit=5{query}")).await;
        assert_status(&page, 200, None);
        let slots = page.body["slots"].as_array().unwrap();
        assert!(slots.len() <= 5);
        seen.extend(slots.iter().map(|s| s["slot_id"].clone()));
        pages += 1;
        match page.body["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
    }
    assert_eq!(pages, 4);
    let every: Vec<_> = all.iter().map(|s| s["slot_id"].clone()).collect();
    assert_eq!(seen, every, "every slot once, in order");
}

pub async fn a_cursor_of_another_room_a_garbage_cursor_or_a_bad_limit_is_422(t: TestApp) {
    let page = t.get("/slots?room_id=r-101&limit=2").await;
    let cursor = page.body["next_cursor"].as_str().unwrap().to_owned();
    let other = t
        .get(&format!("/slots?room_id=r-102&cursor={cursor}"))
        .await;
    assert_status(&other, 422, Some("VALIDATION_ERROR"));
    for bad in [
        "cursor=garbage",
        "cursor=%00%01",
        "limit=201",
        "limit=0",
        "limit=ten",
        "from=yesterday",
    ] {
        assert_status(
            &t.get(&format!("/slots?room_id=r-101&{bad}")).await,
            422,
            Some("VALIDATION_ERROR"),
        );
    }
    assert_status(&t.get("/slots?room_id=r-101&limit=200").await, 200, None);
}

pub async fn from_and_to_select_slots_by_start_time(t: TestApp) {
    let all = t.slots("r-101", None).await;
    let start = |i: usize| all[i]["start_time"].as_str().unwrap().to_owned();
    let window = t
        .get(&format!(
            "/slots?room_id=r-101&from={}&to={}",
            start(2),
            start(6)
        ))
        .await;
    assert_status(&window, 200, None);
    let ids: Vec<_> = window.body["slots"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["slot_id"].clone())
        .collect();
    let expected: Vec<_> = all[2..6].iter().map(|s| s["slot_id"].clone()).collect();
    assert_eq!(ids, expected, "from inclusive, to exclusive");
    let empty = t
        .get(&format!(
            "/slots?room_id=r-101&from={}&to={}",
            start(2),
            start(2)
        ))
        .await;
    assert_status(&empty, 422, Some("VALIDATION_ERROR"));
    let unknown = t
        .get(&format!("/slots?room_id=r-999&from={}", start(2)))
        .await;
    assert_status(&unknown, 404, Some("ROOM_NOT_FOUND"));
}
