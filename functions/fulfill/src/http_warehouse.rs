//! Hand-off to a real warehouse or 3PL over HTTP, signed like a Stripe webhook.

use async_trait::async_trait;
use oms_domain::ports::{HandOff, Warehouse};
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

#[async_trait]
impl Warehouse for HttpWarehouse {
    /// A 2xx answer means handed off; anything else is transient, so the
    /// queue retries it with backoff (and dead-letters it in the end).
    async fn hand_off(&self, request: &HandOff) -> Result<(), StageError> {
        let body = serde_json::to_vec(request).map_err(|e| StageError::Permanent(e.to_string()))?;
        let signature = sign(&self.secret, jiff::Timestamp::now().as_second(), &body);
        let response = self
            .client
            .post(&self.url)
            .header("content-type", "application/json")
            .header("x-oms-signature", signature)
            .body(body)
            .send()
            .await
            .map_err(|e| StageError::Transient(format!("warehouse unreachable: {e}")))?;
        if response.status().is_success() {
            Ok(())
        } else {
            Err(StageError::Transient(format!(
                "warehouse answered {}",
                response.status()
            )))
        }
    }
}
