//! Configuration from environment variables, read and validated at init.

use oms_aws::{AwsConfig, Clients};
use oms_domain::event::QueueName;
use oms_domain::invoice::Seller;
use std::time::Duration;

/// Reads variables; every missing one is collected so that the init error
/// names all of them at once.
#[derive(Default)]
pub struct Env {
    missing: Vec<String>,
}

impl Env {
    pub fn required(&mut self, name: &str) -> String {
        match std::env::var(name) {
            Ok(v) if !v.trim().is_empty() => v.trim().to_string(),
            _ => {
                self.missing.push(name.to_string());
                String::new()
            }
        }
    }

    pub fn optional(&mut self, name: &str) -> Option<String> {
        std::env::var(name)
            .ok()
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
    }

    /// The table and the URLs of `queues`' queues and DLQs.
    pub fn aws(&mut self, queues: &[QueueName]) -> AwsConfig {
        let table = self.required("OMS_TABLE");
        let mut urls = oms_aws::QueueUrls::default();
        for &q in queues {
            let (url, dlq) = oms_aws::queue_vars(q);
            urls.insert(
                q,
                oms_aws::QueueUrl {
                    url: self.required(&url),
                    dlq: self.required(&dlq),
                },
            );
        }
        AwsConfig {
            table,
            queues: urls,
        }
    }

    /// The seller printed on invoices; its email is `OMS_MAIL_FROM`.
    pub fn seller(&mut self) -> Seller {
        Seller {
            name: self.required("OMS_SELLER_NAME"),
            street: self.required("OMS_SELLER_STREET"),
            postal_code: self.required("OMS_SELLER_POSTAL_CODE"),
            city: self.required("OMS_SELLER_CITY"),
            country: self.required("OMS_SELLER_COUNTRY"),
            vat_id: self.required("OMS_SELLER_VAT_ID"),
            email: self.required("OMS_MAIL_FROM"),
            iban: self.optional("OMS_SELLER_IBAN").map(|v| v.replace(' ', "")),
        }
    }

    pub fn idempotency_ttl(&mut self) -> Duration {
        let hours = self.required("OMS_IDEMPOTENCY_TTL_HOURS");
        match hours.parse::<u64>() {
            Ok(h) => Duration::from_secs(h * 3600),
            Err(_) => {
                if !hours.is_empty() {
                    self.missing.push(format!(
                        "OMS_IDEMPOTENCY_TTL_HOURS (a whole number, not `{hours}`)"
                    ));
                }
                Duration::ZERO
            }
        }
    }

    /// Fails if anything was missing, naming every variable.
    pub fn done(self) -> Result<(), lambda_runtime::Error> {
        if self.missing.is_empty() {
            return Ok(());
        }
        Err(format!(
            "missing configuration: set the environment variable(s) {}",
            self.missing.join(", ")
        )
        .into())
    }
}

/// The SDK clients from the Lambda environment (no network call).
pub async fn clients() -> Clients {
    Clients::from_env().await
}
