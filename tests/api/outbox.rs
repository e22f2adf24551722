//! The outbox in each store: a booking event is written in the same atomic step as its change
//! (a confirm, a player's or an operator's cancellation), so it exists exactly when the change
//! committed, with an id that is a function of the booking and the kind; its deliveries are
//! fanned out, claimed once at a time, retried and recorded, and the daily job forgets them.

use chrono::{DateTime, Duration, Utc};
use shared::domain::{Canceller, Contact, HoldId, ManageKey, SlotId, UserId};
use shared::events::{EventId, EventKind};
use shared::store::{
    Attempted, DeliveryState, MAIL_CHANNEL, NewBooking, NewHold, Outcome, Store, Target,
};

use crate::harness::{StoreKind, seeded};

fn user(name: &str) -> UserId {
    UserId::parse(name).unwrap()
}

/// Holds `slot` for `who` at `now`.
async fn hold(store: &dyn Store, slot: &str, who: &str, now: DateTime<Utc>) -> HoldId {
    let slot_id = SlotId::parse(slot).unwrap();
    let new = NewHold {
        id: HoldId::generate(&slot_id),
        slot_id,
        user_id: user(who),
        expires_at: now + Duration::minutes(5),
        verified_user: false,
        players: Some(3),
        max_live_holds: None,
    };
    store.create_hold(&new, None, now).await.unwrap().id
}

fn ada() -> Contact {
    Contact::checked("Ada Lovelace", "ada@example.org", None).unwrap()
}

async fn confirm(store: &dyn Store, id: HoldId, who: &str, cap: Option<u32>) {
    let (booking, _) = NewBooking::generate(Some(ada())).unwrap();
    store
        .confirm_booking(id, &user(who), &booking, cap, Utc::now())
        .await
        .unwrap();
}

async fn a_confirm_and_a_cancellation_each_write_one_event_with_the_booking(kind: StoreKind) {
    let seeded = seeded(kind, Utc::now(), &[]).await;
    let store = seeded.store.as_ref();
    let id = hold(store, "s-1", "u-demo", Utc::now()).await;
    assert!(store.undispatched_events(10).await.unwrap().is_empty());
    confirm(store, id, "u-demo", None).await;
    // A retried confirm confirms nothing new and writes no second event.
    confirm(store, id, "u-demo", None).await;
    let events = store.undispatched_events(10).await.unwrap();
    assert_eq!(events.len(), 1);
    let confirmed = &events[0];
    assert_eq!(confirmed.id, EventId::of(id, EventKind::Confirmed));
    assert_eq!(confirmed.kind, EventKind::Confirmed);
    assert_eq!(confirmed.data.room_id.as_str(), "r-101");
    assert_eq!(confirmed.data.room_name, "The Cursed Library");
    assert_eq!(confirmed.data.slot_id.as_str(), "s-1");
    assert_eq!(confirmed.data.players, Some(3));
    assert_eq!(confirmed.data.user_id.as_str(), "u-demo");
    assert_eq!(confirmed.data.contact, Some(ada()));
    assert!(confirmed.data.reference.is_some());
    assert_eq!(confirmed.data.time_zone, "UTC");
    assert_eq!(confirmed.data.cancelled_by, None);
    let by = Canceller::Player {
        user: user("u-demo"),
        cutoff: Duration::zero(),
    };
    store.cancel_hold(id, &by, Utc::now()).await.unwrap();
    // Cancelling again is answered as done, and writes nothing.
    store.cancel_hold(id, &by, Utc::now()).await.unwrap();
    let events = store.undispatched_events(10).await.unwrap();
    assert_eq!(events.len(), 2, "{events:?}");
    let cancelled = events
        .iter()
        .find(|e| e.kind == EventKind::Cancelled)
        .unwrap();
    assert_eq!(cancelled.id, EventId::of(id, EventKind::Cancelled));
    assert_eq!(cancelled.data.cancelled_by.as_deref(), Some("u-demo"));
    assert_eq!(cancelled.data.reason, None);
    assert_eq!(cancelled.data.reference, confirmed.data.reference);
    assert_eq!(cancelled.data.start_time, confirmed.data.start_time);
    assert_eq!(cancelled.data.end_time, confirmed.data.end_time);
    assert_eq!(
        store.event(&cancelled.id).await.unwrap().as_ref(),
        Some(cancelled)
    );
}

async fn a_refused_change_writes_no_event(kind: StoreKind) {
    let seeded = seeded(kind, Utc::now(), &[]).await;
    let store = seeded.store.as_ref();
    let id = hold(store, "s-2", "u-demo", Utc::now()).await;
    // Another player's confirm and a cancellation of a hold never confirmed are refused.
    let (booking, _) = NewBooking::generate(None).unwrap();
    assert!(
        store
            .confirm_booking(id, &user("u-alice"), &booking, None, Utc::now())
            .await
            .is_err()
    );
    let operator = Canceller::Operator {
        name: "operator".into(),
        reason: "flood".into(),
    };
    assert!(store.cancel_hold(id, &operator, Utc::now()).await.is_err());
    // Over the player's booking cap: the confirm is refused, the hold stays a hold.
    confirm(store, id, "u-demo", Some(1)).await;
    let second = hold(store, "s-3", "u-demo", Utc::now()).await;
    let (booking, _) = NewBooking::generate(None).unwrap();
    assert!(
        store
            .confirm_booking(second, &user("u-demo"), &booking, Some(1), Utc::now())
            .await
            .is_err()
    );
    let events = store.undispatched_events(10).await.unwrap();
    let ids: Vec<_> = events.iter().map(|e| e.id.clone()).collect();
    assert_eq!(ids, vec![EventId::of(id, EventKind::Confirmed)]);
    // An operator's cancellation carries who and why.
    store.cancel_hold(id, &operator, Utc::now()).await.unwrap();
    let cancelled = store
        .event(&EventId::of(id, EventKind::Cancelled))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(cancelled.data.cancelled_by.as_deref(), Some("operator"));
    assert_eq!(cancelled.data.reason.as_deref(), Some("flood"));
}

async fn deliveries_are_fanned_out_claimed_once_retried_and_recorded(kind: StoreKind) {
    let seeded = seeded(kind, Utc::now(), &[]).await;
    let store = seeded.store.as_ref();
    let id = hold(store, "s-4", "u-demo", Utc::now()).await;
    confirm(store, id, "u-demo", None).await;
    let event = store.undispatched_events(10).await.unwrap().remove(0);
    let (one, two) = (
        Target::new("webhook", "wh_one"),
        Target::new("webhook", "wh_two"),
    );
    let now = Utc::now();
    store
        .dispatch_event(&event, &[one.clone(), two.clone()], now)
        .await
        .unwrap();
    // Fanning out again adds nothing and keeps what is there.
    store
        .dispatch_event(&event, std::slice::from_ref(&one), now)
        .await
        .unwrap();
    assert!(store.undispatched_events(10).await.unwrap().is_empty());
    let lease = now + Duration::seconds(30);
    let mut claimed = store.claim_deliveries(now, lease, 10).await.unwrap();
    claimed.sort_by(|a, b| a.target.cmp(&b.target));
    assert_eq!(claimed.len(), 2);
    assert_eq!(claimed[0].target, one);
    assert_eq!(claimed[0].event, event);
    assert_eq!(claimed[0].attempts, 0);
    // Claimed: nobody else gets them until the lease runs out.
    assert!(
        store
            .claim_deliveries(now, lease, 10)
            .await
            .unwrap()
            .is_empty()
    );
    let retry = now + Duration::seconds(5);
    let failed = Attempted {
        status: Some(500),
        outcome: Outcome::RetryAt(retry),
    };
    store
        .record_attempt(&event.id, &one, &failed, now)
        .await
        .unwrap();
    let delivered = Attempted {
        status: Some(204),
        outcome: Outcome::Delivered,
    };
    store
        .record_attempt(&event.id, &two, &delivered, now)
        .await
        .unwrap();
    assert!(
        store
            .claim_deliveries(now, lease, 10)
            .await
            .unwrap()
            .is_empty()
    );
    let again = store.claim_deliveries(retry, lease, 10).await.unwrap();
    assert_eq!(again.len(), 1);
    assert_eq!((&again[0].target, again[0].attempts), (&one, 1));
    store
        .record_attempt(&event.id, &one, &delivered, retry)
        .await
        .unwrap();
    let page = store.deliveries_to(&one, None, 10).await.unwrap();
    assert_eq!(page.deliveries.len(), 1);
    let record = &page.deliveries[0];
    assert_eq!(record.event_id, event.id);
    assert_eq!(record.kind, EventKind::Confirmed);
    assert_eq!(record.state, DeliveryState::Delivered);
    assert_eq!(record.attempts, 2);
    assert_eq!(record.last_status, Some(204));
    assert!(record.delivered_at.is_some());
    assert_eq!(record.next_attempt_at, None);
    // A delivery no longer pending is not touched by a late record.
    store
        .record_attempt(&event.id, &one, &failed, retry)
        .await
        .unwrap();
    let page = store.deliveries_to(&one, None, 10).await.unwrap();
    assert_eq!(page.deliveries[0].state, DeliveryState::Delivered);
}

async fn a_targets_deliveries_are_paged_newest_first_and_can_be_abandoned(kind: StoreKind) {
    let seeded = seeded(kind, Utc::now(), &[]).await;
    let store = seeded.store.as_ref();
    let target = Target::new("webhook", "wh_paged");
    let mut ids = Vec::new();
    for (at, slot) in ["s-5", "s-6", "s-7"].into_iter().enumerate() {
        let id = hold(store, slot, "u-demo", Utc::now()).await;
        confirm(store, id, "u-demo", None).await;
        let event = store
            .event(&EventId::of(id, EventKind::Confirmed))
            .await
            .unwrap()
            .unwrap();
        let when = Utc::now() + Duration::milliseconds(i64::try_from(at).unwrap());
        store
            .dispatch_event(&event, std::slice::from_ref(&target), when)
            .await
            .unwrap();
        ids.push(event.id);
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    let first = store.deliveries_to(&target, None, 2).await.unwrap();
    let listed: Vec<_> = first
        .deliveries
        .iter()
        .map(|d| d.event_id.clone())
        .collect();
    assert_eq!(listed, vec![ids[2].clone(), ids[1].clone()]);
    let next = first.next.expect("a second page");
    let second = store.deliveries_to(&target, Some(&next), 2).await.unwrap();
    assert_eq!(second.deliveries.len(), 1);
    assert_eq!(second.deliveries[0].event_id, ids[0]);
    assert!(second.next.is_none());
    assert_eq!(store.abandon_deliveries(&target).await.unwrap(), 3);
    let far = Utc::now() + Duration::days(1);
    assert!(
        store
            .claim_deliveries(far, far, 10)
            .await
            .unwrap()
            .is_empty()
    );
    let page = store.deliveries_to(&target, None, 10).await.unwrap();
    assert!(
        page.deliveries
            .iter()
            .all(|d| d.state == DeliveryState::Failed)
    );
}

async fn the_daily_job_forgets_events_and_their_deliveries_after_the_retention(kind: StoreKind) {
    let seeded = seeded(kind, Utc::now(), &[]).await;
    let store = seeded.store.as_ref();
    let id = hold(store, "s-8", "u-demo", Utc::now()).await;
    confirm(store, id, "u-demo", None).await;
    let event = store.undispatched_events(10).await.unwrap().remove(0);
    let target = Target::new("webhook", "wh_old");
    store
        .dispatch_event(&event, std::slice::from_ref(&target), Utc::now())
        .await
        .unwrap();
    // Nothing is older than an hour ago.
    let hour_ago = Utc::now() - Duration::hours(1);
    assert_eq!(store.forget_events(hour_ago).await.unwrap(), 0);
    assert!(store.event(&event.id).await.unwrap().is_some());
    let later = Utc::now() + Duration::seconds(1);
    assert_eq!(store.forget_events(later).await.unwrap(), 1);
    assert!(store.event(&event.id).await.unwrap().is_none());
    let page = store.deliveries_to(&target, None, 10).await.unwrap();
    assert!(page.deliveries.is_empty());
    assert!(
        store
            .claim_deliveries(later, later, 10)
            .await
            .unwrap()
            .is_empty()
    );
}

/// Whether `needle` is stored anywhere in the store `env` points at, read beside the store
/// itself: every text value of every row of every SQLite table (a new connection to the file),
/// or every attribute of every item of the DynamoDB table (a whole `Scan`).
pub async fn stored_anywhere(env: &[(String, String)], needle: &str) -> bool {
    let var = |name: &str| env.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
    if let Some(path) = var("SQLITE_PATH") {
        let conn = rusqlite::Connection::open(path).unwrap();
        let tables: Vec<String> = conn
            .prepare("SELECT name FROM sqlite_master WHERE type = 'table'")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        for table in tables {
            let mut stmt = conn.prepare(&format!("SELECT * FROM \"{table}\"")).unwrap();
            let columns = stmt.column_count();
            let mut rows = stmt.query([]).unwrap();
            while let Some(row) = rows.next().unwrap() {
                for at in 0..columns {
                    if let rusqlite::types::ValueRef::Text(text) = row.get_ref(at).unwrap()
                        && String::from_utf8_lossy(text).contains(needle)
                    {
                        return true;
                    }
                }
            }
        }
        return false;
    }
    let table = var("TABLE_NAME").expect("a SQLite or DynamoDB store's environment");
    let client = crate::dynamodb_local::client().await;
    let mut start = None;
    loop {
        let page = client
            .scan()
            .table_name(&table)
            .consistent_read(true)
            .set_exclusive_start_key(start.take())
            .send()
            .await
            .unwrap();
        if page
            .items()
            .iter()
            .any(|item| format!("{item:?}").contains(needle))
        {
            return true;
        }
        match page.last_evaluated_key {
            Some(last) if !last.is_empty() => start = Some(last),
            _ => return false,
        }
    }
}

/// Confirms hold `id` as a player with a contact email and a booking page would: the manage key
/// kept for the email's link. Returns the key.
async fn confirm_mailing_the_key(store: &dyn Store, id: HoldId, who: &str) -> ManageKey {
    let (booking, key) = NewBooking::generate(Some(ada())).unwrap();
    let booking = booking.mailing_link(&key);
    store
        .confirm_booking(id, &user(who), &booking, None, Utc::now())
        .await
        .unwrap();
    key
}

async fn a_manage_key_kept_for_the_email_rides_only_its_email_delivery_until_sent_or_given_up(
    kind: StoreKind,
) {
    let seeded = seeded(kind, Utc::now(), &[]).await;
    let store = seeded.store.as_ref();
    let now = Utc::now();
    let mut booked = Vec::new();
    for slot in ["s-1", "s-2", "s-3", "s-4"] {
        let id = hold(store, slot, "u-demo", now).await;
        booked.push((id, confirm_mailing_the_key(store, id, "u-demo").await));
    }
    // A confirm without an email keeps nothing in the clear.
    let (plain, plain_key) = NewBooking::generate(None).unwrap();
    let plain = plain.mailing_link(&plain_key);
    assert!(plain.mail_key.is_none());
    // Written with the event, beside its payload: never in what a webhook is sent.
    for (_, key) in &booked {
        assert!(stored_anywhere(&seeded.env, key.as_str()).await);
    }
    let events = store.undispatched_events(10).await.unwrap();
    assert_eq!(events.len(), 4);
    for event in &events {
        let body = String::from_utf8(event.body().unwrap()).unwrap();
        let shown = format!("{event:?}");
        for (_, key) in &booked {
            assert!(!body.contains(key.as_str()) && !shown.contains(key.as_str()));
        }
    }
    let email = |id: HoldId| Target::new(MAIL_CHANNEL, &id.to_string());
    let hook = Target::new("webhook", "wh_one");
    // The first three are fanned out to their email and a webhook; the fourth to a webhook only
    // (a server without SMTP): its key is erased as it is fanned out.
    for event in &events {
        let (id, _) = booked
            .iter()
            .find(|(id, _)| *id == event.data.hold_id)
            .unwrap();
        let targets = if *id == booked[3].0 {
            vec![hook.clone()]
        } else {
            vec![hook.clone(), email(*id)]
        };
        store.dispatch_event(event, &targets, now).await.unwrap();
    }
    assert!(!stored_anywhere(&seeded.env, booked[3].1.as_str()).await);
    let lease = now + Duration::seconds(30);
    let claimed = store.claim_deliveries(now, lease, 20).await.unwrap();
    assert_eq!(claimed.len(), 7);
    for delivery in &claimed {
        let shown = format!("{delivery:?}");
        assert!(booked.iter().all(|(_, key)| !shown.contains(key.as_str())));
        if delivery.target.channel == MAIL_CHANNEL {
            let (_, key) = booked
                .iter()
                .find(|(id, _)| delivery.target == email(*id))
                .unwrap();
            assert_eq!(delivery.manage_key.as_ref(), Some(key), "the email's key");
        } else {
            assert_eq!(delivery.manage_key, None, "no key on a webhook's delivery");
        }
    }
    // Nor in a listing of deliveries.
    for (id, key) in &booked {
        let page = store.deliveries_to(&email(*id), None, 10).await.unwrap();
        assert!(!format!("{page:?}").contains(key.as_str()));
    }
    // One attempt of hold `id`'s email recorded.
    let attempt = |id: HoldId, status: u16, outcome: Outcome, at: DateTime<Utc>| {
        let target = email(id);
        async move {
            let attempted = Attempted {
                status: Some(status),
                outcome,
            };
            let event = EventId::of(id, EventKind::Confirmed);
            store
                .record_attempt(&event, &target, &attempted, at)
                .await
                .unwrap();
        }
    };
    // Email 1: refused for now, so kept for the next try, then delivered: erased.
    let (one, one_key) = &booked[0];
    let retry = now + Duration::seconds(5);
    attempt(*one, 451, Outcome::RetryAt(retry), now).await;
    assert!(stored_anywhere(&seeded.env, one_key.as_str()).await);
    let again = store
        .claim_deliveries(retry, lease + Duration::seconds(5), 20)
        .await
        .unwrap();
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].manage_key.as_ref(), Some(one_key));
    attempt(*one, 250, Outcome::Delivered, retry).await;
    assert!(!stored_anywhere(&seeded.env, one_key.as_str()).await);
    // Email 2: refused for good (a 5xx): erased.
    let (two, two_key) = &booked[1];
    attempt(*two, 550, Outcome::GaveUp, now).await;
    assert!(!stored_anywhere(&seeded.env, two_key.as_str()).await);
    // Email 3: abandoned: erased.
    let (three, three_key) = &booked[2];
    assert!(stored_anywhere(&seeded.env, three_key.as_str()).await);
    assert_eq!(store.abandon_deliveries(&email(*three)).await.unwrap(), 1);
    assert!(!stored_anywhere(&seeded.env, three_key.as_str()).await);
}

/// A channel that records what it is asked to deliver and answers 204.
#[derive(Default)]
struct Recording(std::sync::Mutex<Vec<EventId>>);

#[async_trait::async_trait]
impl shared::delivery::Channel for Recording {
    fn name(&self) -> &'static str {
        "recording"
    }

    async fn targets(
        &self,
        _: &dyn Store,
        event: &shared::events::BookingEvent,
    ) -> Result<Vec<Target>, shared::Error> {
        Ok(vec![Target::new(
            "recording",
            &event.data.hold_id.to_string(),
        )])
    }

    async fn deliver(
        &self,
        _: &dyn Store,
        delivery: &shared::store::Delivery,
    ) -> shared::delivery::Attempt {
        self.0.lock().unwrap().push(delivery.event.id.clone());
        shared::delivery::Attempt::Delivered { status: 204 }
    }
}

async fn one_pass_fans_out_every_pending_event_and_delivers_each_once_several_at_a_time(
    kind: StoreKind,
) {
    let seeded = seeded(kind, Utc::now(), &[]).await;
    let store = seeded.store.clone();
    let mut ids = Vec::new();
    for slot in ["s-1", "s-2", "s-3", "s-4", "s-5"] {
        let id = hold(store.as_ref(), slot, "u-demo", Utc::now()).await;
        confirm(store.as_ref(), id, "u-demo", None).await;
        ids.push(EventId::of(id, EventKind::Confirmed));
    }
    let channel = std::sync::Arc::new(Recording::default());
    let deliverer = shared::delivery::Deliverer {
        store: store.clone(),
        channels: vec![channel.clone()],
        backoff: shared::delivery::Backoff(vec![5]),
    };
    let attempted = shared::delivery::pass(&deliverer, 10, 2, Utc::now)
        .await
        .unwrap();
    assert_eq!(attempted, 5);
    let mut got = channel.0.lock().unwrap().clone();
    got.sort_by(|a, b| a.as_str().cmp(b.as_str()));
    ids.sort_by(|a, b| a.as_str().cmp(b.as_str()));
    assert_eq!(got, ids);
    // Nothing is left: every event fanned out, every delivery recorded as delivered.
    assert_eq!(
        shared::delivery::pass(&deliverer, 10, 2, Utc::now)
            .await
            .unwrap(),
        0
    );
    assert!(store.undispatched_events(10).await.unwrap().is_empty());
}

macro_rules! on_both_stores {
    ($($scenario:ident),* $(,)?) => {
        mod sqlite {
            $(#[tokio::test]
            async fn $scenario() {
                super::$scenario(crate::harness::StoreKind::Sqlite).await
            })*
        }
        mod dynamodb {
            $(#[tokio::test]
            async fn $scenario() {
                super::$scenario(crate::harness::StoreKind::Dynamodb).await
            })*
        }
    };
}

on_both_stores!(
    a_confirm_and_a_cancellation_each_write_one_event_with_the_booking,
    a_refused_change_writes_no_event,
    deliveries_are_fanned_out_claimed_once_retried_and_recorded,
    a_targets_deliveries_are_paged_newest_first_and_can_be_abandoned,
    the_daily_job_forgets_events_and_their_deliveries_after_the_retention,
    a_manage_key_kept_for_the_email_rides_only_its_email_delivery_until_sent_or_given_up,
    one_pass_fans_out_every_pending_event_and_delivers_each_once_several_at_a_time,
);
