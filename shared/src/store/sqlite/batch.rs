//! Group commit: one batch of queued writes in one transaction, each write in a `SAVEPOINT` of
//! its own, one `COMMIT` for all of them, and only then their answers.
//!
//! Each write sees everything written before it in the batch (the same connection, the same
//! transaction), exactly as if the writes had run one after another in queue order; a write that
//! fails (`Err` or a panic) is rolled back to its savepoint, so its refusal and its partial
//! writes stay its own and the writes around it are kept. The commit is the only point where
//! anything becomes durable, so no answer is sent before it: a write answered `Ok` is committed
//! at the configured `synchronous` level. A failed commit (or a transaction SQLite rolled back
//! itself, after a disk-full or an I/O error) answers every write of the batch 503 and none is
//! written — even a refusal, which may have been decided on a write of the batch that is now gone.

use std::panic::{AssertUnwindSafe, catch_unwind};

use rusqlite::{Connection, Transaction, TransactionBehavior};
use tokio::sync::oneshot;

use crate::error::Error;

/// A queued write, type-erased: the writer thread runs writes of any value type.
pub(super) type Job = Box<dyn Queued>;

/// What the writer thread does with a queued write.
pub(super) trait Queued: Send {
    /// Whether its caller has stopped waiting (its request timed out, its connection closed):
    /// such a write is skipped, not run.
    fn abandoned(&self) -> bool;
    /// Runs the write in the open transaction (inside the savepoint the batch set); the answer
    /// waits for the commit.
    fn run(self: Box<Self>, tx: &Transaction<'_>) -> Box<dyn Answer>;
    /// Answers without running (the transaction could not be begun).
    fn refuse(self: Box<Self>, err: Error);
}

/// A write that has run and waits for its batch's commit to be answered.
pub(super) trait Answer: Send {
    /// Whether it returned `Ok` (its savepoint is released, its writes kept).
    fn wrote(&self) -> bool;
    /// Sends its own result if the batch committed, a 503 if not.
    fn send(self: Box<Self>, committed: Result<(), &str>);
}

/// A write `f` and where its caller waits for its result.
struct Write<T, F> {
    f: F,
    answer: oneshot::Sender<Result<T, Error>>,
}

/// A write's result, held until the commit.
struct Done<T> {
    result: Result<T, Error>,
    answer: oneshot::Sender<Result<T, Error>>,
}

/// A job that runs `f` in its savepoint, and the receiver its caller waits on.
pub(super) fn job<T, F>(f: F) -> (Job, oneshot::Receiver<Result<T, Error>>)
where
    T: Send + 'static,
    F: FnOnce(&Transaction<'_>) -> Result<T, Error> + Send + 'static,
{
    let (answer, answered) = oneshot::channel();
    (Box::new(Write { f, answer }), answered)
}

impl<T, F> Queued for Write<T, F>
where
    T: Send + 'static,
    F: FnOnce(&Transaction<'_>) -> Result<T, Error> + Send + 'static,
{
    fn abandoned(&self) -> bool {
        self.answer.is_closed()
    }

    fn run(self: Box<Self>, tx: &Transaction<'_>) -> Box<dyn Answer> {
        let Write { f, answer } = *self;
        let result = f(tx);
        Box::new(Done { result, answer })
    }

    fn refuse(self: Box<Self>, err: Error) {
        let _ = self.answer.send(Err(err));
    }
}

impl<T: Send> Answer for Done<T> {
    fn wrote(&self) -> bool {
        self.result.is_ok()
    }

    fn send(self: Box<Self>, committed: Result<(), &str>) {
        let result = match committed {
            Ok(()) => self.result,
            Err(cause) => Err(Error::Unavailable(format!(
                "the sqlite batch this write was in was not committed: {cause}"
            ))),
        };
        // A caller that has gone is told nothing: its write stands (or not) all the same.
        let _ = self.answer.send(result);
    }
}

/// Runs `jobs` (in queue order) in as few transactions as it can: one, unless SQLite rolls a
/// transaction back under a write; then the writes before answer 503 and the rest go on in a
/// new transaction.
pub(super) fn run(conn: &mut Connection, jobs: Vec<Job>) {
    let mut jobs = jobs.into_iter().peekable();
    while jobs.peek().is_some() {
        one_transaction(conn, &mut jobs);
    }
}

/// Begins one transaction, runs jobs from `jobs` in it until they are all run or the
/// transaction is lost, commits, then answers each job.
fn one_transaction(conn: &mut Connection, jobs: &mut impl Iterator<Item = Job>) {
    let tx = match conn.transaction_with_behavior(TransactionBehavior::Immediate) {
        Ok(tx) => tx,
        Err(err) => {
            let cause = format!("sqlite could not begin a transaction: {err}");
            tracing::warn!(
                cause,
                "a sqlite batch could not begin; each of its writes is answered 503"
            );
            for job in jobs {
                job.refuse(Error::Unavailable(cause.clone()));
            }
            return;
        }
    };
    let mut answers: Vec<Box<dyn Answer>> = Vec::new();
    for job in jobs.by_ref() {
        if job.abandoned() {
            continue;
        }
        match in_savepoint(&tx, job) {
            Ok(Some(answer)) => answers.push(answer),
            Ok(None) => {}
            Err((lost, answer)) => {
                answers.extend(answer);
                // Dropping `tx` rolls back whatever SQLite has left of the transaction.
                drop(tx);
                answer_all(answers, Err(&lost));
                return;
            }
        }
    }
    let committed = tx.commit().map_err(|e| e.to_string());
    answer_all(
        answers,
        committed.as_ref().map(|_| ()).map_err(String::as_str),
    );
}

/// Runs one job in its own savepoint: released if the job returned `Ok`, rolled back to if it
/// returned `Err` or panicked (a panic is contained: its caller's channel is dropped with it,
/// which answers 503). `Ok(None)`: it panicked. `Err`: the transaction is lost (a savepoint
/// statement failed, or SQLite rolled the whole transaction back under the job).
#[allow(clippy::type_complexity)]
fn in_savepoint(
    tx: &Transaction<'_>,
    job: Job,
) -> Result<Option<Box<dyn Answer>>, (String, Option<Box<dyn Answer>>)> {
    if let Err(err) = tx.execute_batch("SAVEPOINT one_write") {
        let cause = err.to_string();
        job.refuse(Error::Unavailable(format!("sqlite savepoint: {cause}")));
        return Err((cause, None));
    }
    let ran = catch_unwind(AssertUnwindSafe(|| job.run(tx)));
    let keep = matches!(&ran, Ok(answer) if answer.wrote());
    let end = if keep {
        "RELEASE one_write"
    } else {
        "ROLLBACK TO one_write; RELEASE one_write"
    };
    let ended = tx.execute_batch(end);
    let answer = match ran {
        Ok(answer) => Some(answer),
        Err(_) => {
            tracing::error!("a sqlite write panicked; its savepoint was rolled back");
            None
        }
    };
    match ended {
        Ok(()) if !tx.is_autocommit() => Ok(answer),
        Ok(()) => Err(("sqlite rolled the transaction back".into(), answer)),
        Err(err) => Err((err.to_string(), answer)),
    }
}

fn answer_all(answers: Vec<Box<dyn Answer>>, committed: Result<(), &str>) {
    if let Err(cause) = committed {
        tracing::warn!(
            writes = answers.len(),
            cause,
            "a sqlite batch was not committed; each of its writes is answered 503"
        );
    }
    for answer in answers {
        answer.send(committed);
    }
}
