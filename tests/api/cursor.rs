//! A listing's `next_cursor` sent back with a window that no longer contains its position — a
//! page left open while `from` = now moves past it, or a `to` before it — answers a page of the
//! window (on DynamoDB too, which refuses a start key outside a query's range).

use crate::harness::{StoreKind, TestApp, Via, assert_status};

async fn a_cursor_outside_the_window_answers_the_windows_page(kind: StoreKind) {
    let t = TestApp::start(Via::Handlers, kind, &[]).await;
    let all = t.get("/slots?room_id=r-101&limit=200").await;
    assert_status(&all, 200, None);
    let slots = all.body["slots"].as_array().unwrap().clone();
    assert!(
        slots.len() >= 4,
        "the fixture room has slots: {}",
        slots.len()
    );
    let first = t.get("/slots?room_id=r-101&limit=2").await;
    let cursor = first.body["next_cursor"].as_str().unwrap().to_owned();
    let at = |i: usize| slots[i]["start_time"].as_str().unwrap().replace('+', "%2B");

    // `to` before the cursor's position: nothing of the window follows it.
    let before = t
        .get(&format!(
            "/slots?room_id=r-101&limit=2&cursor={cursor}&to={}",
            at(1)
        ))
        .await;
    assert_status(&before, 200, None);
    assert_eq!(before.body["slots"], serde_json::json!([]));
    assert_eq!(before.body["next_cursor"], serde_json::Value::Null);

    // `from` after the cursor's position: the window's first page, as without the cursor.
    let later = t
        .get(&format!(
            "/slots?room_id=r-101&limit=2&cursor={cursor}&from={}",
            at(3)
        ))
        .await;
    assert_status(&later, 200, None);
    let fresh = t
        .get(&format!("/slots?room_id=r-101&limit=2&from={}", at(3)))
        .await;
    assert_eq!(later.body["slots"], fresh.body["slots"]);
    assert_eq!(later.body["slots"][0]["slot_id"], slots[3]["slot_id"]);
}

#[tokio::test]
async fn on_sqlite_a_cursor_outside_the_window_answers_the_windows_page() {
    a_cursor_outside_the_window_answers_the_windows_page(StoreKind::Sqlite).await
}

#[tokio::test]
async fn on_dynamodb_a_cursor_outside_the_window_answers_the_windows_page_not_a_500() {
    a_cursor_outside_the_window_answers_the_windows_page(StoreKind::Dynamodb).await
}
