use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use jiff::Timestamp;
use oms_capture::check_idempotency_key;
use oms_domain::new_order::parse_json;
use oms_domain::order::Order;
use oms_domain::{FieldError, FulfillmentId};
use oms_fulfill::{
    record_return, record_shipment, record_short, FulfillmentError, ReturnRequest, ShipmentRequest,
    ShortRequest,
};

use crate::body::read_body;
use crate::error::{ApiError, ErrorBody};
use crate::views::OrderView;
use crate::{AppState, Role};

/// Reads and checks a warehouse report's body.
async fn read_report<T: serde::de::DeserializeOwned>(
    body: Body,
    validate: impl Fn(&T) -> Result<(), FieldError>,
) -> Result<T, ApiError> {
    let bytes = read_body(body).await?;
    let report: T = parse_json(&bytes).map_err(ApiError::invalid)?;
    validate(&report).map_err(ApiError::invalid)?;
    Ok(report)
}

/// The answer to a warehouse report: the order as it is now.
fn answer(
    result: Result<Order, FulfillmentError>,
    what: &str,
) -> Result<Json<OrderView>, ApiError> {
    match result {
        Ok(order) => {
            tracing::info!(order_id = %order.id, correlation_id = %order.correlation_id, "{what} recorded");
            Ok(Json(OrderView::from(&order)))
        }
        Err(FulfillmentError::NotFound(id)) => {
            Err(ApiError::not_found(format!("no fulfillment {id}")))
        }
        Err(FulfillmentError::Conflict(m)) => Err(ApiError::conflict(m)),
        Err(FulfillmentError::IdempotencyConflict(m)) => Err(ApiError::new(
            StatusCode::CONFLICT,
            "idempotency_conflict",
            m,
        )),
        Err(FulfillmentError::Unprocessable(f)) => Err(ApiError::unprocessable(f)),
        Err(FulfillmentError::Store(e)) => Err(e.into()),
    }
}

/// The warehouse reports a shipment. Repeating the same report is harmless.
#[utoipa::path(post, path = "/v1/fulfillments/{id}/shipments", tag = "warehouse", request_body = ShipmentRequest,
    params(("id" = String, Path)),
    responses((status = 200, body = OrderView), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody, description = "cancelled, or shipped with another tracking number")),
    security(("bearer" = [])))]
pub async fn post_shipment(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<OrderView>, ApiError> {
    state.config.keys.authorize(&headers, &[Role::Warehouse])?;
    let shipment: ShipmentRequest = read_report(body, ShipmentRequest::validate).await?;
    answer(
        record_shipment(
            state.store.as_ref(),
            &FulfillmentId(id),
            &shipment,
            Timestamp::now(),
        )
        .await,
        "shipment",
    )
}

/// The warehouse reports goods sent back after shipment. Restocked units
/// (the default) are available again at once. Repeating a report with the
/// same `return_id` is harmless.
#[utoipa::path(post, path = "/v1/fulfillments/{id}/returns", tag = "warehouse", request_body = ReturnRequest,
    params(("id" = String, Path)),
    responses((status = 200, body = ReturnAnswer), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody, description = "not shipped, or the return id was used with other lines"),
        (status = 422, body = ErrorBody, description = "a SKU the order lacks, more than was shipped, or an unknown replacement SKU")),
    security(("bearer" = [])))]
pub async fn post_return(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<ReturnAnswer>, ApiError> {
    state.config.keys.authorize(&headers, &[Role::Warehouse])?;
    let request: ReturnRequest = read_report(body, ReturnRequest::validate).await?;
    let result = record_return(
        state.store.as_ref(),
        &FulfillmentId(id),
        &request,
        Timestamp::now(),
    )
    .await;
    let replacement_order_id = result.as_ref().ok().and_then(|o| {
        let r = o.returns.iter().find(|r| r.id == request.return_id)?;
        Some(r.exchange.as_ref()?.replacement_order_id.to_string())
    });
    let Json(order) = answer(result, "return")?;
    Ok(Json(ReturnAnswer {
        order,
        replacement_order_id,
    }))
}

/// The order after a return, and the replacement order of an exchange.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct ReturnAnswer {
    #[serde(flatten)]
    pub order: OrderView,
    /// The replacement order an exchange captured; null without one.
    pub replacement_order_id: Option<String>,
}

/// The warehouse reports units it cannot ship: they are cut from the order
/// (its total shrinks by their price less their share of the discount),
/// taken out of stock, and the customer is told. A paid order shows
/// `overpaid` (a refund is due); cutting every unit cancels the order.
/// A report has no id of its own: a warehouse that may retry sends an
/// `Idempotency-Key`, and the same report under it again cuts nothing more.
#[utoipa::path(post, path = "/v1/fulfillments/{id}/short", tag = "warehouse", request_body = ShortRequest,
    params(("id" = String, Path),
        ("Idempotency-Key" = Option<String>, Header, description = "optional, 1 to 255 visible ASCII characters: the same report again changes nothing")),
    responses((status = 200, body = OrderView), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody, description = "not held by the warehouse (shipped, cancelled, not reserved), or idempotency_conflict"),
        (status = 422, body = ErrorBody, description = "a SKU the order lacks, or more units than it holds")),
    security(("bearer" = [])))]
pub async fn post_short(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<OrderView>, ApiError> {
    state.config.keys.authorize(&headers, &[Role::Warehouse])?;
    let key = match headers.get("idempotency-key") {
        None => None,
        Some(v) => Some(check_idempotency_key(v.to_str().ok()).map_err(ApiError::invalid)?),
    };
    let request: ShortRequest = read_report(body, ShortRequest::validate).await?;
    answer(
        record_short(
            state.store.as_ref(),
            &FulfillmentId(id),
            &request,
            key,
            Timestamp::now(),
        )
        .await,
        "short pick",
    )
}
