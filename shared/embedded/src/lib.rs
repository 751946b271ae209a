//! The embedded backend: one SQLite file holds the state and the queues
//! between stages, emails are written to a folder. Same ports as the AWS
//! backend, so the same stage handlers run on both.

mod mail;
mod queue;
mod schema;
mod store;

pub use mail::MailFolder;
pub use queue::{DeadLetter, QueueSettings};

use oms_domain::event::QueueName;
use oms_domain::StoreError;
use rusqlite::{Connection, OpenFlags};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use tokio::sync::Notify;

/// Handle to the SQLite database. Cheap to clone.
///
/// One connection behind a mutex: SQLite serialises writers anyway, and with
/// WAL plus `synchronous=NORMAL` a commit is a write to the log, not an
/// fsync, so one connection sustains tens of thousands of small transactions
/// per second. Calls run on tokio's blocking pool so they never stall the
/// async workers.
#[derive(Clone)]
pub struct Embedded {
    conn: Arc<Mutex<Connection>>,
    wake: Arc<HashMap<QueueName, Arc<Notify>>>,
    settings: QueueSettings,
    path: PathBuf,
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
        Ok(Embedded {
            conn: Arc::new(Mutex::new(conn)),
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

    /// Runs `f` with the connection on the blocking pool.
    async fn call<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T, StoreError> + Send + 'static,
    {
        let conn = self.conn.clone();
        tokio::task::spawn_blocking(move || {
            let mut guard = conn.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            f(&mut guard)
        })
        .await
        .map_err(|e| StoreError::Unavailable(format!("storage task failed: {e}")))?
    }
}

pub(crate) fn sql_err(e: rusqlite::Error) -> StoreError {
    StoreError::Unavailable(format!("sqlite: {e}"))
}

pub(crate) fn json_err(e: serde_json::Error) -> StoreError {
    StoreError::Corrupt(format!("stored JSON: {e}"))
}

pub(crate) fn now_ms() -> i64 {
    jiff::Timestamp::now().as_millisecond()
}
