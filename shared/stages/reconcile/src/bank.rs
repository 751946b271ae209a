//! Bank statements: each booked credit (and each transaction of a batch) is
//! matched to an order by what the payer wrote, and booked like a provider
//! payment; returned transfers reverse their booking; what cannot be told
//! apart is kept for finance to assign. Never booked by guess: amount and
//! name only make suggestions.

use futures_util::stream::{self, StreamExt, TryStreamExt};
use jiff::Timestamp;
use oms_domain::bank::{
    candidates, normalize, parse_statement, BankItem, BankTransaction, BankTxStatus, Candidate,
};
use oms_domain::payment::{PaymentEvent, PaymentEventKind};
use oms_domain::ports::{BankTransactionWrite, CommitError, Conflict, Store};
use oms_domain::{payment_reference, FieldError, InvoiceNumber, OrderId, StoreError};
use serde::Serialize;
use std::collections::BTreeSet;

use crate::{book_payment_event, event_changes};

/// The provider name bank bookings are stored under.
pub const PROVIDER: &str = "bank";

/// How many orders an unmatched transaction suggests at most.
const MAX_SUGGESTIONS: usize = 5;

/// What an import did, transaction by transaction (a batch entry's
/// transactions each count): `entries = booked + unmatched + ignored + duplicates`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ImportSummary {
    pub statement_id: String,
    pub entries: u64,
    /// Matched and booked to an order (returns included: they reverse).
    pub booked: u64,
    /// Credits (or returns) nobody could match: see the unmatched list.
    pub unmatched: u64,
    /// Not booked (`Sts` other than BOOK) or not ours to book (outgoing
    /// payments, fees).
    pub ignored: u64,
    /// Seen before (same bank reference): nothing booked again.
    pub duplicates: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum BankError {
    #[error("{}", .0.message)]
    Invalid(FieldError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Whose money a transaction is, as far as its references tell.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Match {
    One(OrderId),
    /// The text names several orders: finance decides.
    Several(Vec<OrderId>),
    None,
}

/// How many transactions of a statement are matched and booked at once:
/// the lookups and writes of one wait on the store, not on the CPU.
const IN_FLIGHT: usize = 16;
/// How many transactions' futures exist at a time.
const CHUNK: usize = 512;

/// What became of one transaction.
enum Outcome {
    Booked,
    Ignored,
    Duplicate,
    /// Nobody's: to be recorded with suggestions (which need the open list).
    NoMatch(Vec<OrderId>),
}

/// Reads, matches and books a camt.053/054 statement. A statement that
/// cannot be read books nothing. Importing it again books nothing twice.
/// Transactions are independent (each is recorded once by its key, each
/// booking is an optimistic write on its order), so several are handled at
/// once.
pub async fn import_statement<S: Store + ?Sized>(
    store: &S,
    xml: &[u8],
    now: Timestamp,
) -> Result<ImportSummary, BankError> {
    let statement = parse_statement(xml).map_err(BankError::Invalid)?;
    let statement_id = statement.id.as_str();
    let mut summary = ImportSummary {
        statement_id: statement.id.clone(),
        ..ImportSummary::default()
    };
    let transactions = statement.transactions.as_slice();
    // Futures built by plain calls (no closures in their types), so the
    // compiler can see they are `Send` for the HTTP handler; made a chunk at
    // a time to bound memory.
    let mut outcomes: Vec<(usize, Outcome)> = Vec::with_capacity(transactions.len());
    for (c, chunk) in transactions.chunks(CHUNK).enumerate() {
        let work: Vec<_> = chunk
            .iter()
            .enumerate()
            .map(|(i, item)| indexed(c * CHUNK + i, import_one(store, statement_id, item, now)))
            .collect();
        let done: Vec<(usize, Outcome)> = stream::iter(work)
            .buffer_unordered(IN_FLIGHT)
            .try_collect()
            .await?;
        outcomes.extend(done);
    }
    let mut nobodys = Vec::new();
    for (i, outcome) in outcomes {
        match outcome {
            Outcome::Booked => summary.booked += 1,
            Outcome::Ignored => summary.ignored += 1,
            Outcome::Duplicate => summary.duplicates += 1,
            Outcome::NoMatch(several) => nobodys.push((i, several)),
        }
    }
    if !nobodys.is_empty() {
        let open = open_amounts(store).await?;
        let open = open.as_slice();
        let transactions = statement.transactions.as_slice();
        let work: Vec<_> = nobodys
            .into_iter()
            .map(|(i, several)| {
                let item = &transactions[i];
                let mut t = BankTransaction::new(statement_id, item, BankTxStatus::Unmatched);
                t.suggestions = if several.is_empty() {
                    suggest(open, item)
                } else {
                    several
                };
                record(store, t, None, now)
            })
            .collect();
        let recorded: Vec<bool> = stream::iter(work)
            .buffer_unordered(IN_FLIGHT)
            .try_collect()
            .await?;
        for kept in recorded {
            if kept {
                summary.unmatched += 1;
            } else {
                summary.duplicates += 1;
            }
        }
    }
    summary.entries = statement.transactions.len() as u64;
    tracing::info!(
        statement = %summary.statement_id,
        entries = summary.entries,
        booked = summary.booked,
        unmatched = summary.unmatched,
        ignored = summary.ignored,
        duplicates = summary.duplicates,
        "bank statement imported"
    );
    Ok(summary)
}

async fn indexed<T>(
    i: usize,
    work: impl std::future::Future<Output = Result<T, StoreError>>,
) -> Result<(usize, T), StoreError> {
    work.await.map(|t| (i, t))
}

async fn import_one<S: Store + ?Sized>(
    store: &S,
    statement_id: &str,
    item: &BankItem,
    now: Timestamp,
) -> Result<Outcome, StoreError> {
    let ours = item.booked && (item.credit && !item.reversal || item.is_return());
    if !ours {
        return Ok(Outcome::Ignored);
    }
    if store.bank_transaction(&item.key).await?.is_some() {
        return Ok(Outcome::Duplicate);
    }
    Ok(match find_order(store, item).await? {
        Match::One(order) => {
            let mut t = BankTransaction::new(statement_id, item, BankTxStatus::Booked);
            t.order_id = Some(order);
            if record(store, t, None, now).await? {
                Outcome::Booked
            } else {
                // Another import recorded it in the meantime.
                Outcome::Duplicate
            }
        }
        Match::Several(orders) => Outcome::NoMatch(orders),
        Match::None => Outcome::NoMatch(Vec::new()),
    })
}

/// The order a transaction names: its structured creditor reference, else
/// the references, invoice numbers and order ids in its text.
pub async fn find_order<S: Store + ?Sized>(
    store: &S,
    item: &BankItem,
) -> Result<Match, StoreError> {
    if let Some(r) = &item.structured_reference {
        let r = normalize(r);
        if payment_reference::is_valid(&r) {
            if let Some(order) = store.order_of_payment_reference(&r).await? {
                return Ok(Match::One(order));
            }
        }
    }
    let text = match &item.structured_reference {
        Some(r) => format!("{r} {}", item.remittance),
        None => item.remittance.clone(),
    };
    let mut orders = BTreeSet::new();
    for c in candidates(&text) {
        let order = match c {
            Candidate::PaymentReference(r) => store.order_of_payment_reference(&r).await?,
            Candidate::InvoiceNumber(n) => store
                .invoice(&InvoiceNumber(n))
                .await?
                .map(|inv| inv.order_id),
            Candidate::OrderId(id) => store.order(&id).await?.map(|o| o.id),
        };
        orders.extend(order);
    }
    Ok(match orders.len() {
        0 => Match::None,
        1 => Match::One(orders.into_iter().next().expect("one")),
        _ => Match::Several(orders.into_iter().collect()),
    })
}

/// Orders that wait for money: (id, currency, amount due).
async fn open_amounts<S: Store + ?Sized>(
    store: &S,
) -> Result<Vec<(OrderId, String, i64)>, StoreError> {
    let mut open: Vec<_> = store
        .receivables()
        .await?
        .into_iter()
        .map(|r| (r.order_id, r.currency, r.amount_due))
        .collect();
    for id in store.orders_awaiting_payment().await? {
        if let Some(o) = store.order(&id).await? {
            open.push((o.id.clone(), o.currency.to_string(), o.amount_due()));
        }
    }
    Ok(open)
}

/// Orders due exactly this amount in this currency.
fn suggest(open: &[(OrderId, String, i64)], item: &BankItem) -> Vec<OrderId> {
    open.iter()
        .filter(|(_, currency, due)| *currency == item.currency && *due == item.amount)
        .map(|(id, _, _)| id.clone())
        .take(MAX_SUGGESTIONS)
        .collect()
}

/// Records a transaction (new, or assigned from `expected`), and for one
/// with an order stores its booking and books it. `Ok(false)`: it was
/// recorded (or assigned) before.
async fn record<S: Store + ?Sized>(
    store: &S,
    t: BankTransaction,
    expected: Option<BankTxStatus>,
    now: Timestamp,
) -> Result<bool, StoreError> {
    let raw = serde_json::to_string(&t).map_err(|e| StoreError::corrupt(e.to_string()))?;
    let mut changes = match &t.order_id {
        Some(order) => {
            let kind = if t.amount >= 0 {
                PaymentEventKind::Received {
                    amount: t.amount,
                    currency: t.currency.clone(),
                }
            } else {
                PaymentEventKind::Returned {
                    amount: -t.amount,
                    currency: t.currency.clone(),
                }
            };
            let event = PaymentEvent {
                provider: PROVIDER.to_string(),
                event_id: t.id.clone(),
                order_id: Some(order.to_string()),
                payment_intent: None,
                kind,
            };
            event_changes(event, raw, now)
        }
        None => Default::default(),
    };
    let booking = t.order_id.is_some().then(|| t.id.clone());
    changes.bank_transaction = Some(BankTransactionWrite {
        transaction: t,
        expected,
    });
    match store.commit(changes).await {
        Ok(()) => {}
        Err(CommitError::Conflict(
            Conflict::BankTransactionTaken | Conflict::DuplicatePaymentEvent,
        )) => return Ok(false),
        Err(CommitError::Conflict(c)) => return Err(StoreError::unavailable(c.to_string())),
        Err(CommitError::Store(e)) => return Err(e),
    }
    if let Some(event_id) = booking {
        // Booked now so the order shows it at once; the queued message
        // books it if this fails, and finds it booked if it does not.
        if let Err(e) = book_payment_event(store, PROVIDER, &event_id, now).await {
            tracing::warn!(error = %e, event_id, "booking a bank transaction is left to the reconcile queue");
        }
    }
    Ok(true)
}

#[derive(Debug, thiserror::Error)]
pub enum AssignError {
    #[error("no bank transaction {0}")]
    NotFound(String),
    #[error("no order {0}")]
    UnknownOrder(OrderId),
    #[error("bank transaction {0} is {1}, not unmatched")]
    NotUnmatched(String, &'static str),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Books an unmatched transaction to the order finance chose, once.
pub async fn assign<S: Store + ?Sized>(
    store: &S,
    id: &str,
    order: &OrderId,
    now: Timestamp,
) -> Result<BankTransaction, AssignError> {
    let t = store
        .bank_transaction(id)
        .await?
        .ok_or_else(|| AssignError::NotFound(id.to_string()))?;
    if t.status != BankTxStatus::Unmatched {
        return Err(AssignError::NotUnmatched(id.to_string(), t.status.as_str()));
    }
    if store.order(order).await?.is_none() {
        return Err(AssignError::UnknownOrder(order.clone()));
    }
    let mut next = t;
    next.status = BankTxStatus::Assigned;
    next.order_id = Some(order.clone());
    if !record(store, next.clone(), Some(BankTxStatus::Unmatched), now).await? {
        return Err(AssignError::NotUnmatched(id.to_string(), "assigned"));
    }
    Ok(next)
}
