//! Reconcile stage. The webhook route verifies and stores a provider event
//! and acknowledges it (store first, then ack); the queue consumer books it
//! against the order and records every mismatch for finance.

use jiff::Timestamp;
use oms_domain::event::{Envelope, EventType, Notice, Payload};
use oms_domain::journal;
use oms_domain::order::{Order, OrderStatus};
use oms_domain::order_write::{next_version, update_order, OrderKey, Round};
use oms_domain::payment::{book, MismatchKind, PaymentEvent, PaymentEventKind};
use oms_domain::paypal;
use oms_domain::ports::{
    CertificateSource, ChangeSet, CommitError, Conflict, LedgerEntry, MismatchRecord, Store,
    StoredPaymentEvent,
};
use oms_domain::signature::{verify, SignatureError};
use oms_domain::{stripe, FieldError, OrderId, StageError, StoreError};

pub mod bank;

#[derive(Debug, thiserror::Error)]
pub enum WebhookError {
    #[error("{0}")]
    InvalidSignature(SignatureError),
    #[error("{0}")]
    PaypalSignature(paypal::PaypalSignatureError),
    #[error("{}", .0.message)]
    Invalid(FieldError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Whether the event was new or a repeat (both are acknowledged with 200).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Receipt {
    Stored,
    Duplicate,
}

/// Verifies a Stripe webhook and stores it with its `PaymentEventReceived`
/// message in one atomic change. Nothing is stored for a bad signature.
pub async fn receive_stripe_event<S: Store + ?Sized>(
    store: &S,
    secret: &[u8],
    signature: Option<&str>,
    body: &[u8],
    now: Timestamp,
) -> Result<Receipt, WebhookError> {
    verify(signature, body, secret, now.as_second()).map_err(WebhookError::InvalidSignature)?;
    let event = stripe::parse_event(body).map_err(WebhookError::Invalid)?;
    store_event(store, event, body, now).await
}

/// Where PayPal webhooks are checked against.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaypalConfig {
    /// The id PayPal gave the webhook (`OMS_PAYPAL_WEBHOOK_ID`); it is part
    /// of what PayPal signs.
    pub webhook_id: String,
    /// Hosts the signing certificate may come from (`OMS_PAYPAL_CERT_HOSTS`).
    pub cert_hosts: Vec<String>,
}

/// Verifies a PayPal webhook (transmission time, certificate host, RSA
/// signature with the certificate's key) and stores it like a Stripe event.
/// Nothing is fetched from a host that is not allowed, nothing is stored for
/// a bad signature.
pub async fn receive_paypal_event<S, C>(
    store: &S,
    certificates: &C,
    config: &PaypalConfig,
    transmission: &paypal::Transmission<'_>,
    body: &[u8],
    now: Timestamp,
) -> Result<Receipt, WebhookError>
where
    S: Store + ?Sized,
    C: CertificateSource + ?Sized,
{
    let bad = WebhookError::PaypalSignature;
    let (id, time, cert_url, signature) = paypal::required(transmission).map_err(bad)?;
    paypal::check_time(time, now.as_second()).map_err(bad)?;
    paypal::check_cert_url(cert_url, &config.cert_hosts).map_err(bad)?;
    let cert = certificates.certificate(cert_url).await?;
    let message = paypal::signed_message(id, time, &config.webhook_id, body);
    paypal::verify_signature(&cert, message.as_bytes(), signature).map_err(bad)?;
    let event = paypal::parse_event(body).map_err(WebhookError::Invalid)?;
    store_event(store, event, body, now).await
}

/// Stores a verified provider event with its `PaymentEventReceived` message
/// in one atomic change: acknowledged only once it is durable.
async fn store_event<S: Store + ?Sized>(
    store: &S,
    event: PaymentEvent,
    body: &[u8],
    now: Timestamp,
) -> Result<Receipt, WebhookError> {
    let raw = String::from_utf8(body.to_vec())
        .map_err(|_| WebhookError::Invalid(FieldError::general("body is not UTF-8")))?;
    match store.commit(event_changes(event, raw, now)).await {
        Ok(()) => Ok(Receipt::Stored),
        Err(CommitError::Conflict(Conflict::DuplicatePaymentEvent)) => Ok(Receipt::Duplicate),
        Err(CommitError::Conflict(c)) => Err(StoreError::unavailable(c.to_string()).into()),
        Err(CommitError::Store(e)) => Err(e.into()),
    }
}

/// The change that stores a provider event and queues its booking.
pub(crate) fn event_changes(event: PaymentEvent, raw: String, now: Timestamp) -> ChangeSet {
    let order_id = event.order_id.clone().map(OrderId);
    let message = Envelope::new(
        EventType::PaymentEventReceived,
        order_id,
        &event.event_id,
        now,
    )
    .with_payload(Payload {
        provider: Some(event.provider.clone()),
        provider_event_id: Some(event.event_id.clone()),
        ..Payload::default()
    });
    ChangeSet {
        payment_event: Some(StoredPaymentEvent {
            event,
            raw,
            received_at: now,
        }),
        events: vec![message],
        ..ChangeSet::default()
    }
}

/// Consumer of the reconcile queue.
pub async fn handle<S: Store + ?Sized>(store: &S, event: &Envelope) -> Result<(), StageError> {
    if event.event_type != EventType::PaymentEventReceived {
        return Err(StageError::permanent(format!(
            "the reconcile stage does not handle {:?}",
            event.event_type
        )));
    }
    let (Some(provider), Some(event_id)) =
        (&event.payload.provider, &event.payload.provider_event_id)
    else {
        return Err(StageError::permanent(
            "PaymentEventReceived without provider event",
        ));
    };
    book_payment_event(store, provider, event_id, Timestamp::now()).await
}

/// Books a stored provider event. The ledger, the mismatches and the
/// "booked" mark are one atomic change, so a redelivered message books nothing twice.
pub async fn book_payment_event<S: Store + ?Sized>(
    store: &S,
    provider: &str,
    event_id: &str,
    now: Timestamp,
) -> Result<(), StageError> {
    let stored = store
        .payment_event(provider, event_id)
        .await?
        .ok_or_else(|| StageError::permanent(format!("no stored {provider} event {event_id}")))?;
    let booked_mark = Some((provider.to_string(), event_id.to_string()));
    if let PaymentEventKind::Ignored { .. } = stored.event.kind {
        // Acknowledged and kept for the record; there is nothing to book.
        let changes = ChangeSet {
            payment_event_booked: booked_mark,
            ..ChangeSet::default()
        };
        return commit_booking(store, changes).await.map(|_| ());
    }
    // Money we cannot place is exactly what finance must see.
    let unknown_order = ChangeSet {
        mismatches: vec![MismatchRecord {
            order_id: stored.event.order_id.clone().map(OrderId),
            event_id: event_id.to_string(),
            kind: MismatchKind::UnknownOrder,
            detail: format!(
                "{provider} event names order {:?}, which does not exist",
                stored.event.order_id
            ),
            at: now,
        }],
        payment_event_booked: booked_mark.clone(),
        ..ChangeSet::default()
    };
    // The order the event names, else the one its payment was booked to
    // (Stripe's refunds and disputes rarely carry the order id).
    let order_id = match (&stored.event.order_id, &stored.event.payment_intent) {
        (Some(id), _) => Some(OrderId(id.clone())),
        (None, Some(intent)) => store.order_of_payment_intent(intent).await?,
        (None, None) => None,
    };
    let Some(order_id) = order_id else {
        return commit_booking(store, unknown_order).await.map(|_| ());
    };
    let (stored, booked_mark, unknown_order) = (&stored, &booked_mark, &unknown_order);
    update_order(
        store,
        OrderKey::Id(&order_id),
        move |order: Option<Order>| async move {
            let Some(order) = order else {
                commit_booking(store, unknown_order.clone()).await?;
                return Ok(Round::Done(()));
            };
            let void = matches!(order.status, OrderStatus::Cancelled | OrderStatus::Rejected);
            // Measured against what is owed: a credit note for returned goods
            // lowers it, and what was paid beyond is due back to the customer.
            let booking = book(
                &order.ledger,
                order.amount_owed(),
                order.currency,
                void,
                &stored.event.kind,
            );
            let mut next = next_version(&order);
            next.ledger = booking.ledger;
            let bank = stored.event.provider == bank::PROVIDER;
            // Money moved: the timeline says so, the ledger and the journal book it.
            let (mut ledger, mut journal) = (Vec::new(), Vec::new());
            if booking.amount != 0 {
                let (event, text) = movement(&stored.event.kind, booking.amount, bank);
                next.note(event, now);
                ledger.push(LedgerEntry {
                    order_id: order.id.clone(),
                    event_id: event_id.to_string(),
                    amount: booking.amount,
                    currency: order.currency.to_string(),
                    at: now,
                });
                journal.push(journal::for_payment(
                    &order,
                    provider,
                    event_id,
                    booking.amount,
                    text,
                    now,
                ));
            }
            let mismatches = booking
                .mismatches
                .into_iter()
                .map(|m| MismatchRecord {
                    order_id: Some(order.id.clone()),
                    event_id: event_id.to_string(),
                    kind: m.kind,
                    detail: m.detail,
                    at: now,
                })
                .collect();
            // Money in through a provider payment: remember its order.
            let payment_intent = match (&stored.event.kind, &stored.event.payment_intent) {
                (PaymentEventKind::Received { .. }, Some(intent)) => {
                    Some((intent.clone(), order.id.clone()))
                }
                _ => None,
            };
            // A prepayment paid in full goes to the warehouse now.
            let mut events = Vec::new();
            // Money went back: the customer is told (once per refund booked).
            if booking.amount < 0
                && matches!(
                    stored.event.kind,
                    PaymentEventKind::Refund { .. } | PaymentEventKind::Refunded { .. }
                )
            {
                let n = next
                    .timeline
                    .iter()
                    .filter(|e| e.event == "refunded")
                    .count();
                events.push(
                    Envelope::notice(Notice::Refund, &next, now).numbered(n, Some(-booking.amount)),
                );
            }
            if next.status == OrderStatus::AwaitingPayment && next.invoice_due() == 0 {
                next.transition(OrderStatus::Reserved, now)
                    .map_err(StageError::permanent)?;
                events.push(Envelope::for_order(EventType::OrderReserved, &next, now));
            }
            let changes = ChangeSet {
                ledger,
                journal,
                mismatches,
                payment_intent,
                events,
                payment_event_booked: booked_mark.clone(),
                ..ChangeSet::order_update(next, order.version)
            };
            Ok(if commit_booking(store, changes).await? {
                Round::Done(())
            } else {
                Round::Raced
            })
        },
    )
    .await
}

/// What a booking that moved `amount` is called: its timeline event and
/// its journal text.
fn movement(kind: &PaymentEventKind, amount: i64, bank: bool) -> (&'static str, &'static str) {
    match kind {
        PaymentEventKind::Received { .. } if bank => ("bank_transfer_received", "Zahlung"),
        PaymentEventKind::Received { .. } => ("payment_received", "Zahlung"),
        PaymentEventKind::Returned { .. } => ("bank_transfer_returned", "Rücküberweisung"),
        PaymentEventKind::Refund { .. } if amount > 0 => {
            ("refund_reversed", "Erstattung storniert")
        }
        PaymentEventKind::Refunded { .. } | PaymentEventKind::Refund { .. } => {
            ("refunded", "Erstattung")
        }
        PaymentEventKind::Dispute {
            withdrawn: true, ..
        } => ("dispute_funds_withdrawn", "Rückbelastung"),
        PaymentEventKind::Dispute { .. } => ("dispute_funds_reinstated", "Rückbelastung zurück"),
        // Ignored events book nothing, so never move money.
        PaymentEventKind::Ignored { .. } => ("payment_event", "Zahlungsereignis"),
    }
}

/// `Ok(false)` when the order changed meanwhile and the booking must be redone.
async fn commit_booking<S: Store + ?Sized>(
    store: &S,
    changes: ChangeSet,
) -> Result<bool, StageError> {
    match store.commit(changes).await {
        Ok(()) => Ok(true),
        Err(CommitError::Conflict(Conflict::OrderChanged)) => Ok(false),
        // Booked before (a redelivered message): nothing more to do.
        Err(CommitError::Conflict(Conflict::DuplicatePaymentEvent)) => Ok(true),
        Err(e) => Err(e.into()),
    }
}
