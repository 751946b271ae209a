//! Reading request bodies with the 1 MiB limit of the API contract.

use axum::body::Body;
use axum::http::StatusCode;

use crate::error::ApiError;

pub const MAX_BODY: usize = 1024 * 1024;

pub async fn read_body(body: Body) -> Result<axum::body::Bytes, ApiError> {
    axum::body::to_bytes(body, MAX_BODY).await.map_err(|e| {
        let too_large = std::error::Error::source(&e)
            .is_some_and(|s| s.is::<http_body_util::LengthLimitError>());
        if too_large {
            ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                format!("request bodies are limited to {MAX_BODY} bytes"),
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
