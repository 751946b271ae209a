//! Reserve stage: all lines of an order are reserved in one atomic change,
//! or none are and the order is backordered. Cancelling gives the units
//! back, once. Replenished stock retries backordered orders, oldest first.

use jiff::Timestamp;
use oms_domain::collection::{prepayment_expired, CollectionPolicy};
use oms_domain::error::StoreErrorKind;
use oms_domain::event::{Envelope, EventType, Notice};
use oms_domain::exchange;
use oms_domain::order::{Fulfillment, FulfillmentStatus, Order, OrderStatus, PaymentMethod};
use oms_domain::order_write::{commit_order, next_version, update_order, OrderKey, Round};
use oms_domain::ports::{ChangeSet, CommitError, Conflict, StockChange, Store};
use oms_domain::{FulfillmentId, OrderId, Sku, StageError, StoreError};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReserveOutcome {
    Reserved,
    /// Reserved, and waiting for its prepayment before it is handed off.
    AwaitingPayment,
    Backordered(Vec<Sku>),
    Rejected(Sku),
    /// The order was not waiting for stock (already reserved, cancelled, …).
    NothingToDo(OrderStatus),
}

/// Consumer of the reserve queue.
pub async fn handle<S: Store + ?Sized>(store: &S, event: &Envelope) -> Result<(), StageError> {
    match event.event_type {
        EventType::OrderCaptured => reserve_order(store, event.require_order()?, Timestamp::now())
            .await
            .map(|_| ()),
        EventType::StockReplenished => {
            let sku = event
                .payload
                .sku
                .as_ref()
                .ok_or_else(|| StageError::permanent("StockReplenished without sku"))?;
            retry_backorders(store, sku, Timestamp::now()).await
        }
        other => Err(StageError::permanent(format!(
            "the reserve stage does not handle {other:?}"
        ))),
    }
}

/// Reserves every line of a captured (or backordered) order in one atomic
/// change, or backorders it (some SKU short) or rejects it (a SKU unknown).
pub async fn reserve_order<S: Store + ?Sized>(
    store: &S,
    id: &OrderId,
    now: Timestamp,
) -> Result<ReserveOutcome, StageError> {
    update_order(
        store,
        OrderKey::Id(id),
        move |order: Option<Order>| async move {
            let order =
                order.ok_or_else(|| StageError::permanent(format!("unknown order {id}")))?;
            if !matches!(
                order.status,
                OrderStatus::Captured | OrderStatus::Backordered
            ) {
                return Ok(Round::Done(ReserveOutcome::NothingToDo(order.status)));
            }
            let mut next = next_version(&order);
            // Prepayment: the units are held, the warehouse waits for the money.
            let prepay =
                order.payment_method == PaymentMethod::BankTransfer && order.amount_due() > 0;
            let status = if prepay {
                OrderStatus::AwaitingPayment
            } else {
                OrderStatus::Reserved
            };
            next.transition(status, now)
                .map_err(StageError::permanent)?;
            // The fulfillment exists from the moment its units are held, so the
            // fulfill stage and an early shipment report always find it.
            next.fulfillment = Some(Fulfillment {
                id: FulfillmentId::for_order(id),
                status: FulfillmentStatus::Pending,
                carrier: None,
                tracking_number: None,
            });
            let stock = order
                .units_per_sku()
                .into_iter()
                .map(|(sku, units)| StockChange {
                    sku,
                    on_hand: 0,
                    reserved: units,
                })
                .collect();
            // The customer hears of the order once, at its first reservation.
            let first = order.status == OrderStatus::Captured;
            let mut events = Vec::new();
            if !prepay {
                events.push(Envelope::for_order(EventType::OrderReserved, &next, now));
            }
            if first {
                events.push(Envelope::notice(Notice::Confirmation, &next, now));
            }
            let changes = ChangeSet {
                events,
                stock,
                ..ChangeSet::order_update(next, order.version)
            };
            let (status, outcome) = match store.commit(changes).await {
                Ok(()) if prepay => return Ok(Round::Done(ReserveOutcome::AwaitingPayment)),
                Ok(()) => return Ok(Round::Done(ReserveOutcome::Reserved)),
                Err(CommitError::Conflict(Conflict::OrderChanged)) => return Ok(Round::Raced),
                Err(CommitError::Conflict(Conflict::InsufficientStock(short))) => {
                    if order.status == OrderStatus::Backordered {
                        return Ok(Round::Done(ReserveOutcome::Backordered(short)));
                    }
                    (OrderStatus::Backordered, ReserveOutcome::Backordered(short))
                }
                Err(CommitError::Conflict(Conflict::UnknownSku(sku))) => {
                    (OrderStatus::Rejected, ReserveOutcome::Rejected(sku))
                }
                Err(e) => return Err(e.into()),
            };
            let mut next = next_version(&order);
            next.transition(status, now)
                .map_err(StageError::permanent)?;
            let events = if status == OrderStatus::Backordered {
                vec![
                    Envelope::notice(Notice::Confirmation, &next, now),
                    Envelope::notice(Notice::Backorder, &next, now),
                ]
            } else {
                Vec::new()
            };
            let changes = ChangeSet {
                events,
                ..ChangeSet::order_update(next, order.version)
            };
            Ok(commit_order(store, changes, outcome).await?)
        },
    )
    .await
}

/// Tries every backordered order that holds `sku`, oldest first.
pub async fn retry_backorders<S: Store + ?Sized>(
    store: &S,
    sku: &Sku,
    now: Timestamp,
) -> Result<(), StageError> {
    for id in store.backordered_with(sku).await? {
        reserve_order(store, &id, now).await?;
    }
    Ok(())
}

#[derive(Debug, thiserror::Error)]
pub enum CancelError {
    #[error("no order {0}")]
    NotFound(OrderId),
    #[error("{0}")]
    NotCancellable(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Cancels an order that has not shipped. Its reserved units are released in
/// the same atomic change as the status change, so they are released once.
pub async fn cancel_order<S: Store + ?Sized>(
    store: &S,
    id: &OrderId,
    now: Timestamp,
) -> Result<Order, CancelError> {
    update_order(
        store,
        OrderKey::Id(id),
        move |order: Option<Order>| async move {
            let order = order.ok_or_else(|| CancelError::NotFound(id.clone()))?;
            let notice = Envelope::notice(Notice::Cancellation, &order, now);
            let (changes, next) = cancellation(&order, vec![notice], now)?;
            commit_cancellation(store, changes, next).await
        },
    )
    .await
}

/// The change that cancels `order` and gives its held units back.
fn cancellation(
    order: &Order,
    events: Vec<Envelope>,
    now: Timestamp,
) -> Result<(ChangeSet, Order), CancelError> {
    let mut next = next_version(order);
    next.transition(OrderStatus::Cancelled, now)
        .map_err(|e| CancelError::NotCancellable(e.to_string()))?;
    if let Some(f) = next.fulfillment.as_mut() {
        f.status = FulfillmentStatus::Cancelled;
    }
    let (ledger, credit_back) = exchange::give_back_credit(&mut next, now);
    let mut events = events;
    events.extend(credit_back);
    let stock = if order.status.holds_stock() {
        order
            .units_per_sku()
            .into_iter()
            .map(|(sku, units)| StockChange {
                sku,
                on_hand: 0,
                reserved: -units,
            })
            .collect()
    } else {
        Vec::new()
    };
    let changes = ChangeSet {
        stock,
        events,
        ledger,
        ..ChangeSet::order_update(next.clone(), order.version)
    };
    Ok((changes, next))
}

async fn commit_cancellation<S: Store + ?Sized, T>(
    store: &S,
    changes: ChangeSet,
    done: T,
) -> Result<Round<T>, CancelError> {
    match commit_order(store, changes, done).await {
        Ok(round) => Ok(round),
        Err(CommitError::Conflict(c)) => {
            Err(StoreError::caused(StoreErrorKind::Corrupt, "releasing stock", c).into())
        }
        Err(CommitError::Store(e)) => Err(e.into()),
    }
}

/// Cancels every prepayment order whose time to pay is up: status, stock
/// and the customer's notice (`PrepaymentExpired`, emailed by the invoice
/// stage) in one atomic change per order. An order paid meanwhile is left
/// alone; run twice, the second run finds nothing. Returns the ids cancelled.
pub async fn expire_prepayments<S: Store + ?Sized>(
    store: &S,
    policy: &CollectionPolicy,
    now: Timestamp,
) -> Result<Vec<OrderId>, StageError> {
    let mut expired = Vec::new();
    for id in store.orders_awaiting_payment().await? {
        let cancelled = update_order(
            store,
            OrderKey::Id(&id),
            move |order: Option<Order>| async move {
                let Some(order) = order else {
                    return Ok(Round::Done(false));
                };
                if !prepayment_expired(&order, now, policy) {
                    return Ok(Round::Done(false));
                }
                let notice = Envelope::for_order(EventType::PrepaymentExpired, &order, now);
                let mut before = order.clone();
                before.note("prepayment_expired", now);
                let (changes, _) = cancellation(&before, vec![notice], now)
                    .map_err(|e| StageError::permanent(e.to_string()))?;
                // `cancellation` bumped the version of `before`, which has
                // the order's stored version.
                commit_cancellation(store, changes, true)
                    .await
                    .map_err(|e| match e {
                        CancelError::Store(s) => StageError::from(s),
                        other => StageError::permanent(other.to_string()),
                    })
            },
        )
        .await?;
        if cancelled {
            expired.push(id);
        }
    }
    Ok(expired)
}
