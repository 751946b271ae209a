//! Hand-off to a real warehouse or 3PL over HTTP, signed like a Stripe
//! webhook (`x-oms-signature: t=<unix seconds>,v1=<HMAC-SHA256 hex>`).

use async_trait::async_trait;
use oms_domain::ports::{CancelAnswer, CancelRequest, HandOff, Warehouse};
use oms_domain::signature::sign;
use oms_domain::StageError;
use std::time::Duration;

pub struct HttpWarehouse {
    url: String,
    secret: Vec<u8>,
    client: reqwest::Client,
}

impl HttpWarehouse {
    pub fn new(url: String, secret: Vec<u8>) -> Self {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .expect("a default HTTP client always builds");
        HttpWarehouse {
            url,
            secret,
            client,
        }
    }
}

/// The warehouse's answer to a hand-off.
#[derive(Debug, thiserror::Error)]
#[error("the warehouse answered {status}: {body}")]
pub struct WarehouseAnswer {
    pub status: reqwest::StatusCode,
    pub body: String,
}

/// Whether an answer other than 2xx is worth sending again: server errors,
/// timeouts (408) and rate limits (429) are; any other 4xx says the request
/// itself is wrong (bad signature, unknown SKU) and will be refused again.
pub fn is_retryable(status: reqwest::StatusCode) -> bool {
    status.is_server_error()
        || status == reqwest::StatusCode::REQUEST_TIMEOUT
        || status == reqwest::StatusCode::TOO_MANY_REQUESTS
        || !status.is_client_error()
}

impl HttpWarehouse {
    /// POSTs `request` as JSON to `url`, signed with the shared secret.
    async fn post_signed<T: serde::Serialize>(
        &self,
        url: &str,
        request: &T,
    ) -> Result<reqwest::Response, StageError> {
        let body = serde_json::to_vec(request).map_err(StageError::permanent)?;
        let signature = sign(&self.secret, jiff::Timestamp::now().as_second(), &body);
        self.client
            .post(url)
            .header("content-type", "application/json")
            .header("x-oms-signature", signature)
            .body(body)
            .send()
            .await
            .map_err(StageError::transient)
    }
}

#[async_trait]
impl Warehouse for HttpWarehouse {
    /// A 2xx answer means handed off. Unreachable, 5xx, 408 and 429 are
    /// transient (the queue retries with backoff); other 4xx are permanent
    /// (dead-lettered at once, with the warehouse's answer as the reason).
    async fn hand_off(&self, request: &HandOff) -> Result<(), StageError> {
        let response = self.post_signed(&self.url, request).await?;
        let status = response.status();
        if status.is_success() {
            return Ok(());
        }
        let body: String = response
            .text()
            .await
            .unwrap_or_default()
            .chars()
            .take(500)
            .collect();
        let answer = WarehouseAnswer { status, body };
        if is_retryable(status) {
            Err(StageError::transient(answer))
        } else {
            Err(StageError::permanent(answer))
        }
    }

    /// `POST <url>/cancellations`, signed like the hand-off: 200 stopped,
    /// 409 too late; unreachable or anything else is an error.
    async fn cancel(&self, request: &CancelRequest) -> Result<CancelAnswer, StageError> {
        let url = format!("{}/cancellations", self.url.trim_end_matches('/'));
        let response = self.post_signed(&url, request).await?;
        match response.status() {
            reqwest::StatusCode::OK => Ok(CancelAnswer::Stopped),
            reqwest::StatusCode::CONFLICT => Ok(CancelAnswer::TooLate),
            status => Err(StageError::transient(WarehouseAnswer {
                status,
                body: response
                    .text()
                    .await
                    .unwrap_or_default()
                    .chars()
                    .take(500)
                    .collect(),
            })),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::StatusCode;

    #[test]
    fn client_errors_are_permanent_except_timeouts_and_rate_limits() {
        for s in [400, 401, 403, 404, 409, 422] {
            assert!(!is_retryable(StatusCode::from_u16(s).unwrap()), "{s}");
        }
        for s in [408, 429, 500, 502, 503, 504, 302] {
            assert!(is_retryable(StatusCode::from_u16(s).unwrap()), "{s}");
        }
    }
}
