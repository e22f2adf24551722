//! Rooms: listed by anyone, created and replaced by operators only, their rules validated.

use lambda_http::http::Method;
use serde_json::json;

use super::vault;
use crate::harness::{
    DESK_NEXT_TOKEN, Event, NIGHT_TOKEN, OPERATOR_TOKEN, TestApp, UNNAMED_TOKEN, assert_status,
};

pub async fn rooms_are_listed_with_their_name_and_capacity(t: TestApp) {
    let rooms = t.get("/rooms").await;
    assert_status(&rooms, 200, None);
    let listed: Vec<(&str, &str, u64)> = rooms.body["rooms"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["room_id"].as_str().unwrap(),
                r["name"].as_str().unwrap(),
                r["capacity"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        listed,
        [
            ("r-101", "The Cursed Library", 6),
            ("r-102", "Submarine 7", 4)
        ]
    );
    assert_eq!(rooms.body["rooms"][0]["max_players"], 6);
    assert_eq!(rooms.body["rooms"][0]["time_zone"], "UTC");
}

pub async fn an_operator_creates_a_room_and_replaces_it_and_anyone_reads_it(t: TestApp) {
    let created = t.put_room("r-vault", vault()).await;
    assert_status(&created, 201, None);
    let expected = json!({
        "room_id": "r-vault",
        "name": "The Vault",
        "capacity": 6,
        "time_zone": "Europe/Berlin",
        "min_players": 2,
        "max_players": 6,
        "duration_minutes": 60,
        "buffer_minutes": 15,
        "min_notice_minutes": 0,
        "max_advance_days": 60,
        "cancel_cutoff_minutes": 0
    });
    assert_eq!(created.body, expected);
    assert_eq!(t.get("/rooms/r-vault").await.body, expected);
    let mut renamed = vault();
    renamed["name"] = json!("The Vault II");
    renamed["max_players"] = json!(8);
    let replaced = t.put_room("r-vault", renamed).await;
    assert_status(&replaced, 200, None);
    assert_eq!(
        (&replaced.body["name"], &replaced.body["capacity"]),
        (&json!("The Vault II"), &json!(8))
    );
    let rooms = t.get("/rooms").await;
    let listed: Vec<&str> = rooms.body["rooms"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["room_id"].as_str().unwrap())
        .collect();
    assert_eq!(listed, ["r-101", "r-102", "r-vault"]);
    assert_status(
        &t.get("/rooms/r-nowhere").await,
        404,
        Some("ROOM_NOT_FOUND"),
    );
}

pub async fn operator_routes_need_an_operators_token(t: TestApp) {
    let put = |token: Option<&str>| {
        let event = Event::with_json(Method::PUT, "/rooms/r-vault", vault());
        match token {
            Some(token) => event.bearer(token),
            None => event,
        }
    };
    let anonymous = t.send(put(None)).await;
    assert_status(&anonymous, 401, Some("UNAUTHENTICATED"));
    assert_eq!(anonymous.header("www-authenticate"), Some("Bearer"));
    // A wrong token is refused alike whatever its length: one character off a real token (the
    // same length), a real token cut short or made longer, a short guess.
    let mut one_off = OPERATOR_TOKEN.to_owned();
    one_off.pop();
    one_off.push('#');
    let cut_short = &OPERATOR_TOKEN[..OPERATOR_TOKEN.len() - 1];
    let made_longer = format!("{OPERATOR_TOKEN}0");
    for wrong in [
        one_off.as_str(),
        cut_short,
        made_longer.as_str(),
        "not-the-operator-token",
    ] {
        let refused = t.send(put(Some(wrong))).await;
        assert_status(&refused, 401, Some("UNAUTHENTICATED"));
        assert_eq!(
            refused.header("www-authenticate"),
            Some(r#"Bearer error="invalid_token""#),
            "{wrong}"
        );
    }
    assert_status(&t.get("/rooms/r-vault").await, 404, Some("ROOM_NOT_FOUND"));
    // Every configured token is an operator's: both of desk's (a rotation), night's, and the
    // unnamed OPERATOR_TOKEN beside them.
    let created = t.send(put(Some(OPERATOR_TOKEN))).await;
    assert_status(&created, 201, None);
    for token in [DESK_NEXT_TOKEN, NIGHT_TOKEN, UNNAMED_TOKEN] {
        assert_status(&t.send(put(Some(token))).await, 200, None);
    }
}

pub async fn a_room_with_a_rule_out_of_range_is_refused_naming_it(t: TestApp) {
    for (field, value) in [
        ("time_zone", json!("Mars/Olympus_Mons")),
        ("min_players", json!(7)),
        ("duration_minutes", json!(0)),
        ("max_advance_days", json!(400)),
    ] {
        let mut bad = vault();
        bad[field] = value;
        let refused = t.put_room("r-vault", bad).await;
        assert_status(&refused, 422, Some("VALIDATION_ERROR"));
        assert!(
            refused.body["message"].as_str().unwrap().contains(field),
            "{field}: {refused:?}"
        );
    }
    let mut unknown = vault();
    unknown["colour"] = json!("red");
    assert_status(
        &t.put_room("r-vault", unknown).await,
        422,
        Some("VALIDATION_ERROR"),
    );
}

pub async fn with_a_jwt_an_operator_is_a_caller_with_the_operator_scope(t: TestApp) {
    let as_player = Event::with_json(Method::PUT, "/rooms/r-vault", vault())
        .authenticated_as("u-alice")
        .claim("scope", "openid profile");
    assert_status(&t.send(as_player).await, 403, Some("OPERATOR_ONLY"));
    // With an authorizer the bearer token is the JWT itself: the operator token means nothing.
    let token_only = Event::with_json(Method::PUT, "/rooms/r-vault", vault())
        .authenticated_as("u-alice")
        .bearer(OPERATOR_TOKEN);
    assert_status(&t.send(token_only).await, 403, Some("OPERATOR_ONLY"));
    let as_operator = Event::with_json(Method::PUT, "/rooms/r-vault", vault())
        .authenticated_as("u-staff")
        .claim(
            "scope",
            &format!("openid {}", crate::harness::OPERATOR_SCOPE),
        );
    assert_status(&t.send(as_operator).await, 201, None);
}
