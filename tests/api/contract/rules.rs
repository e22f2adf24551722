//! A room's booking rules (party size, notice period) applied to holds, and a change of rules
//! applied at once.

use serde_json::json;

use super::{the_vault_plays_daily, vault};
use crate::harness::{TestApp, assert_status};

pub async fn a_party_outside_the_rooms_players_is_refused_and_looked_up_with_its_size(t: TestApp) {
    let slots = the_vault_plays_daily(&t, json!({})).await;
    for players in [1, 7] {
        let refused = t.create_hold_for(&slots[0], "u-alice", players).await;
        assert_status(&refused, 422, Some("VALIDATION_ERROR"));
        assert_eq!(
            refused.body["message"],
            format!("`players` must be from 2 to 6 for this room, got {players}.")
        );
    }
    assert_eq!(t.status_of("r-vault", &slots[0], None).await, "AVAILABLE");
    let four = t.create_hold_for(&slots[0], "u-alice", 4).await;
    assert_status(&four, 201, None);
    let four = four.body["hold_id"].as_str().unwrap();
    assert_eq!(t.look_up(four, "u-alice").await.body["players"], 4);
    // Without `players`, the party is the room's minimum.
    let default = t.hold(&slots[1], "u-alice").await;
    assert_eq!(t.look_up(&default, "u-alice").await.body["players"], 2);
    let mine = t.bookings_of("u-alice").await;
    let mut parties: Vec<(String, u64)> = mine.body["holds"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| {
            (
                h["hold_id"].as_str().unwrap().to_owned(),
                h["players"].as_u64().unwrap(),
            )
        })
        .collect();
    parties.sort_by_key(|(_, players)| *players);
    assert_eq!(parties, [(default, 2), (four.to_owned(), 4)]);
}

pub async fn a_slot_inside_the_rooms_notice_period_is_closed_and_cannot_be_held(t: TestApp) {
    let slots = the_vault_plays_daily(&t, json!({ "min_notice_minutes": 120 })).await;
    // Not the first game: from about 15:00 UTC today's last game is less than the notice away.
    // The second is at least 8 hours away whenever the test runs (games at 10:00 and 18:00).
    let game = &slots[1];
    t.advance_to_before_start("r-vault", game, 2 * 3600 + 60)
        .await;
    assert_eq!(t.status_of("r-vault", game, None).await, "AVAILABLE");
    // Held in time, it can still be confirmed inside the notice period.
    let hold_id = t.hold(game, "u-alice").await;
    t.advance(120);
    assert_status(&t.confirm(&hold_id, "u-alice").await, 200, None);
    let next = &slots[2];
    t.advance_to_before_start("r-vault", next, 3600).await;
    assert_eq!(t.status_of("r-vault", next, None).await, "CLOSED");
    let late = t.create_hold(next, "u-bob").await;
    assert_status(&late, 409, Some("TOO_LATE_TO_BOOK"));
}

pub async fn a_change_of_the_rooms_rules_applies_to_its_slots_at_once(t: TestApp) {
    let slots = the_vault_plays_daily(&t, json!({})).await;
    let mut stricter = vault();
    stricter["max_advance_days"] = json!(14);
    stricter["min_notice_minutes"] = json!(43200);
    stricter["max_players"] = json!(3);
    assert_status(&t.put_room("r-vault", stricter).await, 200, None);
    assert_eq!(t.status_of("r-vault", &slots[0], None).await, "CLOSED");
    assert_status(
        &t.create_hold(&slots[0], "u-alice").await,
        409,
        Some("TOO_LATE_TO_BOOK"),
    );
    let mut bigger_parties_only = vault();
    bigger_parties_only["max_advance_days"] = json!(14);
    bigger_parties_only["min_players"] = json!(4);
    assert_status(&t.put_room("r-vault", bigger_parties_only).await, 200, None);
    assert_eq!(t.status_of("r-vault", &slots[0], None).await, "AVAILABLE");
    assert_status(
        &t.create_hold_for(&slots[0], "u-alice", 3).await,
        422,
        Some("VALIDATION_ERROR"),
    );
    let hold_id = t.hold(&slots[0], "u-alice").await;
    assert_eq!(t.look_up(&hold_id, "u-alice").await.body["players"], 4);
}
