//! The writer thread: the one write connection lives on a thread of its own, and every write is
//! sent to it as a job and answered over a channel. So a write never runs on the async worker
//! threads: a long transaction (a schedule publication writing thousands of slots) or a slow
//! commit (`synchronous = FULL` waits for the disk) stalls only the writes queued behind it,
//! never a listing or a look-up, which read on their own connections beside it (WAL).
//!
//! Group commit: the thread takes everything queued when it is free (at most [`BATCH`] writes)
//! and runs it as one batch (`batch.rs`): one `BEGIN IMMEDIATE`, each write in its own
//! `SAVEPOINT` in queue order, one `COMMIT`, then the answers. So writes that arrive while a
//! commit is in flight share the next one (one WAL append and, at `synchronous = FULL`, one fsync
//! for all of them), and a lone write commits at once: the thread never waits for more. The queue
//! is bounded ([`QUEUE`]): when it is full a writer waits for room, so memory stays bounded under a
//! flood and the server's request deadline turns a long wait into a 503. A job whose caller has
//! gone (its request timed out or its connection closed) before the job starts is skipped.

use std::thread::JoinHandle;

use rusqlite::{Connection, Transaction};
use tokio::sync::mpsc;

use super::batch::{self, Job};
use crate::error::Error;

/// Writes waiting for the writer thread at most; more wait to be queued.
const QUEUE: usize = 1024;

/// Writes one transaction (one commit) takes at most. Enough that a commit is shared by every
/// connection of a busy server; few enough that the first write of a batch is not kept waiting
/// long for the last (a hold's write takes tens of microseconds).
pub(super) const BATCH: usize = 64;

/// The histogram of writes per commit (`/metrics`).
pub const BATCH_SIZE: &str = "sqlite_writer_batch_size";
/// The gauge of writes queued behind the batch being written (`/metrics`).
pub const QUEUE_LENGTH: &str = "sqlite_writer_queue_length";

/// The handle to the writer thread; dropping it lets the thread finish the queued writes, close
/// the connection and end (the drop waits for that, so the file is closed when it returns).
pub(super) struct Writer {
    queue: Option<mpsc::Sender<Job>>,
    thread: Option<JoinHandle<()>>,
}

impl Writer {
    /// Moves `conn` onto a new thread that runs the jobs sent to it.
    pub(super) fn start(conn: Connection) -> Result<Self, Error> {
        let (queue, jobs) = mpsc::channel::<Job>(QUEUE);
        let thread = std::thread::Builder::new()
            .name("sqlite-writer".into())
            .spawn(move || run(conn, jobs))
            .map_err(|e| Error::Internal(format!("starting the sqlite writer thread: {e}")))?;
        Ok(Self {
            queue: Some(queue),
            thread: Some(thread),
        })
    }

    /// Runs `f` on the writer thread in the next batch's transaction, in a savepoint of its own
    /// (released on `Ok`, rolled back to on `Err`), and answers with `f`'s value once the batch
    /// is committed (503 if the commit fails).
    pub(super) async fn write<T, F>(&self, f: F) -> Result<T, Error>
    where
        T: Send + 'static,
        F: FnOnce(&Transaction<'_>) -> Result<T, Error> + Send + 'static,
    {
        let (job, answered) = batch::job(f);
        let queue = self.queue.as_ref().ok_or_else(stopped)?;
        queue.send(job).await.map_err(|_| stopped())?;
        answered.await.map_err(|_| stopped())?
    }
}

fn stopped() -> Error {
    Error::Unavailable("the sqlite writer thread has stopped".into())
}

/// The thread's loop until every sender is gone: wait for a write, take what else is queued
/// (without waiting for more), run them as one batch. A write that panics is contained (its
/// caller gets a 503, its savepoint is rolled back) and the thread goes on.
fn run(mut conn: Connection, mut jobs: mpsc::Receiver<Job>) {
    let mut next = Vec::with_capacity(BATCH);
    while let Some(first) = jobs.blocking_recv() {
        next.push(first);
        while next.len() < BATCH {
            match jobs.try_recv() {
                Ok(job) => next.push(job),
                Err(_) => break,
            }
        }
        // What the server's `/metrics` shows of the writer (no-ops without a recorder): how many
        // writes share this commit, and how many wait behind it.
        metrics::histogram!(BATCH_SIZE).record(next.len() as f64);
        metrics::gauge!(QUEUE_LENGTH).set(jobs.len() as f64);
        batch::run(&mut conn, std::mem::take(&mut next));
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        drop(self.queue.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
