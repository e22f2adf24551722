//! Weekly schedules: publishing one makes the room's slots, publishing another removes the free
//! ones and keeps held and booked ones, closed dates, clashes, time-zone moves.

use lambda_http::http::Method;
use serde_json::json;

use super::{daily, slot_ids, the_vault_is_open, vault};
use crate::harness::{Event, OPERATOR_SCOPE, OPERATOR_TOKEN, TestApp, assert_status};

pub async fn publishing_a_schedule_makes_its_slots_and_publishing_it_again_changes_nothing(
    t: TestApp,
) {
    the_vault_is_open(&t).await;
    let published = t.put_schedule("r-vault", daily(&["10:00", "18:00"])).await;
    assert_status(&published, 200, None);
    let planned = published.body["planned"].as_u64().unwrap();
    assert!(
        (27..=29).contains(&planned),
        "two games a day for 14 days: {planned}"
    );
    assert_eq!(published.body["created"], planned);
    assert_eq!(
        (&published.body["removed"], &published.body["kept"]),
        (&json!(0), &json!([]))
    );
    let ids = slot_ids(&t, "r-vault").await;
    assert_eq!(ids.len() as u64, planned);
    assert!(
        ids.iter().all(
            |id| id.starts_with("r-vault.") && (id.ends_with("T1000") || id.ends_with("T1800"))
        ),
        "ids carry the local start in Berlin: {ids:?}"
    );
    for slot in t.slots("r-vault", None).await {
        let local: chrono::DateTime<chrono::FixedOffset> =
            slot["local_start"].as_str().unwrap().parse().unwrap();
        let utc: chrono::DateTime<chrono::Utc> =
            slot["start_time"].as_str().unwrap().parse().unwrap();
        assert_eq!(local, utc, "the same instant");
        let clock = local.format("%H:%M:%S").to_string();
        assert!(
            clock == "10:00:00" || clock == "18:00:00",
            "local_start is the schedule's time in Berlin: {slot}"
        );
        assert!(
            [3600, 7200].contains(&local.offset().local_minus_utc()),
            "{slot}"
        );
    }
    let again = t.put_schedule("r-vault", daily(&["18:00", "10:00"])).await;
    assert_eq!(
        (
            &again.body["created"],
            &again.body["removed"],
            &again.body["kept"]
        ),
        (&json!(0), &json!(0), &json!([]))
    );
    assert_eq!(slot_ids(&t, "r-vault").await, ids);
    let mut stored = daily(&["18:00", "10:00"]);
    stored["closed"] = json!([]);
    assert_eq!(t.get("/rooms/r-vault/schedule").await.body, stored);
}

pub async fn a_new_schedule_removes_free_slots_and_keeps_held_and_booked_ones(t: TestApp) {
    the_vault_is_open(&t).await;
    t.put_schedule("r-vault", daily(&["10:00", "18:00"])).await;
    let evenings: Vec<String> = slot_ids(&t, "r-vault")
        .await
        .into_iter()
        .filter(|id| id.ends_with("T1800"))
        .collect();
    let held = t.hold(&evenings[0], "u-alice").await;
    let booked = t.hold(&evenings[1], "u-bob").await;
    assert_status(&t.confirm(&booked, "u-bob").await, 200, None);
    let mornings_only = t.put_schedule("r-vault", daily(&["10:00"])).await;
    assert_status(&mornings_only, 200, None);
    assert_eq!(mornings_only.body["created"], 0);
    assert_eq!(mornings_only.body["removed"], evenings.len() - 2);
    let kept: Vec<(&str, &str)> = mornings_only.body["kept"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| {
            (
                k["slot_id"].as_str().unwrap(),
                k["status"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        kept,
        [
            (evenings[0].as_str(), "HELD"),
            (evenings[1].as_str(), "BOOKED")
        ]
    );
    let left = slot_ids(&t, "r-vault").await;
    assert!(left.contains(&evenings[0]) && left.contains(&evenings[1]));
    assert_eq!(left.iter().filter(|id| id.ends_with("T1800")).count(), 2);
    assert_status(&t.confirm(&held, "u-alice").await, 200, None);
}

pub async fn no_game_is_offered_on_a_closed_date(t: TestApp) {
    the_vault_is_open(&t).await;
    t.put_schedule("r-vault", daily(&["10:00", "18:00"])).await;
    let ids = slot_ids(&t, "r-vault").await;
    // A day in the middle of the horizon, as the ids give it (local date YYYYMMDD).
    let day = ids[ids.len() / 2].split('.').nth(1).unwrap()[..8].to_owned();
    let date = format!("{}-{}-{}", &day[..4], &day[4..6], &day[6..8]);
    let mut closed = daily(&["10:00", "18:00"]);
    closed["closed"] = json!([{ "from": date, "to": date, "reason": "Staff party" }]);
    let published = t.put_schedule("r-vault", closed).await;
    assert_eq!(published.body["removed"], 2);
    let left = slot_ids(&t, "r-vault").await;
    assert_eq!(left.len(), ids.len() - 2);
    assert!(!left.iter().any(|id| id.contains(&format!(".{day}T"))));
}

pub async fn a_schedule_with_overlapping_games_is_refused_naming_the_clash(t: TestApp) {
    the_vault_is_open(&t).await;
    let refused = t.put_schedule("r-vault", daily(&["10:00", "10:30"])).await;
    assert_status(&refused, 422, Some("VALIDATION_ERROR"));
    let message = refused.body["message"].as_str().unwrap();
    assert!(
        message.contains("10:00") && message.contains("10:30"),
        "{message}"
    );
    assert!(slot_ids(&t, "r-vault").await.is_empty(), "nothing was made");
    assert_status(
        &t.get("/rooms/r-vault/schedule").await,
        404,
        Some("SCHEDULE_NOT_FOUND"),
    );
    let no_room = t.put_schedule("r-nowhere", daily(&["10:00"])).await;
    assert_status(&no_room, 404, Some("ROOM_NOT_FOUND"));
    let anonymous = t
        .send(Event::with_json(
            Method::PUT,
            "/rooms/r-vault/schedule",
            daily(&["10:00"]),
        ))
        .await;
    assert_status(&anonymous, 401, Some("UNAUTHENTICATED"));
}

pub async fn a_room_moved_to_another_time_zone_has_its_free_slots_moved(t: TestApp) {
    let mut rules = vault();
    rules["time_zone"] = json!("UTC");
    rules["max_advance_days"] = json!(5);
    assert_status(&t.put_room("r-vault", rules.clone()).await, 201, None);
    let first = t.put_schedule("r-vault", daily(&["10:00"])).await;
    let before = t.slots("r-vault", None).await;
    assert!(
        before
            .iter()
            .all(|s| s["start_time"].as_str().unwrap().ends_with("T10:00:00Z"))
    );
    rules["time_zone"] = json!("Asia/Kolkata");
    assert_status(&t.put_room("r-vault", rules).await, 200, None);
    let moved = t.put_schedule("r-vault", daily(&["10:00"])).await;
    assert_status(&moved, 200, None);
    assert!(moved.body["updated"].as_u64().unwrap() >= first.body["created"].as_u64().unwrap() - 1);
    let after = t.slots("r-vault", None).await;
    assert!(!after.is_empty());
    assert!(
        after
            .iter()
            .all(|s| s["start_time"].as_str().unwrap().ends_with("T04:30:00Z")),
        "10:00 in Kolkata is 04:30 UTC: {after:?}"
    );
}

pub async fn a_new_game_is_never_offered_over_a_kept_slot(t: TestApp) {
    // The demo room r-101 (UTC, 90-minute games) has s-1 at 10:00 tomorrow; someone holds it.
    let held = t.hold("s-1", "u-alice").await;
    let start = t.slot("r-101", "s-1", None).await["start_time"].clone();
    let published = t.put_schedule("r-101", daily(&["10:00"])).await;
    assert_status(&published, 200, None);
    assert_eq!(published.body["skipped"], 1, "{:?}", published.body);
    assert_eq!(published.body["kept"][0]["slot_id"], "s-1");
    let at_that_time: Vec<String> = t
        .slots("r-101", None)
        .await
        .into_iter()
        .filter(|s| s["start_time"] == start)
        .map(|s| s["slot_id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(at_that_time, ["s-1"], "one game at a time in a room");
    assert_status(&t.confirm(&held, "u-alice").await, 200, None);
}

/// Closed from Christmas Eve to Boxing Day because the basement flooded: the dates are for
/// everyone, the reason for staff.
fn closed_for_christmas() -> serde_json::Value {
    let mut schedule = daily(&["10:00", "18:00"]);
    schedule["closed"] =
        json!([{ "from": "2026-12-24", "to": "2026-12-26", "reason": "Flooded basement" }]);
    schedule
}

pub async fn a_player_reads_a_schedule_without_closure_reasons_and_the_operator_with_them(
    t: TestApp,
) {
    the_vault_is_open(&t).await;
    assert_status(
        &t.put_schedule("r-vault", closed_for_christmas()).await,
        200,
        None,
    );
    let dates = json!([{ "from": "2026-12-24", "to": "2026-12-26" }]);
    let player = t.get("/rooms/r-vault/schedule").await;
    assert_status(&player, 200, None);
    assert_eq!(
        player.body["closed"], dates,
        "the days are closed: {}",
        player.body
    );
    assert_eq!(player.body["weekly"], closed_for_christmas()["weekly"]);
    // Wrong credentials are not read as a player's request: an Authorization header is never
    // ignored (issue 16), so a guess learns nothing but 401.
    let wrong_token = Event::get("/rooms/r-vault/schedule").bearer("not-the-operator-token");
    let guess = t.send(wrong_token).await;
    assert_status(&guess, 401, Some("UNAUTHENTICATED"));
    assert_eq!(
        guess.header("www-authenticate"),
        Some(r#"Bearer error="invalid_token""#)
    );
    let operator = Event::get("/rooms/r-vault/schedule").bearer(OPERATOR_TOKEN);
    let staff = t.send(operator).await;
    assert_status(&staff, 200, None);
    assert_eq!(
        staff.body,
        closed_for_christmas(),
        "the operator reads it as published"
    );
}

pub async fn with_a_jwt_only_the_operator_scope_reads_closure_reasons(t: TestApp) {
    the_vault_is_open(&t).await;
    assert_status(
        &t.put_schedule("r-vault", closed_for_christmas()).await,
        200,
        None,
    );
    let player = Event::get("/rooms/r-vault/schedule")
        .authenticated_as("u-alice")
        .claim("scope", "openid profile");
    let player = t.send(player).await;
    assert_status(&player, 200, None);
    assert_eq!(
        player.body["closed"],
        json!([{ "from": "2026-12-24", "to": "2026-12-26" }])
    );
    let staff = Event::get("/rooms/r-vault/schedule")
        .authenticated_as("u-staff")
        .claim("scope", &format!("openid {OPERATOR_SCOPE}"));
    assert_eq!(t.send(staff).await.body, closed_for_christmas());
}

/// Each limit of a schedule (the defaults: 48 starts a day, 50 weekly entries, 400 closures,
/// 200-character reasons) refuses a body one over it with a 422 naming the limit and its
/// maximum, on publishing and on the preview, and nothing is written; at each limit the body is
/// accepted.
pub async fn a_schedule_over_a_limit_is_refused_naming_it_and_nothing_is_written(t: TestApp) {
    // 20-minute games, so that 48 starts 29 minutes apart fit in a day.
    let mut quick = vault();
    quick["duration_minutes"] = json!(20);
    quick["buffer_minutes"] = json!(0);
    quick["max_advance_days"] = json!(14);
    assert_status(&t.put_room("r-vault", quick).await, 201, None);
    let starts = |n: usize| -> Vec<String> {
        (0..n)
            .map(|i| format!("{:02}:{:02}", i * 29 / 60, i * 29 % 60))
            .collect()
    };
    let closures = |n: usize, reason: &str| -> Vec<serde_json::Value> {
        (0..n)
            .map(|i| {
                let day = (chrono::NaiveDate::from_ymd_opt(2031, 1, 1).unwrap()
                    + chrono::Days::new(i as u64))
                .format("%Y-%m-%d")
                .to_string();
                json!({ "from": day, "to": day, "reason": reason })
            })
            .collect()
    };
    let monday = json!({ "days": ["MON"], "starts": ["10:00"] });
    // (the limit's words in the 422, the body over it, the body at it)
    let cases = [
        (
            "at most 48 starts a day",
            json!({ "weekly": [{ "days": ["MON"], "starts": starts(49) }] }),
            json!({ "weekly": [{ "days": ["MON"], "starts": starts(48) }] }),
        ),
        (
            "at most 50 weekly entries",
            json!({ "weekly": vec![monday.clone(); 51] }),
            json!({ "weekly": vec![monday.clone(); 50] }),
        ),
        (
            "at most 400 closures",
            json!({ "weekly": [monday.clone()], "closed": closures(401, "") }),
            json!({ "weekly": [monday.clone()], "closed": closures(400, "") }),
        ),
        (
            "at most 200 characters",
            json!({ "weekly": [monday.clone()], "closed": closures(1, &"é".repeat(201)) }),
            json!({ "weekly": [monday.clone()], "closed": closures(1, &"é".repeat(200)) }),
        ),
    ];
    let preview = |body: serde_json::Value| {
        Event::with_json(Method::POST, "/rooms/r-vault/schedule/preview", body)
            .bearer(OPERATOR_TOKEN)
    };
    for (limit, over, at) in cases {
        for refused in [
            t.put_schedule("r-vault", over.clone()).await,
            t.send(preview(over)).await,
        ] {
            assert_status(&refused, 422, Some("VALIDATION_ERROR"));
            let message = refused.body["message"].as_str().unwrap();
            assert!(message.contains(limit), "{limit}: {message}");
        }
        assert_status(&t.get("/rooms/r-vault/schedule").await, 404, None);
        assert!(slot_ids(&t, "r-vault").await.is_empty(), "{limit}");
        assert_status(&t.send(preview(at)).await, 200, None);
    }
}
