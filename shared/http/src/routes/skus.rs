use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use jiff::Timestamp;
use oms_domain::catalog::{SkuItem, SkuRequest};
use oms_domain::event::{Envelope, EventType, Payload};
use oms_domain::new_order::parse_json;
use oms_domain::ports::{CommitError, Conflict};
use oms_domain::Sku;

use crate::body::read_body;
use crate::error::{ApiError, ErrorBody};
use crate::{AppState, Role};

/// Create or update an item and set its absolute stock. Raising stock
/// retries backordered orders that wait for it.
#[utoipa::path(put, path = "/v1/skus/{sku}", tag = "catalogue", request_body = SkuRequest,
    params(("sku" = String, Path, description = "1 to 64 characters of A-Z a-z 0-9 - _ .")),
    responses((status = 200, body = SkuItem, description = "updated"), (status = 201, body = SkuItem, description = "created"),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 409, body = ErrorBody, description = "on_hand below the units reserved"), (status = 413, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn put_sku(
    State(state): State<AppState>,
    Path(sku): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<(StatusCode, Json<SkuItem>), ApiError> {
    state.config.keys.authorize(&headers, &[])?;
    let bytes = read_body(body).await?;
    let update = parse_json::<SkuRequest>(&bytes)
        .and_then(|r| r.validate(&sku))
        .map_err(ApiError::invalid)?;
    let replenished = Envelope::new(
        EventType::StockReplenished,
        None,
        &super::correlation_id(&headers),
        Timestamp::now(),
    )
    .with_payload(Payload {
        sku: Some(update.sku.clone()),
        ..Payload::default()
    });
    match state.store.put_sku(update, vec![replenished]).await {
        Ok((item, created)) => Ok((
            if created {
                StatusCode::CREATED
            } else {
                StatusCode::OK
            },
            Json(item),
        )),
        Err(CommitError::Conflict(c @ Conflict::BelowReserved(_))) => Err(ApiError {
            field: Some("on_hand".into()),
            ..ApiError::conflict(c.to_string())
        }),
        Err(CommitError::Conflict(c)) => Err(ApiError::conflict(c.to_string())),
        Err(CommitError::Store(e)) => Err(e.into()),
    }
}

/// An item with `on_hand`, `reserved` and `available`.
#[utoipa::path(get, path = "/v1/skus/{sku}", tag = "catalogue",
    params(("sku" = String, Path)),
    responses((status = 200, body = SkuItem), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn get_sku(
    State(state): State<AppState>,
    Path(sku): Path<String>,
    headers: HeaderMap,
) -> Result<Json<SkuItem>, ApiError> {
    state
        .config
        .keys
        .authorize(&headers, &[Role::Storefront, Role::Warehouse])?;
    let sku = Sku(sku);
    let mut found = state.store.skus(std::slice::from_ref(&sku)).await?;
    found
        .remove(&sku)
        .map(Json)
        .ok_or_else(|| ApiError::not_found(format!("no SKU {sku}")))
}
