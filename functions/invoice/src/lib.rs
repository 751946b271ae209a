//! Invoice stage: when an order ships it gets the next number of the year's
//! series, written in the same atomic change as the invoice itself (so
//! numbers are gap-free and unique), then the PDF is emailed.

mod email;
mod pdf;

pub use email::invoice_email;
pub use pdf::render_pdf;

use jiff::Timestamp;
use oms_domain::event::{Envelope, EventType};
use oms_domain::invoice::{build_invoice, Seller};
use oms_domain::order::{Order, OrderStatus};
use oms_domain::ports::{
    ChangeSet, CommitError, Conflict, InvoiceWrite, Mailer, OrderWrite, Store,
};
use oms_domain::{InvoiceNumber, OrderId, StageError};

static NUMBERING: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

#[derive(Debug, Clone)]
pub struct InvoiceConfig {
    pub seller: Seller,
    pub mail_from: String,
    pub finance_email: Option<String>,
}

/// Consumer of the invoice queue (`OrderShipped`).
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
    if event.event_type != EventType::OrderShipped {
        return Err(StageError::Permanent(format!(
            "the invoice stage does not handle {:?}",
            event.event_type
        )));
    }
    let number = issue_invoice(
        store,
        event.require_order()?,
        &config.seller,
        Timestamp::now(),
    )
    .await?;
    send_invoice(store, mailer, config, &number).await
}

async fn load<S: Store + ?Sized>(store: &S, id: &OrderId) -> Result<Order, StageError> {
    store
        .order(id)
        .await?
        .ok_or_else(|| StageError::Permanent(format!("unknown order {id}")))
}

/// Issues the order's invoice, or returns the number it already has.
pub async fn issue_invoice<S: Store + ?Sized>(
    store: &S,
    id: &OrderId,
    seller: &Seller,
    now: Timestamp,
) -> Result<InvoiceNumber, StageError> {
    let year = now.to_zoned(jiff::tz::TimeZone::UTC).year();
    let series = InvoiceNumber::series(year);
    // Within one process, numbering is taken in turns: without this, a batch
    // of n concurrent shipments costs O(n²) attempts, as all but one lose
    // each round. Across processes the conditional write alone keeps numbers
    // gap-free, and a loser simply tries the next number.
    let _turn = NUMBERING.lock().await;
    // Each round loses only to another invoice taking the same number, so
    // some invoice is issued in every round: this ends.
    for _ in 0..1000 {
        let order = load(store, id).await?;
        if let Some(number) = &order.invoice_number {
            return Ok(number.clone());
        }
        if order.status != OrderStatus::Shipped {
            return Err(StageError::Permanent(format!(
                "order {id} is {}, not shipped",
                order.status.as_str()
            )));
        }
        let sequence = store.last_invoice_sequence(&series).await? + 1;
        let number = InvoiceNumber::new(year, sequence);
        let invoice = build_invoice(&order, number.clone(), now, seller.clone());
        let mut next = order.clone();
        next.version += 1;
        next.invoice_number = Some(number.clone());
        next.note("invoiced", now);
        let changes = ChangeSet {
            order: Some(OrderWrite {
                order: next,
                expected_version: Some(order.version),
            }),
            invoice: Some(InvoiceWrite {
                invoice,
                series: series.clone(),
                sequence,
            }),
            ..ChangeSet::default()
        };
        match store.commit(changes).await {
            Ok(()) => return Ok(number),
            Err(CommitError::Conflict(Conflict::InvoiceSequenceTaken | Conflict::OrderChanged)) => {
                continue
            }
            Err(e) => return Err(e.into()),
        }
    }
    Err(StageError::Transient(format!(
        "could not number the invoice of {id}"
    )))
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
        .ok_or_else(|| StageError::Permanent(format!("invoice {number} is missing")))?;
    let email = invoice_email(&invoice, render_pdf(&invoice), config)?;
    mailer.send(email).await?;
    store.mark_invoice_emailed(number, Timestamp::now()).await?;
    Ok(())
}
