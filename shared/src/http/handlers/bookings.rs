//! `GET /rooms/{room_id}/bookings` (operator): the day sheet, a room's bookings in a window.

use chrono::Duration;
use lambda_http::http::StatusCode;

use super::Answer;
use crate::domain::RoomId;
use crate::error::Error;
use crate::http::call::Call;
use crate::http::cursor;
use crate::http::extract::{DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, missing, number_param};
use crate::http::response::json_response;
use crate::http::views::{BookingView, DaySheetView};
use crate::store::{Page, SheetWindow};

/// The longest window a day sheet may ask for.
pub const MAX_SHEET_DAYS: i64 = 31;

/// `GET /rooms/{room_id}/bookings[?from=…[&to=…]][&limit=…][&cursor=…]`: today in the venue's
/// zone by default; `from` alone is 24 hours. Every booking of the window, cancelled ones too,
/// a page at a time.
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
    let limit = number_param(call.request, "limit", 1..=MAX_PAGE_SIZE, DEFAULT_PAGE_SIZE)?;
    let after = call
        .query("cursor")
        .map(|c| cursor::decode_sheet(c, &room))
        .transpose()?;
    let sheet = call
        .app
        .store
        .room_bookings(&room, window, &Page { after, limit }, call.now)
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
            next_cursor: sheet.next.map(|next| cursor::encode_sheet(&room, &next)),
        },
    ))
}
