//! What the rate limits cost per request, in process (`cargo bench -p server --bench ratelimit`):
//! one decision of `server::ratelimit::Limits::admit`, without the network, the handler or the
//! store. Beside the `handler` bench's figures (tens of microseconds a write), it says what share of
//! a request the limits take, which wrk's figures on a shared machine cannot resolve
//! (`bench/benchmark.py limits`).

use std::hint::black_box;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::num::NonZeroU32;

use criterion::{Criterion, criterion_group, criterion_main};
use hyper::Method;
use hyper::header::{AUTHORIZATION, HeaderMap, HeaderValue};

use server::Limits;
use shared::config::{Operators, Rate, RateLimits, Window};

const OPERATOR: &str = "bench-operator-token-0123456789abcdef0123";

fn limits(writes: u32, trust_proxy: bool) -> Limits {
    let rate = |count| {
        NonZeroU32::new(count).map(|count| Rate {
            count,
            window: Window::Second,
        })
    };
    Limits::new(&RateLimits {
        writes: rate(writes),
        auth: rate(10),
        trust_proxy,
    })
}

fn peer(n: u32) -> SocketAddr {
    SocketAddr::new(IpAddr::V4(Ipv4Addr::from_bits(0x0a00_0000 | n)), 40_000)
}

fn decisions(c: &mut Criterion) {
    let operators = Operators::default()
        .with_token("desk", OPERATOR)
        .unwrap_or_default();
    let none = HeaderMap::new();
    let mut group = c.benchmark_group("ratelimit");

    // A budget no benchmark spends: a million a second.
    let one = limits(1_000_000, false);
    group.bench_function("a read (nothing to decide)", |b| {
        b.iter(|| black_box(one.admit(peer(1), &Method::GET, &none, &operators)));
    });
    group.bench_function("a write from one address", |b| {
        b.iter(|| black_box(one.admit(peer(1), &Method::POST, &none, &operators)));
    });

    // Every write from a new address: a new key each time (the sweep runs in the server only).
    let many = limits(1_000_000, false);
    let mut n = 0u32;
    group.bench_function("a write from a new address", |b| {
        b.iter(|| {
            n = n.wrapping_add(1);
            black_box(many.admit(peer(n & 0x00ff_ffff), &Method::POST, &none, &operators))
        });
    });

    let proxied = limits(1_000_000, true);
    let mut forwarded = HeaderMap::new();
    forwarded.insert(
        "x-forwarded-for",
        HeaderValue::from_static("203.0.113.7, 10.0.0.1"),
    );
    group.bench_function("a write, client from X-Forwarded-For", |b| {
        b.iter(|| black_box(proxied.admit(peer(1), &Method::POST, &forwarded, &operators)));
    });

    let mut bearer = HeaderMap::new();
    if let Ok(value) = HeaderValue::from_str(&format!("Bearer {OPERATOR}")) {
        bearer.insert(AUTHORIZATION, value);
    }
    group.bench_function("a read with an operator's token", |b| {
        b.iter(|| black_box(one.admit(peer(2), &Method::GET, &bearer, &operators)));
    });
    group.finish();
}

criterion_group!(benches, decisions);
criterion_main!(benches);
