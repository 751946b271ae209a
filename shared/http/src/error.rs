//! The one error shape of the API: `{"error": {"code", "message", "field"}}`.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use oms_domain::error::{chain, StoreErrorKind};
use oms_domain::{FieldError, StageError, StoreError};
use serde::Serialize;
use utoipa::ToSchema;

#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorDetail {
    /// `unauthorized`, `forbidden`, `not_found`, `validation_failed`,
    /// `idempotency_conflict`, `conflict`, `payload_too_large`,
    /// `invalid_signature`, `method_not_allowed`, `unavailable` (503: retry
    /// later), `misconfigured` and `stored_data_unreadable` (500: retrying
    /// will not help, an operator must look).
    pub code: &'static str,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    pub field: Option<String>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            message: message.into(),
            field: None,
        }
    }

    /// 400 for a malformed request or a broken field rule.
    pub fn invalid(e: FieldError) -> Self {
        ApiError {
            status: StatusCode::BAD_REQUEST,
            code: "validation_failed",
            message: e.message,
            field: e.field,
        }
    }

    /// 422 for a well-formed request that refers to what does not exist.
    pub fn unprocessable(e: FieldError) -> Self {
        ApiError {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            code: "validation_failed",
            message: e.message,
            field: e.field,
        }
    }

    pub fn not_found(what: impl Into<String>) -> Self {
        ApiError::new(StatusCode::NOT_FOUND, "not_found", what)
    }

    pub fn conflict(message: impl Into<String>) -> Self {
        ApiError::new(StatusCode::CONFLICT, "conflict", message)
    }
}

impl From<StoreError> for ApiError {
    /// Busy or unreachable storage is worth a retry (503); storage that
    /// refuses us (permissions, a missing table) or data that cannot be read
    /// back is not (500, with a code an operator can search the logs for).
    fn from(e: StoreError) -> Self {
        tracing::error!(error = %chain(&e), "storage failure");
        match e.kind {
            StoreErrorKind::Unavailable => ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                "the service is temporarily unavailable, retry later",
            ),
            StoreErrorKind::Refused => ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "misconfigured",
                "the backend refused the request; the operator has been logged the cause",
            ),
            StoreErrorKind::Corrupt => ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "stored_data_unreadable",
                "stored data could not be read; the operator has been logged the cause",
            ),
        }
    }
}

impl From<StageError> for ApiError {
    fn from(e: StageError) -> Self {
        tracing::error!(error = %chain(&e), "request failed");
        if e.is_transient() {
            ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                "the service is temporarily unavailable, retry later",
            )
        } else {
            ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "the request could not be completed; the operator has been logged the cause",
            )
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            error: ErrorDetail {
                code: self.code,
                message: self.message,
                field: self.field,
            },
        };
        (self.status, Json(body)).into_response()
    }
}
