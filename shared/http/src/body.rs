//! Reading request bodies with the 1 MiB limit of the API contract.

use axum::body::Body;
use axum::http::StatusCode;

use crate::error::ApiError;

pub const MAX_BODY: usize = 1024 * 1024;

pub async fn read_body(body: Body) -> Result<axum::body::Bytes, ApiError> {
    read_body_up_to(body, MAX_BODY).await
}

/// Reads a body of at most `limit` bytes; a larger one is a 413.
pub async fn read_body_up_to(body: Body, limit: usize) -> Result<axum::body::Bytes, ApiError> {
    axum::body::to_bytes(body, limit).await.map_err(|e| {
        let too_large = std::error::Error::source(&e)
            .is_some_and(|s| s.is::<http_body_util::LengthLimitError>());
        if too_large {
            ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                format!("this request's body is limited to {limit} bytes"),
            )
        } else {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "validation_failed",
                format!("could not read the request body: {e}"),
            )
        }
    })
}
