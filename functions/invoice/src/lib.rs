//! Invoice stage: when an order ships it gets the next number of the year's
//! series, written in the same atomic change as the invoice itself (so
//! numbers are gap-free and unique), then the PDF is emailed.

mod email;
mod pdf;
mod ubl;

pub use email::invoice_email;
pub use pdf::render_pdf;
pub use ubl::render_ubl;

use jiff::Timestamp;
use oms_domain::event::{Envelope, EventType};
use oms_domain::invoice::{build_invoice, Invoice, Seller};
use oms_domain::order::{Order, OrderStatus};
use oms_domain::ports::{
    ChangeSet, CommitError, Conflict, InvoiceWrite, Mailer, OrderWrite, Store,
};
use oms_domain::{InvoiceNumber, OrderId, StageError};

/// The last number this process issued, per series, taken in turns.
///
/// Within one process numbering is serialised: without it, a batch of n
/// concurrent shipments costs O(n²) attempts, as all but one lose each round.
/// The cached number saves reading the series each time; when another
/// process took it, the conditional write fails and the series is read again.
/// Across processes the conditional write alone keeps numbers gap-free.
static NUMBERING: tokio::sync::Mutex<Option<(String, u64)>> = tokio::sync::Mutex::const_new(None);

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
    match issue_invoice(
        store,
        event.require_order()?,
        &config.seller,
        Timestamp::now(),
    )
    .await?
    {
        Issued::New(invoice) => email_invoice(store, mailer, config, &invoice).await,
        Issued::Before(number) => send_invoice(store, mailer, config, &number).await,
    }
}

async fn load<S: Store + ?Sized>(store: &S, id: &OrderId) -> Result<Order, StageError> {
    store
        .order(id)
        .await?
        .ok_or_else(|| StageError::Permanent(format!("unknown order {id}")))
}

pub enum Issued {
    /// Issued just now.
    New(Box<Invoice>),
    /// The order had its invoice already (a redelivered message).
    Before(InvoiceNumber),
}

/// Issues the order's invoice, or says which number it already has.
pub async fn issue_invoice<S: Store + ?Sized>(
    store: &S,
    id: &OrderId,
    seller: &Seller,
    now: Timestamp,
) -> Result<Issued, StageError> {
    let year = now.to_zoned(jiff::tz::TimeZone::UTC).year();
    let series = InvoiceNumber::series(year);
    // Each round loses only to another invoice taking the same number, so
    // some invoice is issued in every round: this ends.
    for _ in 0..1000 {
        let order = load(store, id).await?;
        if let Some(number) = &order.invoice_number {
            return Ok(Issued::Before(number.clone()));
        }
        if order.status != OrderStatus::Shipped {
            return Err(StageError::Permanent(format!(
                "order {id} is {}, not shipped",
                order.status.as_str()
            )));
        }
        let mut last = NUMBERING.lock().await;
        let sequence = match last.as_ref() {
            Some((s, n)) if *s == series => n + 1,
            _ => store.last_invoice_sequence(&series).await? + 1,
        };
        let number = InvoiceNumber::new(year, sequence);
        let invoice = build_invoice(&order, number.clone(), now, seller.clone());
        let mut next = order.clone();
        next.version += 1;
        next.invoice_number = Some(number);
        next.note("invoiced", now);
        let changes = ChangeSet {
            order: Some(OrderWrite {
                order: next,
                expected_version: Some(order.version),
            }),
            invoice: Some(InvoiceWrite {
                invoice: invoice.clone(),
                series: series.clone(),
                sequence,
            }),
            ..ChangeSet::default()
        };
        match store.commit(changes).await {
            Ok(()) => {
                *last = Some((series, sequence));
                return Ok(Issued::New(Box::new(invoice)));
            }
            Err(CommitError::Conflict(Conflict::InvoiceSequenceTaken)) => *last = None,
            Err(CommitError::Conflict(Conflict::OrderChanged)) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Err(StageError::Transient(format!(
        "could not number the invoice of {id}"
    )))
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
        .ok_or_else(|| StageError::Permanent(format!("invoice {number} is missing")))?;
    email_invoice(store, mailer, config, &invoice).await
}
