//! Settings of a local run, from flags and `OMS_*` environment variables.

use anyhow::{Context, Result};
use oms_embedded::QueueSettings;
use oms_invoice::InvoiceConfig;
use oms_reconcile::PaypalConfig;
use oms_runtime::config::{self, Env, Need, Secret, WarehouseConfig};
use oms_runtime::ConfigError;
use std::path::{Path, PathBuf};
use std::time::Duration;

#[derive(Debug, Clone)]
pub struct Settings {
    pub data_dir: PathBuf,
    pub listen: String,
    /// `role:key` comma-separated; `None` means "generate one in the data dir".
    pub api_keys: Option<Secret<String>>,
    /// A real warehouse; `None`: the built-in simulated one.
    pub warehouse: Option<WarehouseConfig>,
    /// `None`: generate one in the data dir.
    pub stripe_webhook_secret: Option<Secret<String>>,
    /// `None`: PayPal webhooks are refused.
    pub paypal: Option<PaypalConfig>,
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

impl Settings {
    /// Defaults for a local run: generated keys, simulated warehouse, demo
    /// seller, no finance copy.
    pub fn local(data_dir: PathBuf, listen: String) -> Settings {
        Settings::from_vars(data_dir, listen, None, Env::default()).expect("the defaults are valid")
    }

    /// [`Settings::local`] with the process's `OMS_*` environment applied;
    /// the `warehouse_url` flag wins over `OMS_WAREHOUSE_URL`.
    pub fn from_env(
        data_dir: PathBuf,
        listen: String,
        warehouse_url: Option<String>,
    ) -> Result<Settings> {
        Ok(Settings::from_vars(
            data_dir,
            listen,
            warehouse_url,
            Env::from_process(),
        )?)
    }

    /// The settings from `env`, read by the same functions every Lambda
    /// uses; only here a missing variable takes its local default.
    pub fn from_vars(
        data_dir: PathBuf,
        listen: String,
        warehouse_url: Option<String>,
        env: Env,
    ) -> Result<Settings, ConfigError> {
        let mut env = env;
        if let Some(url) = warehouse_url {
            env.set("OMS_WAREHOUSE_URL", url);
        }
        let warehouse = config::warehouse(&mut env, Need::Defaulted);
        let (visibility_timeout, max_attempts) = config::local_queues(&mut env);
        let settings = Settings {
            data_dir,
            listen,
            backend: Backend::Embedded,
            api_keys: config::api_keys(&mut env, Need::Defaulted),
            warehouse,
            stripe_webhook_secret: config::stripe_webhook_secret(&mut env, Need::Defaulted),
            paypal: config::paypal(&mut env),
            invoice: config::invoice(&mut env, Need::Defaulted),
            simulated_ship_delay: config::simulated_ship_delay(&mut env),
            queue: QueueSettings {
                visibility_timeout,
                max_attempts,
            },
            idempotency_ttl: config::idempotency_ttl(&mut env),
        };
        env.done().map(|()| settings)
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
