//! Invoice stage: when an order ships it gets the next number of the year's
//! series, written in the same atomic change as the invoice itself (so
//! numbers are gap-free and unique), then the PDF is emailed.

mod cii;
pub mod customer_mail;
pub mod dunning;
mod email;
mod pdf;
mod ubl;
mod xml;

pub use cii::render_cii;
pub use email::invoice_email;
pub use pdf::render_pdf;
pub use ubl::{render_ubl, CUSTOMIZATION_ID as XRECHNUNG_ID};

use jiff::Timestamp;
use oms_domain::collection::{business_date, due_date, CollectionPolicy};
use oms_domain::event::{Envelope, EventType, Notice};
use oms_domain::exchange;
use oms_domain::invoice::{
    build_credit_note, build_invoice, build_parcel_invoice, Invoice, Seller,
};
use oms_domain::journal;
use oms_domain::order::{Order, OrderStatus};
use oms_domain::order_write::{commit_order, next_version, update_order, OrderKey, Round};
use oms_domain::ports::{ChangeSet, CommitError, Conflict, InvoiceWrite, Mailer, Store};
use oms_domain::{InvoiceNumber, OrderId, StageError};
use std::collections::BTreeMap;

/// The last number this process issued, per series, taken in turns.
///
/// Within one process numbering is serialised: without it, a batch of n
/// concurrent shipments costs O(n²) attempts, as all but one lose each round.
/// The cached number saves reading the series each time; when another
/// process took it, the conditional write fails and the series is read again.
/// Across processes the conditional write alone keeps numbers gap-free.
static NUMBERING: tokio::sync::Mutex<BTreeMap<String, u64>> =
    tokio::sync::Mutex::const_new(BTreeMap::new());

/// Writes what `changes_for(n)` gives for the next number `n` of `series`.
/// `None` when the write lost a race (number taken, order changed): the
/// caller reads again and retries. Each round loses only to another document
/// taking the number, so some document is numbered in every round.
async fn with_next_number<S, T>(
    store: &S,
    series: &str,
    changes_for: impl FnOnce(u64) -> (ChangeSet, T),
) -> Result<Option<T>, StageError>
where
    S: Store + ?Sized,
{
    let mut last = NUMBERING.lock().await;
    let sequence = match last.get(series) {
        Some(n) => n + 1,
        None => store.last_invoice_sequence(series).await? + 1,
    };
    let (changes, made) = changes_for(sequence);
    match store.commit(changes).await {
        Ok(()) => {
            last.insert(series.to_string(), sequence);
            Ok(Some(made))
        }
        Err(CommitError::Conflict(Conflict::InvoiceSequenceTaken)) => {
            last.remove(series);
            Ok(None)
        }
        Err(CommitError::Conflict(Conflict::OrderChanged)) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvoiceConfig {
    pub seller: Seller,
    pub mail_from: String,
    pub finance_email: Option<String>,
    /// Payment terms, prepayment deadline, dunning days and base rate.
    pub collection: CollectionPolicy,
    /// The chart of accounts the journal and the DATEV export number by.
    pub chart: oms_domain::journal::Chart,
    /// DATEV consultant and client numbers for the export.
    pub datev: oms_domain::datev::DatevClient,
}

/// Consumer of the invoice queue: `OrderShipped` gets the invoice,
/// `OrderReturned` a credit note, `CreditReturned` gives an exchange's
/// credit back to the original order, notices are mailed.
pub async fn handle<S, M>(
    store: &S,
    mailer: &M,
    config: &InvoiceConfig,
    event: &Envelope,
) -> Result<(), StageError>
where
    S: Store + ?Sized,
    M: Mailer + ?Sized,
{
    let order = event.require_order()?;
    let issued = match event.event_type {
        EventType::OrderShipped => {
            let shipment = event.payload.shipment_id.as_deref();
            issue_invoice(store, order, shipment, config, Timestamp::now()).await?
        }
        EventType::DunningNoticeDue => {
            let level = event
                .payload
                .dunning_level
                .ok_or_else(|| StageError::permanent("DunningNoticeDue without dunning_level"))?;
            return dunning::send_notice(store, mailer, config, order, level).await;
        }
        EventType::PrepaymentExpired | EventType::CustomerNotice => {
            // A prepayment's expiry was an event of its own before notices were.
            let notice = match event.event_type {
                EventType::PrepaymentExpired => Notice::PrepaymentExpired,
                _ => event
                    .payload
                    .notice
                    .ok_or_else(|| StageError::permanent("CustomerNotice without notice"))?,
            };
            return customer_mail::send_notice(
                store,
                mailer,
                config,
                order,
                notice,
                &event.payload,
            )
            .await;
        }
        EventType::CreditReturned => {
            let return_id = event
                .payload
                .return_id
                .as_deref()
                .ok_or_else(|| StageError::permanent("CreditReturned without return id"))?;
            return take_back_credit(store, order, return_id, Timestamp::now()).await;
        }
        EventType::OrderReturned => {
            let return_id = event
                .payload
                .return_id
                .as_deref()
                .ok_or_else(|| StageError::permanent("OrderReturned without return id"))?;
            issue_credit_note(store, order, return_id, &config.seller, Timestamp::now()).await?
        }
        other => {
            return Err(StageError::permanent(format!(
                "the invoice stage does not handle {other:?}"
            )))
        }
    };
    match issued {
        Issued::New(document) => email_invoice(store, mailer, config, &document).await,
        Issued::Before(number) => send_invoice(store, mailer, config, &number).await,
    }
}

fn unknown(id: &OrderId) -> StageError {
    StageError::permanent(format!("unknown order {id}"))
}

/// The order a message names; a missing one can never be handled.
pub(crate) async fn read_order<S: Store + ?Sized>(
    store: &S,
    id: &OrderId,
) -> Result<Order, StageError> {
    store.order(id).await?.ok_or_else(|| unknown(id))
}

pub enum Issued {
    /// Issued just now.
    New(Box<Invoice>),
    /// The order had its invoice already (a redelivered message).
    Before(InvoiceNumber),
}

/// Issues the invoice of a parcel (`shipment`) of the order, or says which
/// number it already has. Without a shipment (an event from before orders
/// shipped in parcels) the whole shipped order is invoiced as one.
pub async fn issue_invoice<S: Store + ?Sized>(
    store: &S,
    id: &OrderId,
    shipment: Option<&str>,
    config: &InvoiceConfig,
    now: Timestamp,
) -> Result<Issued, StageError> {
    let seller = &config.seller;
    let year = now.to_zoned(jiff::tz::TimeZone::UTC).year();
    let series = &InvoiceNumber::series(year);
    update_order(
        store,
        OrderKey::Id(id),
        move |order: Option<Order>| async move {
            let order = order.ok_or_else(|| unknown(id))?;
            let parcel = match shipment {
                Some(sid) => Some(
                    order
                        .shipments
                        .iter()
                        .position(|s| s.id == sid)
                        .ok_or_else(|| {
                            StageError::permanent(format!("order {id} has no shipment {sid}"))
                        })?,
                ),
                None if order.shipments.is_empty() => None,
                None => order
                    .shipments
                    .iter()
                    .position(|s| s.invoice_number.is_none()),
            };
            let before = match parcel {
                Some(i) => order.shipments[i].invoice_number.as_ref(),
                None => order.invoice_number.as_ref(),
            };
            if let Some(number) = before {
                return Ok(Round::Done(Issued::Before(number.clone())));
            }
            if parcel.is_none() && order.status != OrderStatus::Shipped {
                return Err(StageError::permanent(format!(
                    "order {id} is {}, not shipped",
                    order.status.as_str()
                )));
            }
            let issued = with_next_number(store, series, |sequence| {
                let number = InvoiceNumber::new(year, sequence);
                let mut next = next_version(&order);
                if next.due_date.is_none() {
                    next.due_date =
                        due_date(order.payment_method, business_date(now), &config.collection);
                }
                let invoice = match parcel {
                    Some(i) => build_parcel_invoice(&next, i, number.clone(), now, seller.clone()),
                    None => build_invoice(&next, number.clone(), now, seller.clone()),
                };
                if let Some(i) = parcel {
                    next.shipments[i].invoice_number = Some(number.clone());
                }
                // The order names its first invoice (dunning, receivables).
                next.invoice_number.get_or_insert(number);
                next.note("invoiced", now);
                let changes = ChangeSet {
                    journal: vec![journal::for_document(&invoice)],
                    invoice: Some(InvoiceWrite {
                        invoice: invoice.clone(),
                        series: series.clone(),
                        sequence,
                    }),
                    ..ChangeSet::order_update(next, order.version)
                };
                (changes, invoice)
            })
            .await?;
            Ok(match issued {
                Some(invoice) => Round::Done(Issued::New(Box::new(invoice))),
                None => Round::Raced,
            })
        },
    )
    .await
}

/// The original order takes back the credit its cancelled replacement gave
/// back (the credit note's business, so the invoice stage's): once, also
/// when the event is delivered again.
async fn take_back_credit<S: Store + ?Sized>(
    store: &S,
    id: &OrderId,
    return_id: &str,
    now: Timestamp,
) -> Result<(), StageError> {
    update_order(
        store,
        OrderKey::Id(id),
        move |order: Option<Order>| async move {
            let order = order.ok_or_else(|| unknown(id))?;
            let mut next = next_version(&order);
            let Some(entry) = exchange::take_back_credit(&mut next, return_id, now) else {
                return Ok(Round::Done(()));
            };
            let changes = ChangeSet {
                ledger: vec![entry],
                ..ChangeSet::order_update(next, order.version)
            };
            Ok(commit_order(store, changes, ()).await?)
        },
    )
    .await
}

/// Issues the credit note for return `return_id` of the order, or says which
/// number it already has. Waits (transiently) for the order's invoice.
pub async fn issue_credit_note<S: Store + ?Sized>(
    store: &S,
    id: &OrderId,
    return_id: &str,
    seller: &Seller,
    now: Timestamp,
) -> Result<Issued, StageError> {
    let year = now.to_zoned(jiff::tz::TimeZone::UTC).year();
    let series = &InvoiceNumber::credit_note_series(year);
    update_order(
        store,
        OrderKey::Id(id),
        move |order: Option<Order>| async move {
            let order = order.ok_or_else(|| unknown(id))?;
            let position = order
                .returns
                .iter()
                .position(|r| r.id == return_id)
                .ok_or_else(|| {
                    StageError::permanent(format!("order {id} has no return {return_id}"))
                })?;
            if let Some(number) = &order.returns[position].credit_note {
                return Ok(Round::Done(Issued::Before(number.clone())));
            }
            // The invoice of the parcel the (first) returned goods left in.
            let sku = order.returns[position].lines.first().map(|l| &l.sku);
            let corrects = match order
                .shipments
                .iter()
                .find(|s| s.lines.iter().any(|l| Some(&l.sku) == sku))
            {
                Some(parcel) => parcel.invoice_number.clone(),
                None => order.invoice_number.clone(),
            }
            .ok_or_else(|| StageError::transient(format!("order {id} is not invoiced yet")))?;
            let issued = with_next_number(store, series, |sequence| {
                let number = InvoiceNumber::credit_note(year, sequence);
                let note = build_credit_note(
                    &order,
                    &order.returns[position],
                    corrects,
                    number.clone(),
                    now,
                    seller.clone(),
                );
                let mut next = next_version(&order);
                // Returns recorded since credits are fixed count already.
                if order.returns[position].credit.is_none() {
                    next.credited += note.total;
                }
                next.returns[position].credit_note = Some(number);
                next.note("credited", now);
                let changes = ChangeSet {
                    journal: vec![journal::for_document(&note)],
                    invoice: Some(InvoiceWrite {
                        invoice: note.clone(),
                        series: series.clone(),
                        sequence,
                    }),
                    ..ChangeSet::order_update(next, order.version)
                };
                (changes, note)
            })
            .await?;
            Ok(match issued {
                Some(note) => Round::Done(Issued::New(Box::new(note))),
                None => Round::Raced,
            })
        },
    )
    .await
}

/// Emails an invoice and records that it was sent.
async fn email_invoice<S, M>(
    store: &S,
    mailer: &M,
    config: &InvoiceConfig,
    invoice: &Invoice,
) -> Result<(), StageError>
where
    S: Store + ?Sized,
    M: Mailer + ?Sized,
{
    let email = invoice_email(invoice, config)?;
    mailer.send(email).await?;
    store
        .mark_invoice_emailed(&invoice.number, Timestamp::now())
        .await?;
    Ok(())
}

/// Emails the invoice unless that was done before. A crash between sending
/// and marking sends it again (at least once); the local mail folder
/// overwrites the same file, so there it stays once.
pub async fn send_invoice<S, M>(
    store: &S,
    mailer: &M,
    config: &InvoiceConfig,
    number: &InvoiceNumber,
) -> Result<(), StageError>
where
    S: Store + ?Sized,
    M: Mailer + ?Sized,
{
    if store.invoice_emailed(number).await? {
        return Ok(());
    }
    let invoice = store
        .invoice(number)
        .await?
        .ok_or_else(|| StageError::permanent(format!("invoice {number} is missing")))?;
    email_invoice(store, mailer, config, &invoice).await
}

#[cfg(test)]
pub(crate) mod test_support {
    use super::InvoiceConfig;

    /// A seller with an IBAN and a finance address, for the stage's tests.
    pub(crate) fn config() -> InvoiceConfig {
        InvoiceConfig {
            seller: oms_domain::invoice::fixtures::seller(),
            mail_from: "invoices@shop.example".into(),
            finance_email: Some("finance@example.com".into()),
            collection: Default::default(),
            chart: Default::default(),
            datev: Default::default(),
        }
    }
}
