//! Fulfill stage: reserved orders are handed to the warehouse; shipments the
//! warehouse reports move the units out of stock and trigger invoicing.

mod returns;
mod shipment;
mod short;
mod simulated;

pub use returns::{record_return, ReturnRequest};
pub use shipment::{record_shipment, FulfillmentError, ShipmentRequest};
pub use short::{record_short, ShortRequest};
pub use simulated::{ship_simulated, SimulatedWarehouse};

use jiff::Timestamp;
use oms_domain::event::{Envelope, EventType};
use oms_domain::order::{FulfillmentStatus, Order, OrderStatus};
use oms_domain::order_write::{commit_order, next_version, update_order, OrderKey, Round};
use oms_domain::ports::{
    CancelAnswer, CancelRequest, ChangeSet, HandOff, HandOffLine, Store, Warehouse,
};
use oms_domain::{OrderId, StageError};

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
        other => Err(StageError::permanent(format!(
            "the fulfill stage does not handle {other:?}"
        ))),
    }
}

/// Hands a reserved order's fulfillment (created with the reservation) to
/// the warehouse, then marks it handed off. A shipment report may beat that
/// mark; then there is nothing left to do. An order cancelled while its
/// hand-off was on the way (the cancel saw it still `reserved` and did not
/// ask the warehouse) is cancelled at the warehouse now.
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
        .ok_or_else(|| StageError::permanent(format!("unknown order {id}")))?;
    if order.status != OrderStatus::Reserved {
        return Ok(()); // cancelled, or handed off already
    }
    let fulfillment = order
        .fulfillment
        .as_ref()
        .ok_or_else(|| StageError::permanent(format!("reserved order {id} has no fulfillment")))?;
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
    let cancelled_meanwhile = update_order::<_, bool, StageError, _, _>(
        store,
        OrderKey::Id(id),
        move |order: Option<Order>| async move {
            let order =
                order.ok_or_else(|| StageError::permanent(format!("unknown order {id}")))?;
            if order.status == OrderStatus::Cancelled {
                return Ok(Round::Done(true));
            }
            if order.status != OrderStatus::Reserved {
                return Ok(Round::Done(false)); // shipped already (a fast warehouse)
            }
            let mut next = next_version(&order);
            next.transition(OrderStatus::HandedOff, now)
                .map_err(StageError::permanent)?;
            if let Some(f) = next.fulfillment.as_mut() {
                f.status = FulfillmentStatus::HandedOff;
            }
            Ok(commit_order(store, ChangeSet::order_update(next, order.version), false).await?)
        },
    )
    .await?;
    if cancelled_meanwhile {
        cancel_at_warehouse(warehouse, &request).await;
    }
    Ok(())
}

/// Tells the warehouse to stop a fulfillment of an order cancelled while it
/// was being handed off: three tries a second apart. What still fails is
/// logged as an error for an operator to stop by hand; retrying the message
/// could not help, since the order no longer says it was handed off.
async fn cancel_at_warehouse<W: Warehouse + ?Sized>(warehouse: &W, handed: &HandOff) {
    let request = CancelRequest {
        fulfillment_id: handed.fulfillment_id.clone(),
        order_id: handed.order_id.clone(),
    };
    for attempt in 1..=3 {
        match warehouse.cancel(&request).await {
            Ok(CancelAnswer::Stopped) => return,
            Ok(CancelAnswer::TooLate) => break,
            Err(e) if attempt < 3 => {
                tracing::warn!(order_id = %request.order_id, error = %e, "cancelling at the warehouse, will retry");
                tokio::time::sleep(std::time::Duration::from_secs(1)).await;
            }
            Err(_) => break,
        }
    }
    tracing::error!(
        order_id = %request.order_id,
        fulfillment_id = %request.fulfillment_id,
        "order cancelled while it was handed off and the warehouse did not stop it: stop it by hand"
    );
}
