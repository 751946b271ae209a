//! How each record is laid out as a DynamoDB item in the one table. Keys are
//! `<kind>#<id>`; documents are stored as JSON in `doc` (read back whole),
//! and the attributes the indexes need are set beside them. The index
//! attributes are sparse: an item is only in the indexes it has keys for.

use aws_sdk_dynamodb::types::AttributeValue;
use jiff::Timestamp;
use oms_domain::bank::{BankTransaction, BankTxStatus};
use oms_domain::catalog::SkuItem;
use oms_domain::collection::Receivable;
use oms_domain::invoice::{DocumentKind, Invoice};
use oms_domain::journal::JournalEntry;
use oms_domain::order::{Order, OrderStatus};
use oms_domain::ports::{
    IdempotencyRecord, LedgerEntry, MismatchRecord, ParcelFact, StoredPaymentEvent,
};
use oms_domain::{FulfillmentId, InvoiceNumber, OrderId, Sku, StoreError, TaxRate};
use std::collections::HashMap;

use crate::schema::{KEY, TTL_ATTRIBUTE};

pub type Item = HashMap<String, AttributeValue>;

pub use crate::outbox::OUTBOX;

pub fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

pub fn n(v: impl ToString) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

pub fn key(pk: String) -> Item {
    HashMap::from([(KEY.to_string(), s(pk))])
}

pub fn corrupt(what: impl std::fmt::Display) -> StoreError {
    StoreError::corrupt(what.to_string())
}

pub fn get_s<'a>(item: &'a Item, name: &str) -> Result<&'a str, StoreError> {
    match item.get(name) {
        Some(AttributeValue::S(v)) => Ok(v),
        _ => Err(corrupt(format!(
            "item {:?} lacks string {name}",
            item.get(KEY)
        ))),
    }
}

pub fn get_n(item: &Item, name: &str) -> Result<i64, StoreError> {
    match item.get(name) {
        Some(AttributeValue::N(v)) => v.parse().map_err(corrupt),
        _ => Err(corrupt(format!(
            "item {:?} lacks number {name}",
            item.get(KEY)
        ))),
    }
}

pub fn opt_n(item: &Item, name: &str) -> Option<i64> {
    match item.get(name) {
        Some(AttributeValue::N(v)) => v.parse().ok(),
        _ => None,
    }
}

/// Documents are stored as deflated JSON: an order or invoice shrinks to a
/// third, and DynamoDB bills writes per started kilobyte (twice in a
/// transaction), on every write of the item.
fn doc<T: serde::de::DeserializeOwned>(item: &Item) -> Result<T, StoreError> {
    match item.get("doc") {
        Some(AttributeValue::B(bytes)) => {
            let json = flate2::read::DeflateDecoder::new(bytes.as_ref());
            serde_json::from_reader(json).map_err(corrupt)
        }
        _ => Err(corrupt(format!(
            "item {:?} lacks its document",
            item.get(KEY)
        ))),
    }
}

fn packed(v: &impl serde::Serialize) -> Result<AttributeValue, StoreError> {
    use std::io::Write;
    let mut out = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
    serde_json::to_writer(&mut out, v).map_err(corrupt)?;
    out.flush().map_err(corrupt)?;
    let bytes = out.finish().map_err(corrupt)?;
    Ok(AttributeValue::B(aws_sdk_dynamodb::primitives::Blob::new(
        bytes,
    )))
}

fn json(v: &impl serde::Serialize) -> Result<String, StoreError> {
    serde_json::to_string(v).map_err(corrupt)
}

/// The UTC day of `t`, the partition of the by-day indexes.
pub fn day(t: Timestamp) -> String {
    t.to_zoned(jiff::tz::TimeZone::UTC).date().to_string()
}

pub fn order_key(id: &OrderId) -> String {
    format!("order#{id}")
}

/// Fulfillment ids are derived from order ids, so no index is needed.
pub fn order_of_fulfillment(id: &FulfillmentId) -> OrderId {
    OrderId(format!(
        "ord_{}",
        id.as_str().strip_prefix("ful_").unwrap_or(id.as_str())
    ))
}

pub fn order_item(order: &Order) -> Result<Item, StoreError> {
    let mut item = key(order_key(&order.id));
    item.insert("doc".into(), packed(order)?);
    item.insert("version".into(), n(order.version));
    item.insert("status".into(), s(order.status.as_str()));
    let captured = order.captured_at;
    item.insert("captured_day".into(), s(day(captured)));
    item.insert("captured_at".into(), n(captured.as_millisecond()));
    for (event, index) in [
        ("shipped", "shipped"),
        ("backordered", "backordered"),
        ("cancelled", "cancelled"),
    ] {
        if let Some(at) = order.first(event) {
            item.insert(format!("{index}_day"), s(day(at)));
            item.insert(format!("{index}_at"), n(at.as_millisecond()));
        }
    }
    if order.status == OrderStatus::Backordered {
        let units: HashMap<String, i64> = order
            .units_per_sku()
            .into_iter()
            .map(|(sku, n)| (sku.0, n))
            .collect();
        item.insert("backlog".into(), s("backordered"));
        item.insert("backlog_at".into(), n(captured.as_millisecond()));
        item.insert("units".into(), s(json(&units)?));
    }
    for (event, attribute) in [("reserved", "reserved_at"), ("handed_off", "handed_off_at")] {
        if let Some(at) = order.first(event) {
            item.insert(attribute.into(), n(at.as_millisecond()));
        }
    }
    if order.status == OrderStatus::AwaitingPayment {
        item.insert("backlog".into(), s("awaiting_payment"));
        item.insert("backlog_at".into(), n(captured.as_millisecond()));
    }
    if let Some(r) = Receivable::of(order) {
        item.insert("receivable".into(), s("open"));
        item.insert("currency".into(), s(order.currency.as_str()));
        item.insert("due".into(), n(r.amount_due));
        item.insert("summary".into(), s(json(&r)?));
    }
    Ok(item)
}

pub fn parse_order(item: &Item) -> Result<Order, StoreError> {
    doc(item)
}

pub fn sku_key(sku: &Sku) -> String {
    format!("sku#{}", sku.as_str())
}

pub fn parse_sku(item: &Item) -> Result<SkuItem, StoreError> {
    let sku = get_s(item, KEY)?.trim_start_matches("sku#").to_string();
    Ok(SkuItem::new(
        Sku(sku),
        get_s(item, "name")?.to_string(),
        TaxRate::from_basis_points(u32::try_from(get_n(item, "tax_bp")?).map_err(corrupt)?),
        get_n(item, "on_hand")?,
        get_n(item, "reserved")?,
    ))
}

pub fn idempotency_key(key: &str) -> String {
    format!("idem#{key}")
}

pub fn idempotency_item(r: &IdempotencyRecord, expires_at: i64) -> Item {
    let mut item = key(idempotency_key(&r.key));
    item.insert("body_hash".into(), s(&r.body_hash));
    item.insert("status".into(), n(r.status));
    item.insert("response".into(), s(&r.response));
    item.insert("order_id".into(), s(r.order_id.as_str()));
    item.insert("created_at".into(), n(r.created_at.as_millisecond()));
    item.insert(TTL_ATTRIBUTE.into(), n(expires_at));
    item
}

pub fn parse_idempotency(item: &Item) -> Result<IdempotencyRecord, StoreError> {
    Ok(IdempotencyRecord {
        key: get_s(item, KEY)?.trim_start_matches("idem#").to_string(),
        body_hash: get_s(item, "body_hash")?.to_string(),
        status: get_n(item, "status")? as u16,
        response: get_s(item, "response")?.to_string(),
        order_id: OrderId(get_s(item, "order_id")?.to_string()),
        created_at: Timestamp::from_millisecond(get_n(item, "created_at")?).map_err(corrupt)?,
    })
}

pub fn series_key(series: &str) -> String {
    format!("series#{series}")
}

pub fn invoice_key(number: &InvoiceNumber) -> String {
    format!("invoice#{}", number.as_str())
}

fn fact(item: &mut Item, kind: &str, at: Timestamp, currency: &str, amount: i64) {
    item.insert("fact".into(), s(kind));
    item.insert("fact_day".into(), s(day(at)));
    item.insert("fact_at".into(), n(at.as_millisecond()));
    item.insert("currency".into(), s(currency.to_uppercase()));
    item.insert("amount".into(), n(amount));
}

/// A parcel that left units of its order open: a daily fact whose amount
/// is its lead time in milliseconds.
pub fn parcel_item(p: &ParcelFact) -> Item {
    let mut item = key(format!("parcel#{}", p.shipment_id));
    fact(&mut item, "parcel", p.shipped_at, "", p.lead_ms);
    item
}

pub fn invoice_item(inv: &Invoice) -> Result<Item, StoreError> {
    let mut item = key(invoice_key(&inv.number));
    item.insert("doc".into(), packed(inv)?);
    item.insert("order_id".into(), s(inv.order_id.as_str()));
    let kind = match inv.kind {
        DocumentKind::Invoice => "invoice",
        DocumentKind::CreditNote { .. } => "credit_note",
    };
    fact(
        &mut item,
        kind,
        inv.issued_at,
        inv.currency.as_str(),
        inv.total,
    );
    Ok(item)
}

pub fn parse_invoice(item: &Item) -> Result<Invoice, StoreError> {
    doc(item)
}

pub fn payment_intent_key(id: &str) -> String {
    format!("pi#{id}")
}

/// Which order a provider payment (Stripe's payment intent) belongs to.
pub fn payment_intent_item(id: &str, order: &OrderId) -> Item {
    let mut item = key(payment_intent_key(id));
    item.insert("order_id".into(), s(order.as_str()));
    item
}

pub fn payment_reference_key(reference: &str) -> String {
    format!("payref#{reference}")
}

/// Which order a payment reference (`RF…`) belongs to.
pub fn payment_reference_item(order: &OrderId) -> Item {
    let mut item = key(payment_reference_key(
        &oms_domain::payment_reference::for_order(order),
    ));
    item.insert("order_id".into(), s(order.as_str()));
    item
}

pub fn bank_transaction_key(id: &str) -> String {
    format!("banktx#{id}")
}

/// A bank transaction; the unmatched ones are listed through the backlog index.
pub fn bank_transaction_item(t: &BankTransaction) -> Result<Item, StoreError> {
    let mut item = key(bank_transaction_key(&t.id));
    item.insert("doc".into(), s(json(t)?));
    item.insert("status".into(), s(t.status.as_str()));
    if t.status == BankTxStatus::Unmatched {
        item.insert("backlog".into(), s("bank_unmatched"));
        item.insert("backlog_at".into(), n(Timestamp::now().as_millisecond()));
    }
    Ok(item)
}

pub fn parse_bank_transaction(item: &Item) -> Result<BankTransaction, StoreError> {
    serde_json::from_str(get_s(item, "doc")?).map_err(corrupt)
}

pub fn payment_key(provider: &str, event_id: &str) -> String {
    format!("payment#{provider}#{event_id}")
}

pub fn payment_item(p: &StoredPaymentEvent) -> Result<Item, StoreError> {
    let mut item = key(payment_key(&p.event.provider, &p.event.event_id));
    item.insert("doc".into(), packed(&p.event)?);
    item.insert("raw".into(), s(&p.raw));
    item.insert("received_at".into(), n(p.received_at.as_millisecond()));
    Ok(item)
}

pub fn parse_payment(item: &Item) -> Result<StoredPaymentEvent, StoreError> {
    Ok(StoredPaymentEvent {
        event: doc(item)?,
        raw: get_s(item, "raw")?.to_string(),
        received_at: Timestamp::from_millisecond(get_n(item, "received_at")?).map_err(corrupt)?,
    })
}

/// Ledger entries and mismatches are facts of their day. `n` tells apart
/// several written for one provider event in one change set.
pub fn ledger_item(l: &LedgerEntry, n_: usize) -> Item {
    let mut item = key(format!("ledger#{}#{}#{n_}", l.event_id, l.order_id));
    item.insert("order_id".into(), s(l.order_id.as_str()));
    fact(&mut item, "ledger", l.at, &l.currency, l.amount);
    item
}

/// A journal entry, dated by its business date in the facts index.
pub fn journal_item(e: &JournalEntry) -> Result<Item, StoreError> {
    let mut item = key(format!("journal#{}", e.id));
    item.insert("doc".into(), s(json(e)?));
    item.insert("fact".into(), s("journal"));
    item.insert("fact_day".into(), s(e.date.to_string()));
    item.insert("fact_at".into(), n(Timestamp::now().as_millisecond()));
    Ok(item)
}

pub fn parse_journal(item: &Item) -> Result<JournalEntry, StoreError> {
    serde_json::from_str(get_s(item, "doc")?).map_err(corrupt)
}

pub fn mismatch_item(m: &MismatchRecord, n_: usize) -> Result<Item, StoreError> {
    let mut item = key(format!("mismatch#{}#{n_}", m.event_id));
    if let Some(o) = &m.order_id {
        item.insert("order_id".into(), s(o.as_str()));
    }
    let kind = serde_json::to_value(m.kind).map_err(corrupt)?;
    item.insert("kind".into(), s(kind.as_str().unwrap_or_default()));
    item.insert("detail".into(), s(&m.detail));
    fact(&mut item, "mismatch", m.at, "", 0);
    Ok(item)
}
