//! Seed data: the demo venue and a large data set for benchmarks, as plain values. Pure: it
//! builds data and loads nothing (a store loads it through `store::Provision`; the `seed`
//! command lives in `server/`).

use chrono::{DateTime, Days, Duration, NaiveTime, Utc};

use crate::domain::{Invalid, Room, RoomId, RoomPolicy, Slot, SlotId, UserId};

/// Users, rooms and slots a store can be loaded with.
#[derive(Debug, Clone, Default)]
pub struct SeedData {
    pub users: Vec<UserId>,
    pub rooms: Vec<Room>,
    pub slots: Vec<Slot>,
}

/// Opening hours of a demo day: sessions start at these UTC hours and last 90 minutes.
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

/// The demo rooms' rules: their sessions (UTC hours, 90 minutes) as a room's rules.
fn demo_policy(min_players: u32) -> RoomPolicy {
    RoomPolicy {
        min_players,
        duration_minutes: SESSION_MINUTES as u32,
        ..RoomPolicy::default()
    }
}

/// Users `u-demo`, `u-alice`, `u-bob`; rooms `r-101` and `r-102`; 16 slots per room (four
/// sessions a day over the four days after `now`), numbered `s-1` … `s-32`.
pub fn demo(now: DateTime<Utc>) -> Result<SeedData, Invalid> {
    let users = ["u-demo", "u-alice", "u-bob"]
        .into_iter()
        .map(UserId::parse)
        .collect::<Result<_, _>>()?;
    let rooms = vec![
        Room {
            id: RoomId::parse("r-101")?,
            name: "The Cursed Library".into(),
            capacity: 6,
            policy: demo_policy(2),
        },
        Room {
            id: RoomId::parse("r-102")?,
            name: "Submarine 7".into(),
            capacity: 4,
            policy: demo_policy(2),
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
            policy: demo_policy(2),
        });
    }
    Ok(data)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn demo_data_has_the_contract_users_rooms_and_at_least_twelve_slots_per_room()
    -> Result<(), Invalid> {
        let now = Utc::now();
        let data = demo(now)?;
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
