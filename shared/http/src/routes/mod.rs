pub mod finance;
pub mod invoices;
pub mod orders;
pub mod payments;
pub mod reports;
pub mod shipments;
pub mod skus;

use axum::http::HeaderMap;

/// The caller's `X-Correlation-Id` if it is sane, else a new one. It travels
/// with the order through every stage and into every log line.
pub(crate) fn correlation_id(headers: &HeaderMap) -> String {
    headers
        .get("x-correlation-id")
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty() && v.len() <= 128 && v.bytes().all(|b| b.is_ascii_graphic()))
        .map(str::to_string)
        .unwrap_or_else(|| format!("corr_{}", ulid::Ulid::new()))
}
