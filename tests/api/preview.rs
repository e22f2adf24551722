//! `POST /rooms/{room_id}/schedule/preview`: what publishing a schedule would do, decided as
//! publishing decides it, without writing — on both stores, through the handlers, the local
//! server and the function binaries.

use std::collections::BTreeMap;

use lambda_http::http::Method;
use serde_json::{Value, json};

use crate::contract::{daily, slot_ids, vault};
use crate::harness::{Event, OPERATOR_TOKEN, TestApp, assert_status};

async fn preview(t: &TestApp, room: &str, query: &str, body: Value) -> crate::harness::Reply {
    t.send(
        Event::with_json(
            Method::POST,
            &format!("/rooms/{room}/schedule/preview{query}"),
            body,
        )
        .bearer(OPERATOR_TOKEN),
    )
    .await
}

/// The preview's slots by change: `CREATE` → [(slot id, status)], …
fn by_change(reply: &crate::harness::Reply) -> BTreeMap<String, Vec<(String, String)>> {
    let mut changes: BTreeMap<String, Vec<(String, String)>> = BTreeMap::new();
    for slot in reply.body["slots"].as_array().unwrap() {
        changes
            .entry(slot["change"].as_str().unwrap().to_owned())
            .or_default()
            .push((
                slot["slot_id"].as_str().unwrap().to_owned(),
                slot["status"].as_str().unwrap().to_owned(),
            ));
    }
    changes
}

/// A room with games at 10:00 and 18:00 for two weeks, one evening held and one booked, previews
/// mornings and afternoons: the afternoons would be created, the free evenings removed, the
/// mornings and the held and booked evenings kept. Nothing changes until it is published, and
/// publishing then does exactly what the preview said.
pub async fn a_preview_says_what_publishing_does_and_writes_nothing(t: TestApp) {
    let mut room = vault();
    room["max_advance_days"] = json!(14);
    assert_status(&t.put_room("r-vault", room).await, 201, None);
    assert_status(
        &t.put_schedule("r-vault", daily(&["10:00", "18:00"])).await,
        200,
        None,
    );
    let before = slot_ids(&t, "r-vault").await;
    let evenings: Vec<&String> = before.iter().filter(|id| id.ends_with("T1800")).collect();
    let held = t.hold(evenings[0], "u-alice").await;
    let booked = t.hold(evenings[1], "u-bob").await;
    assert_status(&t.confirm(&booked, "u-bob").await, 200, None);

    let next = daily(&["10:00", "14:00"]);
    // 31 days asked, two weeks bookable: the whole horizon is previewed.
    let previewed = preview(&t, "r-vault", "?days=31", next.clone()).await;
    assert_status(&previewed, 200, None);
    assert_eq!(previewed.body["time_zone"], "Europe/Berlin");
    let changes = by_change(&previewed);
    let ids = |change: &str| -> Vec<&str> {
        changes
            .get(change)
            .map(|v| v.iter().map(|(id, _)| id.as_str()).collect())
            .unwrap_or_default()
    };
    assert!(ids("CREATE").iter().all(|id| id.ends_with("T1400")));
    assert!(!ids("CREATE").is_empty());
    assert_eq!(ids("REMOVE").len(), evenings.len() - 2);
    assert!(ids("REMOVE").iter().all(|id| id.ends_with("T1800")));
    let kept_evenings: Vec<(&str, &str)> = changes["KEEP"]
        .iter()
        .filter(|(id, _)| id.ends_with("T1800"))
        .map(|(id, status)| (id.as_str(), status.as_str()))
        .collect();
    assert_eq!(
        kept_evenings,
        [
            (evenings[0].as_str(), "HELD"),
            (evenings[1].as_str(), "BOOKED")
        ]
    );
    assert!(
        ids("MOVE").is_empty() && ids("SKIP").is_empty(),
        "{changes:?}"
    );

    // Nothing was written: the same slots, the same schedule, the hold still live.
    assert_eq!(slot_ids(&t, "r-vault").await, before);
    assert_eq!(
        t.get("/rooms/r-vault/schedule").await.body["weekly"],
        daily(&["10:00", "18:00"])["weekly"]
    );

    let published = t.put_schedule("r-vault", next).await;
    assert_status(&published, 200, None);
    assert_eq!(published.body["planned"], previewed.body["planned"]);
    assert_eq!(published.body["created"], ids("CREATE").len());
    assert_eq!(published.body["removed"], ids("REMOVE").len());
    assert_eq!(published.body["kept"].as_array().unwrap().len(), 2);
    let mut expected: Vec<&str> = ["CREATE", "KEEP", "MOVE"]
        .iter()
        .flat_map(|change| ids(change))
        .collect();
    expected.sort_unstable();
    let mut after = slot_ids(&t, "r-vault").await;
    after.sort_unstable();
    assert_eq!(after, expected, "publishing did what the preview said");
    assert_status(&t.confirm(&held, "u-alice").await, 200, None);
}

/// The preview answers what publishing would refuse with the same sentence, and is an
/// operator's only.
pub async fn a_preview_refuses_what_publishing_refuses_and_strangers(t: TestApp) {
    let clash = json!({ "weekly": [{ "days": ["MON"], "starts": ["10:00", "10:30"] }] });
    let put = t.put_schedule("r-101", clash.clone()).await;
    assert_status(&put, 422, Some("VALIDATION_ERROR"));
    let previewed = preview(&t, "r-101", "", clash).await;
    assert_status(&previewed, 422, Some("VALIDATION_ERROR"));
    assert_eq!(previewed.body["message"], put.body["message"]);

    let anonymous = t
        .send(Event::with_json(
            Method::POST,
            "/rooms/r-101/schedule/preview",
            daily(&["10:00"]),
        ))
        .await;
    assert_status(&anonymous, 401, Some("UNAUTHENTICATED"));
    let stranger = t
        .send(
            Event::with_json(
                Method::POST,
                "/rooms/r-101/schedule/preview",
                daily(&["10:00"]),
            )
            .bearer("not-the-operator-token-at-all"),
        )
        .await;
    assert_status(&stranger, 401, Some("UNAUTHENTICATED"));
    assert_status(
        &preview(&t, "r-nope", "", daily(&["10:00"])).await,
        404,
        Some("ROOM_NOT_FOUND"),
    );
    for days in ["0", "32", "x"] {
        assert_status(
            &preview(&t, "r-101", &format!("?days={days}"), daily(&["10:00"])).await,
            422,
            Some("VALIDATION_ERROR"),
        );
    }
    // The default window is a week: a published schedule previewed again changes nothing.
    let mut room = vault();
    room["max_advance_days"] = json!(30);
    assert_status(&t.put_room("r-vault", room).await, 201, None);
    assert_status(
        &t.put_schedule("r-vault", daily(&["10:00"])).await,
        200,
        None,
    );
    let week = preview(&t, "r-vault", "", daily(&["10:00"])).await;
    assert_status(&week, 200, None);
    let slots = week.body["slots"].as_array().unwrap();
    assert!(
        (6..=8).contains(&slots.len()),
        "a game a day for 7 days: {}",
        slots.len()
    );
    assert!(
        slots
            .iter()
            .all(|s| s["change"] == "KEEP" && s["status"] == "FREE"),
        "{slots:?}"
    );
}

/// Longer games move the free slots to their new end; a planned game that a kept booking
/// overlaps is skipped — and publishing agrees on both.
pub async fn a_preview_shows_moved_and_skipped_games_as_publishing_makes_them(t: TestApp) {
    let mut room = vault();
    room["max_advance_days"] = json!(5);
    assert_status(&t.put_room("r-vault", room.clone()).await, 201, None);
    assert_status(
        &t.put_schedule("r-vault", daily(&["18:00"])).await,
        200,
        None,
    );
    let ids = slot_ids(&t, "r-vault").await;
    let booked = t.hold(&ids[0], "u-bob").await;
    assert_status(&t.confirm(&booked, "u-bob").await, 200, None);

    room["duration_minutes"] = json!(90);
    assert_status(&t.put_room("r-vault", room).await, 200, None);
    let moved = preview(&t, "r-vault", "", daily(&["18:00"])).await;
    assert_status(&moved, 200, None);
    let changes = by_change(&moved);
    assert_eq!(changes["KEEP"], [(ids[0].clone(), "BOOKED".to_owned())]);
    assert_eq!(changes["MOVE"].len(), ids.len() - 1, "{changes:?}");
    let first_moved = &moved.body["slots"][1];
    let (start, end): (chrono::DateTime<chrono::Utc>, chrono::DateTime<chrono::Utc>) = (
        first_moved["start_time"].as_str().unwrap().parse().unwrap(),
        first_moved["end_time"].as_str().unwrap().parse().unwrap(),
    );
    assert_eq!(end - start, chrono::Duration::minutes(90), "{first_moved}");

    // 18:30 instead: the booked 18:00 game stays and the 18:30 game of its day would overlap it.
    let later = preview(&t, "r-vault", "", daily(&["18:30"])).await;
    let changes = by_change(&later);
    assert_eq!(changes["SKIP"].len(), 1, "{changes:?}");
    assert!(
        changes["SKIP"][0]
            .0
            .starts_with(&ids[0][..ids[0].len() - 4])
    );
    let published = t.put_schedule("r-vault", daily(&["18:30"])).await;
    assert_status(&published, 200, None);
    assert_eq!(published.body["skipped"], 1);
    assert_eq!(published.body["created"], changes["CREATE"].len());
    assert_eq!(published.body["removed"], changes["REMOVE"].len());
}

macro_rules! everywhere {
    ($($scenario:ident),* $(,)?) => {
        mod preview_everywhere {
            use crate::harness::{StoreKind, TestApp, Via};
            $(
                mod $scenario {
                    use super::*;
                    #[tokio::test]
                    async fn handlers_sqlite() {
                        let t = TestApp::start(Via::Handlers, StoreKind::Sqlite, &[]).await;
                        crate::preview::$scenario(t).await
                    }
                    #[tokio::test]
                    async fn handlers_dynamodb() {
                        let t = TestApp::start(Via::Handlers, StoreKind::Dynamodb, &[]).await;
                        crate::preview::$scenario(t).await
                    }
                    #[tokio::test]
                    async fn loopback_sqlite() {
                        let t = TestApp::start(Via::Loopback, StoreKind::Sqlite, &[]).await;
                        crate::preview::$scenario(t).await
                    }
                    #[tokio::test]
                    async fn loopback_dynamodb() {
                        let t = TestApp::start(Via::Loopback, StoreKind::Dynamodb, &[]).await;
                        crate::preview::$scenario(t).await
                    }
                    #[tokio::test]
                    async fn runtime_dynamodb() {
                        let t = TestApp::start(Via::Runtime, StoreKind::Dynamodb, &[]).await;
                        crate::preview::$scenario(t).await
                    }
                    #[tokio::test]
                    async fn runtime_sqlite() {
                        let t = TestApp::start(Via::Runtime, StoreKind::Sqlite, &[]).await;
                        crate::preview::$scenario(t).await
                    }
                }
            )*
        }
    };
}

everywhere!(
    a_preview_says_what_publishing_does_and_writes_nothing,
    a_preview_refuses_what_publishing_refuses_and_strangers,
    a_preview_shows_moved_and_skipped_games_as_publishing_makes_them,
);
