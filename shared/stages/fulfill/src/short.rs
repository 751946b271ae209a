//! `POST /v1/fulfillments/{id}/short`: the warehouse reports units it cannot
//! ship. They are cut from the order (see `oms_domain::short_pick`), taken
//! out of `on_hand` and `reserved` (they are not there), and the customer is
//! told, all in one atomic change.

use jiff::Timestamp;
use oms_domain::error::StoreErrorKind;
use oms_domain::event::{Envelope, Notice};
use oms_domain::exchange::give_back_credit;
use oms_domain::order::{FulfillmentStatus, Order, OrderStatus, ReturnLine};
use oms_domain::order_write::{commit_order, next_version, update_order, OrderKey, Round};
use oms_domain::ports::{ChangeSet, CommitError, StockChange, Store};
use oms_domain::short_pick::{cut, replay, Replay};
use oms_domain::{FieldError, FulfillmentId, StoreError};
use serde::Deserialize;

use crate::FulfillmentError;

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ShortRequest {
    #[schema(min_items = 1, max_items = 100)]
    pub lines: Vec<ReturnLine>,
    /// Why, e.g. `damaged` (up to 200 characters).
    #[serde(default)]
    pub reason: Option<String>,
}

impl ShortRequest {
    pub fn validate(&self) -> Result<(), FieldError> {
        crate::returns::validate_lines(&self.lines, "a short pick")?;
        if self
            .reason
            .as_ref()
            .is_some_and(|r| r.chars().count() > 200 || r.chars().any(char::is_control))
        {
            return Err(FieldError::new(
                "reason",
                "reason must be up to 200 characters without control characters",
            ));
        }
        Ok(())
    }
}

/// Cuts the reported units. With an `Idempotency-Key` (`key`) the same
/// report again answers the order as it is and cuts nothing more; the key
/// used for another report is refused.
pub async fn record_short<S: Store + ?Sized>(
    store: &S,
    id: &FulfillmentId,
    request: &ShortRequest,
    key: Option<&str>,
    now: Timestamp,
) -> Result<Order, FulfillmentError> {
    update_order(
        store,
        OrderKey::Fulfillment(id),
        move |order: Option<Order>| async move {
            let order = order.ok_or_else(|| FulfillmentError::NotFound(id.clone()))?;
            if let Some(key) = key {
                match replay(&order, key, &request.lines, request.reason.as_deref()) {
                    Replay::New => {}
                    Replay::Same => return Ok(Round::Done(order)),
                    Replay::Different => {
                        return Err(FulfillmentError::IdempotencyConflict(format!(
                            "Idempotency-Key {key} was used for another short pick of this order"
                        )))
                    }
                }
            }
            let mut next = next_version(&order);
            let units = cut(&mut next, &request.lines, request.reason.clone(), now)?;
            if let Some(pick) = next.short_picks.last_mut() {
                pick.key = key.map(str::to_string);
            }
            let mut ledger = Vec::new();
            let mut events = Vec::new();
            if next.status == OrderStatus::Cancelled {
                if let Some(f) = next.fulfillment.as_mut() {
                    f.status = FulfillmentStatus::Cancelled;
                }
                (ledger, events) = give_back_credit(&mut next, now);
            }
            let stock = StockChange::gone(units);
            events.push(
                Envelope::notice(Notice::Short, &next, now).numbered(next.short_picks.len(), None),
            );
            let changes = ChangeSet {
                events,
                ledger,
                stock,
                ..ChangeSet::order_update(next.clone(), order.version)
            };
            match commit_order(store, changes, next).await {
                Ok(round) => Ok(round),
                Err(CommitError::Conflict(c)) => Err(FulfillmentError::Store(StoreError::caused(
                    StoreErrorKind::Corrupt,
                    "taking short units out of stock",
                    c,
                ))),
                Err(CommitError::Store(e)) => Err(e.into()),
            }
        },
    )
    .await
}
