//! A booking's reference, manage key and contact in each store: the reference is unique because
//! the store refuses a taken one in the confirm's atomic step and draws another (not by luck),
//! a manage key is found only through its digest, and the daily job erases contacts
//! `CONTACT_RETENTION_DAYS` after the game (a manual clock, no waiting).

use std::collections::HashSet;

use chrono::{Duration, Utc};
use shared::domain::{Canceller, Contact, HoldId, KeyDigest, ManageKey, SlotId, UserId};
use shared::store::{NewBooking, NewHold, Page, SheetWindow, Store};

use crate::harness::{StoreKind, seeded};

fn new_hold(slot: &str, user: &str, now: chrono::DateTime<Utc>) -> NewHold {
    let slot_id = SlotId::parse(slot).unwrap();
    NewHold {
        id: HoldId::generate(&slot_id),
        slot_id,
        user_id: UserId::parse(user).unwrap(),
        expires_at: now + Duration::minutes(5),
        verified_user: false,
        players: None,
        max_live_holds: None,
    }
}

fn ada() -> Contact {
    Contact::checked("Ada Lovelace", "ada@example.org", Some("+493012345678")).unwrap()
}

/// Holds `slot` for u-demo and confirms it with `booking`.
async fn book(store: &dyn Store, slot: &str, booking: &NewBooking) -> shared::domain::Hold {
    let now = Utc::now();
    let hold = store
        .create_hold(&new_hold(slot, "u-demo", now), None, now)
        .await
        .unwrap();
    let user = UserId::parse("u-demo").unwrap();
    let confirmed = store
        .confirm_booking(hold.id, &user, booking, None, now)
        .await
        .unwrap();
    assert!(!confirmed.replayed);
    confirmed.hold
}

async fn a_taken_reference_is_drawn_again(kind: StoreKind) {
    let seeded = seeded(kind, Utc::now(), &[]).await;
    let store = seeded.store.as_ref();
    let (first, first_key) = NewBooking::generate(Some(ada())).unwrap();
    let taken = first.reference.clone();
    let one = book(store, "s-1", &first).await;
    assert_eq!(one.details.reference.as_ref(), Some(&taken));
    // The second confirm is handed the same reference: the store refuses it and draws another.
    let (mut second, second_key) = NewBooking::generate(None).unwrap();
    second.reference = taken.clone();
    let two = book(store, "s-2", &second).await;
    let drawn = two.details.reference.clone().unwrap();
    assert_ne!(drawn, taken);
    let found = store
        .booking_by_reference(&taken, Utc::now())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        found.hold.id, one.id,
        "the first booking keeps its reference"
    );
    assert!(found.key.matches(first_key.as_str()));
    assert!(!found.key.matches(second_key.as_str()));
    let found = store
        .booking_by_reference(&drawn, Utc::now())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found.hold.id, two.id);
    assert!(found.key.matches(second_key.as_str()));
    // The stores keep the digest, never the key.
    assert_eq!(found.key, KeyDigest::of(second_key.as_str()));
}

async fn every_booking_of_a_venue_has_its_own_reference(kind: StoreKind) {
    let seeded = seeded(kind, Utc::now(), &[]).await;
    let store = seeded.store.as_ref();
    let mut references = HashSet::new();
    for n in 1..=32 {
        let (booking, key) = NewBooking::generate(None).unwrap();
        let hold = book(store, &format!("s-{n}"), &booking).await;
        let reference = hold.details.reference.unwrap();
        let found = store
            .booking_by_reference(&reference, Utc::now())
            .await
            .unwrap();
        assert_eq!(found.unwrap().hold.id, hold.id);
        assert!(references.insert(reference), "a reference handed out twice");
        assert_eq!(key.as_str().len(), 43);
    }
    let unknown = loop {
        let candidate = shared::domain::Reference::generate().unwrap();
        if !references.contains(&candidate) {
            break candidate;
        }
    };
    assert!(
        store
            .booking_by_reference(&unknown, Utc::now())
            .await
            .unwrap()
            .is_none()
    );
    let _ = ManageKey::generate().unwrap();
}

async fn contacts_are_erased_by_the_daily_job_after_the_retention(kind: StoreKind) {
    let now = Utc::now();
    let seeded = seeded(kind, now, &[]).await;
    let store = seeded.store.as_ref();
    let (booking, _key) = NewBooking::generate(Some(ada())).unwrap();
    let hold = book(store, "s-1", &booking).await;
    let reference = hold.details.reference.clone().unwrap();
    let retention = shared::config::BookingSettings {
        contact_retention: Duration::days(90),
        ..Default::default()
    };
    let contact_of = || async {
        let found = store
            .booking_by_reference(&reference, now)
            .await
            .unwrap()
            .unwrap();
        found.hold.details.contact
    };

    // 89 days on, the game (within the fixture's next four days) has not ended 90 days ago.
    shared::horizon::daily(store, &retention, now + Duration::days(89))
        .await
        .unwrap();
    assert_eq!(contact_of().await, Some(ada()));
    // 95 days on it has: the contact goes, the booking and its reference stay.
    shared::horizon::daily(store, &retention, now + Duration::days(95))
        .await
        .unwrap();
    assert_eq!(contact_of().await, None);
    let looked_up = store.get_hold(hold.id, now).await.unwrap().unwrap();
    assert_eq!(looked_up.details.contact, None);
    assert_eq!(looked_up.details.reference, Some(reference.clone()));
    let room = shared::domain::RoomId::parse("r-101").unwrap();
    let sheet = store
        .room_bookings(
            &room,
            SheetWindow::Between(now, now + Duration::days(5)),
            &Page {
                after: None,
                limit: 50,
            },
            now,
        )
        .await
        .unwrap();
    let booking = sheet
        .bookings
        .iter()
        .find(|b| b.hold_id == hold.id)
        .unwrap();
    assert_eq!(booking.details.contact, None);
    assert_eq!(booking.details.reference, Some(reference));
}

/// A booking cancelled and its slot booked again: the cancelled one is no longer its slot's
/// latest hold (on DynamoDB the day sheet and the every-hold listing read it from its hold
/// record), and both still show its reference and contact.
async fn a_cancelled_booking_keeps_its_reference_and_contact_on_the_day_sheet_and_in_every_hold(
    kind: StoreKind,
) {
    let now = Utc::now();
    let seeded = seeded(kind, now, &[]).await;
    let store = seeded.store.as_ref();
    let (first, _) = NewBooking::generate(Some(ada())).unwrap();
    let cancelled = book(store, "s-1", &first).await;
    let demo = UserId::parse("u-demo").unwrap();
    let player = Canceller::Player {
        user: demo.clone(),
        cutoff: Duration::zero(),
    };
    store.cancel_hold(cancelled.id, &player, now).await.unwrap();
    let (second, _) = NewBooking::generate(None).unwrap();
    let again = book(store, "s-1", &second).await;
    let page = Page {
        after: None,
        limit: 50,
    };
    let room = shared::domain::RoomId::parse("r-101").unwrap();
    let window = SheetWindow::Between(now, now + Duration::days(5));
    let sheet = store
        .room_bookings(&room, window, &page, now)
        .await
        .unwrap();
    let on_sheet = |id: HoldId| sheet.bookings.iter().find(|b| b.hold_id == id).unwrap();
    assert_eq!(
        on_sheet(cancelled.id).details.reference,
        Some(first.reference.clone())
    );
    assert_eq!(on_sheet(cancelled.id).details.contact, Some(ada()));
    assert_eq!(
        on_sheet(again.id).details.reference,
        Some(second.reference.clone())
    );
    assert_eq!(on_sheet(again.id).details.contact, None);
    let first_page = Page {
        after: None,
        limit: 50,
    };
    let every = store
        .user_holds(&demo, &first_page, true, now)
        .await
        .unwrap();
    let listed = every
        .holds
        .iter()
        .find(|h| h.hold.id == cancelled.id)
        .unwrap();
    assert_eq!(listed.hold.details.reference, Some(first.reference));
    assert_eq!(listed.hold.details.contact, Some(ada()));
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
    a_taken_reference_is_drawn_again,
    every_booking_of_a_venue_has_its_own_reference,
    contacts_are_erased_by_the_daily_job_after_the_retention,
    a_cancelled_booking_keeps_its_reference_and_contact_on_the_day_sheet_and_in_every_hold,
);
