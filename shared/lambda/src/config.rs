//! What each Lambda reads at init, built from `oms-runtime`'s readers (the
//! ones `oms serve` uses, so a variable means the same everywhere) plus
//! where its AWS resources are (`OMS_TABLE`, `OMS_<QUEUE>_QUEUE_URL`,
//! `OMS_<QUEUE>_DLQ_URL`, set by the SAM template). In Lambda nothing has a
//! demo default: every variable a function uses must be set.

use oms_aws::{queue_vars, AwsConfig, QueueUrl, QueueUrls};
use oms_domain::event::QueueName;
use oms_invoice::InvoiceConfig;
use oms_runtime::config::{self, Env, Need, Secret, WarehouseConfig};
use oms_runtime::ConfigError;
use std::time::Duration;

/// The table and the URLs of `queues`' queues and DLQs.
pub fn aws(env: &mut Env, queues: &[QueueName]) -> AwsConfig {
    let table = env.required("OMS_TABLE");
    let mut urls = QueueUrls::default();
    for &q in queues {
        let (url, dlq) = queue_vars(q);
        urls.insert(
            q,
            QueueUrl {
                url: env.required(&url),
                dlq: env.required(&dlq),
            },
        );
    }
    AwsConfig {
        table,
        queues: urls,
    }
}

/// The HTTP API function.
#[derive(Debug)]
pub struct Api {
    pub aws: AwsConfig,
    pub api_keys: Secret<String>,
    pub stripe_webhook_secret: Secret<String>,
    pub paypal: Option<oms_reconcile::PaypalConfig>,
    pub idempotency_ttl: Option<Duration>,
    pub invoice: InvoiceConfig,
    /// Where handed-off orders are cancelled (`POST <url>/cancellations`).
    pub warehouse: WarehouseConfig,
}

pub fn api(mut env: Env) -> Result<Api, ConfigError> {
    let aws = aws(&mut env, &[]);
    let api_keys = config::api_keys(&mut env, Need::Required);
    let stripe_webhook_secret = config::stripe_webhook_secret(&mut env, Need::Required);
    let paypal = config::paypal(&mut env);
    let idempotency_ttl = config::idempotency_ttl(&mut env);
    let invoice = config::invoice(&mut env, Need::Required);
    let warehouse = config::warehouse(&mut env, Need::Required);
    env.done().map(|()| Api {
        aws,
        api_keys: required(api_keys),
        stripe_webhook_secret: required(stripe_webhook_secret),
        paypal,
        idempotency_ttl,
        invoice,
        warehouse: warehouse.expect("required, so present once done"),
    })
}

/// A queue consumer that needs only the table and its own queue (reserve,
/// reconcile).
pub fn stage(mut env: Env, queue: QueueName) -> Result<AwsConfig, ConfigError> {
    let aws = aws(&mut env, &[queue]);
    env.done().map(|()| aws)
}

/// The fulfill function: hands off to a real warehouse.
pub fn fulfill(mut env: Env) -> Result<(AwsConfig, WarehouseConfig), ConfigError> {
    let aws = aws(&mut env, &[QueueName::Fulfill]);
    let warehouse = config::warehouse(&mut env, Need::Required);
    env.done()
        .map(|()| (aws, warehouse.expect("required, so present once done")))
}

/// The invoice function.
pub fn invoice(mut env: Env) -> Result<(AwsConfig, InvoiceConfig), ConfigError> {
    let aws = aws(&mut env, &[QueueName::Invoice]);
    let invoice = config::invoice(&mut env, Need::Required);
    env.done().map(|()| (aws, invoice))
}

/// The report function: who the daily report is from and to.
#[derive(Debug)]
pub struct Report {
    pub aws: AwsConfig,
    pub mail_from: String,
    pub finance_email: String,
    /// For the scheduled collection run (prepayment expiry, dunning).
    pub collection: oms_domain::collection::CollectionPolicy,
}

pub fn report(mut env: Env) -> Result<Report, ConfigError> {
    let report = Report {
        aws: aws(&mut env, &[]),
        mail_from: env.required("OMS_MAIL_FROM"),
        finance_email: env.required("OMS_FINANCE_EMAIL"),
        collection: config::collection(&mut env),
    };
    env.done().map(|()| report)
}

/// The relay: every stage queue, to send the outboxes to.
pub fn relay(mut env: Env) -> Result<AwsConfig, ConfigError> {
    let aws = aws(&mut env, &oms_aws::QUEUES);
    env.done().map(|()| aws)
}

fn required(secret: Option<Secret<String>>) -> Secret<String> {
    secret.unwrap_or_else(|| Secret::new(String::new()))
}
