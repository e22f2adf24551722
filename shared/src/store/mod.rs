//! The storage port: one trait for the request path, implemented by the embedded SQLite store and
//! by DynamoDB. Creating tables and loading data are not request-path work: they live in
//! [`provision`], which no Lambda function needs.
//!
//! Every method is shaped so that its happy path is ONE round trip to DynamoDB: no method needs a
//! read before its write, except a cancellation, which reads the booking's slot first to keep
//! what the day sheet shows of it (the write is still decided by its own guard). Race safety lives here, in one atomic guarded write per operation; a
//! refused guard comes back as a domain [`Error`] (`SlotUnavailable`, `HoldGone`, `NotHoldOwner`,
//! `HoldConfirmed`), the same on every store.

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};

use crate::domain::{
    Booking, Canceller, Contact, Hold, HoldId, KeyDigest, ManageKey, Reference, Room, RoomId,
    SlotId, SlotState, UserId,
};
use crate::error::Error;
use crate::schedule::{PlannedSlot, Schedule};

#[cfg(feature = "dynamodb")]
pub mod dynamo;
pub mod open;
pub mod outbox;
pub mod provision;
#[cfg(feature = "sqlite")]
pub mod sqlite;
pub mod transfer;
pub mod webhooks;

pub use open::{Backend, open};
pub use outbox::{
    Attempted, DeliveriesAfter, DeliveriesPage, Delivery, DeliveryRecord, DeliveryState,
    MAIL_CHANNEL, Outbox, Outcome, Target,
};
pub use provision::Provision;
pub use webhooks::{Webhook, Webhooks, WebhooksPage};

/// Times are stored as epoch milliseconds (SQLite INTEGER, DynamoDB N): exact, and compared as
/// numbers in guards.
#[cfg(any(feature = "sqlite", feature = "dynamodb"))]
pub(crate) fn millis(t: DateTime<Utc>) -> i64 {
    t.timestamp_millis()
}

/// A stored time back; out of range means a corrupt record (500), never a panic.
#[cfg(any(feature = "sqlite", feature = "dynamodb"))]
pub(crate) fn from_millis(ms: i64) -> Result<DateTime<Utc>, Error> {
    use chrono::TimeZone;
    Utc.timestamp_millis_opt(ms)
        .single()
        .ok_or_else(|| Error::Internal(format!("stored time {ms} out of range")))
}

/// How long an `Idempotency-Key` is remembered (the IETF draft's suggested window).
pub const IDEMPOTENCY_WINDOW: Duration = Duration::hours(24);

/// A request for a new hold; the caller (the handler) picks the id and the expiry.
#[derive(Debug, Clone)]
pub struct NewHold {
    pub id: HoldId,
    pub slot_id: SlotId,
    pub user_id: UserId,
    pub expires_at: DateTime<Utc>,
    /// The user is proven by a verified JWT: their user record is created with the hold if it
    /// does not exist yet (no provisioning for players). Otherwise an unknown user is 404.
    pub verified_user: bool,
    /// The party size; `None`: the room's `min_players`.
    pub players: Option<u32>,
    /// The player's cap on live holds (`MAX_LIVE_HOLDS_PER_PLAYER`); `None`: no cap.
    pub max_live_holds: Option<u32>,
}

/// An `Idempotency-Key` with what identifies its request (`request`: the normalised body), so a
/// retry with the same key and body is told from a reuse with another body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyKey {
    pub key: String,
    pub request: String,
}

impl IdempotencyKey {
    /// The caller's `key`: keys belong to the player who sends them, so the same key from another
    /// player is another key (a new hold, never a replay or a refusal that tells them the key is
    /// in use). Stored as `owner key` (a space is in neither a user id nor a key).
    pub fn of(owner: &UserId, key: &str, request: String) -> Self {
        Self {
            key: format!("{owner} {key}"),
            request,
        }
    }
}

/// A created hold, or, for a repeated `Idempotency-Key`, the hold its first request created.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Created {
    pub id: HoldId,
    pub slot_id: SlotId,
    pub user_id: UserId,
    pub expires_at: DateTime<Utc>,
    /// This is the first request's answer again; nothing was created now.
    pub replayed: bool,
}

impl NewHold {
    /// The hold as its create answers it.
    pub fn created(&self) -> Created {
        Created {
            id: self.id,
            slot_id: self.slot_id.clone(),
            user_id: self.user_id.clone(),
            expires_at: self.expires_at,
            replayed: false,
        }
    }
}

/// Which of a room's slots a listing page asks for, in (start time, slot id) order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlotWindow {
    /// Slots starting at or after this.
    pub from: DateTime<Utc>,
    /// Slots starting before this, if set.
    pub to: Option<DateTime<Utc>>,
    /// The last slot of the previous page (its start time and id): this page begins after it.
    pub after: Option<(DateTime<Utc>, SlotId)>,
    /// The page size; a store returns up to `limit + 1` slots, so the caller knows whether
    /// another page follows.
    pub limit: usize,
}

/// What applying a schedule did to a room's future slots.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Applied {
    /// Planned slots that did not exist yet.
    pub created: usize,
    /// Existing free slots whose times the plan changed (a new time zone or game length).
    pub updated: usize,
    /// Planned slots not made because a kept (held or booked) slot overlaps them.
    pub skipped: usize,
    /// Future free slots the schedule no longer has.
    pub removed: usize,
    /// Future slots the schedule no longer has but that are held or booked: never touched.
    pub kept: Vec<SlotState>,
}

/// Which bookings a day sheet asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SheetWindow {
    /// Today in the room's time zone (see `domain::today_in`).
    Today,
    /// Slots starting at or after the first and before the second.
    Between(DateTime<Utc>, DateTime<Utc>),
}

/// A room's day sheet: a page of its bookings in a window, in (start, slot id, hold's creation,
/// hold id) order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DaySheet {
    pub time_zone: chrono_tz::Tz,
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub bookings: Vec<Booking>,
    /// Where the next page begins; `None`: this page ends the window.
    pub next: Option<SheetAfter>,
}

/// A position in a day sheet: after this booking.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SheetAfter {
    pub start: DateTime<Utc>,
    pub slot: SlotId,
    pub created: DateTime<Utc>,
    pub hold: HoldId,
}

/// Which page of a listing: after a position (none: the first page), at most `limit` entries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page<P> {
    pub after: Option<P>,
    pub limit: usize,
}

/// A position in a player's holds (newest first): after this hold (its creation, its id).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HoldsAfter {
    pub created: DateTime<Utc>,
    pub hold: HoldId,
}

/// A page of a player's holds, newest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HoldsPage {
    pub holds: Vec<UserHold>,
    /// Where the next page begins; `None`: there is no more.
    pub next: Option<HoldsAfter>,
}

/// One of a user's live holds or bookings, with where and when it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserHold {
    pub hold: Hold,
    pub room_id: RoomId,
    pub created_at: DateTime<Utc>,
}

/// What a confirm writes beside the status: the booking's reference (the first draw; a store
/// draws again on a collision), the digest of its manage key and the contact, if given.
#[derive(Debug, Clone)]
pub struct NewBooking {
    pub reference: Reference,
    pub key: KeyDigest,
    pub contact: Option<Contact>,
    /// The manage key in the clear, for the manage link of the booking's confirmation email
    /// only ([`NewBooking::mailing_link`]): written with the `booking.confirmed` event (outside
    /// its payload) in the confirm's atomic step, moved onto the email's delivery when the event
    /// is fanned out (erased from the event in that step, or simply erased when no email goes),
    /// and erased in the write that records the email delivered or given up. Never in the
    /// event's payload (webhooks), a delivery listing or an export. `None`: no email carries it.
    pub mail_key: Option<ManageKey>,
}

impl NewBooking {
    /// A booking with a fresh reference and manage key (returned beside it: only its digest is
    /// stored).
    pub fn generate(contact: Option<Contact>) -> Result<(Self, ManageKey), Error> {
        let random = |e: crate::domain::Invalid| Error::Internal(e.0);
        let key = ManageKey::generate().map_err(random)?;
        let booking = Self {
            reference: Reference::generate().map_err(random)?,
            key: key.digest(),
            contact,
            mail_key: None,
        };
        Ok((booking, key))
    }

    /// This booking with `key` kept (see [`NewBooking::mail_key`]) for the link of its
    /// confirmation email, if it has a contact email to send one to.
    pub fn mailing_link(mut self, key: &ManageKey) -> Self {
        if self.contact.as_ref().is_some_and(|c| !c.email.is_empty()) {
            self.mail_key = Some(key.clone());
        }
        self
    }
}

/// How many references a confirm draws before it gives up (503): with 2^50 references, a second
/// collision in a row means something other than chance.
pub const REFERENCE_ATTEMPTS: usize = 5;

/// A confirmed hold, and whether this confirm made it so (`false`: a retry of a done confirm,
/// answered with what the first one wrote).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Confirmed {
    pub hold: Hold,
    pub replayed: bool,
}

/// A booking found by its reference: the hold, the digest of its manage key, and its room (if
/// its slot still exists).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManagedBooking {
    pub hold: Hold,
    pub key: KeyDigest,
    pub room_id: Option<RoomId>,
}

/// What retiring a room did: the bookings it cancelled (as an operator's cancellations) and the
/// live holds it released.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Retired {
    pub cancelled: Vec<HoldId>,
    pub released: Vec<HoldId>,
    /// DynamoDB only, and only without `cancel`: bookings confirmed after the retirement's check
    /// and before their slot froze (a moment's window), left as they are for the operator to
    /// cancel (`POST /holds/{hold_id}/cancel`). Always empty on SQLite (one transaction).
    pub kept: Vec<HoldId>,
}

/// A room's calendar feed for its staff: the digest of its key (the key itself is shown once,
/// by the rotation that made it) and when it was made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CalendarFeed {
    pub key: KeyDigest,
    pub rotated_at: DateTime<Utc>,
}

/// The request path's storage, its outbox ([`Outbox`]: the events written with the changes and
/// their deliveries) and the webhook endpoints ([`Webhooks`]).
#[async_trait]
pub trait Store: Outbox + Webhooks + Send + Sync {
    /// The room's slots in start-time order, each with its booked flag and its latest `HOLD`
    /// hold (possibly expired: the caller compares with `now`). One read: a snapshot on SQLite;
    /// on DynamoDB one `Query` of the room's index (more pages only for rooms over 1 MB), which
    /// is eventually consistent, so a write of the last moment may not show yet. Listing only
    /// informs; every decision is taken by the guarded writes below, which are always current.
    ///
    /// Up to `window.limit + 1` slots of the window, in (start time, id) order: one query.
    ///
    /// Errors: `RoomNotFound` when the room does not exist.
    async fn list_slots(
        &self,
        room: &RoomId,
        window: &SlotWindow,
        now: DateTime<Utc>,
    ) -> Result<Vec<SlotState>, Error>;

    /// Creates `hold` unless the slot is booked, carries a live hold (`expires_at > now`) or has
    /// started, in one atomic guarded write: however many callers race on one slot, exactly one
    /// succeeds. An expired hold does not block (lazy expiry). With `key`, the key is stored in
    /// the same atomic step; a key already stored (within [`IDEMPOTENCY_WINDOW`]) for the same
    /// request answers its first hold again (`replayed`) and creates nothing.
    ///
    /// Errors: `SlotUnavailable` (held or booked), `SlotStarted`, `SlotNotFound`,
    /// `UserNotFound`, `IdempotencyKeyReused` (the key with another request),
    /// `IdempotencyKeyInUse` (its first request is being written at this moment).
    ///
    /// With `hold.max_live_holds`, the player's live holds (`HOLD`, not expired) are counted in
    /// the same atomic step: at the cap the hold is refused with `HoldLimit` (its
    /// `retry_after_seconds`: until the player's earliest live hold expires, at least 1), before
    /// any other refusal but after an idempotent replay (a replay is not a new hold). Of N
    /// simultaneous holds by one player with k places free, exactly k succeed.
    async fn create_hold(
        &self,
        hold: &NewHold,
        key: Option<&IdempotencyKey>,
        now: DateTime<Utc>,
    ) -> Result<Created, Error>;

    /// Marks the hold `CONFIRMED` and its slot booked in one atomic step, only if the hold is
    /// `user`'s, in status `HOLD`, `now < expires_at` and the slot has not started. A hold
    /// already confirmed by `user` is returned as is (idempotent retry).
    ///
    /// With `max_bookings`, the player's upcoming bookings (confirmed, not cancelled, slot not
    /// started) are counted in the same atomic step: at the cap the confirm is refused with
    /// `BookingLimit` and the hold stays a hold. Of N simultaneous confirms by a player with one
    /// place left, exactly one succeeds. A retried confirm of a confirmed hold is never refused.
    ///
    /// Errors: `NotHoldOwner`, `HoldGone` (unknown, expired or released), `SlotStarted`,
    /// `BookingLimit`.
    ///
    /// The booking's reference, the digest of its manage key and its contact are written in the
    /// same atomic step; the reference is unique (SQLite: a unique index; DynamoDB: a `REF#`
    /// item put only if new in the same transaction): on a collision the store draws another,
    /// up to [`REFERENCE_ATTEMPTS`] times. The `booking.confirmed` event ([`Outbox`]) is written in
    /// the same atomic step (a retry that confirms nothing writes none).
    async fn confirm_booking(
        &self,
        id: HoldId,
        user: &UserId,
        booking: &NewBooking,
        max_bookings: Option<u32>,
        now: DateTime<Utc>,
    ) -> Result<Confirmed, Error>;

    /// [`Store::confirm_booking`] with a fresh reference and key and no contact (tests, seeds).
    async fn confirm_hold(
        &self,
        id: HoldId,
        user: &UserId,
        max_bookings: Option<u32>,
        now: DateTime<Utc>,
    ) -> Result<Hold, Error> {
        let (booking, _key) = NewBooking::generate(None)?;
        Ok(self
            .confirm_booking(id, user, &booking, max_bookings, now)
            .await?
            .hold)
    }

    /// The booking with `reference`, with the digest of its manage key (the caller compares the
    /// presented key with it). `None` for an unknown reference.
    async fn booking_by_reference(
        &self,
        reference: &Reference,
        now: DateTime<Utc>,
    ) -> Result<Option<ManagedBooking>, Error>;

    /// The room's calendar feed (the digest of its key and when it was made), if it has one.
    /// One read.
    async fn calendar_feed(&self, room: &RoomId) -> Result<Option<CalendarFeed>, Error>;

    /// Makes `key` the digest of the room's calendar feed key, made at `now`, replacing any
    /// earlier key (which stops working at once), in one atomic write guarded on the room
    /// existing (SQLite: one `INSERT … SELECT … WHERE EXISTS (the room) ON CONFLICT DO UPDATE`;
    /// DynamoDB: one `TransactWriteItems` of a condition check on the room's item and the put of
    /// the feed's item). Of two rotations at once, the last written wins and the other's key is
    /// dead: both were shown to an operator, one works.
    ///
    /// Errors: `RoomNotFound`.
    async fn rotate_calendar_feed(
        &self,
        room: &RoomId,
        key: &KeyDigest,
        now: DateTime<Utc>,
    ) -> Result<(), Error>;

    /// Erases the contact details of every booking whose slot ended before `ended_before` (the
    /// daily job passes now − `CONTACT_RETENTION_DAYS`); says how many it erased.
    async fn erase_contacts(&self, ended_before: DateTime<Utc>) -> Result<usize, Error>;

    /// Marks the hold `RELEASED` (its slot is free at once) in one atomic step, only if it is
    /// `user`'s, `HOLD` and live. A retry of a release by `user` is answered with the released
    /// hold only until the hold's `expires_at`; after it, a released hold is as gone as an
    /// expired one (`HoldGone`), on both stores (see `domain::explain_release`).
    ///
    /// Errors: `NotHoldOwner`, `HoldConfirmed`, `HoldGone` (unknown or expired).
    async fn release_hold(
        &self,
        id: HoldId,
        user: &UserId,
        now: DateTime<Utc>,
    ) -> Result<Hold, Error>;

    /// Moves a live hold's `expires_at` to `expires_at`, once, in one atomic guarded step (only
    /// if it is `user`'s, `HOLD`, live, not extended yet and its slot has not started). Returns
    /// the new expiry.
    ///
    /// Errors: `NotHoldOwner`, `HoldGone` (unknown or expired), `ExtensionUsed`,
    /// `HoldConfirmed`, `HoldReleased`, `SlotStarted`.
    async fn extend_hold(
        &self,
        id: HoldId,
        user: &UserId,
        expires_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<DateTime<Utc>, Error>;

    /// Cancels a booking: the hold becomes `CANCELLED` and its slot free, in one atomic step
    /// guarded on the hold being this slot's `CONFIRMED` booking (a stale cancel never touches a
    /// newer booking), on the canceller (a player: their own booking; an operator: any) and on
    /// `now` being before the canceller's deadline (`Canceller::deadline`: the start for an
    /// operator; for a player the earlier of the service's and the room's cut-offs). Who
    /// cancelled, and an operator's reason, are recorded, and the cancelled booking stays on its
    /// room's day sheet after the slot is booked again. Cancelling again is answered as done. The
    /// `booking.cancelled` event ([`Outbox`]) is written in the same atomic step.
    ///
    /// Errors: `NotHoldOwner`, `HoldGone` (unknown), `HoldNotConfirmed`, `SlotStarted`,
    /// `CancelCutoff`.
    async fn cancel_hold(
        &self,
        id: HoldId,
        by: &Canceller,
        now: DateTime<Utc>,
    ) -> Result<(), Error>;

    /// A page of the room's bookings whose slots start in `window` (resolved in the room's
    /// time zone): EVERY hold that was confirmed, `CONFIRMED` or `CANCELLED` (with who cancelled
    /// and why), including a cancelled booking whose slot was held again since, in (start time,
    /// slot id, hold's creation, hold id) order. At most `page.limit` bookings after
    /// `page.after`; `next` is set when more may follow (on DynamoDB a page can be shorter than
    /// the limit and still have a `next`).
    ///
    /// Errors: `RoomNotFound`.
    async fn room_bookings(
        &self,
        room: &RoomId,
        window: SheetWindow,
        page: &Page<SheetAfter>,
        now: DateTime<Utc>,
    ) -> Result<DaySheet, Error>;

    /// The hold as stored, one read. (On DynamoDB a hold its slot no longer carries is told from
    /// its record: `CANCELLED`, else `RELEASED` before its `expires_at` and `HOLD` after it —
    /// either way `domain::Hold::view_status` shows `EXPIRED` after it, as for SQLite's rows.)
    async fn get_hold(&self, id: HoldId, now: DateTime<Utc>) -> Result<Option<Hold>, Error>;

    /// Removes the `Idempotency-Key`s made before `before` (the daily job passes now − 24 h) and
    /// says how many. SQLite deletes them; DynamoDB's TTL removes them by itself (the key items
    /// carry `ttl`), so there it removes none.
    async fn forget_idempotency_keys(&self, before: DateTime<Utc>) -> Result<usize, Error>;

    /// A page of `user`'s holds, newest first (hold's creation, then id, descending): by
    /// default the current ones (`HOLD` not expired, or `CONFIRMED` and not started); with
    /// `include_past` every hold the player made (expired, released, cancelled and played ones
    /// too). At most `page.limit` holds after `page.after`; `next` is set when more may follow
    /// (on DynamoDB a page of current holds can be shorter than the limit and still have a
    /// `next`: a page reads a bounded number of items).
    async fn user_holds(
        &self,
        user: &UserId,
        page: &Page<HoldsAfter>,
        include_past: bool,
        now: DateTime<Utc>,
    ) -> Result<HoldsPage, Error>;

    /// Every room, by id.
    async fn list_rooms(&self) -> Result<Vec<Room>, Error>;

    /// One room, if it exists.
    async fn get_room(&self, room: &RoomId) -> Result<Option<Room>, Error>;

    /// Creates or replaces a room (its name and rules; its slots keep their times), in one
    /// write. The new rules apply at once to the room's slots starting after `now` (on
    /// DynamoDB, whose slot items carry a copy, by copying them when they changed). Returns
    /// whether it was created.
    ///
    /// A new room is refused with a 422 naming the limit when `max_rooms` rooms exist already
    /// (`None`: no limit). The count and the insert are one atomic step (SQLite: a guarded
    /// `INSERT` in the write transaction; DynamoDB: the room's put and a conditional update of
    /// a counter item in one `TransactWriteItems`), so of N simultaneous creations at
    /// `max_rooms - 1` rooms exactly one succeeds. Replacing a room is never refused.
    async fn put_room(
        &self,
        room: &Room,
        max_rooms: Option<usize>,
        now: DateTime<Utc>,
    ) -> Result<bool, Error>;

    /// Retires (archives) a room: from then on it is gone from [`Store::list_rooms`],
    /// [`Store::get_room`] and [`Store::list_slots`] (`RoomNotFound`), its slots take no hold
    /// (`SlotNotFound`), the daily horizon run skips it and [`Store::put_room`] of its id is
    /// `RoomArchived`. Its day sheet stays readable. Every live hold on its upcoming slots is
    /// released. Its upcoming bookings (`CONFIRMED`, slot not started) refuse the retirement
    /// with `RoomHasBookings` unless `cancel` is given (an operator's [`Canceller`]): then each
    /// is cancelled exactly as [`Store::cancel_hold`] by that operator cancels it.
    ///
    /// SQLite: all of it in one write transaction. DynamoDB: many requests, ordered so that no
    /// hold or booking slips in (see `docs/dynamodb-table.md`, "Retiring a room").
    ///
    /// Errors: `RoomNotFound` (unknown or already retired), `RoomHasBookings`.
    async fn retire_room(
        &self,
        room: &RoomId,
        cancel: Option<&Canceller>,
        now: DateTime<Utc>,
    ) -> Result<Retired, Error>;

    /// The room's stored weekly schedule, if it has one.
    async fn get_schedule(&self, room: &RoomId) -> Result<Option<Schedule>, Error>;

    /// Stores `schedule` as the room's and makes its slots from `from` on the `planned` ones:
    /// removes each slot starting at or after `from` that the plan no longer has, unless it is
    /// booked or carries a live hold (those are kept and returned); moves a free existing slot
    /// whose planned times differ; creates the planned slots that do not exist, except those a
    /// kept slot overlaps (a room never has two games at once; counted as skipped). Every
    /// removal and move is guarded on the slot being free at that moment, so a hold racing the
    /// schedule is never lost. Idempotent: applying the same plan again changes nothing.
    async fn apply_schedule(
        &self,
        room: &Room,
        schedule: &Schedule,
        planned: &[PlannedSlot],
        from: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<Applied, Error>;
}

/// Whether `[a_start, a_end)` and `[b_start, b_end)` overlap.
#[cfg(any(feature = "sqlite", feature = "dynamodb"))]
pub(crate) fn overlaps(
    (a_start, a_end): (DateTime<Utc>, DateTime<Utc>),
    (b_start, b_end): (DateTime<Utc>, DateTime<Utc>),
) -> bool {
    a_start < b_end && b_start < a_end
}
