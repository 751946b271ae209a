use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use jiff::Timestamp;
use oms_domain::paypal::Transmission;
use oms_reconcile::{receive_paypal_event, receive_stripe_event, Receipt, WebhookError};

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
    answer(
        receive_stripe_event(
            state.store.as_ref(),
            secret,
            signature,
            &bytes,
            Timestamp::now(),
        )
        .await,
    )
}

/// PayPal webhook, verified with PayPal's certificate (SHA256withRSA over
/// transmission id, time, webhook id and the body's CRC32). Stored before it
/// is acknowledged; a repeated event id is acknowledged and does nothing.
#[utoipa::path(post, path = "/v1/payments/paypal/events", tag = "payments",
    params(("PAYPAL-TRANSMISSION-ID" = String, Header, description = "transmission id"),
        ("PAYPAL-TRANSMISSION-TIME" = String, Header, description = "RFC 3339, at most 300 s off"),
        ("PAYPAL-CERT-URL" = String, Header, description = "certificate, from an allowed host"),
        ("PAYPAL-TRANSMISSION-SIG" = String, Header, description = "base64 SHA256withRSA"),
        ("PAYPAL-AUTH-ALGO" = Option<String>, Header, description = "SHA256withRSA")),
    request_body(content = serde_json::Value, description = "a PayPal webhook event"),
    responses((status = 200, body = WebhookAck), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody, description = "invalid_signature"),
        (status = 413, body = ErrorBody)))]
pub async fn paypal_events(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<WebhookAck>, ApiError> {
    let bytes = read_body(body).await?;
    let Some(config) = &state.config.paypal else {
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "invalid_signature",
            "PayPal webhooks are not configured (OMS_PAYPAL_WEBHOOK_ID)",
        ));
    };
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let transmission = Transmission {
        id: header("paypal-transmission-id"),
        time: header("paypal-transmission-time"),
        cert_url: header("paypal-cert-url"),
        signature: header("paypal-transmission-sig"),
    };
    answer(
        receive_paypal_event(
            state.store.as_ref(),
            state.certificates.as_ref(),
            config,
            &transmission,
            &bytes,
            Timestamp::now(),
        )
        .await,
    )
}

fn answer(received: Result<Receipt, WebhookError>) -> Result<Json<WebhookAck>, ApiError> {
    let refused = |reason: String| {
        tracing::warn!(%reason, "payment webhook refused");
        ApiError::new(StatusCode::UNAUTHORIZED, "invalid_signature", reason)
    };
    match received {
        Ok(receipt) => Ok(Json(WebhookAck {
            received: true,
            duplicate: receipt == Receipt::Duplicate,
        })),
        Err(WebhookError::InvalidSignature(e)) => Err(refused(e.to_string())),
        Err(WebhookError::PaypalSignature(e)) => Err(refused(e.to_string())),
        Err(WebhookError::Invalid(f)) => Err(ApiError::invalid(f)),
        Err(WebhookError::Store(e)) => Err(e.into()),
    }
}
