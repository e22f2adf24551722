//! The writer thread: the one write connection lives on a thread of its own, and every write is
//! sent to it as a job and answered over a channel. So a write never runs on the async worker
//! threads: a long transaction (a schedule publication writing thousands of slots) or a slow
//! commit (`synchronous = FULL` waits for the disk) stalls only the writes queued behind it,
//! never a listing or a look-up, which read on their own connections beside it (WAL).
//!
//! Jobs run one after another in arrival order, each in its own `BEGIN IMMEDIATE` transaction
//! (committed on `Ok`, rolled back on `Err`), exactly as under the mutex this replaces. The queue
//! is bounded ([`QUEUE`]): when it is full a writer waits for room, so memory stays bounded under a
//! flood and the server's request deadline turns a long wait into a 503. A job whose caller has
//! gone (its request timed out or its connection closed) before the job starts is skipped.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::thread::JoinHandle;

use rusqlite::{Connection, Transaction, TransactionBehavior};
use tokio::sync::{mpsc, oneshot};

use crate::error::Error;

/// Writes waiting for the writer thread at most; more wait to be queued.
const QUEUE: usize = 1024;

type Job = Box<dyn FnOnce(&mut Connection) + Send>;

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

    /// Runs `f` in a `BEGIN IMMEDIATE` transaction on the writer thread; commits on `Ok`, rolls
    /// back on `Err`, and answers with `f`'s value once the commit is done.
    pub(super) async fn write<T, F>(&self, f: F) -> Result<T, Error>
    where
        T: Send + 'static,
        F: FnOnce(&Transaction<'_>) -> Result<T, Error> + Send + 'static,
    {
        let (answer, answered) = oneshot::channel();
        let job: Job = Box::new(move |conn| {
            if answer.is_closed() {
                return;
            }
            let _ = answer.send(in_transaction(conn, f));
        });
        let queue = self.queue.as_ref().ok_or_else(stopped)?;
        queue.send(job).await.map_err(|_| stopped())?;
        answered.await.map_err(|_| stopped())?
    }
}

fn stopped() -> Error {
    Error::Unavailable("the sqlite writer thread has stopped".into())
}

fn in_transaction<T>(
    conn: &mut Connection,
    f: impl FnOnce(&Transaction<'_>) -> Result<T, Error>,
) -> Result<T, Error> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let value = f(&tx)?;
    tx.commit()?;
    Ok(value)
}

/// The thread's loop: one job at a time until every sender is gone. A job that panics is
/// contained (its caller gets a 503, the transaction rolls back when it is dropped) and the
/// thread goes on.
fn run(mut conn: Connection, mut jobs: mpsc::Receiver<Job>) {
    while let Some(job) = jobs.blocking_recv() {
        if catch_unwind(AssertUnwindSafe(|| job(&mut conn))).is_err() {
            tracing::error!("a sqlite write panicked; its transaction was rolled back");
        }
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
