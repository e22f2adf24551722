//! Seed data: the demo venue, the tests' fixture and a large data set for benchmarks, as plain
//! values. Pure: it builds data and loads nothing (a store loads it through `store::Provision`;
//! the `seed` command lives in `server/`).

use chrono::{DateTime, Days, Duration, NaiveTime, Utc, Weekday};

use crate::domain::{Invalid, Room, RoomId, RoomPolicy, Slot, SlotId, UserId};
use crate::schedule::{Schedule, Weekly};

/// Users, rooms, slots and weekly schedules a store can be loaded with. A schedule is stored as
/// the room's; its slots are made by the next horizon run (`horizon::extend_horizons`).
#[derive(Debug, Clone, Default)]
pub struct SeedData {
    pub users: Vec<UserId>,
    pub rooms: Vec<Room>,
    pub slots: Vec<Slot>,
    pub schedules: Vec<(RoomId, Schedule)>,
}

/// The demo venue's time zone.
pub const DEMO_TIME_ZONE: &str = "Europe/Berlin";

/// The demo venue: users `u-demo`, `u-alice`, `u-bob` and two rooms in Berlin, defined by their
/// weekly schedules (their slots are made for the coming four weeks by the horizon run, and a
/// day more every day, so the demo always has slots whenever it starts):
///
/// - `r-101` "The Cursed Library", 2–6 players, 90-minute games every day at 10:00, 13:00,
///   16:00 and 19:00; booked and cancelled up to the start;
/// - `r-102` "Submarine 7", 2–4 players, 60-minute games with a 15-minute reset, weekdays at
///   17:00, 18:30 and 20:00, weekends every 90 minutes from 10:00 to 20:30; booked at least two
///   hours ahead and cancelled at least a day ahead.
pub fn demo() -> Result<SeedData, Invalid> {
    let users = ["u-demo", "u-alice", "u-bob"]
        .into_iter()
        .map(UserId::parse)
        .collect::<Result<_, _>>()?;
    let policy = |min_players, duration_minutes, buffer_minutes| RoomPolicy {
        time_zone: DEMO_TIME_ZONE.into(),
        min_players,
        duration_minutes,
        buffer_minutes,
        max_advance_days: 28,
        ..RoomPolicy::default()
    };
    let library = RoomId::parse("r-101")?;
    let submarine = RoomId::parse("r-102")?;
    let rooms = vec![
        Room {
            id: library.clone(),
            name: "The Cursed Library".into(),
            capacity: 6,
            policy: policy(2, 90, 30),
        },
        Room {
            id: submarine.clone(),
            name: "Submarine 7".into(),
            capacity: 4,
            policy: RoomPolicy {
                min_notice_minutes: 120,
                cancel_cutoff_minutes: 24 * 60,
                ..policy(2, 60, 15)
            },
        },
    ];
    use Weekday::{Fri, Mon, Sat, Sun, Thu, Tue, Wed};
    let every_day = vec![Mon, Tue, Wed, Thu, Fri, Sat, Sun];
    let schedules = vec![
        (
            library,
            Schedule {
                weekly: vec![Weekly {
                    days: every_day,
                    starts: times(&[(10, 0), (13, 0), (16, 0), (19, 0)])?,
                }],
                closed: Vec::new(),
            },
        ),
        (
            submarine,
            Schedule {
                weekly: vec![
                    Weekly {
                        days: vec![Mon, Tue, Wed, Thu, Fri],
                        starts: times(&[(17, 0), (18, 30), (20, 0)])?,
                    },
                    Weekly {
                        days: vec![Sat, Sun],
                        starts: times(&[
                            (10, 0),
                            (11, 30),
                            (13, 0),
                            (14, 30),
                            (16, 0),
                            (17, 30),
                            (19, 0),
                            (20, 30),
                        ])?,
                    },
                ],
                closed: Vec::new(),
            },
        ),
    ];
    Ok(SeedData {
        users,
        rooms,
        slots: Vec::new(),
        schedules,
    })
}

fn times(hm: &[(u32, u32)]) -> Result<Vec<NaiveTime>, Invalid> {
    hm.iter()
        .map(|&(h, m)| {
            NaiveTime::from_hms_opt(h, m, 0).ok_or_else(|| Invalid(format!("{h}:{m} is no time")))
        })
        .collect()
}

/// Opening hours of a fixture day: sessions start at these UTC hours and last 90 minutes.
const SESSION_HOURS: [u32; 4] = [10, 13, 16, 19];
const SESSION_MINUTES: i64 = 90;
const DEMO_DAYS: u64 = 4;

fn session(day: DateTime<Utc>, hour: u32) -> (DateTime<Utc>, DateTime<Utc>) {
    let start = day + Duration::hours(i64::from(hour));
    (start, start + Duration::minutes(SESSION_MINUTES))
}

fn midnight_after(now: DateTime<Utc>) -> DateTime<Utc> {
    let today = now.date_naive().and_time(NaiveTime::MIN).and_utc();
    today.checked_add_days(Days::new(1)).unwrap_or(today)
}

/// The fixture rooms' rules: their sessions (UTC hours, 90 minutes) as a room's rules.
fn fixture_policy(min_players: u32) -> RoomPolicy {
    RoomPolicy {
        min_players,
        duration_minutes: SESSION_MINUTES as u32,
        ..RoomPolicy::default()
    }
}

/// The tests' fixture, loaded by the integration tests (`tests/api/`) and the criterion bench
/// (`server/benches/handlers.rs`); the `seed` command loads the demo venue (and, with `--bench`,
/// [`bench`]), never this. Users `u-demo`, `u-alice`, `u-bob`; rooms `r-101` and `r-102` in UTC,
/// without schedules; 16 slots per room (four sessions a day, at 10, 13, 16 and 19 UTC, over the
/// four days from the midnight after `now`), numbered `s-1` … `s-32`: ids a test can name.
pub fn fixture(now: DateTime<Utc>) -> Result<SeedData, Invalid> {
    let users = ["u-demo", "u-alice", "u-bob"]
        .into_iter()
        .map(UserId::parse)
        .collect::<Result<_, _>>()?;
    let rooms = vec![
        Room {
            id: RoomId::parse("r-101")?,
            name: "The Cursed Library".into(),
            capacity: 6,
            policy: fixture_policy(2),
        },
        Room {
            id: RoomId::parse("r-102")?,
            name: "Submarine 7".into(),
            capacity: 4,
            policy: fixture_policy(2),
        },
    ];
    let first_day = midnight_after(now);
    let mut slots = Vec::new();
    for room in &rooms {
        for day in 0..DEMO_DAYS {
            let day = first_day
                .checked_add_days(Days::new(day))
                .unwrap_or(first_day);
            for hour in SESSION_HOURS {
                let (start_time, end_time) = session(day, hour);
                slots.push(Slot {
                    id: SlotId::parse(&format!("s-{}", slots.len() + 1))?,
                    room_id: room.id.clone(),
                    start_time,
                    end_time,
                });
            }
        }
    }
    Ok(SeedData {
        users,
        rooms,
        slots,
        schedules: Vec::new(),
    })
}

/// A benchmark data set: `rooms` rooms `r-bench-N`, each with `slots_per_room` back-to-back
/// 90-minute slots `s-bench-N-M`, and `users` users `u-bench-N`.
pub fn bench(
    rooms: u32,
    slots_per_room: u32,
    users: u32,
    now: DateTime<Utc>,
) -> Result<SeedData, Invalid> {
    let first = midnight_after(now);
    let mut data = SeedData::default();
    for u in 1..=users {
        data.users.push(UserId::parse(&format!("u-bench-{u}"))?);
    }
    for r in 1..=rooms {
        let room = RoomId::parse(&format!("r-bench-{r}"))?;
        for s in 0..slots_per_room {
            let start_time = first + Duration::minutes(SESSION_MINUTES * i64::from(s));
            data.slots.push(Slot {
                id: SlotId::parse(&format!("s-bench-{r}-{}", s + 1))?,
                room_id: room.clone(),
                start_time,
                end_time: start_time + Duration::minutes(SESSION_MINUTES),
            });
        }
        data.rooms.push(Room {
            id: room,
            name: format!("Bench room {r}"),
            capacity: 6,
            policy: fixture_policy(2),
        });
    }
    Ok(data)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_demo_venue_is_two_rooms_in_berlin_defined_by_schedules_that_can_be_played()
    -> Result<(), Invalid> {
        let data = demo()?;
        let users: Vec<_> = data.users.iter().map(UserId::as_str).collect();
        assert_eq!(users, ["u-demo", "u-alice", "u-bob"]);
        assert!(data.slots.is_empty());
        assert_eq!(data.schedules.len(), data.rooms.len());
        for (room_id, schedule) in &data.schedules {
            let room = data.rooms.iter().find(|r| &r.id == room_id).unwrap();
            assert_eq!(room.policy.time_zone, DEMO_TIME_ZONE);
            let rules = crate::schedule::RoomRules {
                time_zone: DEMO_TIME_ZONE.parse().unwrap(),
                duration_minutes: room.policy.duration_minutes,
                buffer_minutes: room.policy.buffer_minutes,
            };
            crate::schedule::validate(schedule, &rules)?;
            let now = Utc::now();
            let week =
                crate::schedule::plan(schedule, &rules, room_id, now, now + Duration::days(7));
            assert!(week.len() >= 20, "{room_id}: {} games a week", week.len());
        }
        Ok(())
    }

    #[test]
    fn the_fixture_has_the_contract_users_rooms_and_at_least_twelve_slots_per_room()
    -> Result<(), Invalid> {
        let now = Utc::now();
        let data = fixture(now)?;
        let users: Vec<_> = data.users.iter().map(UserId::as_str).collect();
        assert_eq!(users, ["u-demo", "u-alice", "u-bob"]);
        for room in ["r-101", "r-102"] {
            let slots: Vec<_> = data
                .slots
                .iter()
                .filter(|s| s.room_id.as_str() == room)
                .collect();
            assert!(slots.len() >= 12, "{room} has {} slots", slots.len());
            assert!(
                slots
                    .iter()
                    .all(|s| s.start_time > now && s.start_time < s.end_time)
            );
        }
        assert_eq!(data.slots[0].id.as_str(), "s-1");
        Ok(())
    }

    #[test]
    fn bench_data_has_the_asked_size() -> Result<(), Invalid> {
        let data = bench(3, 1000, 10, Utc::now())?;
        assert_eq!(
            (data.rooms.len(), data.slots.len(), data.users.len()),
            (3, 3000, 10)
        );
        Ok(())
    }
}
