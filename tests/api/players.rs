//! Players with their own credentials (`PLAYER_AUTH=guest`, issue 16): `POST /players` gives a
//! signed token, every player route needs it, a forged, expired or unknown token is 401 with
//! `WWW-Authenticate: Bearer error="invalid_token"`, another player's token does not reach a
//! player's holds, and an `Authorization` header a route does not accept is 401 on every route,
//! public listings included, in every mode. `GET /service` says how players are identified.
//! Each scenario runs on both stores through the handlers, the local server and the function
//! binaries.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use lambda_http::http::{Method, StatusCode};
use serde_json::{Value, json};

use crate::guests::{PLAYER_KEY, token_for};
use crate::harness::{Event, OPERATOR_TOKEN, Reply, StoreKind, TestApp, Via};

/// A player made by `POST /players`: `(player_id, token)`.
async fn new_player(t: &TestApp) -> (String, String) {
    let made = t.send(Event::post("/players", json!({}))).await;
    assert_eq!(made.status, StatusCode::CREATED, "{made:?}");
    let id = made.body["player_id"].as_str().unwrap().to_owned();
    let token = made.body["token"].as_str().unwrap().to_owned();
    assert!(id.starts_with("p-") && id.len() == 28, "{id}");
    assert!(made.body["expires_at"].as_str().is_some(), "{made:?}");
    (id, token)
}

/// How a guest is reached: in guest mode a confirm needs it.
fn contact() -> Value {
    json!({ "name": "Guest", "email": "guest@example.org" })
}

fn post_as(path: &str, body: Value, token: &str) -> Event {
    Event::post(path, body).bearer(token)
}

fn get_as(path: &str, token: &str) -> Event {
    Event::get(path).bearer(token)
}

/// 401 `UNAUTHENTICATED`, with the RFC 6750 challenge: plain `Bearer` when no token came,
/// `error="invalid_token"` when one came and was not accepted.
fn assert_401(reply: &Reply, token_came: bool) {
    assert_eq!(
        (reply.status, reply.error_code()),
        (StatusCode::UNAUTHORIZED, "UNAUTHENTICATED"),
        "{reply:?}"
    );
    let expected = if token_came {
        r#"Bearer error="invalid_token""#
    } else {
        "Bearer"
    };
    assert_eq!(
        reply.header("www-authenticate"),
        Some(expected),
        "{reply:?}"
    );
}

pub async fn a_guest_gets_a_token_and_books_with_it_alone(t: TestApp) {
    let (me, token) = new_player(&t).await;
    let held = t
        .send(post_as("/holds", json!({ "slot_id": "s-1" }), &token))
        .await;
    assert_eq!(held.status, StatusCode::CREATED, "{held:?}");
    assert_eq!(held.body["user_id"], me.as_str());
    let hold_id = held.body["hold_id"].as_str().unwrap().to_owned();
    let mine = t.send(get_as("/slots?room_id=r-101", &token)).await.body["slots"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["slot_id"] == "s-1")
        .map(|s| s["status"].clone());
    assert_eq!(
        mine,
        Some(json!("HELD_BY_ME")),
        "with a token, the caller's view"
    );
    // A guest's booking needs a contact: without one, 422 and the hold stays a hold.
    let refused = t
        .send(post_as(
            &format!("/holds/{hold_id}/confirm"),
            json!({}),
            &token,
        ))
        .await;
    assert_eq!(
        (refused.status, refused.error_code()),
        (StatusCode::UNPROCESSABLE_ENTITY, "CONTACT_REQUIRED"),
        "{refused:?}"
    );
    let confirmed = t
        .send(post_as(
            &format!("/holds/{hold_id}/confirm"),
            json!({ "contact": contact() }),
            &token,
        ))
        .await;
    assert_eq!(confirmed.status, StatusCode::OK, "{confirmed:?}");
    assert_eq!(confirmed.body["contact"], contact());
    // The manage link opens it with its key; the player's own token is no key of it (401).
    let reference = confirmed.body["reference"].as_str().unwrap();
    let key = confirmed.body["manage_key"].as_str().unwrap();
    let by_link = t.send(get_as(&format!("/bookings/{reference}"), key)).await;
    assert_eq!(by_link.status, StatusCode::OK, "{by_link:?}");
    let by_token = t
        .send(get_as(&format!("/bookings/{reference}"), &token))
        .await;
    assert_401(&by_token, true);
    let looked_up = t.send(get_as(&format!("/holds/{hold_id}"), &token)).await;
    assert_eq!(looked_up.body["status"], "CONFIRMED", "{looked_up:?}");
    let bookings = t.send(get_as(&format!("/users/{me}/holds"), &token)).await;
    assert_eq!(bookings.status, StatusCode::OK, "{bookings:?}");
    assert_eq!(bookings.body["holds"][0]["hold_id"], hold_id.as_str());
    let cancelled = t
        .send(post_as(
            &format!("/holds/{hold_id}/cancel"),
            json!({}),
            &token,
        ))
        .await;
    assert_eq!(cancelled.status, StatusCode::OK, "{cancelled:?}");
}

pub async fn a_player_route_without_a_token_is_401_and_with_a_forged_or_expired_one_too(
    t: TestApp,
) {
    let (me, token) = new_player(&t).await;
    let hold = |token: Option<&str>| {
        let event = Event::post("/holds", json!({ "slot_id": "s-2", "user_id": me }));
        match token {
            Some(token) => event.bearer(token),
            None => event,
        }
    };
    assert_401(&t.send(hold(None)).await, false);
    assert_401(&t.get(&format!("/users/{me}/holds")).await, false);
    let parts: Vec<&str> = token.split('.').collect();
    let as_someone_else = format!(
        "{}.{}.{}",
        URL_SAFE_NO_PAD.encode("u-alice"),
        parts[1],
        parts[2]
    );
    let longer = format!(
        "{}.{}.{}",
        parts[0],
        parts[1].parse::<i64>().unwrap() + 86_400,
        parts[2]
    );
    let other_key = shared::config::Players::guest(&[&"k".repeat(40)], chrono::Duration::days(1))
        .unwrap()
        .mint(&me, chrono::Utc::now())
        .unwrap()
        .0;
    for forged in [
        as_someone_else.as_str(),
        &longer,
        &other_key,
        "not-a-token",
        PLAYER_KEY,
    ] {
        assert_401(&t.send(hold(Some(forged))).await, true);
    }
    // Expired: a token signed a day longer ago than it lives.
    let expired = token_for(&me, chrono::Utc::now() - chrono::Duration::days(31));
    assert_401(&t.send(hold(Some(&expired))).await, true);
    assert_eq!(t.send(hold(Some(&token))).await.status, StatusCode::CREATED);
}

pub async fn another_players_token_reaches_none_of_my_holds(t: TestApp) {
    let (me, mine) = new_player(&t).await;
    let (other, theirs) = new_player(&t).await;
    let held = t
        .send(post_as("/holds", json!({ "slot_id": "s-3" }), &mine))
        .await;
    let hold_id = held.body["hold_id"].as_str().unwrap().to_owned();
    for action in ["confirm", "release", "extend", "cancel"] {
        let stolen = t
            .send(post_as(
                &format!("/holds/{hold_id}/{action}"),
                json!({ "contact": contact() }),
                &theirs,
            ))
            .await;
        assert_eq!(stolen.status, StatusCode::FORBIDDEN, "{action}: {stolen:?}");
        // Naming me while holding their own token: the token decides, and it is not me.
        let claimed = t
            .send(post_as(
                &format!("/holds/{hold_id}/{action}"),
                json!({ "user_id": me, "contact": contact() }),
                &theirs,
            ))
            .await;
        assert_eq!(
            (claimed.status, claimed.error_code()),
            (StatusCode::FORBIDDEN, "IDENTITY_MISMATCH"),
            "{action}"
        );
    }
    let look_up = t.send(get_as(&format!("/holds/{hold_id}"), &theirs)).await;
    assert_eq!(look_up.error_code(), "NOT_HOLD_OWNER", "{look_up:?}");
    let my_list = t.send(get_as(&format!("/users/{me}/holds"), &theirs)).await;
    assert_eq!(my_list.error_code(), "IDENTITY_MISMATCH", "{my_list:?}");
    let as_me = t
        .send(get_as(
            &format!("/slots?room_id=r-101&user_id={me}"),
            &theirs,
        ))
        .await;
    assert_eq!(as_me.error_code(), "IDENTITY_MISMATCH", "{as_me:?}");
    // Without a token, naming me shows nothing of mine either.
    assert_401(
        &t.get(&format!("/slots?room_id=r-101&user_id={me}")).await,
        false,
    );
    let theirs_listed = t
        .send(get_as(&format!("/users/{other}/holds"), &theirs))
        .await;
    assert_eq!(theirs_listed.body["holds"], json!([]));
    assert_eq!(
        t.send(post_as(
            &format!("/holds/{hold_id}/confirm"),
            json!({ "contact": contact() }),
            &mine
        ))
        .await
        .status,
        StatusCode::OK,
        "the hold was left as it was"
    );
}

pub async fn in_guest_mode_a_bearer_a_route_does_not_accept_is_401_everywhere(t: TestApp) {
    let (_, token) = new_player(&t).await;
    for public in ["/rooms", "/rooms/r-101", "/slots?room_id=r-101", "/service"] {
        assert_eq!(
            t.send(get_as(public, &token)).await.status,
            StatusCode::OK,
            "{public}"
        );
        assert_401(&t.send(get_as(public, "forged.1.x")).await, true);
        // An operator's token is no credential of a public listing's (nor a player's).
        assert_401(&t.send(get_as(public, OPERATOR_TOKEN)).await, true);
    }
    // A player's token on an operator's route.
    assert_401(&t.send(get_as("/rooms/r-101/bookings", &token)).await, true);
    let put = Event::with_json(Method::PUT, "/rooms/r-9", json!({ "name": "X" })).bearer(&token);
    assert_401(&t.send(put).await, true);
    // A scheme other than Bearer is not ignored either: 401, with no error code since no bearer
    // token came (RFC 6750 §3.1, "an unsupported authentication method").
    let basic = Event::get("/rooms").header("authorization", "Basic dTpw");
    assert_401(&t.send(basic).await, false);
}

pub async fn in_trusted_mode_a_bearer_a_route_does_not_accept_is_401_everywhere(t: TestApp) {
    for public in ["/rooms", "/rooms/r-101", "/slots?room_id=r-101", "/service"] {
        assert_401(&t.send(get_as(public, "u-alice")).await, true);
        assert_401(&t.send(get_as(public, OPERATOR_TOKEN)).await, true);
    }
    let hold_id = t.hold("s-4", "u-alice").await;
    let confirmed = t.confirm(&hold_id, "u-alice").await;
    assert_eq!(confirmed.status, StatusCode::OK);
    // A player's id as a bearer on a cancellation: not an operator's token, and no player's
    // credential either (trusted mode has none) — 401, not a player's cancellation.
    let cancel = post_as(&format!("/holds/{hold_id}/cancel"), json!({}), "u-alice");
    assert_401(&t.send(cancel).await, true);
    let named = post_as(
        &format!("/holds/{hold_id}/cancel"),
        json!({ "user_id": "u-bob" }),
        "u-alice",
    );
    assert_401(&t.send(named).await, true);
    let hold = post_as(
        "/holds",
        json!({ "slot_id": "s-5", "user_id": "u-bob" }),
        OPERATOR_TOKEN,
    );
    assert_401(&t.send(hold).await, true);
    assert_eq!(t.status_of("r-101", "s-5", None).await, "AVAILABLE");
}

pub async fn the_service_says_how_players_are_identified_and_the_caps(t: TestApp) {
    let service = t.get("/service").await;
    assert_eq!(service.status, StatusCode::OK, "{service:?}");
    assert_eq!(service.body["player_auth"], "guest");
    assert_eq!(service.body["hold_ttl_seconds"], 300);
    assert!(service.body["max_live_holds_per_player"].is_u64());
    assert!(service.body["max_upcoming_bookings_per_player"].is_u64());
    let bad_body = t
        .send(Event::post("/players", json!({ "user_id": "u-alice" })))
        .await;
    assert_eq!(bad_body.error_code(), "VALIDATION_ERROR", "{bad_body:?}");
    let empty = t.send(Event::new(Method::POST, "/players")).await;
    assert_eq!(
        empty.status,
        StatusCode::CREATED,
        "an empty body is fine: {empty:?}"
    );
}

pub async fn in_trusted_mode_there_are_no_players_to_make(t: TestApp) {
    assert_eq!(t.get("/service").await.body["player_auth"], "trusted");
    let made = t.send(Event::post("/players", json!({}))).await;
    assert_eq!(made.error_code(), "ROUTE_NOT_FOUND", "{made:?}");
}

/// One test per scenario, store and transport; the guest ones on a guest-mode service.
macro_rules! player_scenarios {
    (guest: [$($guest:ident),*], trusted: [$($trusted:ident),*]) => {
        player_scenarios!(@via Handlers, handlers; [$($guest),*]; [$($trusted),*]);
        player_scenarios!(@via Loopback, loopback; [$($guest),*]; [$($trusted),*]);
        player_scenarios!(@via Runtime, runtime; [$($guest),*]; [$($trusted),*]);
    };
    (@via $via:ident, $transport:ident; [$($guest:ident),*]; [$($trusted:ident),*]) => {
        mod $transport {
            player_scenarios!(@store $via, sqlite, Sqlite; [$($guest),*]; [$($trusted),*]);
            player_scenarios!(@store $via, dynamodb, Dynamodb; [$($guest),*]; [$($trusted),*]);
        }
    };
    (@store $via:ident, $store:ident, $kind:ident; [$($guest:ident),*]; [$($trusted:ident),*]) => {
        mod $store {
            use crate::harness::{StoreKind, TestApp, Via};
            $(
                #[tokio::test]
                async fn $guest() {
                    let t = TestApp::start_in_guest_mode(Via::$via, StoreKind::$kind).await;
                    super::super::$guest(t).await
                }
            )*
            $(
                #[tokio::test]
                async fn $trusted() {
                    let t = TestApp::start(Via::$via, StoreKind::$kind, &[]).await;
                    super::super::$trusted(t).await
                }
            )*
        }
    };
}

player_scenarios! {
    guest: [
        a_guest_gets_a_token_and_books_with_it_alone,
        a_player_route_without_a_token_is_401_and_with_a_forged_or_expired_one_too,
        another_players_token_reaches_none_of_my_holds,
        in_guest_mode_a_bearer_a_route_does_not_accept_is_401_everywhere,
        the_service_says_how_players_are_identified_and_the_caps
    ],
    trusted: [
        in_trusted_mode_a_bearer_a_route_does_not_accept_is_401_everywhere,
        in_trusted_mode_there_are_no_players_to_make
    ]
}

#[tokio::test]
async fn a_token_signed_with_a_retired_key_still_verifies_while_the_key_is_listed() {
    use shared::App;
    use shared::clock::{Clock, ManualClock};
    use shared::config::Players;
    let new = "n".repeat(40);
    let t = TestApp::start_in_guest_mode(Via::Handlers, StoreKind::Sqlite).await;
    let (id, old_token) = new_player(&t).await;
    // The same store, now with a new key first and the old one still listed.
    let seeded = crate::harness::seeded(StoreKind::Sqlite, chrono::Utc::now(), &[]).await;
    let clock = ManualClock::starting_at(crate::harness::start_time());
    let rotated = App::new(
        seeded.store.clone(),
        Clock::Manual(clock.clone()),
        chrono::Duration::seconds(300),
    )
    .with_players(Players::guest(&[&new, PLAYER_KEY], chrono::Duration::days(30)).unwrap());
    let after = TestApp::in_process(rotated, clock).keeping(seeded);
    let held = after
        .send(post_as("/holds", json!({ "slot_id": "s-1" }), &old_token))
        .await;
    assert_eq!(held.status, StatusCode::CREATED, "{held:?}");
    assert_eq!(held.body["user_id"], id.as_str());
    let (_, new_token) = new_player(&after).await;
    // Once the old key is dropped, its tokens end; the new ones live on.
    let seeded = crate::harness::seeded(StoreKind::Sqlite, chrono::Utc::now(), &[]).await;
    let clock = ManualClock::starting_at(crate::harness::start_time());
    let dropped = App::new(
        seeded.store.clone(),
        Clock::Manual(clock.clone()),
        chrono::Duration::seconds(300),
    )
    .with_players(Players::guest(&[&new], chrono::Duration::days(30)).unwrap());
    let later = TestApp::in_process(dropped, clock).keeping(seeded);
    assert_401(&later.send(get_as("/rooms", &old_token)).await, true);
    assert_eq!(
        later.send(get_as("/rooms", &new_token)).await.status,
        StatusCode::OK
    );
}
