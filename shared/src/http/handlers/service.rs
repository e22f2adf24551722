//! `GET /service` (public): what a client needs to know before it acts — how players are
//! identified, how long a hold lives and the per-player caps. The booking page reads it first.

use lambda_http::http::StatusCode;

use super::Answer;
use crate::http::call::Call;
use crate::http::response::json_response;
use crate::http::views::ServiceView;

/// `GET /service`.
pub fn get(call: &Call<'_>) -> Answer {
    let app = call.app;
    Ok(json_response(
        StatusCode::OK,
        &ServiceView {
            player_auth: app.players.mode().as_str(),
            hold_ttl_seconds: app.hold_ttl.num_seconds(),
            max_live_holds_per_player: app.caps.live_holds.unwrap_or(0),
            max_upcoming_bookings_per_player: app.caps.upcoming_bookings.unwrap_or(0),
        },
    ))
}
