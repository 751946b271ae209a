//! The ports: what the stages need from the outside world. Adapters live in
//! `shared/adapters/`: `oms-embedded` (SQLite, local queues, mail folder) and
//! `oms-aws` (DynamoDB, SQS, SES v2).
//!
//! Writes go through one method, [`Store::commit`], which applies a
//! [`ChangeSet`] atomically or not at all: the order document guarded by its
//! version, stock deltas guarded by "never below zero", the idempotency
//! record, the invoice with its sequence, and the events to publish (a
//! transactional outbox, so no order is lost between two stages). This maps
//! one to one onto a SQLite transaction and onto DynamoDB `TransactWriteItems`
//! with condition expressions.

use async_trait::async_trait;
use jiff::Timestamp;
use std::collections::HashMap;
use std::time::Duration;

use crate::bank::{BankTransaction, BankTxStatus};
use crate::catalog::{SkuItem, SkuUpdate};
use crate::collection::Receivable;
use crate::event::{Envelope, QueueName};
use crate::invoice::Invoice;
use crate::journal::JournalEntry;
use crate::order::Order;
use crate::payment::{MismatchKind, PaymentEvent};
use crate::report::DailyFacts;
use crate::{FulfillmentId, InvoiceNumber, OrderId, Sku, StageError, StoreError};
use jiff::civil::Date;

/// The first answer given to an `Idempotency-Key`, replayed for repeats.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyRecord {
    pub key: String,
    /// SHA-256 of the canonical JSON of the request body.
    pub body_hash: String,
    pub status: u16,
    pub response: String,
    pub order_id: OrderId,
    pub created_at: Timestamp,
}

/// Put an order document. `expected_version: None` means it must not exist
/// yet; `Some(v)` means the stored version must still be `v`.
#[derive(Debug, Clone)]
pub struct OrderWrite {
    pub order: Order,
    pub expected_version: Option<u64>,
}

/// Change of one SKU's stock by deltas. The store refuses the whole change
/// set if afterwards `on_hand`, `reserved` or `on_hand - reserved` would be
/// negative: that single condition is what makes overselling impossible.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StockChange {
    pub sku: Sku,
    pub on_hand: i64,
    pub reserved: i64,
}

impl StockChange {
    /// Units that left the warehouse (shipped) or are not there (short):
    /// out of `on_hand` and out of the `reserved` that held them.
    pub fn gone(units: std::collections::BTreeMap<Sku, i64>) -> Vec<StockChange> {
        units
            .into_iter()
            .map(|(sku, n)| StockChange {
                sku,
                on_hand: -n,
                reserved: -n,
            })
            .collect()
    }
}

/// An invoice with its place in the number series. The store refuses it
/// unless `sequence` is exactly one more than the last number issued.
#[derive(Debug, Clone)]
pub struct InvoiceWrite {
    pub invoice: Invoice,
    pub series: String,
    pub sequence: u64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredPaymentEvent {
    pub event: PaymentEvent,
    pub raw: String,
    pub received_at: Timestamp,
}

/// When a parcel shipped, and how long after its order's capture.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParcelFact {
    pub shipment_id: String,
    pub shipped_at: Timestamp,
    pub lead_ms: i64,
}

/// A booked amount: receipts positive, refunds negative.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LedgerEntry {
    pub order_id: OrderId,
    pub event_id: String,
    pub amount: i64,
    pub currency: String,
    pub at: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MismatchRecord {
    pub order_id: Option<OrderId>,
    pub event_id: String,
    pub kind: MismatchKind,
    pub detail: String,
    pub at: Timestamp,
}

/// Everything one step writes, applied all or nothing.
#[derive(Debug, Clone, Default)]
pub struct ChangeSet {
    pub order: Option<OrderWrite>,
    pub stock: Vec<StockChange>,
    pub idempotency: Option<IdempotencyRecord>,
    pub invoice: Option<InvoiceWrite>,
    /// A provider event to store; refused if its id was stored before.
    pub payment_event: Option<StoredPaymentEvent>,
    /// A stored provider event that reconciliation has now booked.
    pub payment_event_booked: Option<(String, String)>,
    pub ledger: Vec<LedgerEntry>,
    pub mismatches: Vec<MismatchRecord>,
    /// A provider payment (Stripe's payment intent) and its order, so that
    /// later events naming only the payment find the order. A payment
    /// belongs to one order, so writing it again changes nothing.
    pub payment_intent: Option<(String, OrderId)>,
    /// A bank transaction to record: new (`expected: None`, refused if its
    /// id is known) or changed from the status it must still have.
    pub bank_transaction: Option<BankTransactionWrite>,
    /// Journal entries the change books (an id written before is kept as it was).
    pub journal: Vec<JournalEntry>,
    /// A parcel that left while units of its order stay open, for the lead
    /// time per parcel (the parcel completing an order is the order's own
    /// shipment in the report).
    pub parcel: Option<ParcelFact>,
    /// Published after the change is durable, at least once.
    pub events: Vec<Envelope>,
}

#[derive(Debug, Clone)]
pub struct BankTransactionWrite {
    pub transaction: BankTransaction,
    pub expected: Option<BankTxStatus>,
}

/// Why a change set was refused. Nothing of it was written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Conflict {
    #[error("the order was changed concurrently")]
    OrderChanged,
    #[error("not enough stock of {0:?}")]
    InsufficientStock(Vec<Sku>),
    #[error("unknown SKU {0}")]
    UnknownSku(Sku),
    #[error("the idempotency key was used already")]
    IdempotencyKeyTaken,
    #[error("the invoice sequence number was taken")]
    InvoiceSequenceTaken,
    #[error("the provider event was stored already")]
    DuplicatePaymentEvent,
    #[error("the bank transaction was recorded already, or changed")]
    BankTransactionTaken,
    #[error("on_hand cannot go below the {0} units reserved")]
    BelowReserved(i64),
}

#[derive(Debug, thiserror::Error)]
pub enum CommitError {
    #[error(transparent)]
    Conflict(#[from] Conflict),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl ChangeSet {
    /// Writes `next` in place of the stored order, which must still be at
    /// `base_version`.
    pub fn order_update(next: Order, base_version: u64) -> ChangeSet {
        ChangeSet {
            order: Some(OrderWrite {
                order: next,
                expected_version: Some(base_version),
            }),
            ..ChangeSet::default()
        }
    }
}

/// Commits `changes`. `Ok(false)` when the order changed since it was read:
/// the caller reads again, decides again and retries. Any other conflict or
/// failure is an error.
pub async fn commit_unless_raced<S: Store + ?Sized>(
    store: &S,
    changes: ChangeSet,
) -> Result<bool, CommitError> {
    match store.commit(changes).await {
        Ok(()) => Ok(true),
        Err(CommitError::Conflict(Conflict::OrderChanged)) => Ok(false),
        Err(e) => Err(e),
    }
}

impl From<CommitError> for StageError {
    fn from(e: CommitError) -> Self {
        match e {
            // A conflict that reaches a stage unhandled is a race lost: try again.
            CommitError::Conflict(c) => StageError::transient(c.to_string()),
            CommitError::Store(s) => s.into(),
        }
    }
}

#[async_trait]
pub trait Store: Send + Sync {
    /// Creates or updates an item and sets its absolute `on_hand`; returns
    /// the item and whether it was created. Publishes `events` with it.
    async fn put_sku(
        &self,
        update: SkuUpdate,
        events: Vec<Envelope>,
    ) -> Result<(SkuItem, bool), CommitError>;
    async fn skus(&self, skus: &[Sku]) -> Result<HashMap<Sku, SkuItem>, StoreError>;

    async fn order(&self, id: &OrderId) -> Result<Option<Order>, StoreError>;
    async fn order_by_fulfillment(&self, id: &FulfillmentId) -> Result<Option<Order>, StoreError>;
    /// Units per SKU that backordered orders wait for.
    async fn backordered_demand(&self) -> Result<std::collections::BTreeMap<Sku, i64>, StoreError>;
    /// Backordered orders holding `sku`, oldest first.
    async fn backordered_with(&self, sku: &Sku) -> Result<Vec<OrderId>, StoreError>;
    async fn idempotency(&self, key: &str) -> Result<Option<IdempotencyRecord>, StoreError>;

    async fn invoice(&self, number: &InvoiceNumber) -> Result<Option<Invoice>, StoreError>;
    /// The last sequence number issued in `series` (0 if none).
    async fn last_invoice_sequence(&self, series: &str) -> Result<u64, StoreError>;
    async fn invoice_emailed(&self, number: &InvoiceNumber) -> Result<bool, StoreError>;
    async fn mark_invoice_emailed(
        &self,
        number: &InvoiceNumber,
        at: Timestamp,
    ) -> Result<(), StoreError>;

    async fn payment_event(
        &self,
        provider: &str,
        event_id: &str,
    ) -> Result<Option<StoredPaymentEvent>, StoreError>;

    /// Prepayment orders waiting for their money (status `awaiting_payment`).
    async fn orders_awaiting_payment(&self) -> Result<Vec<OrderId>, StoreError>;
    /// Every invoiced order with money open, as kept beside the order.
    async fn receivables(&self) -> Result<Vec<Receivable>, StoreError>;

    /// The order whose payment reference (`RF…`) this is, for the orders
    /// that pay by transfer (`bank_transfer`, `invoice`).
    async fn order_of_payment_reference(
        &self,
        reference: &str,
    ) -> Result<Option<OrderId>, StoreError>;
    async fn bank_transaction(&self, id: &str) -> Result<Option<BankTransaction>, StoreError>;
    /// The journal entries dated `from` to `to` (business dates, inclusive),
    /// by date and id.
    async fn journal(&self, from: Date, to: Date) -> Result<Vec<JournalEntry>, StoreError>;
    /// Bank transactions nobody could match, oldest first.
    async fn unmatched_bank_transactions(&self) -> Result<Vec<BankTransaction>, StoreError>;

    /// The order a provider payment (Stripe's payment intent) was booked to.
    async fn order_of_payment_intent(&self, id: &str) -> Result<Option<OrderId>, StoreError>;

    async fn daily_facts(&self, from: Timestamp, to: Timestamp) -> Result<DailyFacts, StoreError>;

    async fn commit(&self, changes: ChangeSet) -> Result<(), CommitError>;
}

/// Sends a message to a queue outside a change set (e.g. a delayed one).
#[async_trait]
pub trait Publisher: Send + Sync {
    async fn publish(&self, event: Envelope, delay: Duration) -> Result<(), StoreError>;

    /// Sends `events` now, all or (on error) some of them: the caller sends
    /// again what failed, and consumers are idempotent. Adapters that can
    /// send batches do so.
    async fn publish_all(&self, events: Vec<Envelope>) -> Result<(), StoreError> {
        for event in events {
            self.publish(event, Duration::ZERO).await?;
        }
        Ok(())
    }
}

/// Where a payment provider's signing certificates come from (PEM), by URL.
/// The caller checks the URL is allowed before asking; adapters cache.
#[async_trait]
pub trait CertificateSource: Send + Sync {
    async fn certificate(&self, url: &str) -> Result<Vec<u8>, StoreError>;
}

/// Where a message that can never succeed is parked, for an operator to
/// look at and redrive. Used by runners whose queue does not do it itself
/// (Lambda's SQS event source deletes every record reported done).
#[async_trait]
pub trait DeadLetters: Send + Sync {
    async fn park(&self, queue: QueueName, body: &str, reason: &str) -> Result<(), StoreError>;
}

/// A finished email: MIME bytes plus the envelope recipients.
#[derive(Debug, Clone)]
pub struct RawEmail {
    /// Stable per content (e.g. per invoice), so a resend overwrites rather than duplicates where the transport allows it.
    pub id: String,
    pub from: String,
    pub recipients: Vec<String>,
    pub mime: Vec<u8>,
}

#[async_trait]
pub trait Mailer: Send + Sync {
    async fn send(&self, email: RawEmail) -> Result<(), StageError>;
}

/// What the warehouse is asked to ship.
#[derive(Debug, Clone, serde::Serialize)]
pub struct HandOff {
    pub fulfillment_id: FulfillmentId,
    pub order_id: OrderId,
    pub lines: Vec<HandOffLine>,
    pub shipping_address: crate::order::Address,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct HandOffLine {
    pub sku: Sku,
    pub quantity: i64,
}

#[async_trait]
pub trait Warehouse: Send + Sync {
    /// `Ok` once the warehouse has accepted the fulfillment.
    async fn hand_off(&self, request: &HandOff) -> Result<(), StageError>;
    /// Asks the warehouse to stop a fulfillment it was handed. An error:
    /// it could not be asked or gave no clear answer (nothing may change).
    async fn cancel(&self, request: &CancelRequest) -> Result<CancelAnswer, StageError>;
}

/// What the warehouse is asked to stop.
#[derive(Debug, Clone, serde::Serialize)]
pub struct CancelRequest {
    pub fulfillment_id: FulfillmentId,
    pub order_id: OrderId,
}

/// The warehouse's answer to a cancellation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CancelAnswer {
    /// Stopped: nothing will ship.
    Stopped,
    /// Too late: it is packed or on its way.
    TooLate,
}

/// A message taken from a queue, invisible to others until acked, retried or
/// its visibility timeout runs out.
#[derive(Debug, Clone)]
pub struct Delivery {
    pub queue: QueueName,
    pub receipt: String,
    pub body: String,
    /// How often it has been received, this time included.
    pub attempts: u32,
}

/// The consuming side of the queues, for runners that poll (the local
/// dispatcher; in Lambda the event source mapping does this).
#[async_trait]
pub trait Consumer: Send + Sync {
    async fn receive(&self, queue: QueueName, max: usize) -> Result<Vec<Delivery>, StoreError>;
    async fn ack(&self, delivery: &Delivery) -> Result<(), StoreError>;
    /// Makes the message visible again after `delay`; dead-letters it once
    /// it has been received `max_attempts` times.
    async fn retry(
        &self,
        delivery: &Delivery,
        delay: Duration,
        error: &str,
    ) -> Result<(), StoreError>;
    async fn dead_letter(&self, delivery: &Delivery, reason: &str) -> Result<(), StoreError>;
}
