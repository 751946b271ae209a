//! `POST /v1/fulfillments/{id}/shipments`: the warehouse reports a shipment.

use jiff::Timestamp;
use oms_domain::error::StoreErrorKind;
use oms_domain::event::{Envelope, EventType, Notice};
use oms_domain::order::{FulfillmentStatus, Order, OrderStatus};
use oms_domain::order_write::{commit_order, next_version, update_order, OrderKey, Round};
use oms_domain::ports::{ChangeSet, CommitError, StockChange, Store};
use oms_domain::{FieldError, FulfillmentId, StoreError};
use serde::Deserialize;

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ShipmentRequest {
    #[schema(min_length = 1, max_length = 64, example = "DHL")]
    pub carrier: String,
    #[schema(pattern = "^[A-Za-z0-9-]{1,64}$")]
    pub tracking_number: String,
}

impl ShipmentRequest {
    pub fn validate(&self) -> Result<(), FieldError> {
        let carrier = self.carrier.trim();
        if carrier.is_empty() || carrier.chars().count() > 64 {
            return Err(FieldError::new(
                "carrier",
                "carrier must be 1 to 64 characters",
            ));
        }
        let t = &self.tracking_number;
        if t.is_empty()
            || t.len() > 64
            || !t.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        {
            return Err(FieldError::new(
                "tracking_number",
                "tracking_number must be 1 to 64 characters of A-Z, a-z, 0-9 or '-'",
            ));
        }
        Ok(())
    }
}

/// Why a warehouse report (shipment or return) was refused.
#[derive(Debug, thiserror::Error)]
pub enum FulfillmentError {
    #[error("no fulfillment {0}")]
    NotFound(FulfillmentId),
    /// Not possible in the order's state: 409.
    #[error("{0}")]
    Conflict(String),
    /// Refers to what the order does not have: 422, naming the field.
    #[error("{}", .0.message)]
    Unprocessable(FieldError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Ships the fulfillment: stock leaves `on_hand` and `reserved` in the same
/// change as the status, and `OrderShipped` is published. Reporting the same
/// shipment again changes nothing; a different one for a shipped
/// fulfillment is a conflict.
pub async fn record_shipment<S: Store + ?Sized>(
    store: &S,
    id: &FulfillmentId,
    shipment: &ShipmentRequest,
    now: Timestamp,
) -> Result<Order, FulfillmentError> {
    update_order(
        store,
        OrderKey::Fulfillment(id),
        move |order: Option<Order>| async move {
            let order = order.ok_or_else(|| FulfillmentError::NotFound(id.clone()))?;
            let fulfillment = order
                .fulfillment
                .as_ref()
                .ok_or_else(|| FulfillmentError::NotFound(id.clone()))?;
            if fulfillment.status == FulfillmentStatus::Shipped {
                let same = fulfillment.carrier.as_deref() == Some(shipment.carrier.trim())
                    && fulfillment.tracking_number.as_deref()
                        == Some(shipment.tracking_number.as_str());
                return if same {
                    Ok(Round::Done(order))
                } else {
                    Err(FulfillmentError::Conflict(format!(
                        "fulfillment {id} was already shipped with tracking number {}",
                        fulfillment.tracking_number.as_deref().unwrap_or("-")
                    )))
                };
            }
            let mut next = next_version(&order);
            next.transition(OrderStatus::Shipped, now)
                .map_err(|e| FulfillmentError::Conflict(e.to_string()))?;
            let f = next.fulfillment.as_mut().expect("checked above");
            f.status = FulfillmentStatus::Shipped;
            f.carrier = Some(shipment.carrier.trim().to_string());
            f.tracking_number = Some(shipment.tracking_number.clone());
            let stock = order
                .units_per_sku()
                .into_iter()
                .map(|(sku, units)| StockChange {
                    sku,
                    on_hand: -units,
                    reserved: -units,
                })
                .collect();
            let changes = ChangeSet {
                events: vec![
                    Envelope::for_order(EventType::OrderShipped, &next, now),
                    Envelope::notice(Notice::Shipment, &next, now),
                ],
                stock,
                ..ChangeSet::order_update(next.clone(), order.version)
            };
            match commit_order(store, changes, next).await {
                Ok(round) => Ok(round),
                Err(CommitError::Conflict(c)) => {
                    Err(StoreError::caused(StoreErrorKind::Corrupt, "shipping stock", c).into())
                }
                Err(CommitError::Store(e)) => Err(e.into()),
            }
        },
    )
    .await
}
