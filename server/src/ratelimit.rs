//! Rate limits per client address (`RATE_LIMIT_WRITES`, `RATE_LIMIT_AUTH`; `shared::config`):
//! `governor`'s keyed GCRA limiters, decided before the body is read, answered with the IETF
//! draft's `RateLimit-Policy` and `RateLimit` fields (draft-ietf-httpapi-ratelimit-headers) and,
//! over a limit, 429 `RATE_LIMITED` with `Retry-After` (`shared::http::error_response`).
//!
//! - **The client's address** is the TCP peer, or the first `X-Forwarded-For` entry with
//!   `TRUST_PROXY=1`; an IPv6 address counts by its /64 (one host usually has a whole /64, so
//!   its addresses are one client), an IPv4-mapped one as the IPv4 address.
//! - **Writes** (`POST`, `PUT`, `DELETE`, any path): each spends one unit of `"writes"`.
//! - **Credentials** (an `Authorization` header, any route): credentials that are neither an
//!   operator's nor (`guest` mode) a valid player's token spend one unit of `"auth"` as they are
//!   let in, so concurrent guesses cannot
//!   overrun the budget; an operator's spend nothing. Once the budget is spent, every request
//!   with credentials from that address is refused, an operator's too: a right guess answered
//!   while wrong ones are refused would tell a guesser which token is right.
//! - **Memory**: a key whose budget has refilled is indistinguishable from an absent one, so
//!   [`Limits::sweep`] drops those every [`SWEEP_EVERY`] (`retain_recent`, `shrink_to_fit`): what
//!   is kept is at most the addresses seen in the last window plus one sweep.

use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::middleware::{StateInformationMiddleware, StateSnapshot};
use governor::nanos::Nanos;
use governor::state::StateStore;
use governor::state::keyed::{DashMapStateStore, ShrinkableKeyedStateStore};
use governor::{NotUntil, Quota};
use hyper::header::{AUTHORIZATION, HeaderMap, HeaderValue};
use hyper::{Method, Response};

use shared::Error;
use shared::config::{Operators, Players, Rate, RateLimits, Window};
use shared::http::identity;

/// How often keys whose budget has refilled are dropped.
pub const SWEEP_EVERY: Duration = Duration::from_secs(10);

/// The server's limits; cheap to clone (the state is shared).
#[derive(Clone)]
pub struct Limits<C: Clock = DefaultClock> {
    writes: Option<Arc<Policy<C>>>,
    auth: Option<Arc<Policy<C>>>,
    trust_proxy: bool,
}

impl Limits {
    /// The limits `config` sets, on the system's monotonic clock.
    pub fn new(config: &RateLimits) -> Self {
        Self::with_clock(config, &DefaultClock::default())
    }

    /// Drops the keys whose budget has refilled, every [`SWEEP_EVERY`], for as long as it runs.
    pub async fn sweep(self) {
        let mut every = tokio::time::interval(SWEEP_EVERY);
        loop {
            every.tick().await;
            self.sweep_once();
        }
    }
}

impl<C: Clock + Clone> Limits<C> {
    /// The limits `config` sets, on `clock` (tests move a fake one).
    pub fn with_clock(config: &RateLimits, clock: &C) -> Self {
        let policy = |name, rate| Some(Arc::new(Policy::new(name, rate, clock.clone())));
        Self {
            writes: config.writes.and_then(|rate| policy("writes", rate)),
            auth: config.auth.and_then(|rate| policy("auth", rate)),
            trust_proxy: config.trust_proxy,
        }
    }

    /// Whether any limit is on.
    pub fn any(&self) -> bool {
        self.writes.is_some() || self.auth.is_some()
    }

    /// Decides one request from its head, before its body is read: the fields its answer carries
    /// and, over a limit, the 429 to answer instead.
    pub fn admit(
        &self,
        peer: SocketAddr,
        method: &Method,
        headers: &HeaderMap,
        operators: &Operators,
    ) -> Admission {
        self.admit_as(
            peer,
            method,
            headers,
            (operators, &Players::default()),
            chrono::Utc::now(),
        )
    }

    /// As [`Limits::admit`], where a valid player's token (`guest` mode, verified at `now`)
    /// spends nothing either: like an operator's, it is credentials the service accepts.
    pub fn admit_as(
        &self,
        peer: SocketAddr,
        method: &Method,
        headers: &HeaderMap,
        (operators, players): (&Operators, &Players),
        now: chrono::DateTime<chrono::Utc>,
    ) -> Admission {
        let mut admission = Admission::default();
        let writes = self
            .writes
            .as_ref()
            .filter(|_| matches!(*method, Method::POST | Method::PUT | Method::DELETE));
        let credentials = self.auth.as_ref().zip(headers.get(AUTHORIZATION));
        if writes.is_none() && credentials.is_none() {
            // Most reads: nothing to decide, not even the client's address.
            return admission;
        }
        let client = self.client(peer, headers);
        if let Some(writes) = writes {
            admission.record(writes.decide(client, Spend::Always));
        }
        if let Some((auth, credentials)) = credentials
            && admission.refusal.is_none()
        {
            let spend = if is_accepted(credentials, operators, players, now) {
                Spend::Never
            } else {
                Spend::Always
            };
            admission.record(auth.decide(client, spend));
        }
        admission
    }

    /// The address a request is counted under: the TCP peer, or with `TRUST_PROXY=1` the first
    /// `X-Forwarded-For` entry when it is an address (otherwise the peer: the proxy's own budget).
    pub fn client(&self, peer: SocketAddr, headers: &HeaderMap) -> IpAddr {
        let forwarded = || {
            let first = headers
                .get("x-forwarded-for")?
                .to_str()
                .ok()?
                .split(',')
                .next()?;
            let first = first.trim();
            first
                .parse::<IpAddr>()
                .or_else(|_| first.parse::<SocketAddr>().map(|a| a.ip()))
                .ok()
        };
        let address = if self.trust_proxy { forwarded() } else { None };
        client_key(address.unwrap_or_else(|| peer.ip()))
    }

    /// Drops the keys whose budget has refilled (see the module's doc).
    pub fn sweep_once(&self) {
        for policy in [&self.writes, &self.auth].into_iter().flatten() {
            policy.limiter.retain_recent();
            policy.limiter.shrink_to_fit();
        }
    }

    /// How many addresses each limit holds state for: writes, auth.
    pub fn tracked(&self) -> (usize, usize) {
        let len = |p: &Option<Arc<Policy<C>>>| p.as_ref().map_or(0, |p| p.limiter.len());
        (len(&self.writes), len(&self.auth))
    }
}

/// Whether `credentials` (an `Authorization` value) are an operator's or, in `guest` mode, a
/// valid player's token, by the one check the handlers use
/// (`shared::http::identity::accepted_anywhere`).
fn is_accepted(
    credentials: &HeaderValue,
    operators: &Operators,
    players: &Players,
    now: chrono::DateTime<chrono::Utc>,
) -> bool {
    let mut request = lambda_http::Request::default();
    request
        .headers_mut()
        .insert(AUTHORIZATION, credentials.clone());
    identity::bearer_token(&request)
        .is_some_and(|token| identity::accepted_anywhere(token, operators, players, now))
}

/// An address as a limiter key: IPv4 as it is (an IPv4-mapped IPv6 address too), IPv6 by its /64.
pub fn client_key(address: IpAddr) -> IpAddr {
    match address {
        IpAddr::V4(v4) => IpAddr::V4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6(Ipv6Addr::from_bits(v6.to_bits() & !u128::from(u64::MAX))),
        },
    }
}

/// Whether a decision spends a unit when it lets the request in.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
enum Spend {
    Always,
    /// Let in while the budget lasts, spending nothing (an operator's credentials).
    Never,
}

/// One limit: its name in the fields, its rate, and the keyed limiter.
struct Policy<C: Clock> {
    name: &'static str,
    rate: Rate,
    limiter: governor::RateLimiter<Probe, Budgets, C, StateInformationMiddleware>,
}

impl<C: Clock> Policy<C> {
    fn new(name: &'static str, rate: Rate, clock: C) -> Self {
        let quota = match rate.window {
            Window::Second => Quota::per_second(rate.count),
            Window::Minute => Quota::per_minute(rate.count),
            Window::Hour => Quota::per_hour(rate.count),
        };
        let limiter = governor::RateLimiter::new(quota, Budgets::default(), clock);
        Self {
            name,
            rate,
            limiter,
        }
    }

    fn decide(&self, client: IpAddr, spend: Spend) -> Verdict {
        let outcome = self.limiter.check_key(&Probe { client, spend });
        let (remaining, retry_after) = match outcome {
            Ok(snapshot) => (remaining(&snapshot, spend), None),
            Err(not_until) => (0, Some(self.wait(&not_until))),
        };
        Verdict {
            name: self.name,
            quota: self.rate.count.get(),
            window: self.rate.window.seconds(),
            remaining,
            retry_after,
        }
    }

    /// Whole seconds until the budget lets one more in, at least 1.
    fn wait(&self, not_until: &NotUntil<C::Instant>) -> u64 {
        let wait = not_until.wait_time_from(self.limiter.clock().now());
        (wait.as_secs() + u64::from(wait.subsec_nanos() > 0)).max(1)
    }
}

/// Units left after this request: what the snapshot says, plus the one a decision that spends
/// nothing measured but did not take.
fn remaining(snapshot: &StateSnapshot, spend: Spend) -> u32 {
    let left = snapshot.remaining_burst_capacity();
    match spend {
        Spend::Always => left,
        Spend::Never => left.saturating_add(1),
    }
}

/// A limiter key: the client and whether this decision spends a unit.
#[derive(Clone, PartialEq, Eq, Hash)]
struct Probe {
    client: IpAddr,
    spend: Spend,
}

/// The keyed GCRA state, one theoretical arrival time per client, in `governor`'s own concurrent
/// map. A decision that spends nothing ([`Spend::Never`]) runs the same GCRA test and writes the
/// old state back, so it changes nothing, and adds no key for a client without one.
#[derive(Default)]
struct Budgets(DashMapStateStore<IpAddr>);

impl StateStore for Budgets {
    type Key = Probe;

    fn measure_and_replace<T, F, E>(&self, key: &Probe, f: F) -> Result<T, E>
    where
        F: Fn(Option<Nanos>) -> Result<(T, Nanos), E>,
    {
        match key.spend {
            Spend::Always => self.0.measure_and_replace(&key.client, f),
            Spend::Never if !self.0.contains_key(&key.client) => f(None).map(|(value, _)| value),
            Spend::Never => self.0.measure_and_replace(&key.client, |old| {
                f(old).map(|(value, _)| (value, old.unwrap_or_default()))
            }),
        }
    }
}

impl ShrinkableKeyedStateStore<Probe> for Budgets {
    fn retain_recent(&self, drop_below: Nanos) {
        ShrinkableKeyedStateStore::retain_recent(&self.0, drop_below);
    }

    fn shrink_to_fit(&self) {
        self.0.shrink_to_fit();
    }

    fn len(&self) -> usize {
        self.0.len()
    }

    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// One limit's decision on one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    pub name: &'static str,
    pub quota: u32,
    pub window: u32,
    pub remaining: u32,
    /// Over the limit: whole seconds until one more is let in.
    pub retry_after: Option<u64>,
}

/// What the limits decided on one request: the verdicts its answer reports, and the refusal.
#[derive(Debug, Default)]
pub struct Admission {
    pub verdicts: Vec<Verdict>,
    refusal: Option<u64>,
}

impl Admission {
    fn record(&mut self, verdict: Verdict) {
        if let Some(seconds) = verdict.retry_after {
            self.refusal = Some(seconds);
        }
        self.verdicts.push(verdict);
    }

    /// The 429 to answer instead of serving the request, if a limit refused it.
    pub fn refusal(&self) -> Option<Error> {
        self.refusal.map(|retry_after_seconds| Error::RateLimited {
            retry_after_seconds,
        })
    }

    /// Adds `RateLimit-Policy` (e.g. `"writes";q=120;w=60`) and `RateLimit` (`"writes";r=57`,
    /// and `;t=` the seconds to wait once the budget is spent) to an answer the limits decided.
    pub fn stamp<B>(&self, response: &mut Response<B>) {
        if self.verdicts.is_empty() {
            return;
        }
        let policy: Vec<String> = self
            .verdicts
            .iter()
            .map(|v| format!("\"{}\";q={};w={}", v.name, v.quota, v.window))
            .collect();
        let limit: Vec<String> = self
            .verdicts
            .iter()
            .map(|v| match v.retry_after {
                Some(t) => format!("\"{}\";r=0;t={t}", v.name),
                None => format!("\"{}\";r={}", v.name, v.remaining),
            })
            .collect();
        let headers = response.headers_mut();
        for (name, items) in [("ratelimit-policy", policy), ("ratelimit", limit)] {
            if let Ok(value) = HeaderValue::from_str(&items.join(", ")) {
                headers.insert(name, value);
            }
        }
    }
}

#[cfg(test)]
#[path = "ratelimit_tests.rs"]
mod tests;
