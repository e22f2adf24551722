//! Retiring a room (`DELETE /rooms/{room_id}`): it leaves every listing, takes no hold and no
//! new id's worth of rules, and its upcoming bookings are cancelled only when the operator asks.

use lambda_http::http::Method;
use serde_json::{Value, json};

use super::the_vault_plays_daily;
use crate::harness::{Event, OPERATOR_TOKEN, Reply, TestApp, assert_status};

/// `DELETE /rooms/{room}{query}` as the operator.
async fn retire(t: &TestApp, room: &str, query: &str) -> Reply {
    t.send(Event::new(Method::DELETE, &format!("/rooms/{room}{query}")).bearer(OPERATOR_TOKEN))
        .await
}

fn ids(reply: &Reply, field: &str) -> Vec<String> {
    reply.body[field]
        .as_array()
        .unwrap_or_else(|| panic!("{field} in {reply:?}"))
        .iter()
        .map(|id| id.as_str().unwrap().to_owned())
        .collect()
}

pub async fn a_retired_room_leaves_the_listings_and_its_slots_take_no_hold(t: TestApp) {
    let slots = the_vault_plays_daily(&t, json!({})).await;
    let held = t.hold(&slots[0], "u-alice").await;

    let anonymous = t.send(Event::new(Method::DELETE, "/rooms/r-vault")).await;
    assert_status(&anonymous, 401, Some("UNAUTHENTICATED"));
    let retired = retire(&t, "r-vault", "").await;
    assert_status(&retired, 200, None);
    assert_eq!(retired.body["status"], "RETIRED");
    assert_eq!(
        ids(&retired, "released_holds"),
        std::slice::from_ref(&held),
        "{retired:?}"
    );
    assert!(ids(&retired, "cancelled_bookings").is_empty());

    let rooms = t.get("/rooms").await;
    let listed: Vec<&str> = rooms.body["rooms"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["room_id"].as_str().unwrap())
        .collect();
    assert_eq!(listed, ["r-101", "r-102"]);
    assert_status(&t.get("/rooms/r-vault").await, 404, Some("ROOM_NOT_FOUND"));
    assert_status(
        &t.get("/slots?room_id=r-vault").await,
        404,
        Some("ROOM_NOT_FOUND"),
    );
    // Its slots take no hold, and the hold it released cannot be confirmed.
    assert_status(
        &t.create_hold(&slots[1], "u-bob").await,
        404,
        Some("SLOT_NOT_FOUND"),
    );
    assert_status(&t.confirm(&held, "u-alice").await, 410, Some("HOLD_GONE"));
    // Its id is not used again, and it gets no schedule.
    assert_status(
        &t.put_room("r-vault", super::vault()).await,
        409,
        Some("ROOM_ARCHIVED"),
    );
    assert_status(
        &t.put_schedule("r-vault", super::daily(&["12:00"])).await,
        404,
        Some("ROOM_NOT_FOUND"),
    );
    // Retiring it again is done already; an unknown room is 404.
    let again = retire(&t, "r-vault", "").await;
    assert_status(&again, 200, None);
    assert!(ids(&again, "released_holds").is_empty());
    assert_status(
        &retire(&t, "r-nowhere", "").await,
        404,
        Some("ROOM_NOT_FOUND"),
    );
}

pub async fn a_room_with_upcoming_bookings_is_retired_only_with_them_cancelled_for_a_reason(
    t: TestApp,
) {
    let slots = the_vault_plays_daily(&t, json!({})).await;
    let alice = t.book(&slots[0], "u-alice", Some(2)).await;
    let bob = t.book(&slots[3], "u-bob", Some(3)).await;
    let listed = t.slots("r-vault", None).await;
    let start_of = |id: &str| -> chrono::DateTime<chrono::Utc> {
        let slot = listed.iter().find(|s| s["slot_id"] == id).unwrap();
        slot["start_time"].as_str().unwrap().parse().unwrap()
    };
    let from = (start_of(&slots[0]) - chrono::Duration::hours(1)).to_rfc3339();
    let to = (start_of(&slots[3]) + chrono::Duration::hours(1)).to_rfc3339();

    let refused = retire(&t, "r-vault", "").await;
    assert_status(&refused, 409, Some("ROOM_HAS_BOOKINGS"));
    assert_status(&t.get("/rooms/r-vault").await, 200, None);
    assert_eq!(
        t.look_up(&alice, "u-alice").await.body["status"],
        "CONFIRMED"
    );
    for bad in [
        "?cancel_bookings=true",
        "?cancel_bookings=true&reason=%20%20",
        "?cancel_bookings=yes&reason=Flood",
        "?reason=Flood",
    ] {
        assert_status(
            &retire(&t, "r-vault", bad).await,
            422,
            Some("VALIDATION_ERROR"),
        );
    }
    let too_long = format!("?cancel_bookings=true&reason={}", "x".repeat(501));
    assert_status(
        &retire(&t, "r-vault", &too_long).await,
        422,
        Some("VALIDATION_ERROR"),
    );
    assert_status(&t.get("/rooms/r-vault").await, 200, None);

    let retired = retire(
        &t,
        "r-vault",
        "?cancel_bookings=true&reason=Flooded%20basement",
    )
    .await;
    assert_status(&retired, 200, None);
    let mut cancelled = ids(&retired, "cancelled_bookings");
    cancelled.sort();
    let mut expected = vec![alice.clone(), bob.clone()];
    expected.sort();
    assert_eq!(cancelled, expected, "{retired:?}");
    assert!(ids(&retired, "kept_bookings").is_empty());
    for (hold, user) in [(&alice, "u-alice"), (&bob, "u-bob")] {
        assert_eq!(t.look_up(hold, user).await.body["status"], "CANCELLED");
    }
    // Cancelled as an operator cancels: by the token's name, with the reason, on the day sheet
    // (which a retired room keeps).
    let window = format!("?from={from}&to={to}").replace('+', "%2B");
    let all = t.day_sheet("r-vault", &window).await;
    assert_status(&all, 200, None);
    let recorded: Vec<(String, String, String)> = all.body["bookings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b: &Value| {
            (
                b["status"].as_str().unwrap_or_default().to_owned(),
                b["cancelled_by"].as_str().unwrap_or_default().to_owned(),
                b["reason"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        recorded,
        vec![
            (
                "CANCELLED".to_owned(),
                "operator:desk".to_owned(),
                "Flooded basement".to_owned()
            );
            2
        ],
        "{all:?}"
    );
}
