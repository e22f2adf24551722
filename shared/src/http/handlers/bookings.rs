//! `GET /rooms/{room_id}/bookings` (operator): the day sheet, a room's bookings in a window.

use chrono::Duration;
use lambda_http::http::StatusCode;

use super::Answer;
use crate::domain::RoomId;
use crate::error::Error;
use crate::http::call::Call;
use crate::http::extract::missing;
use crate::http::response::json_response;
use crate::http::views::{BookingView, DaySheetView};
use crate::store::SheetWindow;

/// The longest window a day sheet may ask for.
pub const MAX_SHEET_DAYS: i64 = 31;

/// `GET /rooms/{room_id}/bookings[?from=…[&to=…]]`: today in the venue's zone by default;
/// `from` alone is 24 hours.
pub async fn day_sheet(call: &Call<'_>) -> Answer {
    call.operator()?;
    let room: RoomId = call.path("room_id")?;
    let window = match (call.time("from")?, call.time("to")?) {
        (None, None) => SheetWindow::Today,
        (Some(from), None) => SheetWindow::Between(from, from + Duration::days(1)),
        (None, Some(_)) => return Err(missing("from")),
        (Some(from), Some(to)) if to <= from => {
            return Err(Error::Validation("`to` must be after `from`.".into()));
        }
        (Some(from), Some(to)) if to - from > Duration::days(MAX_SHEET_DAYS) => {
            return Err(Error::Validation(format!(
                "A day sheet spans at most {MAX_SHEET_DAYS} days."
            )));
        }
        (Some(from), Some(to)) => SheetWindow::Between(from, to),
    };
    let sheet = call
        .app
        .store
        .room_bookings(&room, window, call.now)
        .await?;
    let bookings = sheet
        .bookings
        .iter()
        .map(|b| BookingView::of(b, sheet.time_zone))
        .collect();
    Ok(json_response(
        StatusCode::OK,
        &DaySheetView {
            room_id: room.as_str(),
            time_zone: sheet.time_zone.name(),
            from: sheet.from,
            to: sheet.to,
            bookings,
        },
    ))
}
