//! Errors shared by the stages. Whether a failure is worth retrying is
//! decided here, once, not in every handler.

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

/// What a storage adapter can fail with.
#[derive(Debug, Clone, thiserror::Error)]
pub enum StoreError {
    /// The store could not be reached or was busy: worth another try.
    #[error("storage unavailable: {0}")]
    Unavailable(String),
    /// What is stored cannot be read back: retrying will not help.
    #[error("stored data is unreadable: {0}")]
    Corrupt(String),
}

/// Why a stage could not finish a message. The queue adapters turn
/// `Transient` into a retry with backoff and `Permanent` into a dead letter.
#[derive(Debug, thiserror::Error)]
pub enum StageError {
    #[error("transient: {0}")]
    Transient(String),
    #[error("permanent: {0}")]
    Permanent(String),
}

impl StageError {
    pub fn is_transient(&self) -> bool {
        matches!(self, StageError::Transient(_))
    }
}

impl From<StoreError> for StageError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Unavailable(m) => StageError::Transient(m),
            StoreError::Corrupt(m) => StageError::Permanent(m),
        }
    }
}
