//! `POST /v1/fulfillments/{id}/returns`: the warehouse reports goods sent
//! back. Restocked units are in `on_hand` again in the same atomic write as
//! the order's record of the return, so stock is right at once.

use jiff::Timestamp;
use oms_domain::event::{Envelope, EventType, Payload};
use oms_domain::order::{Order, Return, ReturnError, ReturnLine, ReturnOutcome};
use oms_domain::order_write::{commit_order, next_version, update_order, OrderKey, Round};
use oms_domain::ports::{ChangeSet, CommitError, StockChange, Store};
use oms_domain::{FieldError, FulfillmentId};

use crate::FulfillmentError;
use serde::Deserialize;

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReturnRequest {
    /// The warehouse's id of the return (RMA); repeating it changes nothing.
    #[schema(min_length = 1, max_length = 64)]
    pub return_id: String,
    #[schema(min_items = 1, max_items = 100)]
    pub lines: Vec<ReturnLine>,
    /// Whether the units go back into stock (default) or are written off.
    #[serde(default)]
    pub restock: Option<bool>,
}

impl ReturnRequest {
    pub fn validate(&self) -> Result<(), FieldError> {
        let id = &self.return_id;
        if id.is_empty() || id.len() > 64 || !id.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(FieldError::new(
                "return_id",
                "return_id must be 1 to 64 visible ASCII characters",
            ));
        }
        validate_lines(&self.lines, "a return")
    }
}

/// 1 to 100 lines, each of at least one unit: what a warehouse report of
/// units (a return, a short pick) must hold.
pub(crate) fn validate_lines(lines: &[ReturnLine], what: &str) -> Result<(), FieldError> {
    if lines.is_empty() || lines.len() > 100 {
        return Err(FieldError::new(
            "lines",
            format!("{what} has 1 to 100 lines"),
        ));
    }
    for (i, l) in lines.iter().enumerate() {
        if !(1..=oms_domain::new_order::MAX_QUANTITY).contains(&l.quantity) {
            return Err(FieldError::new(
                format!("lines[{i}].quantity"),
                "quantity must be at least 1",
            ));
        }
    }
    Ok(())
}

pub async fn record_return<S: Store + ?Sized>(
    store: &S,
    id: &FulfillmentId,
    request: &ReturnRequest,
    now: Timestamp,
) -> Result<Order, FulfillmentError> {
    update_order(
        store,
        OrderKey::Fulfillment(id),
        move |order: Option<Order>| async move {
            let order = order.ok_or_else(|| FulfillmentError::NotFound(id.clone()))?;
            let mut next = next_version(&order);
            let r = Return {
                id: request.return_id.clone(),
                lines: request.lines.clone(),
                restocked: request.restock.unwrap_or(true),
                at: now,
                credit_note: None,
            };
            let units = match next.record_return(r) {
                Ok(ReturnOutcome::Repeated) => return Ok(Round::Done(order)),
                Ok(ReturnOutcome::Recorded(units)) => units,
                Err(ReturnError::NotShipped(status)) => {
                    return Err(FulfillmentError::Conflict(format!(
                        "an order that is {} has nothing to return",
                        status.as_str()
                    )))
                }
                Err(ReturnError::IdReused(rid)) => {
                    return Err(FulfillmentError::Conflict(format!(
                        "return {rid} was reported before with other lines"
                    )))
                }
                Err(ReturnError::Unprocessable(f)) => {
                    return Err(FulfillmentError::Unprocessable(f))
                }
            };
            let stock = units
                .into_iter()
                .map(|(sku, n)| StockChange {
                    sku,
                    on_hand: n,
                    reserved: 0,
                })
                .collect();
            let returned =
                Envelope::for_order(EventType::OrderReturned, &next, now).with_payload(Payload {
                    return_id: Some(request.return_id.clone()),
                    ..Payload::default()
                });
            let changes = ChangeSet {
                events: vec![returned],
                stock,
                ..ChangeSet::order_update(next.clone(), order.version)
            };
            match commit_order(store, changes, next).await {
                Ok(round) => Ok(round),
                // The SKU was deleted from the catalogue since: nothing to restock into.
                Err(CommitError::Conflict(c)) => Err(FulfillmentError::Conflict(c.to_string())),
                Err(CommitError::Store(e)) => Err(e.into()),
            }
        },
    )
    .await
}
