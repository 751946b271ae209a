//! The HTTP API: one axum `Router` for every route. `oms serve` runs it with
//! `axum::serve`; in AWS, `lambda_http` runs the very same router.

pub mod auth;
mod body;
pub mod error;
mod routes;
pub mod views;

use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use oms_domain::ports::Store;
use oms_invoice::InvoiceConfig;
use std::sync::Arc;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub use auth::{ApiKeys, Role};
pub use body::MAX_BODY;
pub use error::ApiError;

pub struct ApiConfig {
    pub keys: ApiKeys,
    /// Where `POST /v1/reports/daily/email` sends the report; `None` when no
    /// finance address is configured.
    pub report_mail: Option<oms_report::ReportMail>,
    pub stripe_webhook_secret: Vec<u8>,
    /// `None`: PayPal webhooks are refused (no webhook id configured).
    pub paypal: Option<oms_reconcile::PaypalConfig>,
    pub invoice: InvoiceConfig,
}

impl ApiConfig {
    /// The daily report goes to the finance address invoices are copied to,
    /// from the invoices' sender.
    pub fn new(
        keys: ApiKeys,
        stripe_webhook_secret: Vec<u8>,
        paypal: Option<oms_reconcile::PaypalConfig>,
        invoice: InvoiceConfig,
    ) -> Self {
        let report_mail = invoice
            .finance_email
            .clone()
            .map(|to| oms_report::ReportMail {
                from: invoice.mail_from.clone(),
                to,
            });
        ApiConfig {
            keys,
            report_mail,
            stripe_webhook_secret,
            paypal,
            invoice,
        }
    }
}

#[derive(Clone)]
pub struct AppState {
    pub store: Arc<dyn Store>,
    pub mailer: Arc<dyn oms_domain::ports::Mailer>,
    /// Where handed-off orders are cancelled.
    pub warehouse: Arc<dyn oms_domain::ports::Warehouse>,
    /// PayPal's signing certificates.
    pub certificates: Arc<dyn oms_domain::ports::CertificateSource>,
    pub config: Arc<ApiConfig>,
}

#[derive(OpenApi)]
#[openapi(
    info(title = "Order-management pipeline API", version = "1"),
    modifiers(&BearerAuth),
    tags((name = "catalogue"), (name = "orders"), (name = "warehouse"), (name = "payments"), (name = "invoices"), (name = "reports"), (name = "finance"))
)]
struct ApiDoc;

struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// One log line per request (info; error for 5xx). The path holds ids only,
/// never personal data; bodies are not logged.
async fn access_log(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let method = request.method().clone();
    let path = request.uri().path().to_string();
    let started = std::time::Instant::now();
    let response = next.run(request).await;
    let status = response.status().as_u16();
    let duration_ms = started.elapsed().as_secs_f64() * 1000.0;
    if status >= 500 {
        tracing::error!(%method, path, status, duration_ms, "request failed");
    } else {
        tracing::info!(%method, path, status, duration_ms, "request");
    }
    response
}

/// Every route, with the OpenAPI document built from the same declarations.
pub fn router(state: AppState) -> Router {
    let (router, api) = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(routes::skus::put_sku, routes::skus::get_sku))
        .routes(routes!(routes::orders::create_order))
        .routes(routes!(routes::orders::get_order))
        .routes(routes!(routes::orders::cancel_order))
        .routes(routes!(routes::shipments::post_shipment))
        .routes(routes!(routes::shipments::post_return))
        .routes(routes!(routes::shipments::post_short))
        .routes(routes!(routes::payments::stripe_events))
        .routes(routes!(routes::payments::paypal_events))
        .routes(routes!(routes::invoices::get_invoice))
        .routes(routes!(routes::invoices::get_invoice_pdf))
        .routes(routes!(routes::invoices::get_invoice_xml))
        .routes(routes!(routes::invoices::get_invoice_cii))
        .routes(routes!(routes::reports::daily))
        .routes(routes!(routes::reports::email_daily))
        .routes(routes!(routes::reports::reorder))
        .routes(routes!(routes::finance::import_bank_statement))
        .routes(routes!(routes::finance::bank_transactions))
        .routes(routes!(routes::finance::assign_bank_transaction))
        .routes(routes!(routes::finance::run_dunning))
        .routes(routes!(routes::finance::dunning_block))
        .routes(routes!(routes::finance::receivables))
        .routes(routes!(routes::finance::journal))
        .routes(routes!(routes::finance::datev_export))
        .with_state(state)
        .split_for_parts();
    let api = Arc::new(api);
    router
        .route(
            "/openapi.json",
            get(move || async move { Json(api.as_ref().clone()) }),
        )
        .route(
            "/healthz",
            get(|| async { Json(serde_json::json!({"status": "ok"})) }),
        )
        .fallback(|| async { ApiError::not_found("no such route") })
        .method_not_allowed_fallback(|| async {
            ApiError::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                "this route does not take that method",
            )
        })
        .layer(axum::middleware::from_fn(access_log))
}
