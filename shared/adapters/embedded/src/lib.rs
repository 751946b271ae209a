//! The embedded backend: one SQLite file holds the state and the queues
//! between stages, emails are written to a folder. Same ports as the AWS
//! backend, so the same stage handlers run on both.

mod mail;
mod queue;
mod schema;
mod store;

pub use mail::MailFolder;
pub use queue::{DeadLetter, QueueSettings};

use oms_domain::error::StoreErrorKind;
use oms_domain::event::QueueName;
use oms_domain::StoreError;
use rusqlite::{Connection, OpenFlags};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::sync::Arc;
use tokio::sync::Notify;

/// Called with the outcome of the group commit a job was part of.
type Reply = Box<dyn FnOnce(Result<(), StoreError>) + Send>;
/// Work for the database thread. Writing jobs work inside a savepoint.
type Job = Box<dyn FnOnce(&mut Connection) -> Reply + Send>;

/// Most jobs one group commit takes.
const GROUP: usize = 256;

/// Handle to the SQLite database. Cheap to clone.
///
/// One thread owns the one connection and runs jobs in order (SQLite
/// serialises writers anyway). Jobs that queue up while it works are run in
/// one transaction, each inside its own savepoint, and committed together
/// (group commit): a job that fails rolls back only its own savepoint, and no
/// caller hears "done" before the group is committed. With WAL and
/// `synchronous=NORMAL` a commit is an append to the log, not an fsync.
#[derive(Clone)]
pub struct Embedded {
    jobs: mpsc::Sender<Job>,
    wake: Arc<HashMap<QueueName, Arc<Notify>>>,
    settings: QueueSettings,
    path: PathBuf,
}

/// Runs one job; a job that panics is rolled back (its savepoint unwinds)
/// and its caller gets an error, while the thread goes on serving the rest.
fn run_job(job: Job, conn: &mut Connection) -> Option<Reply> {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| job(conn))) {
        Ok(reply) => Some(reply),
        Err(_) => {
            tracing::error!("a database job panicked; its changes were rolled back");
            None
        }
    }
}

fn run_jobs(mut conn: Connection, jobs: mpsc::Receiver<Job>) {
    while let Ok(first) = jobs.recv() {
        let grouped = conn.execute_batch("BEGIN").is_ok();
        let mut replies: Vec<Reply> = run_job(first, &mut conn).into_iter().collect();
        for _ in 1..GROUP {
            match jobs.try_recv() {
                Ok(job) => replies.extend(run_job(job, &mut conn)),
                Err(_) => break,
            }
        }
        let outcome = if grouped {
            conn.execute_batch("COMMIT").map_err(sql_err)
        } else {
            Ok(())
        };
        if outcome.is_err() {
            let _ = conn.execute_batch("ROLLBACK");
        }
        for reply in replies {
            reply(outcome.clone());
        }
    }
}

impl Embedded {
    /// Opens (and creates or migrates) the database at `path`.
    pub fn open(path: &Path, settings: QueueSettings) -> Result<Self, StoreError> {
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE
                | OpenFlags::SQLITE_OPEN_CREATE
                | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(sql_err)?;
        schema::migrate(&conn).map_err(sql_err)?;
        let wake = QueueName::ALL
            .into_iter()
            .map(|q| (q, Arc::new(Notify::new())))
            .collect();
        let (jobs, queue) = mpsc::channel();
        std::thread::Builder::new()
            .name("oms-sqlite".into())
            .spawn(move || run_jobs(conn, queue))
            .map_err(|e| StoreError::unavailable(format!("starting the database thread: {e}")))?;
        Ok(Embedded {
            jobs,
            wake: Arc::new(wake),
            settings,
            path: path.to_path_buf(),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Notified whenever a message is enqueued on `queue`.
    pub fn waker(&self, queue: QueueName) -> Arc<Notify> {
        self.wake[&queue].clone()
    }

    fn notify(&self, queues: impl IntoIterator<Item = QueueName>) {
        for q in queues {
            self.wake[&q].notify_one();
        }
    }

    /// Runs `f` on the database thread; answers once its group is committed.
    /// A writing `f` must do its writes inside `conn.savepoint()`.
    async fn call<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T, StoreError> + Send + 'static,
    {
        let (answer, answered) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move |conn| {
            let result = f(conn);
            Box::new(move |committed: Result<(), StoreError>| {
                let _ = answer.send(committed.and(result));
            })
        });
        self.jobs
            .send(job)
            .map_err(|_| StoreError::unavailable("the database thread has stopped"))?;
        answered
            .await
            .map_err(|_| StoreError::unavailable("the database job failed or its thread stopped"))?
    }
}

pub(crate) fn sql_err(e: rusqlite::Error) -> StoreError {
    StoreError::caused(StoreErrorKind::Unavailable, "sqlite", e)
}

pub(crate) fn json_err(e: serde_json::Error) -> StoreError {
    StoreError::caused(StoreErrorKind::Corrupt, "stored JSON", e)
}

pub(crate) fn now_ms() -> i64 {
    jiff::Timestamp::now().as_millisecond()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_panicking_job_fails_alone_and_the_thread_goes_on() {
        let dir = tempfile::tempdir().unwrap();
        let db = Embedded::open(&dir.path().join("oms.db"), QueueSettings::default()).unwrap();
        let failed = db
            .call(|conn| {
                let sp = conn.savepoint().map_err(sql_err)?;
                sp.execute(
                    "INSERT INTO invoice_series (series, last) VALUES ('X', 1)",
                    [],
                )
                .map_err(sql_err)?;
                panic!("a bug in a job");
                #[allow(unreachable_code)]
                Ok(())
            })
            .await;
        assert!(failed.is_err());
        let rows: i64 = db
            .call(|conn| {
                conn.query_row("SELECT COUNT(*) FROM invoice_series", [], |r| r.get(0))
                    .map_err(sql_err)
            })
            .await
            .unwrap();
        assert_eq!(rows, 0, "the panicking job's write was rolled back");
    }
}
