//! Fulfill stage: reserved orders are handed to the warehouse; shipments the
//! warehouse reports move the units out of stock and trigger invoicing.

mod http_warehouse;
mod returns;
mod shipment;
mod simulated;

pub use http_warehouse::HttpWarehouse;
pub use returns::{record_return, ReturnRequest};
pub use shipment::{record_shipment, FulfillmentError, ShipmentRequest};
pub use simulated::{ship_simulated, SimulatedWarehouse};

use jiff::Timestamp;
use oms_domain::event::{Envelope, EventType};
use oms_domain::order::{FulfillmentStatus, Order, OrderStatus};
use oms_domain::ports::{commit_unless_raced, ChangeSet, HandOff, HandOffLine, Store, Warehouse};
use oms_domain::{OrderId, StageError};

const MAX_RACES: usize = 50;

/// Consumer of the fulfill queue (`OrderReserved`).
pub async fn handle<S, W>(store: &S, warehouse: &W, event: &Envelope) -> Result<(), StageError>
where
    S: Store + ?Sized,
    W: Warehouse + ?Sized,
{
    match event.event_type {
        EventType::OrderReserved => {
            hand_off_order(store, warehouse, event.require_order()?, Timestamp::now()).await
        }
        other => Err(StageError::Permanent(format!(
            "the fulfill stage does not handle {other:?}"
        ))),
    }
}

/// Writes `next` if the order is still at `base`'s version.
async fn save<S: Store + ?Sized>(
    store: &S,
    base: &Order,
    mut next: Order,
) -> Result<bool, StageError> {
    next.version = base.version + 1;
    Ok(commit_unless_raced(store, ChangeSet::order_update(next, base.version)).await?)
}

/// Hands a reserved order's fulfillment (created with the reservation) to
/// the warehouse, then marks it handed off. A shipment report may beat that
/// mark; then there is nothing left to do.
pub async fn hand_off_order<S, W>(
    store: &S,
    warehouse: &W,
    id: &OrderId,
    now: Timestamp,
) -> Result<(), StageError>
where
    S: Store + ?Sized,
    W: Warehouse + ?Sized,
{
    let order = store
        .order(id)
        .await?
        .ok_or_else(|| StageError::Permanent(format!("unknown order {id}")))?;
    if order.status != OrderStatus::Reserved {
        return Ok(()); // cancelled, or handed off already
    }
    let fulfillment = order
        .fulfillment
        .as_ref()
        .ok_or_else(|| StageError::Permanent(format!("reserved order {id} has no fulfillment")))?;
    let request = HandOff {
        fulfillment_id: fulfillment.id.clone(),
        order_id: order.id.clone(),
        lines: order
            .lines
            .iter()
            .map(|l| HandOffLine {
                sku: l.sku.clone(),
                quantity: l.quantity,
            })
            .collect(),
        shipping_address: order.shipping_address.clone(),
    };
    warehouse.hand_off(&request).await?;
    let mut current = order;
    for _ in 0..MAX_RACES {
        if current.status != OrderStatus::Reserved {
            return Ok(()); // shipped already (a fast warehouse) or cancelled meanwhile
        }
        let mut next = current.clone();
        next.transition(OrderStatus::HandedOff, now)
            .map_err(|e| StageError::Permanent(e.to_string()))?;
        if let Some(f) = next.fulfillment.as_mut() {
            f.status = FulfillmentStatus::HandedOff;
        }
        if save(store, &current, next).await? {
            return Ok(());
        }
        current = store
            .order(id)
            .await?
            .ok_or_else(|| StageError::Permanent(format!("unknown order {id}")))?;
    }
    Err(StageError::Transient(format!("order {id} kept changing")))
}
