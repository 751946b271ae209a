use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use jiff::Timestamp;
use oms_capture::{capture_order, check_idempotency_key, CaptureError};
use oms_domain::new_order::OrderRequest;
use oms_domain::order::OrderStatus;
use oms_domain::ports::{CancelAnswer, CancelRequest};
use oms_domain::OrderId;
use oms_reserve::{cancel_order as cancel, CancelError};

use crate::body::read_body;
use crate::error::{ApiError, ErrorBody};
use crate::views::{order_json, OrderView};
use crate::{AppState, Role};

/// Capture an order. Needs an `Idempotency-Key`: the same key with the same
/// body answers as the first time; with another body it is a 409.
#[utoipa::path(post, path = "/v1/orders", tag = "orders", request_body = OrderRequest,
    params(("Idempotency-Key" = String, Header, description = "1 to 255 visible ASCII characters")),
    responses((status = 201, body = OrderView), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 409, body = ErrorBody, description = "idempotency_conflict"),
        (status = 413, body = ErrorBody), (status = 422, body = ErrorBody, description = "unknown SKU, named by its line")),
    security(("bearer" = [])))]
pub async fn create_order(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    state.config.keys.authorize(&headers, &[Role::Storefront])?;
    let key = check_idempotency_key(headers.get("idempotency-key").and_then(|v| v.to_str().ok()))
        .map_err(ApiError::invalid)?;
    let bytes = read_body(body).await?;
    let correlation = super::correlation_id(&headers);
    let captured = capture_order(
        state.store.as_ref(),
        key,
        &bytes,
        &correlation,
        Timestamp::now(),
        &state.config.invoice.seller.country,
        order_json,
    )
    .await
    .map_err(|e| match e {
        CaptureError::Invalid(f) => ApiError::invalid(f),
        CaptureError::Unprocessable(f) => ApiError::unprocessable(f),
        CaptureError::IdempotencyConflict => {
            ApiError::new(StatusCode::CONFLICT, "idempotency_conflict", e.to_string())
        }
        CaptureError::Store(s) => s.into(),
    })?;
    if !captured.replayed {
        tracing::info!(order_id = %captured.order_id, correlation_id = %correlation, "order captured");
    }
    let status = StatusCode::from_u16(captured.status).unwrap_or(StatusCode::CREATED);
    let mut response = (status, captured.body).into_response();
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    if let Ok(location) = HeaderValue::from_str(&format!("/v1/orders/{}", captured.order_id)) {
        h.insert(header::LOCATION, location);
    }
    if captured.replayed {
        h.insert("idempotent-replayed", HeaderValue::from_static("true"));
    }
    Ok(response)
}

/// An order with its status, payments, fulfillments and timeline.
#[utoipa::path(get, path = "/v1/orders/{id}", tag = "orders", params(("id" = String, Path)),
    responses((status = 200, body = OrderView), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn get_order(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Json<OrderView>, ApiError> {
    state.config.keys.authorize(&headers, &[Role::Storefront])?;
    let order = state
        .store
        .order(&OrderId(id.clone()))
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no order {id}")))?;
    Ok(Json(OrderView::from(&order)))
}

/// Cancel an order that has not shipped; its reserved stock is released once.
/// A handed-off order is cancelled only if the warehouse stops it first.
#[utoipa::path(post, path = "/v1/orders/{id}/cancel", tag = "orders", params(("id" = String, Path)),
    responses((status = 200, body = OrderView), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody, description = "shipped, cancelled or rejected already, or the warehouse is too late to stop it"),
        (status = 503, body = ErrorBody, description = "the warehouse could not be asked; nothing changed")),
    security(("bearer" = [])))]
pub async fn cancel_order(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Json<OrderView>, ApiError> {
    state.config.keys.authorize(&headers, &[Role::Storefront])?;
    let id = OrderId(id);
    let order = state
        .store
        .order(&id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no order {id}")))?;
    if let (OrderStatus::HandedOff, Some(f)) = (order.status, &order.fulfillment) {
        let request = CancelRequest {
            fulfillment_id: f.id.clone(),
            order_id: id.clone(),
        };
        match state.warehouse.cancel(&request).await {
            Ok(CancelAnswer::Stopped) => {}
            Ok(CancelAnswer::TooLate) => {
                return Err(ApiError::conflict(
                    "the warehouse cannot stop the order any more; it goes on",
                ))
            }
            Err(e) => {
                tracing::warn!(order_id = %id, error = %e, "the warehouse could not be asked to cancel");
                return Err(ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "unavailable",
                    format!("the warehouse could not be asked to stop the order ({e}); nothing changed, try again"),
                ));
            }
        }
    }
    match cancel(state.store.as_ref(), &id, Timestamp::now()).await {
        Ok(order) => {
            tracing::info!(order_id = %order.id, correlation_id = %order.correlation_id, "order cancelled");
            Ok(Json(OrderView::from(&order)))
        }
        Err(CancelError::NotFound(id)) => Err(ApiError::not_found(format!("no order {id}"))),
        Err(CancelError::NotCancellable(m)) => Err(ApiError::conflict(m)),
        Err(CancelError::Store(e)) => Err(e.into()),
    }
}
