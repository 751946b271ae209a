use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use jiff::Timestamp;
use oms_reconcile::{receive_stripe_event, Receipt, WebhookError};

use crate::body::read_body;
use crate::error::{ApiError, ErrorBody};
use crate::views::WebhookAck;
use crate::AppState;

/// Stripe webhook. Authenticated by `Stripe-Signature`, not by API key. The
/// event is stored before it is acknowledged; a repeated event id is
/// acknowledged and does nothing.
#[utoipa::path(post, path = "/v1/payments/stripe/events", tag = "payments",
    params(("Stripe-Signature" = String, Header, description = "t=<unix>,v1=<hex HMAC-SHA256>")),
    request_body(content = serde_json::Value, description = "a Stripe event"),
    responses((status = 200, body = WebhookAck), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody, description = "invalid_signature"),
        (status = 413, body = ErrorBody)))]
pub async fn stripe_events(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<WebhookAck>, ApiError> {
    let bytes = read_body(body).await?;
    let signature = headers
        .get("stripe-signature")
        .and_then(|v| v.to_str().ok());
    let secret = &state.config.stripe_webhook_secret;
    match receive_stripe_event(
        state.store.as_ref(),
        secret,
        signature,
        &bytes,
        Timestamp::now(),
    )
    .await
    {
        Ok(receipt) => Ok(Json(WebhookAck {
            received: true,
            duplicate: receipt == Receipt::Duplicate,
        })),
        Err(WebhookError::InvalidSignature(e)) => {
            tracing::warn!(reason = %e, "stripe webhook refused");
            Err(ApiError::new(
                StatusCode::UNAUTHORIZED,
                "invalid_signature",
                e.to_string(),
            ))
        }
        Err(WebhookError::Invalid(f)) => Err(ApiError::invalid(f)),
        Err(WebhookError::Store(e)) => Err(e.into()),
    }
}
