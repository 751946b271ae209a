//! Errors a function returns to Lambda, with an error type that says what
//! failed (`oms.StoreUnavailable`, ...) instead of a boxed error's type name.
//! The message is the whole cause chain.

use lambda_runtime::Diagnostic;
use oms_domain::error::{chain, StoreErrorKind};
use oms_domain::{StageError, StoreError};

#[derive(Debug)]
pub struct HandlerError {
    pub error_type: &'static str,
    pub message: String,
}

impl From<StoreError> for HandlerError {
    fn from(e: StoreError) -> Self {
        HandlerError {
            error_type: match e.kind {
                StoreErrorKind::Unavailable => "oms.StoreUnavailable",
                StoreErrorKind::Refused => "oms.StoreRefused",
                StoreErrorKind::Corrupt => "oms.CorruptData",
            },
            message: chain(&e),
        }
    }
}

impl From<StageError> for HandlerError {
    fn from(e: StageError) -> Self {
        HandlerError {
            error_type: if e.is_transient() {
                "oms.Transient"
            } else {
                "oms.Permanent"
            },
            message: chain(&e),
        }
    }
}

impl From<oms_runtime::ConfigError> for HandlerError {
    fn from(e: oms_runtime::ConfigError) -> Self {
        HandlerError {
            error_type: "oms.Configuration",
            message: e.to_string(),
        }
    }
}

impl From<HandlerError> for Diagnostic {
    fn from(e: HandlerError) -> Self {
        Diagnostic {
            error_type: e.error_type.into(),
            error_message: e.message,
        }
    }
}

impl std::fmt::Display for HandlerError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.error_type, self.message)
    }
}

impl std::error::Error for HandlerError {}
