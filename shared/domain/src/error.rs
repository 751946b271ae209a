//! Errors shared by the stages. Whether a failure is worth retrying is
//! decided here, once, not in every handler. Errors keep their causes
//! (`source()`), so a log line or a dead letter's reason can say what
//! underneath went wrong ([`chain`]).

use std::error::Error;
use std::fmt;
use std::sync::Arc;

/// Any error, as the cause of one of ours.
pub type Cause = Box<dyn Error + Send + Sync + 'static>;

/// A request field that is wrong, with the path of the field (`lines[0].quantity`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    pub field: Option<String>,
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        FieldError {
            field: Some(field.into()),
            message: message.into(),
        }
    }

    pub fn general(message: impl Into<String>) -> Self {
        FieldError {
            field: None,
            message: message.into(),
        }
    }
}

/// What a storage, queue or mail adapter can fail with.
#[derive(Debug, Clone)]
pub struct StoreError {
    pub kind: StoreErrorKind,
    /// What was being done ("DynamoDB TransactWriteItems").
    pub what: String,
    source: Option<Arc<dyn Error + Send + Sync + 'static>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreErrorKind {
    /// The service could not be reached or was busy: worth another try.
    Unavailable,
    /// The service refused the request and will refuse it again (access
    /// denied, a missing table or queue, a request it cannot accept):
    /// retrying will not help until someone changes the setup.
    Refused,
    /// What is stored cannot be read back: retrying will not help.
    Corrupt,
}

impl StoreError {
    pub fn unavailable(what: impl Into<String>) -> Self {
        Self::new(StoreErrorKind::Unavailable, what, None)
    }
    pub fn corrupt(what: impl Into<String>) -> Self {
        Self::new(StoreErrorKind::Corrupt, what, None)
    }
    pub fn refused(what: impl Into<String>) -> Self {
        Self::new(StoreErrorKind::Refused, what, None)
    }
    /// `kind` of failure while doing `what`, caused by `source`.
    pub fn caused(
        kind: StoreErrorKind,
        what: impl Into<String>,
        source: impl Error + Send + Sync + 'static,
    ) -> Self {
        Self::new(kind, what, Some(Arc::new(source)))
    }
    fn new(
        kind: StoreErrorKind,
        what: impl Into<String>,
        source: Option<Arc<dyn Error + Send + Sync>>,
    ) -> Self {
        StoreError {
            kind,
            what: what.into(),
            source,
        }
    }
    pub fn is_transient(&self) -> bool {
        self.kind == StoreErrorKind::Unavailable
    }
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let prefix = match self.kind {
            StoreErrorKind::Unavailable => "storage unavailable",
            StoreErrorKind::Refused => "refused by the backend (retrying will not help)",
            StoreErrorKind::Corrupt => "stored data is unreadable",
        };
        write!(f, "{prefix}: {}", self.what)
    }
}

impl Error for StoreError {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        self.source.as_deref().map(|e| e as &(dyn Error + 'static))
    }
}

/// Why a stage could not finish a message. The runtime turns `Transient`
/// into a retry with backoff and `Permanent` into a dead letter.
#[derive(Debug, thiserror::Error)]
pub enum StageError {
    #[error(transparent)]
    Transient(Cause),
    #[error(transparent)]
    Permanent(Cause),
}

impl StageError {
    pub fn transient(cause: impl Into<Cause>) -> Self {
        StageError::Transient(cause.into())
    }
    pub fn permanent(cause: impl Into<Cause>) -> Self {
        StageError::Permanent(cause.into())
    }
    pub fn is_transient(&self) -> bool {
        matches!(self, StageError::Transient(_))
    }
}

impl From<StoreError> for StageError {
    fn from(e: StoreError) -> Self {
        if e.is_transient() {
            StageError::Transient(Box::new(e))
        } else {
            StageError::Permanent(Box::new(e))
        }
    }
}

/// An error and its causes on one line: `a: b: c`. Causes whose text is
/// already part of the line before (as SDK errors often repeat) are skipped.
pub fn chain(e: &(dyn Error + 'static)) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let part = s.to_string();
        if !part.is_empty() && !text.contains(&part) {
            text.push_str(": ");
            text.push_str(&part);
        }
        source = s.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("connection reset")]
    struct Reset;

    #[test]
    fn the_chain_keeps_every_cause_once() {
        let store = StoreError::caused(StoreErrorKind::Unavailable, "DynamoDB GetItem", Reset);
        let stage: StageError = store.into();
        assert!(stage.is_transient());
        assert_eq!(
            chain(&stage),
            "storage unavailable: DynamoDB GetItem: connection reset"
        );
    }

    #[test]
    fn refused_and_corrupt_are_permanent() {
        for e in [
            StoreError::refused("no such table"),
            StoreError::corrupt("bad json"),
        ] {
            assert!(!StageError::from(e).is_transient());
        }
    }
}
