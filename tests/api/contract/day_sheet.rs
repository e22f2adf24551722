//! The operator's day sheet: a room's bookings in start order.

use serde_json::json;

use super::the_vault_plays_daily;
use crate::harness::{TestApp, assert_status};

pub async fn the_day_sheet_shows_the_rooms_bookings_in_start_order_to_operators(t: TestApp) {
    let slots = the_vault_plays_daily(&t, json!({})).await;
    // A whole local day: the two games of the date of the third game.
    let date = slots[2].split('.').nth(1).unwrap()[..8].to_owned();
    let day: Vec<&String> = slots.iter().filter(|s| s.contains(&date)).collect();
    assert_eq!(day.len(), 2, "{slots:?}");
    let evening = t.book(day[1], "u-alice", Some(3)).await;
    let morning = t.book(day[0], "u-bob", None).await;
    assert_status(&t.cancel(&morning, "u-bob").await, 200, None);
    t.hold(&slots[0], "u-demo").await; // held, not booked: not on the sheet
    let listed = t.slots("r-vault", None).await;
    let start_of = |id: &str| -> String {
        listed.iter().find(|s| s["slot_id"] == id).unwrap()["start_time"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let local_start_of = |id: &str| -> String {
        listed.iter().find(|s| s["slot_id"] == id).unwrap()["local_start"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let from: chrono::DateTime<chrono::Utc> = start_of(day[0]).parse().unwrap();
    let from = (from - chrono::Duration::hours(1)).to_rfc3339();
    let sheet = t
        .day_sheet("r-vault", &format!("?from={}", from.replace('+', "%2B")))
        .await;
    assert_status(&sheet, 200, None);
    assert_eq!(sheet.body["time_zone"], "Europe/Berlin");
    let bookings = sheet.body["bookings"].as_array().unwrap();
    assert_eq!(bookings.len(), 2, "{sheet:?}");
    let (first, second) = (&bookings[0], &bookings[1]);
    assert_eq!(
        (&first["hold_id"], &first["slot_id"], &first["user_id"]),
        (&json!(morning), &json!(day[0]), &json!("u-bob"))
    );
    assert_eq!(
        (&first["status"], &first["players"], &first["cancelled_by"]),
        (&json!("CANCELLED"), &json!(2), &json!("u-bob"))
    );
    assert_eq!(
        (&second["hold_id"], &second["status"], &second["players"]),
        (&json!(evening), &json!("CONFIRMED"), &json!(3))
    );
    assert_eq!(second["start_time"], json!(start_of(day[1])));
    assert_eq!(second["local_start"], json!(local_start_of(day[1])));
    assert!(second["confirmed_at"].as_str().unwrap().ends_with('Z'));
    assert!(second.get("cancelled_at").is_none());

    // Without a window: today in the venue's zone.
    let today = t.day_sheet("r-vault", "").await;
    assert_status(&today, 200, None);
    let bound = |name: &str| -> chrono::DateTime<chrono::Utc> {
        today.body[name].as_str().unwrap().parse().unwrap()
    };
    let hours = (bound("to") - bound("from")).num_hours();
    assert!((23..=25).contains(&hours), "{today:?}");
    assert!(bound("from") <= t.clock.now() && t.clock.now() < bound("to"));

    let anonymous = t.get("/rooms/r-vault/bookings").await;
    assert_status(&anonymous, 401, Some("UNAUTHENTICATED"));
    assert_status(
        &t.day_sheet("r-nowhere", "").await,
        404,
        Some("ROOM_NOT_FOUND"),
    );
    assert_status(
        &t.day_sheet(
            "r-vault",
            "?from=2026-12-01T00:00:00Z&to=2026-11-30T00:00:00Z",
        )
        .await,
        422,
        Some("VALIDATION_ERROR"),
    );
}
