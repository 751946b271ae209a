//! Lambda: the HTTP API (API Gateway HTTP API → `lambda_http` → the same
//! axum router `oms serve` serves). Captured orders reach the reserve queue
//! through the table's outbox, so this function sends to no queue itself.
use oms_api::{ApiConfig, ApiKeys, AppState};
use std::sync::Arc;

#[tokio::main]
async fn main() -> Result<(), oms_lambda::Error> {
    oms_lambda::init_tracing();
    let mut env = oms_lambda::Env::default();
    let aws = env.aws(&[]);
    let keys = ApiKeys::parse(&env.required("OMS_API_KEYS"));
    let stripe = env.required("OMS_STRIPE_WEBHOOK_SECRET");
    let ttl = env.idempotency_ttl();
    let invoice = oms_invoice::InvoiceConfig {
        seller: env.seller(),
        mail_from: env.required("OMS_MAIL_FROM"),
        finance_email: env.optional("OMS_FINANCE_EMAIL"),
    };
    env.done()?;
    let clients = oms_aws::Clients::from_env().await;
    let report_mail = invoice
        .finance_email
        .clone()
        .map(|to| oms_report::ReportMail {
            from: invoice.mail_from.clone(),
            to,
        });
    let state = AppState {
        store: Arc::new(oms_aws::DynamoStore::new(&clients, &aws.table, ttl)),
        mailer: Arc::new(oms_aws::SesMailer::new(&clients)),
        config: Arc::new(ApiConfig {
            keys,
            report_mail,
            stripe_webhook_secret: stripe.into_bytes(),
            invoice,
        }),
    };
    lambda_http::run(oms_api::router(state)).await
}
