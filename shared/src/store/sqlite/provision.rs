//! Provisioning: the schema is created on [`SqliteStore::open`]; loading is one transaction.

use async_trait::async_trait;
use rusqlite::params;

use super::SqliteStore;
use super::rooms::policy_json;
use super::schedules::schedule_json;
use crate::error::Error;
use crate::seed::SeedData;
use crate::store::{Provision, millis};

#[async_trait]
impl Provision for SqliteStore {
    async fn prepare(&self) -> Result<(), Error> {
        Ok(())
    }

    async fn load(&self, data: &SeedData) -> Result<(), Error> {
        let data = data.clone();
        self.write(move |tx| {
            let mut user = tx.prepare_cached(
                "INSERT INTO users (id, name) VALUES (?1, ?1) ON CONFLICT (id) DO NOTHING",
            )?;
            for u in &data.users {
                user.execute([u.as_str()])?;
            }
            let mut room = tx.prepare_cached(
                "INSERT INTO rooms (id, name, capacity, policy) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (id) DO NOTHING",
            )?;
            for r in &data.rooms {
                room.execute(params![
                    r.id.as_str(),
                    r.name,
                    r.capacity,
                    policy_json(&r.policy)?
                ])?;
            }
            let mut slot = tx.prepare_cached(
                "INSERT INTO time_slots (id, room_id, start_time, end_time) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (id) DO NOTHING",
            )?;
            for s in &data.slots {
                slot.execute(params![
                    s.id.as_str(),
                    s.room_id.as_str(),
                    millis(s.start_time),
                    millis(s.end_time)
                ])?;
            }
            let mut schedule = tx.prepare_cached(
                "INSERT INTO schedules (room_id, schedule, updated_at) VALUES (?1, ?2, 0)
                 ON CONFLICT (room_id) DO NOTHING",
            )?;
            for (room, s) in &data.schedules {
                schedule.execute(params![room.as_str(), schedule_json(s)?])?;
            }
            Ok(())
        })
        .await
    }

    async fn is_empty(&self) -> Result<bool, Error> {
        let conn = self.readers.get()?;
        let any: bool = conn.query_row("SELECT EXISTS (SELECT 1 FROM rooms)", [], |r| r.get(0))?;
        Ok(!any)
    }
}
