//! The manage link's routes: `GET /bookings/{reference}` and `POST /bookings/{reference}/cancel`,
//! whose only credential is the booking's manage key as the bearer. A missing or wrong key and
//! an unknown reference are one answer, 404 `BOOKING_NOT_FOUND`, so a reference alone proves
//! nothing and tells nothing; any other bearer was refused with 401 before the handler
//! (`identity::credential`). On the local server every request with a bearer that is not an
//! operator's or a player's token spends the `"auth"` rate limit, so keys cannot be guessed fast.

use lambda_http::http::StatusCode;

use super::Answer;
use crate::domain::{Canceller, Reference};
use crate::error::Error;
use crate::http::call::Call;
use crate::http::identity::Credential;
use crate::http::response::json_response;
use crate::http::views::{HoldChanged, ManagedBookingView, local};
use crate::store::ManagedBooking;

/// The booking the path's reference names, if the request's key is its key; otherwise 404.
pub(crate) async fn managed(call: &Call<'_>) -> Result<ManagedBooking, Error> {
    let key = match &call.credential {
        Credential::ManageKey(key) => key,
        Credential::None => return Err(Error::BookingNotFound),
        _ => return Err(Error::InvalidToken),
    };
    // A malformed reference can name no booking: the same 404 as any other.
    let reference: Reference = call.path("reference").map_err(|_| Error::BookingNotFound)?;
    let booking = call
        .app
        .store
        .booking_by_reference(&reference, call.now)
        .await?;
    match booking {
        Some(booking) if booking.key.matches(key.as_str()) => Ok(booking),
        _ => Err(Error::BookingNotFound),
    }
}

/// `GET /bookings/{reference}`: the booking, in the venue's local time with its zone.
pub async fn get(call: &Call<'_>) -> Answer {
    let booking = managed(call).await?;
    let room = match &booking.room_id {
        Some(room) => call.app.store.get_room(room).await?,
        None => None,
    };
    let zone: chrono_tz::Tz = match &room {
        Some(room) => room.policy.time_zone.parse().map_err(|_| {
            Error::Internal(format!(
                "room {} has time zone {}",
                room.id, room.policy.time_zone
            ))
        })?,
        None => chrono_tz::UTC,
    };
    let hold = &booking.hold;
    let reference = hold.details.reference.as_ref().map(Reference::as_str);
    let cancel_by = hold.cancel_by.min(hold.starts_at - call.app.cancel_cutoff);
    Ok(json_response(
        StatusCode::OK,
        &ManagedBookingView {
            reference: reference.unwrap_or_default(),
            hold_id: hold.id.to_string(),
            slot_id: hold.slot_id.as_str(),
            room_id: booking.room_id.as_ref().map(|r| r.as_str()),
            room_name: room.as_ref().map(|r| r.name.as_str()),
            start_time: hold.starts_at,
            local_start: local(hold.starts_at, zone),
            time_zone: zone.name(),
            status: hold.view_status(call.now),
            players: hold.players,
            cancel_by,
            contact: hold.details.contact.as_ref(),
        },
    ))
}

/// `POST /bookings/{reference}/cancel`: the booking cancelled as its player would (their
/// cut-off, not after the start), recorded as cancelled by the player. The key proves the
/// caller; the cancellation itself is the store's one guarded write, as for any player.
pub async fn cancel(call: &Call<'_>) -> Answer {
    let booking = managed(call).await?;
    let by = Canceller::Player {
        user: booking.hold.user_id.clone(),
        cutoff: call.app.cancel_cutoff,
    };
    call.app
        .store
        .cancel_hold(booking.hold.id, &by, call.now)
        .await?;
    Ok(json_response(
        StatusCode::OK,
        &HoldChanged {
            hold_id: booking.hold.id.to_string(),
            status: crate::domain::HoldStatus::Cancelled,
        },
    ))
}
