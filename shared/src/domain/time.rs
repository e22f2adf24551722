//! Time as the contract writes it (RFC 3339, UTC, `Z`) and the few time rules every part of the
//! domain shares: when a slot has started, and a venue's local day.

use chrono::{DateTime, Duration, SecondsFormat, Utc};

/// Formats a time as the contract does: RFC 3339, UTC, `Z` suffix, milliseconds only when
/// non-zero (`2026-11-24T15:00:00Z`, `2026-11-24T15:05:00.250Z`).
pub fn format_time(t: DateTime<Utc>) -> String {
    let mut buf = [0u8; 24];
    write_time(t, &mut buf).to_owned()
}

/// Writes `t` into `buf` without allocating (a listing formats two times per slot, so this is on
/// the hot path); falls back to chrono outside years 0–9999.
fn write_time(t: DateTime<Utc>, buf: &mut [u8; 24]) -> &str {
    use chrono::{Datelike, Timelike};
    let year = t.year();
    if !(0..=9999).contains(&year) {
        let fallback = t.to_rfc3339_opts(SecondsFormat::AutoSi, true);
        let n = fallback.len().min(buf.len());
        buf[..n].copy_from_slice(&fallback.as_bytes()[..n]);
        return std::str::from_utf8(&buf[..n]).unwrap_or_default();
    }
    let millis = t.timestamp_subsec_millis().min(999);
    let fields = [
        (0, 4, year as u32),
        (5, 2, t.month()),
        (8, 2, t.day()),
        (11, 2, t.hour()),
        (14, 2, t.minute()),
        (17, 2, t.second().min(59)),
        (20, 3, millis),
    ];
    for (at, width, mut value) in fields {
        for i in (at..at + width).rev() {
            buf[i] = b'0' + (value % 10) as u8;
            value /= 10;
        }
    }
    buf[4] = b'-';
    buf[7] = b'-';
    buf[10] = b'T';
    buf[13] = b':';
    buf[16] = b':';
    let len = if millis == 0 {
        buf[19] = b'Z';
        20
    } else {
        buf[19] = b'.';
        buf[23] = b'Z';
        24
    };
    std::str::from_utf8(&buf[..len]).unwrap_or_default()
}

/// Serde adapter for contract-formatted times.
pub mod rfc3339 {
    use super::*;
    use serde::Serializer;

    pub fn serialize<S: Serializer>(t: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(write_time(*t, &mut [0u8; 24]))
    }

    pub mod option {
        use super::*;

        pub fn serialize<S: Serializer>(
            t: &Option<DateTime<Utc>>,
            s: S,
        ) -> Result<S::Ok, S::Error> {
            match t {
                Some(t) => super::serialize(t, s),
                None => s.serialize_none(),
            }
        }
    }
}

/// Whether a slot starting at `starts_at` has started at `now` (a slot starting exactly now has).
pub fn has_started(starts_at: DateTime<Utc>, now: DateTime<Utc>) -> bool {
    starts_at <= now
}

/// The local day containing `now` in `zone`, as a UTC window `[start, end)`: from the day's first
/// moment to the next day's (23 or 25 hours on daylight-saving days).
pub fn today_in(zone: chrono_tz::Tz, now: DateTime<Utc>) -> (DateTime<Utc>, DateTime<Utc>) {
    let date = now.with_timezone(&zone).date_naive();
    let start = day_start(zone, date).unwrap_or(now);
    let end = date
        .succ_opt()
        .and_then(|next| day_start(zone, next))
        .unwrap_or(start + Duration::days(1));
    (start, end)
}

/// The first moment of a local date: its midnight, or (where the clocks skip midnight) the first
/// minute after it that exists.
fn day_start(zone: chrono_tz::Tz, date: chrono::NaiveDate) -> Option<DateTime<Utc>> {
    use chrono::TimeZone;
    (0..=180).step_by(15).find_map(|minutes| {
        let local = date.and_hms_opt(0, 0, 0)? + Duration::minutes(minutes);
        zone.from_local_datetime(&local)
            .earliest()
            .map(|t| t.with_timezone(&Utc))
    })
}
