//! The JSON spellings of a schedule's days (`MON`..`SUN`), start times (`HH:MM`) and dates
//! (`YYYY-MM-DD`), strict: any other spelling is refused with a sentence naming it.

use chrono::{NaiveDate, NaiveTime, Weekday};

use super::WEEK;
use crate::domain::echo;

pub(super) fn day_name(day: Weekday) -> &'static str {
    match day {
        Weekday::Mon => "MON",
        Weekday::Tue => "TUE",
        Weekday::Wed => "WED",
        Weekday::Thu => "THU",
        Weekday::Fri => "FRI",
        Weekday::Sat => "SAT",
        Weekday::Sun => "SUN",
    }
}

fn parse_day(name: &str) -> Result<Weekday, String> {
    WEEK.iter()
        .copied()
        .find(|&day| day_name(day) == name)
        .ok_or_else(|| {
            format!(
                "unknown day {:?}: expected one of MON, TUE, WED, THU, FRI, SAT, SUN",
                echo(name)
            )
        })
}

/// `HH:MM`, 00:00 to 23:59, exactly five characters.
pub(super) fn parse_clock_time(text: &str) -> Result<NaiveTime, String> {
    let refuse = || {
        format!(
            "start {:?} is not a time as \"HH:MM\" (00:00 to 23:59)",
            echo(text)
        )
    };
    let digits = text.as_bytes();
    let [h1, h2, b':', m1, m2] = *digits else {
        return Err(refuse());
    };
    let number = |a: u8, b: u8| {
        (a.is_ascii_digit() && b.is_ascii_digit())
            .then(|| u32::from(a - b'0') * 10 + u32::from(b - b'0'))
    };
    let (Some(hour), Some(minute)) = (number(h1, h2), number(m1, m2)) else {
        return Err(refuse());
    };
    NaiveTime::from_hms_opt(hour, minute, 0).ok_or_else(refuse)
}

/// `YYYY-MM-DD`, exactly ten characters, a real date.
pub(super) fn parse_iso_date(text: &str) -> Result<NaiveDate, String> {
    let refuse = || format!("{:?} is not a date as \"YYYY-MM-DD\"", echo(text));
    let shape_ok = text.len() == 10
        && text.bytes().enumerate().all(|(i, b)| {
            if i == 4 || i == 7 {
                b == b'-'
            } else {
                b.is_ascii_digit()
            }
        });
    if !shape_ok {
        return Err(refuse());
    }
    NaiveDate::parse_from_str(text, "%Y-%m-%d").map_err(|_| refuse())
}

pub(super) mod day_names {
    use chrono::Weekday;
    use serde::de::Error as _;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(days: &[Weekday], s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(days.iter().map(|&day| super::day_name(day)))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Weekday>, D::Error> {
        Vec::<String>::deserialize(d)?
            .iter()
            .map(|name| super::parse_day(name).map_err(D::Error::custom))
            .collect()
    }
}

pub(super) mod clock_times {
    use chrono::NaiveTime;
    use serde::de::Error as _;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(times: &[NaiveTime], s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(times.iter().map(|time| time.format("%H:%M").to_string()))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<NaiveTime>, D::Error> {
        Vec::<String>::deserialize(d)?
            .iter()
            .map(|text| super::parse_clock_time(text).map_err(D::Error::custom))
            .collect()
    }
}

pub(super) mod iso_date {
    use chrono::NaiveDate;
    use serde::de::Error as _;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(date: &NaiveDate, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&date.format("%Y-%m-%d"))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<NaiveDate, D::Error> {
        super::parse_iso_date(&String::deserialize(d)?).map_err(D::Error::custom)
    }
}
