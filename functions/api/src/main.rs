//! Lambda: the HTTP API (API Gateway HTTP API → `lambda_http` → the same
//! axum router `oms serve` serves). Captured orders reach the reserve queue
//! through the table's outbox, so this function sends to no queue itself.
use oms_http::{ApiConfig, ApiKeys, AppState};
use oms_runtime::Env;
use std::sync::Arc;

#[tokio::main]
async fn main() -> Result<(), oms_lambda::Error> {
    oms_lambda::init_tracing();
    let config = oms_lambda::config::api(Env::from_process())?;
    let sdk = oms_aws::Sdk::from_env().await;
    let state = AppState {
        store: Arc::new(oms_aws::DynamoStore::new(
            &sdk,
            &config.aws.table,
            config.idempotency_ttl,
        )),
        mailer: Arc::new(oms_aws::SesMailer::new(&sdk)),
        warehouse: Arc::new(oms_warehouse::HttpWarehouse::new(
            config.warehouse.url.clone(),
            config.warehouse.secret.expose().as_bytes().to_vec(),
        )),
        certificates: Arc::new(oms_certificates::HttpCertificates::default()),
        config: Arc::new(ApiConfig::new(
            ApiKeys::parse(config.api_keys.expose()),
            config.stripe_webhook_secret.expose().as_bytes().to_vec(),
            config.paypal,
            config.invoice,
        )),
    };
    lambda_http::run(oms_http::router(state)).await
}
