//! Cancelling a booking: by its owner before the slot starts and the room's cut-off, or by an
//! operator, with a reason, at any time.

use serde_json::json;

use super::the_vault_plays_daily;
use crate::harness::{
    DESK_NEXT_TOKEN, Event, NIGHT_TOKEN, OPERATOR_TOKEN, TestApp, UNNAMED_TOKEN, assert_status,
};

pub async fn cancelling_a_booking_frees_the_slot_for_anyone_at_once(t: TestApp) {
    let hold_id = t.hold("s-1", "u-alice").await;
    assert_status(&t.confirm(&hold_id, "u-alice").await, 200, None);
    let cancelled = t.cancel(&hold_id, "u-alice").await;
    assert_status(&cancelled, 200, None);
    assert_eq!(
        cancelled.body,
        json!({ "hold_id": hold_id, "status": "CANCELLED" })
    );
    assert_eq!(t.status_of("r-101", "s-1", None).await, "AVAILABLE");
    assert_status(
        &t.confirm(&hold_id, "u-alice").await,
        410,
        Some("HOLD_GONE"),
    );
    let bobs = t.hold("s-1", "u-bob").await;
    assert_status(&t.confirm(&bobs, "u-bob").await, 200, None);
    // A stale second cancel answers as done and never touches the newer booking.
    assert_status(&t.cancel(&hold_id, "u-alice").await, 200, None);
    assert_eq!(t.status_of("r-101", "s-1", Some("u-bob")).await, "BOOKED");
    assert_eq!(t.look_up(&bobs, "u-bob").await.body["status"], "CONFIRMED");
}

pub async fn only_the_owner_cancels_and_only_a_booking(t: TestApp) {
    let hold_id = t.hold("s-1", "u-alice").await;
    assert_status(
        &t.cancel(&hold_id, "u-alice").await,
        409,
        Some("HOLD_NOT_CONFIRMED"),
    );
    assert_status(&t.confirm(&hold_id, "u-alice").await, 200, None);
    assert_status(
        &t.cancel(&hold_id, "u-bob").await,
        403,
        Some("NOT_HOLD_OWNER"),
    );
    let unknown = uuid::Uuid::new_v4().to_string();
    assert_status(&t.cancel(&unknown, "u-alice").await, 410, Some("HOLD_GONE"));
    assert_eq!(t.status_of("r-101", "s-1", None).await, "BOOKED");
}

pub async fn a_booking_cannot_be_cancelled_once_its_slot_started(t: TestApp) {
    t.advance_to_before_start("r-101", "s-1", 120).await;
    let hold_id = t.hold("s-1", "u-alice").await;
    assert_status(&t.confirm(&hold_id, "u-alice").await, 200, None);
    t.advance(120);
    assert_status(
        &t.cancel(&hold_id, "u-alice").await,
        409,
        Some("SLOT_STARTED"),
    );
}

pub async fn the_rooms_cancel_cut_off_binds_players_but_not_operators(t: TestApp) {
    // Games are at most 16 hours apart, so the first starts within the day's cut-off.
    let slots = the_vault_plays_daily(&t, json!({ "cancel_cutoff_minutes": 1440 })).await;
    let hold_id = t.book(&slots[0], "u-alice", Some(3)).await;
    assert_status(
        &t.cancel(&hold_id, "u-alice").await,
        409,
        Some("CANCEL_CUTOFF"),
    );
    let cancelled = t.operator_cancel(&hold_id, "  Flooded basement  ").await;
    assert_status(&cancelled, 200, None);
    assert_eq!(
        cancelled.body,
        json!({ "hold_id": hold_id, "status": "CANCELLED" })
    );
    assert_eq!(t.status_of("r-vault", &slots[0], None).await, "AVAILABLE");
    assert_eq!(
        t.look_up(&hold_id, "u-alice").await.body["status"],
        "CANCELLED"
    );
    // Again: answered as done.
    assert_status(&t.operator_cancel(&hold_id, "Flooded").await, 200, None);
}

pub async fn an_operators_cancellation_needs_the_operator_and_a_reason(t: TestApp) {
    let hold_id = t.book("s-1", "u-alice", None).await;
    let path = format!("/holds/{hold_id}/cancel");
    let without_reason = t
        .send(Event::post(&path, json!({})).bearer(OPERATOR_TOKEN))
        .await;
    assert_status(&without_reason, 422, Some("VALIDATION_ERROR"));
    assert!(
        without_reason.body["message"]
            .as_str()
            .unwrap()
            .contains("`reason`"),
        "{without_reason:?}"
    );
    let wrong = t
        .send(Event::post(&path, json!({ "reason": "x" })).bearer("not-the-operator-token"))
        .await;
    assert_status(&wrong, 401, Some("UNAUTHENTICATED"));
    // Neither a user nor credentials: a player's request missing its user id.
    let anonymous = t.post(&path, json!({ "reason": "x" })).await;
    assert_status(&anonymous, 422, Some("VALIDATION_ERROR"));
    assert_eq!(t.status_of("r-101", "s-1", None).await, "BOOKED");
}

pub async fn an_operators_cancellation_records_the_name_of_the_token_on_the_day_sheet(t: TestApp) {
    let slots = the_vault_plays_daily(&t, json!({})).await;
    let listed = t.slots("r-vault", None).await;
    let start_of = |id: &str| -> chrono::DateTime<chrono::Utc> {
        let slot = listed.iter().find(|s| s["slot_id"] == id).unwrap();
        slot["start_time"].as_str().unwrap().parse().unwrap()
    };
    // Four games, each booked and cancelled by the bearer of another token: desk's, desk's next
    // one (a rotation under the same name), night's, and the unnamed OPERATOR_TOKEN.
    let by = [
        (OPERATOR_TOKEN, "operator:desk"),
        (DESK_NEXT_TOKEN, "operator:desk"),
        (NIGHT_TOKEN, "operator:night"),
        (UNNAMED_TOKEN, "operator"),
    ];
    for (slot, (token, _)) in slots.iter().zip(by) {
        let hold_id = t.book(slot, "u-alice", Some(2)).await;
        let cancelled = t
            .send(
                Event::post(
                    &format!("/holds/{hold_id}/cancel"),
                    json!({ "reason": "Flooded basement" }),
                )
                .bearer(token),
            )
            .await;
        assert_status(&cancelled, 200, None);
    }
    let from = (start_of(&slots[0]) - chrono::Duration::hours(1)).to_rfc3339();
    let to = (start_of(&slots[3]) + chrono::Duration::hours(1)).to_rfc3339();
    let query = format!("?from={from}&to={to}").replace('+', "%2B");
    let sheet = t.day_sheet("r-vault", &query).await;
    assert_status(&sheet, 200, None);
    let recorded: Vec<(&str, &str, &str)> = sheet.body["bookings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| {
            (
                b["status"].as_str().unwrap(),
                b["cancelled_by"].as_str().unwrap(),
                b["reason"].as_str().unwrap(),
            )
        })
        .collect();
    let expected: Vec<(&str, &str, &str)> = by
        .iter()
        .map(|(_, name)| ("CANCELLED", *name, "Flooded basement"))
        .collect();
    assert_eq!(recorded, expected, "{sheet:?}");
}
