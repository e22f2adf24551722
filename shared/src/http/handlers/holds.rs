//! A player's holds and bookings: hold a slot, confirm, release, extend, cancel (a player's own
//! booking, or any booking by an operator), and the look-ups of one hold and of a player's holds.

use lambda_http::http::header::LOCATION;
use lambda_http::http::{HeaderValue, StatusCode};
use serde::Deserialize;

use super::Answer;
use crate::config::PlayerAuth;
use crate::domain::{Canceller, Contact, HoldId, HoldStatus, Reference, SlotId, UserId};
use crate::error::Error;
use crate::http::call::Call;
use crate::http::cursor;
use crate::http::extract::{
    DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, flag_param, idempotency_key, number_param,
};
use crate::http::identity::Credential;
use crate::http::response::json_response;
use crate::http::views::{
    HoldChanged, HoldConfirmed, HoldCreated, HoldExtended, HoldView, UserHoldView, UserHolds,
};
use crate::store::{IdempotencyKey, NewBooking, NewHold, Page};

/// The longest reason an operator may give for a cancellation, in characters.
pub const MAX_REASON_LEN: usize = 500;

#[derive(Deserialize)]
struct CreateHoldBody {
    slot_id: SlotId,
    /// Required in `trusted` mode; optional with a token (then it must be the token's player).
    #[serde(default)]
    user_id: Option<UserId>,
    /// The party size (the room's `min_players` when absent).
    #[serde(default)]
    players: Option<u32>,
}

/// A cancellation: a player's (`user_id`) or an operator's (`reason`).
#[derive(Deserialize)]
struct CancelBody {
    #[serde(default)]
    user_id: Option<UserId>,
    #[serde(default)]
    reason: Option<String>,
}

#[derive(Deserialize)]
struct UserBody {
    #[serde(default)]
    user_id: Option<UserId>,
}

/// `POST /holds`: holds a slot for `hold_ttl`, once per `Idempotency-Key`.
pub async fn create(call: &Call<'_>) -> Answer {
    let body: CreateHoldBody = call.body()?;
    let user_id = call.player(body.user_id)?;
    // A player proven by a token (a JWT's, or the service's own in `guest` mode) needs no
    // provisioning: their first hold makes their user record, in the same atomic step.
    let verified_user = !matches!(call.credential, Credential::None);
    let key = idempotency_key(call.request)?.map(|key| {
        let request = match body.players {
            None => format!("{}\n{}", body.slot_id, user_id),
            Some(players) => format!("{}\n{}\n{players}", body.slot_id, user_id),
        };
        IdempotencyKey::of(&user_id, &key, request)
    });
    let new = NewHold {
        id: HoldId::generate(&body.slot_id),
        slot_id: body.slot_id,
        user_id,
        expires_at: call.now + call.app.hold_ttl,
        verified_user,
        players: body.players,
        max_live_holds: call.app.caps.live_holds,
    };
    let created = call
        .app
        .store
        .create_hold(&new, key.as_ref(), call.now)
        .await?;
    let hold_id = created.id.to_string();
    let mut response = json_response(
        StatusCode::CREATED,
        &HoldCreated {
            hold_id: &hold_id,
            slot_id: created.slot_id.as_str(),
            user_id: created.user_id.as_str(),
            status: HoldStatus::Hold,
            expires_at: created.expires_at,
        },
    );
    if let Ok(location) = HeaderValue::from_str(&format!("/holds/{hold_id}")) {
        response.headers_mut().insert(LOCATION, location);
    }
    if created.replayed {
        response
            .headers_mut()
            .insert("idempotent-replayed", HeaderValue::from_static("true"));
    }
    Ok(response)
}

/// The hold id from the path and the caller from the body, validated, for the actions on a hold.
fn hold_action(call: &Call<'_>) -> Result<(HoldId, UserId), Error> {
    let hold_id = call.path("hold_id")?;
    let body: UserBody = call.body()?;
    Ok((hold_id, call.player(body.user_id)?))
}

/// A confirm's body: the player (`trusted` mode) and how to reach them.
#[derive(Deserialize)]
struct ConfirmBody {
    #[serde(default)]
    user_id: Option<UserId>,
    #[serde(default)]
    contact: Option<ContactBody>,
}

#[derive(Deserialize)]
struct ContactBody {
    name: String,
    email: String,
    #[serde(default)]
    phone: Option<String>,
}

/// `POST /holds/{hold_id}/confirm`: the hold becomes a booking with a reference and a manage
/// key (answered once: only its digest is kept) and, if sent, the contact (required in `guest`
/// mode, where the service knows nothing else of the player).
pub async fn confirm(call: &Call<'_>) -> Answer {
    let hold_id = call.path("hold_id")?;
    let body: ConfirmBody = call.body()?;
    let user = call.player(body.user_id)?;
    let contact = body
        .contact
        .map(|c| Contact::checked(&c.name, &c.email, c.phone.as_deref()))
        .transpose()?;
    if contact.is_none() && call.app.players.mode() == PlayerAuth::Guest {
        return Err(Error::ContactRequired);
    }
    let (booking, key) = NewBooking::generate(contact)?;
    // The confirmation email's link carries the key (kept for it only until it is sent), when
    // there is a page to link to.
    let booking = match &call.app.bookings.public_base_url {
        Some(_) => booking.mailing_link(&key),
        None => booking,
    };
    let confirmed = call
        .app
        .store
        .confirm_booking(
            hold_id,
            &user,
            &booking,
            call.app.caps.upcoming_bookings,
            call.now,
        )
        .await?;
    let hold = &confirmed.hold;
    let reference = hold.details.reference.as_ref().map(Reference::as_str);
    // Only the confirm that wrote the key's digest can answer the key.
    let manage_key = (!confirmed.replayed).then_some(key.as_str());
    let manage_url = match (&call.app.bookings.public_base_url, reference, manage_key) {
        (Some(base), Some(reference), Some(key)) => {
            Some(format!("{base}/booking/{reference}#key={key}"))
        }
        _ => None,
    };
    Ok(json_response(
        StatusCode::OK,
        &HoldConfirmed {
            hold_id: hold.id.to_string(),
            slot_id: hold.slot_id.as_str(),
            status: HoldStatus::Confirmed,
            reference,
            manage_key,
            manage_url,
            contact: hold.details.contact.as_ref(),
        },
    ))
}

/// `POST /holds/{hold_id}/release`.
pub async fn release(call: &Call<'_>) -> Answer {
    let (hold_id, user) = hold_action(call)?;
    let hold = call
        .app
        .store
        .release_hold(hold_id, &user, call.now)
        .await?;
    Ok(json_response(
        StatusCode::OK,
        &HoldChanged {
            hold_id: hold.id.to_string(),
            status: HoldStatus::Released,
        },
    ))
}

/// `POST /holds/{hold_id}/extend`: once, by another `hold_ttl` from now.
pub async fn extend(call: &Call<'_>) -> Answer {
    let (hold_id, user) = hold_action(call)?;
    let expires_at = call
        .app
        .store
        .extend_hold(hold_id, &user, call.now + call.app.hold_ttl, call.now)
        .await?;
    Ok(json_response(
        StatusCode::OK,
        &HoldExtended {
            hold_id: hold_id.to_string(),
            status: HoldStatus::Hold,
            expires_at,
        },
    ))
}

/// `POST /holds/{hold_id}/cancel`: a player cancels their booking (`{"user_id"}`); an operator
/// any booking, with a reason (`{"reason"}` and the operator's credentials).
pub async fn cancel(call: &Call<'_>) -> Answer {
    let hold_id: HoldId = call.path("hold_id")?;
    let body: CancelBody = call.body()?;
    let by = match (&call.credential, body.user_id) {
        // An operator's token (or a bearer when no operator is configured, which answers 403),
        // or a JWT naming no user: an operator's cancellation.
        (Credential::Operator(_) | Credential::NoOperatorConfigured, _)
        | (Credential::Jwt, None) => Canceller::Operator {
            name: call.operator()?,
            reason: operator_reason(body.reason.as_deref())?,
        },
        // A player's: the user named (`trusted`), or the token's player.
        (_, claimed) => Canceller::Player {
            user: call.player(claimed)?,
            cutoff: call.app.cancel_cutoff,
        },
    };
    call.app.store.cancel_hold(hold_id, &by, call.now).await?;
    Ok(json_response(
        StatusCode::OK,
        &HoldChanged {
            hold_id: hold_id.to_string(),
            status: HoldStatus::Cancelled,
        },
    ))
}

/// An operator's reason for a cancellation: 1–[`MAX_REASON_LEN`] characters, trimmed.
pub(crate) fn operator_reason(reason: Option<&str>) -> Result<String, Error> {
    let reason = reason.map(str::trim).unwrap_or_default();
    if reason.is_empty() || reason.chars().count() > MAX_REASON_LEN {
        return Err(Error::Validation(format!(
            "`reason` must be 1-{MAX_REASON_LEN} characters: an operator says why a booking is cancelled."
        )));
    }
    Ok(reason.to_owned())
}

/// `GET /holds/{hold_id}?user_id=…`: the hold, to its owner only.
pub async fn get(call: &Call<'_>) -> Answer {
    let hold_id: HoldId = call.path("hold_id")?;
    let claimed = call.query("user_id").map(UserId::parse).transpose()?;
    let claimed = call.player(claimed)?;
    let hold = call
        .app
        .store
        .get_hold(hold_id, call.now)
        .await?
        .ok_or(Error::HoldNotFound)?;
    if hold.user_id != claimed {
        return Err(Error::NotHoldOwner);
    }
    Ok(json_response(
        StatusCode::OK,
        &HoldView::of(&hold, call.now),
    ))
}

/// `GET /users/{user_id}/holds[?include_past=true][&limit=…][&cursor=…]`: a page of the
/// player's holds, newest first: the live holds and upcoming bookings, or with `include_past`
/// every hold they made.
pub async fn list_user(call: &Call<'_>) -> Answer {
    let user: UserId = call.path("user_id")?;
    let user = call.player(Some(user))?;
    let limit = number_param(call.request, "limit", 1..=MAX_PAGE_SIZE, DEFAULT_PAGE_SIZE)?;
    let include_past = flag_param(call.request, "include_past")?;
    let after = call
        .query("cursor")
        .map(|c| cursor::decode_holds(c, &user))
        .transpose()?;
    let now = call.now;
    let page = call
        .app
        .store
        .user_holds(&user, &Page { after, limit }, include_past, now)
        .await?;
    let holds = page
        .holds
        .iter()
        .map(|h| UserHoldView {
            hold_id: h.hold.id.to_string(),
            slot_id: h.hold.slot_id.as_str(),
            room_id: h.room_id.as_str(),
            start_time: h.hold.starts_at,
            status: h.hold.view_status(now),
            expires_at: h.hold.expires_at,
            seconds_left: h.hold.seconds_left(now),
            players: h.hold.players,
            reference: h.hold.details.reference.as_ref().map(Reference::as_str),
            contact: h.hold.details.contact.as_ref(),
        })
        .collect();
    Ok(json_response(
        StatusCode::OK,
        &UserHolds {
            user_id: user.as_str(),
            holds,
            next_cursor: page.next.map(|next| cursor::encode_holds(&user, &next)),
        },
    ))
}
