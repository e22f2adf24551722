//! The outbox in each store: a booking event is written in the same atomic step as its change
//! (a confirm, a player's or an operator's cancellation), so it exists exactly when the change
//! committed, with an id that is a function of the booking and the kind; its deliveries are
//! fanned out, claimed once at a time, retried and recorded, and the daily job forgets them.

use chrono::{DateTime, Duration, Utc};
use shared::domain::{Canceller, Contact, HoldId, SlotId, UserId};
use shared::events::{EventId, EventKind};
use shared::store::{Attempted, DeliveryState, NewBooking, NewHold, Outcome, Store, Target};

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
);
