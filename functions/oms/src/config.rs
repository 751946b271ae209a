//! Settings of a local run, from flags and `OMS_*` environment variables.

use anyhow::{bail, Context, Result};
use oms_domain::invoice::Seller;
use oms_embedded::QueueSettings;
use oms_invoice::InvoiceConfig;
use std::path::{Path, PathBuf};
use std::time::Duration;

#[derive(Debug, Clone)]
pub struct Settings {
    pub data_dir: PathBuf,
    pub listen: String,
    /// Comma-separated keys; empty means "generate one in the data dir".
    pub api_keys: String,
    pub warehouse_url: Option<String>,
    pub warehouse_secret: Option<String>,
    pub stripe_webhook_secret: Option<String>,
    pub invoice: InvoiceConfig,
    /// How long the simulated warehouse takes to ship.
    pub simulated_ship_delay: Duration,
    pub queue: QueueSettings,
    /// How long an `Idempotency-Key` is remembered; `None`: for ever.
    pub idempotency_ttl: Option<Duration>,
    pub backend: Backend,
}

/// Where state, queues and mail live.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Backend {
    /// SQLite file, local queues and a mail folder in the data dir.
    Embedded,
    /// DynamoDB table `prefix`, SQS queues `prefix-<stage>`, SES v2, with
    /// the AWS SDK's configuration from the environment.
    Aws { prefix: String },
}

fn env(name: &str) -> Option<String> {
    std::env::var(name)
        .ok()
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
}

fn env_number(name: &str, default: u64) -> Result<u64> {
    match env(name) {
        Some(v) => v
            .parse()
            .with_context(|| format!("{name} must be a whole number, not `{v}`")),
        None => Ok(default),
    }
}

impl Settings {
    /// Defaults for a local run: generated keys, simulated warehouse, no finance copy.
    pub fn local(data_dir: PathBuf, listen: String) -> Settings {
        Settings {
            data_dir,
            listen,
            backend: Backend::Embedded,
            api_keys: String::new(),
            warehouse_url: None,
            warehouse_secret: None,
            stripe_webhook_secret: None,
            invoice: InvoiceConfig {
                seller: Seller {
                    name: "Example Shop GmbH".into(),
                    street: "Musterstr. 1".into(),
                    postal_code: "50667".into(),
                    city: "Köln".into(),
                    country: "DE".into(),
                    vat_id: "DE000000000".into(),
                    email: "invoices@shop.example".into(),
                    iban: None,
                },
                mail_from: "invoices@shop.example".into(),
                finance_email: None,
            },
            simulated_ship_delay: Duration::from_millis(2000),
            queue: QueueSettings::default(),
            idempotency_ttl: Some(Duration::from_secs(7 * 24 * 3600)),
        }
    }

    /// [`Settings::local`] with the `OMS_*` environment applied; the
    /// `warehouse_url` flag wins over `OMS_WAREHOUSE_URL`.
    pub fn from_env(
        data_dir: PathBuf,
        listen: String,
        warehouse_url: Option<String>,
    ) -> Result<Settings> {
        let mut s = Settings::local(data_dir, listen);
        s.warehouse_url = warehouse_url.or_else(|| env("OMS_WAREHOUSE_URL"));
        s.warehouse_secret = env("OMS_WAREHOUSE_SECRET");
        if s.warehouse_url.is_some() && s.warehouse_secret.is_none() {
            bail!("OMS_WAREHOUSE_SECRET must be set when a warehouse URL is given: hand-offs are signed with it");
        }
        s.api_keys = env("OMS_API_KEYS").unwrap_or_default();
        s.stripe_webhook_secret = env("OMS_STRIPE_WEBHOOK_SECRET");
        let seller = &mut s.invoice.seller;
        for (name, field) in [
            ("OMS_SELLER_NAME", &mut seller.name),
            ("OMS_SELLER_STREET", &mut seller.street),
            ("OMS_SELLER_POSTAL_CODE", &mut seller.postal_code),
            ("OMS_SELLER_CITY", &mut seller.city),
            ("OMS_SELLER_COUNTRY", &mut seller.country),
            ("OMS_SELLER_VAT_ID", &mut seller.vat_id),
        ] {
            if let Some(v) = env(name) {
                *field = v;
            }
        }
        if !oms_domain::codes::is_country(&seller.country) {
            bail!(
                "OMS_SELLER_COUNTRY must be an ISO 3166-1 alpha-2 code in upper case, not `{}`",
                seller.country
            );
        }
        seller.iban = env("OMS_SELLER_IBAN").map(|v| v.replace(' ', ""));
        if let Some(v) = env("OMS_MAIL_FROM") {
            seller.email = v.clone();
            s.invoice.mail_from = v;
        }
        s.invoice.finance_email = env("OMS_FINANCE_EMAIL");
        s.simulated_ship_delay = Duration::from_millis(env_number("OMS_SIM_SHIP_DELAY_MS", 2000)?);
        s.queue.visibility_timeout =
            Duration::from_secs(env_number("OMS_VISIBILITY_TIMEOUT_SECS", 30)?);
        s.queue.max_attempts = env_number("OMS_MAX_ATTEMPTS", 16)? as u32;
        s.idempotency_ttl = match env_number("OMS_IDEMPOTENCY_TTL_HOURS", 168)? {
            0 => None,
            hours => Some(Duration::from_secs(hours * 3600)),
        };
        Ok(s)
    }
}

/// A secret kept in the data dir: read it, or make and store a new one.
/// Returns the value and whether it was made now.
pub fn stored_secret(dir: &Path, file: &str, prefix: &str) -> Result<(String, bool)> {
    let path = dir.join(file);
    if let Ok(v) = std::fs::read_to_string(&path) {
        if !v.trim().is_empty() {
            return Ok((v.trim().to_string(), false));
        }
    }
    let mut bytes = [0u8; 24];
    getrandom::fill(&mut bytes).map_err(|e| anyhow::anyhow!("no randomness: {e}"))?;
    let value = format!("{prefix}{}", hex::encode(bytes));
    std::fs::write(&path, &value).with_context(|| format!("writing {}", path.display()))?;
    Ok((value, true))
}
