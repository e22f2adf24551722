//! The limits on a fake clock: budgets, refills, the operator's exemption, keys, fields, sweeping.

use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroU32;
use std::time::Duration;

use governor::clock::FakeRelativeClock;
use hyper::header::{AUTHORIZATION, HeaderMap, HeaderValue};
use hyper::{Method, Response};

use shared::config::{Operators, Players, Rate, RateLimits, Window};

use super::{Admission, Limits, client_key};

const OPERATOR: &str = "an-operator-token-of-at-least-32-chars";

fn rate(count: u32, window: Window) -> Option<Rate> {
    NonZeroU32::new(count).map(|count| Rate { count, window })
}

fn limits(
    writes: u32,
    auth: u32,
    trust_proxy: bool,
) -> (Limits<FakeRelativeClock>, FakeRelativeClock) {
    let clock = FakeRelativeClock::default();
    let config = RateLimits {
        writes: rate(writes, Window::Minute),
        auth: rate(auth, Window::Minute),
        trust_proxy,
    };
    (Limits::with_clock(&config, &clock), clock)
}

fn operators() -> Operators {
    Operators::default().with_token("desk", OPERATOR).unwrap()
}

fn peer(address: &str) -> SocketAddr {
    SocketAddr::new(address.parse().unwrap(), 40_000)
}

fn bearer(token: &str) -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert(
        AUTHORIZATION,
        HeaderValue::from_str(&format!("Bearer {token}")).unwrap(),
    );
    headers
}

fn post(limits: &Limits<FakeRelativeClock>, from: &str) -> Admission {
    limits.admit(peer(from), &Method::POST, &HeaderMap::new(), &operators())
}

#[test]
fn an_address_gets_its_burst_of_writes_then_429s_until_a_unit_refills_while_others_are_served() {
    let (limits, clock) = limits(3, 10, false);
    for left in [2, 1, 0] {
        let admitted = post(&limits, "127.0.0.2");
        assert!(admitted.refusal().is_none());
        assert_eq!(admitted.verdicts[0].remaining, left);
    }
    let refused = post(&limits, "127.0.0.2");
    // 3 a minute: one unit every 20 seconds.
    assert_eq!(refused.verdicts[0].retry_after, Some(20));
    assert!(matches!(
        refused.refusal(),
        Some(shared::Error::RateLimited {
            retry_after_seconds: 20
        })
    ));
    assert!(post(&limits, "127.0.0.3").refusal().is_none());
    // Reads are not writes.
    let read = limits.admit(
        peer("127.0.0.2"),
        &Method::GET,
        &HeaderMap::new(),
        &operators(),
    );
    assert!(read.refusal().is_none() && read.verdicts.is_empty());
    clock.advance(Duration::from_secs(19));
    assert_eq!(post(&limits, "127.0.0.2").verdicts[0].retry_after, Some(1));
    clock.advance(Duration::from_secs(1));
    assert!(post(&limits, "127.0.0.2").refusal().is_none());
}

#[test]
fn refused_credentials_spend_the_auth_budget_then_even_an_operators_are_refused_from_that_address()
{
    let (limits, _clock) = limits(100, 2, false);
    let get = |from: &str, token: &str| {
        limits.admit(peer(from), &Method::GET, &bearer(token), &operators())
    };
    // An operator's credentials spend nothing.
    for _ in 0..5 {
        let admitted = get("127.0.0.2", OPERATOR);
        assert!(admitted.refusal().is_none());
        assert_eq!(admitted.verdicts[0].remaining, 2);
    }
    assert!(get("127.0.0.2", "wrong-1").refusal().is_none());
    assert!(get("127.0.0.2", "wrong-2").refusal().is_none());
    assert!(get("127.0.0.2", "wrong-3").refusal().is_some());
    assert!(get("127.0.0.2", OPERATOR).refusal().is_some());
    assert!(get("127.0.0.3", OPERATOR).refusal().is_none());
    // No credentials, no auth decision.
    let plain = limits.admit(
        peer("127.0.0.2"),
        &Method::GET,
        &HeaderMap::new(),
        &operators(),
    );
    assert!(plain.refusal().is_none() && plain.verdicts.is_empty());
}

#[test]
fn in_guest_mode_a_valid_players_token_spends_nothing_and_a_forged_or_expired_one_spends_a_unit() {
    let (limits, _clock) = limits(100, 2, false);
    let now = chrono::Utc::now();
    let players = Players::guest(&["k".repeat(40).as_str()], chrono::Duration::days(30)).unwrap();
    let (token, _) = players.mint("p-abc", now).unwrap();
    let (expired, _) = players
        .mint("p-abc", now - chrono::Duration::days(31))
        .unwrap();
    let get = |token: &str| {
        limits.admit_as(
            peer("127.0.0.2"),
            &Method::GET,
            &bearer(token),
            (&operators(), &players),
            now,
        )
    };
    for _ in 0..5 {
        let admitted = get(&token);
        assert!(admitted.refusal().is_none());
        assert_eq!(admitted.verdicts[0].remaining, 2);
    }
    assert_eq!(get(&expired).verdicts[0].remaining, 1);
    assert_eq!(get(&format!("{token}x")).verdicts[0].remaining, 0);
    assert!(get("forged.1.x").refusal().is_some());
    assert!(
        get(&token).refusal().is_some(),
        "then refused, like an operator's"
    );
}

#[test]
fn without_trust_proxy_x_forwarded_for_is_ignored_and_with_it_its_first_entry_is_the_client() {
    let mut headers = HeaderMap::new();
    headers.insert(
        "x-forwarded-for",
        HeaderValue::from_static(" 203.0.113.7 , 10.0.0.1"),
    );
    let from = peer("127.0.0.1");
    let (untrusting, _) = limits(1, 1, false);
    assert_eq!(
        untrusting.client(from, &headers),
        "127.0.0.1".parse::<IpAddr>().unwrap()
    );
    let (trusting, _) = limits(1, 1, true);
    assert_eq!(
        trusting.client(from, &headers),
        "203.0.113.7".parse::<IpAddr>().unwrap()
    );
    headers.insert(
        "x-forwarded-for",
        HeaderValue::from_static("not an address"),
    );
    assert_eq!(
        trusting.client(from, &headers),
        "127.0.0.1".parse::<IpAddr>().unwrap()
    );
}

#[test]
fn an_ipv6_client_counts_by_its_64_and_a_mapped_ipv4_one_as_ipv4() {
    let key = |a: &str| client_key(a.parse().unwrap()).to_string();
    assert_eq!(key("2001:db8:1:2:aaaa::1"), "2001:db8:1:2::");
    assert_eq!(key("2001:db8:1:2:ffff:1:2:3"), "2001:db8:1:2::");
    assert_eq!(key("::ffff:192.0.2.1"), "192.0.2.1");
    assert_eq!(key("192.0.2.1"), "192.0.2.1");
}

#[test]
fn answers_carry_the_drafts_fields_and_a_refusal_its_wait() {
    let (limits, _clock) = limits(1, 10, false);
    let mut headers = bearer("wrong");
    headers.insert("x-ignored", HeaderValue::from_static("1"));
    let first = limits.admit(peer("127.0.0.2"), &Method::PUT, &headers, &operators());
    let mut response = Response::new(());
    first.stamp(&mut response);
    assert_eq!(
        response.headers()["ratelimit-policy"],
        "\"writes\";q=1;w=60, \"auth\";q=10;w=60"
    );
    assert_eq!(
        response.headers()["ratelimit"],
        "\"writes\";r=0, \"auth\";r=9"
    );
    let second = limits.admit(peer("127.0.0.2"), &Method::PUT, &headers, &operators());
    let mut response = Response::new(());
    second.stamp(&mut response);
    // Refused by the writes limit, before the credentials were looked at.
    assert_eq!(
        response.headers()["ratelimit-policy"],
        "\"writes\";q=1;w=60"
    );
    assert_eq!(response.headers()["ratelimit"], "\"writes\";r=0;t=60");
}

#[test]
fn the_sweep_keeps_only_addresses_whose_budget_has_not_refilled() {
    let (limits, clock) = limits(2, 10, false);
    for n in 0..100 {
        post(&limits, &format!("10.0.0.{n}"));
    }
    // An operator's credentials add no key.
    limits.admit(
        peer("10.0.1.1"),
        &Method::GET,
        &bearer(OPERATOR),
        &operators(),
    );
    assert_eq!(limits.tracked(), (100, 0));
    limits.sweep_once();
    assert_eq!(limits.tracked(), (100, 0));
    // 2 a minute: a unit every 30 s, so a minute after its one write an address is as new
    // (governor keeps a key one refill longer than needed, to be safe).
    clock.advance(Duration::from_secs(60));
    post(&limits, "10.0.0.1");
    limits.sweep_once();
    assert_eq!(limits.tracked(), (1, 0));
    clock.advance(Duration::from_secs(60));
    limits.sweep_once();
    assert_eq!(limits.tracked(), (0, 0));
}

#[test]
fn with_every_limit_off_nothing_is_decided() {
    let limits = Limits::new(&RateLimits::off());
    let admitted = limits.admit(peer("127.0.0.2"), &Method::POST, &bearer("x"), &operators());
    assert!(admitted.refusal().is_none() && admitted.verdicts.is_empty());
}
