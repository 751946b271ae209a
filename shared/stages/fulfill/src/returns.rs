//! `POST /v1/fulfillments/{id}/returns`: the warehouse reports goods sent
//! back. Restocked units are in `on_hand` again in the same atomic write as
//! the order's record of the return, so stock is right at once.

use jiff::Timestamp;
use oms_domain::event::{Envelope, EventType, Payload};
use oms_domain::exchange::{self, ExchangeLine};
use oms_domain::new_order::{MAX_QUANTITY, MAX_UNIT_PRICE};
use oms_domain::order::{Order, Return, ReturnError, ReturnLine, ReturnOutcome};
use oms_domain::order_write::{commit_order, next_version, update_order, OrderKey, Round};
use oms_domain::ports::{ChangeSet, CommitError, LedgerEntry, OrderWrite, StockChange, Store};
use oms_domain::{FieldError, FulfillmentId, OrderId, Sku};

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
    /// Goods the customer gets instead: a replacement order, paid by the
    /// return's credit.
    #[serde(default)]
    #[schema(min_items = 1, max_items = 100)]
    pub exchange: Option<Vec<ExchangeLine>>,
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
        validate_lines(&self.lines, "a return")?;
        if let Some(exchange) = &self.exchange {
            if exchange.is_empty() || exchange.len() > 100 {
                return Err(FieldError::new(
                    "exchange",
                    "an exchange has 1 to 100 lines",
                ));
            }
            for (i, l) in exchange.iter().enumerate() {
                if !(1..=MAX_QUANTITY).contains(&l.quantity) {
                    return Err(FieldError::new(
                        format!("exchange[{i}].quantity"),
                        format!("quantity must be at least 1 and at most {MAX_QUANTITY}"),
                    ));
                }
                if l.unit_price
                    .is_some_and(|p| !(0..=MAX_UNIT_PRICE).contains(&p))
                {
                    return Err(FieldError::new(
                        format!("exchange[{i}].unit_price"),
                        format!("unit_price must be an integer from 0 to {MAX_UNIT_PRICE} (minor units)"),
                    ));
                }
            }
        }
        Ok(())
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

/// Records a return: restocked units are in `on_hand` again, the return's
/// credit is fixed and `OrderReturned` asks for the credit note, all in one
/// write. With an exchange, the replacement order is then captured (its
/// reservation and hand-off follow through the queues). Should the process
/// stop between the two writes, the warehouse's retry (it got no answer)
/// finds the return recorded and captures the replacement then.
pub async fn record_return<S: Store + ?Sized>(
    store: &S,
    id: &FulfillmentId,
    request: &ReturnRequest,
    now: Timestamp,
) -> Result<Order, FulfillmentError> {
    let catalogue = match &request.exchange {
        Some(lines) => {
            let skus: Vec<Sku> = lines.iter().map(|l| l.sku.clone()).collect();
            let catalogue = store.skus(&skus).await?;
            if let Some(i) = lines.iter().position(|l| !catalogue.contains_key(&l.sku)) {
                return Err(FulfillmentError::Unprocessable(FieldError::new(
                    format!("exchange[{i}].sku"),
                    format!("unknown SKU `{}`", lines[i].sku),
                )));
            }
            catalogue
        }
        None => Default::default(),
    };
    let replacement_id = OrderId::generate();
    let order = update_order(store, OrderKey::Fulfillment(id), |order: Option<Order>| {
        let (catalogue, replacement_id) = (&catalogue, replacement_id.clone());
        async move {
            let order = order.ok_or_else(|| FulfillmentError::NotFound(id.clone()))?;
            let mut next = next_version(&order);
            let r = Return {
                id: request.return_id.clone(),
                lines: request.lines.clone(),
                restocked: request.restock.unwrap_or(true),
                at: now,
                credit_note: None,
                credit: None,
                exchange: None,
            };
            let units = match next.record_return(r) {
                Ok(ReturnOutcome::Repeated) => {
                    let before = order.returns.iter().find(|r| r.id == request.return_id);
                    let asked = before
                        .and_then(|r| r.exchange.as_ref())
                        .map(|e| &e.requested);
                    if asked != request.exchange.as_ref() {
                        return Err(FulfillmentError::Conflict(format!(
                            "return {} was reported before with another exchange",
                            request.return_id
                        )));
                    }
                    return Ok(Round::Done(order));
                }
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
            if let Some(asked) = &request.exchange {
                exchange::record(&mut next, asked, catalogue, replacement_id)
                    .map_err(FulfillmentError::Unprocessable)?;
            }
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
                ledger: moved_credit(&next.id, &next, &request.return_id, -1, now),
                ..ChangeSet::order_update(next.clone(), order.version)
            };
            match commit_order(store, changes, next).await {
                Ok(round) => Ok(round),
                // The SKU was deleted from the catalogue since: nothing to restock into.
                Err(CommitError::Conflict(c)) => Err(FulfillmentError::Conflict(c.to_string())),
                Err(CommitError::Store(e)) => Err(e.into()),
            }
        }
    })
    .await?;
    capture_replacement(store, &order, &request.return_id, now).await?;
    Ok(order)
}

/// The credit return `return_id` of `original` moves by its exchange, as a
/// booked amount on order `on`: `sign` -1 as it leaves the original, +1 as
/// it pays the replacement. Receipts and receivables per order then see it like a
/// payment; both sides are booked the same day, so the day's payments net
/// to what the providers and the bank paid.
fn moved_credit(
    on: &OrderId,
    original: &Order,
    return_id: &str,
    sign: i64,
    now: Timestamp,
) -> Vec<LedgerEntry> {
    let applied = original
        .returns
        .iter()
        .find(|r| r.id == return_id)
        .and_then(|r| r.exchange.as_ref())
        .map(|e| e.applied);
    applied
        .into_iter()
        .map(|applied| LedgerEntry {
            order_id: on.clone(),
            event_id: format!("exchange-{return_id}"),
            amount: sign * applied,
            currency: original.currency.to_string(),
            at: now,
        })
        .collect()
}

/// Captures the replacement order of an exchange unless it exists.
async fn capture_replacement<S: Store + ?Sized>(
    store: &S,
    order: &Order,
    return_id: &str,
    now: Timestamp,
) -> Result<(), FulfillmentError> {
    let Some(replacement) = order
        .returns
        .iter()
        .find(|r| r.id == return_id)
        .and_then(|r| exchange::replacement(order, r, now))
    else {
        return Ok(());
    };
    if store.order(&replacement.id).await?.is_some() {
        return Ok(());
    }
    let changes = ChangeSet {
        ledger: moved_credit(&replacement.id, order, return_id, 1, now),
        events: vec![Envelope::for_order(
            EventType::OrderCaptured,
            &replacement,
            now,
        )],
        order: Some(OrderWrite {
            order: replacement,
            expected_version: None,
        }),
        ..ChangeSet::default()
    };
    match store.commit(changes).await {
        // Captured meanwhile by a concurrent repeat of the report.
        Ok(()) | Err(CommitError::Conflict(_)) => Ok(()),
        Err(CommitError::Store(e)) => Err(e.into()),
    }
}
