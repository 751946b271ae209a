//! `POST /v1/fulfillments/{id}/shipments`: the warehouse reports a shipment.

use jiff::Timestamp;
use oms_domain::error::StoreErrorKind;
use oms_domain::event::{Envelope, EventType, Notice};
use oms_domain::order::{Order, OrderStatus, ReturnLine};
use oms_domain::order_write::{commit_order, next_version, update_order, OrderKey, Round};
use oms_domain::ports::{ChangeSet, CommitError, ParcelFact, StockChange, Store};
use oms_domain::shipment::{Parcel, ReportError, Shipped};
use oms_domain::{FieldError, FulfillmentId, StoreError};
use serde::Deserialize;

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ShipmentRequest {
    #[schema(min_length = 1, max_length = 64, example = "DHL")]
    pub carrier: String,
    #[schema(pattern = "^[A-Za-z0-9-]{1,64}$")]
    pub tracking_number: String,
    /// What this parcel holds; without it, every unit not yet shipped.
    #[serde(default)]
    #[schema(min_items = 1, max_items = 100)]
    pub lines: Option<Vec<ReturnLine>>,
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
        if let Some(lines) = &self.lines {
            crate::returns::validate_lines(lines, "a parcel")?;
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
    /// The report's `Idempotency-Key` was used for another report: 409.
    #[error("{0}")]
    IdempotencyConflict(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<ReportError> for FulfillmentError {
    fn from(refused: ReportError) -> Self {
        match refused {
            ReportError::Conflict(m) => FulfillmentError::Conflict(m),
            ReportError::Unprocessable(f) => FulfillmentError::Unprocessable(f),
        }
    }
}

/// Ships a parcel of the fulfillment: its units leave `on_hand` and
/// `reserved` in the same change as the order's record of it, and
/// `OrderShipped` (naming the shipment, to invoice it) and the customer's
/// shipment notice are published. Reporting the same parcel again changes
/// nothing; the same tracking number with other lines is a conflict.
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
            let mut next = next_version(&order);
            let parcel = Parcel {
                carrier: shipment.carrier.clone(),
                tracking_number: shipment.tracking_number.clone(),
                lines: shipment.lines.clone(),
            };
            let (index, units) = match next.ship(parcel, now) {
                Ok(Shipped::Repeated(_)) => return Ok(Round::Done(order)),
                Ok(Shipped::New { index, stock }) => (index, stock),
                Err(refused) => return Err(refused.into()),
            };
            let stock = StockChange::gone(units);
            let shipment_id = next.shipments[index].id.clone();
            let parcel = (next.status == OrderStatus::PartiallyShipped).then(|| ParcelFact {
                shipment_id: shipment_id.clone(),
                shipped_at: now,
                lead_ms: now.as_millisecond() - next.captured_at.as_millisecond(),
            });
            let changes = ChangeSet {
                events: vec![
                    Envelope::for_order(EventType::OrderShipped, &next, now)
                        .about_shipment(&shipment_id),
                    Envelope::notice(Notice::Shipment, &next, now).about_shipment(&shipment_id),
                ],
                stock,
                parcel,
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
