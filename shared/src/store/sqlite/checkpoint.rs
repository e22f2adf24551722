//! The WAL checkpointer: a thread of its own, with a connection of its own, copies the pages the
//! commits appended to the WAL into the database file (`PRAGMA wal_checkpoint(PASSIVE)`) every
//! [`EVERY`], beside the writer thread instead of on it.
//!
//! Why: left to SQLite, the writer connection checkpoints itself after a commit that leaves 1,000
//! pages in the WAL, so every few hundred holds a batch's answers waited for the pages to be
//! copied and the file to be synced — about a fifth of the local server's CPU under 16 clients
//! holding for 200 players, all of it on the one writer thread that every write queues for (perf:
//! `sqlite3WalDefaultHook` → `walCheckpoint`, most of it the `fsync`'s ext4 writeback;
//! docs/benchmarks.md, "Player identity: guest beside trusted"). Here the writer goes on
//! committing while the checkpoint runs (WAL mode lets a checkpoint run beside readers and a
//! writer: it copies what was committed when it began, and a `PASSIVE` one never waits for a
//! lock), and a checkpoint every [`EVERY`] writes each page once however many commits changed
//! it meanwhile (a busy player's tail of `holds_by_user`, a room's slot-index pages).
//!
//! The writer keeps SQLite's own checkpoint with a higher threshold ([`WRITER_CHECKPOINT_PAGES`])
//! as the bound on the WAL should this thread fall behind or fail. Durability is unchanged: a
//! commit is as durable as `synchronous` says whoever checkpoints, and a checkpoint syncs the WAL
//! before it copies and the database file after.

use std::path::Path;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::thread::JoinHandle;
use std::time::Duration;

use rusqlite::Connection;

use crate::config::Durability;
use crate::error::Error;

/// How often the checkpointer copies the WAL into the database file.
pub(super) const EVERY: Duration = Duration::from_millis(250);

/// The writer's own checkpoint (`PRAGMA wal_autocheckpoint`): after a commit that leaves at least
/// this many pages in the WAL (40 MB), the writer checkpoints itself. The checkpointer keeps the
/// WAL far below it (a busy local server appends a few thousand pages in [`EVERY`]).
pub(super) const WRITER_CHECKPOINT_PAGES: u32 = 10_000;

/// The handle to the checkpointer thread; dropping it stops the thread and closes its connection
/// (the drop waits for that).
pub(super) struct Checkpointer {
    stop: Option<mpsc::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Checkpointer {
    /// Opens a connection to the database at `path` (already in WAL mode) and starts the thread.
    pub(super) fn start(path: &Path, durability: Durability) -> Result<Self, Error> {
        let conn = Connection::open(path)?;
        conn.execute_batch(&format!(
            "PRAGMA busy_timeout = 5000; PRAGMA synchronous = {};",
            durability.pragma()
        ))?;
        let (stop, stopped) = mpsc::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("sqlite-checkpoint".into())
            .spawn(move || run(&conn, &stopped))
            .map_err(|e| Error::Internal(format!("starting the sqlite checkpoint thread: {e}")))?;
        Ok(Self {
            stop: Some(stop),
            thread: Some(thread),
        })
    }
}

/// Every [`EVERY`] until the handle is dropped: one passive checkpoint. A failure is logged and
/// the next one tried (the writer's own checkpoint still bounds the WAL).
fn run(conn: &Connection, stopped: &mpsc::Receiver<()>) {
    while let Err(RecvTimeoutError::Timeout) = stopped.recv_timeout(EVERY) {
        if let Err(err) = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(())) {
            tracing::warn!(%err, "a background WAL checkpoint failed; the next is tried");
        }
    }
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use chrono::Utc;

    use super::super::SqliteStore;
    use super::*;
    use crate::store::Provision;

    fn scratch(name: &str) -> std::path::PathBuf {
        std::env::temp_dir().join(format!("checkpoint-{}-{name}.db", std::process::id()))
    }

    fn remove(path: &Path) {
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
        }
    }

    /// The slots in a copy of the database file alone (without its WAL), if it opens.
    fn slots_in_the_file_alone(path: &Path) -> Option<i64> {
        let copy = scratch("copy");
        remove(&copy);
        std::fs::copy(path, &copy).ok()?;
        let counted = Connection::open(&copy)
            .and_then(|c| c.query_row("SELECT COUNT(*) FROM time_slots", [], |r| r.get(0)))
            .ok();
        remove(&copy);
        counted
    }

    #[test]
    fn committed_writes_reach_the_database_file_while_the_store_is_open_with_no_write_waiting_for_it()
     {
        let path = scratch("store");
        remove(&path);
        let store = SqliteStore::open(&path).unwrap();
        let data = crate::seed::fixture(Utc::now()).unwrap();
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(store.load(&data))
            .unwrap();
        // Far fewer pages than the writer's own threshold: only the checkpointer copies them.
        let expected = i64::try_from(data.slots.len()).unwrap();
        assert!(expected > 0);
        let deadline = Instant::now() + EVERY * 40;
        let mut seen = None;
        while Instant::now() < deadline {
            seen = slots_in_the_file_alone(&path);
            if seen == Some(expected) {
                break;
            }
            std::thread::sleep(EVERY / 4);
        }
        drop(store);
        remove(&path);
        assert_eq!(seen, Some(expected));
    }
}
