//! Signing certificates of payment providers (PayPal names one per webhook
//! call by URL), fetched over HTTP(S) and kept: PayPal rotates them rarely,
//! and a webhook should not wait on a download each time. The URL has been
//! checked against the allowed hosts before it gets here.

use async_trait::async_trait;
use oms_domain::error::StoreErrorKind;
use oms_domain::ports::CertificateSource;
use oms_domain::StoreError;
use std::collections::HashMap;
use std::time::Duration;
use tokio::sync::Mutex;

/// Certificates are small; anything bigger is not one.
const MAX_BYTES: usize = 64 * 1024;
/// Distinct URLs kept; PayPal uses a handful.
const MAX_KEPT: usize = 64;

pub struct HttpCertificates {
    client: reqwest::Client,
    kept: Mutex<HashMap<String, Vec<u8>>>,
}

impl Default for HttpCertificates {
    fn default() -> Self {
        HttpCertificates {
            client: reqwest::Client::builder()
                .timeout(Duration::from_secs(5))
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .expect("a default HTTP client always builds"),
            kept: Mutex::new(HashMap::new()),
        }
    }
}

#[async_trait]
impl CertificateSource for HttpCertificates {
    async fn certificate(&self, url: &str) -> Result<Vec<u8>, StoreError> {
        if let Some(pem) = self.kept.lock().await.get(url) {
            return Ok(pem.clone());
        }
        let unavailable = |e: reqwest::Error| {
            StoreError::caused(StoreErrorKind::Unavailable, "fetching a certificate", e)
        };
        let response = self.client.get(url).send().await.map_err(unavailable)?;
        if !response.status().is_success() {
            return Err(StoreError::unavailable(format!(
                "fetching a certificate: {}",
                response.status()
            )));
        }
        let pem = response.bytes().await.map_err(unavailable)?;
        if pem.len() > MAX_BYTES {
            return Err(StoreError::refused("a certificate larger than 64 KiB"));
        }
        let mut kept = self.kept.lock().await;
        if kept.len() >= MAX_KEPT {
            kept.clear();
        }
        kept.insert(url.to_string(), pem.to_vec());
        Ok(pem.to_vec())
    }
}
