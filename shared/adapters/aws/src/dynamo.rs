//! `Store` on DynamoDB. Every change set becomes one write: a single
//! conditional `PutItem`/`UpdateItem` when it touches one item, otherwise one
//! `TransactWriteItems` whose conditions are exactly the embedded backend's
//! guards (order version, `available >= qty`, unused idempotency key, next
//! invoice number, unseen provider event). A refused condition is turned back
//! into the business [`Conflict`] from the cancellation reasons.
//!
//! The events of a change set travel in the same write, in the `outbox`
//! attribute of one of its items; the table's stream carries them to the
//! relay, which sends them to SQS (see `relay.rs`). No order is lost between
//! the write and the send, and no extra item is written for it.

use async_trait::async_trait;
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::{
    AttributeValue, Put, ReturnConsumedCapacity, ReturnValue,
    ReturnValuesOnConditionCheckFailure as OnFailure, Select, TransactWriteItem, Update,
};
use jiff::civil::Date;
use jiff::Timestamp;
use oms_domain::bank::{BankTransaction, BankTxStatus};
use oms_domain::catalog::{SkuItem, SkuUpdate};
use oms_domain::collection::Receivable;
use oms_domain::event::Envelope;
use oms_domain::invoice::Invoice;
use oms_domain::journal::JournalEntry;
use oms_domain::order::Order;
use oms_domain::ports::{
    ChangeSet, CommitError, Conflict, IdempotencyRecord, Store, StoredPaymentEvent,
};
use oms_domain::report::{DailyFacts, StepTimes};
use oms_domain::{FulfillmentId, InvoiceNumber, OrderId, Sku, StoreError};
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use crate::items::*;
use crate::schema::{KEY, TTL_ATTRIBUTE};
use crate::usage::Usage;
use crate::{build_err, sdk_err, service_err, Sdk};

/// How long an outbox-only item lives (its events were relayed long before).
const OUTBOX_ITEM_TTL: i64 = 86_400;
/// Sends of one transaction that concurrent ones cancel before the commit
/// gives up (transiently), and the first pause between them (doubling).
const TRANSACTION_ATTEMPTS: u32 = 6;
const TRANSACTION_RETRY_PAUSE: Duration = Duration::from_millis(15);

/// Why a transaction did not happen.
enum Transact {
    /// Cancelled because others were writing the same items: send it again.
    Busy(String),
    /// Refused by a condition, or failed otherwise.
    Refused(CommitError),
}

/// `pause` less up to a half, at random, so that writers that collided do
/// not collide again.
fn jittered(pause: Duration) -> Duration {
    let nanos = Timestamp::now().subsec_nanosecond().unsigned_abs() as u64;
    pause - pause.mul_f64((nanos % 500) as f64 / 1000.0)
}

#[derive(Clone)]
pub struct DynamoStore {
    client: aws_sdk_dynamodb::Client,
    table: Arc<str>,
    usage: Arc<Usage>,
    /// How long an idempotency key is kept; `None`: for ever.
    idempotency_ttl: Option<Duration>,
}

/// What a write in a change set stands for, to name the conflict when its
/// condition fails.
#[derive(Debug, Clone)]
enum Role {
    Order,
    Stock(Sku),
    Idempotency,
    Invoice,
    PaymentEvent,
    PaymentBooked,
    BankTransaction,
    Plain,
}

#[derive(Debug)]
enum Write {
    Put(Item),
    Update { key: Item, expression: String },
}

#[derive(Debug)]
struct Op {
    role: Role,
    write: Write,
    condition: Option<String>,
    names: HashMap<String, String>,
    values: Item,
}

impl Op {
    fn put(role: Role, item: Item, condition: Option<&str>) -> Op {
        Op {
            role,
            write: Write::Put(item),
            condition: condition.map(str::to_string),
            names: HashMap::new(),
            values: HashMap::new(),
        }
    }

    fn update(role: Role, pk: String, expression: &str, condition: &str) -> Op {
        Op {
            role,
            write: Write::Update {
                key: key(pk),
                expression: expression.to_string(),
            },
            condition: Some(condition.to_string()),
            names: HashMap::new(),
            values: HashMap::new(),
        }
    }

    fn value(mut self, name: &str, v: AttributeValue) -> Op {
        self.values.insert(name.to_string(), v);
        self
    }

    fn name(mut self, alias: &str, attribute: &str) -> Op {
        self.names.insert(alias.to_string(), attribute.to_string());
        self
    }

    /// Carries the change set's events in this write.
    fn attach_outbox(&mut self, outbox: String) {
        match &mut self.write {
            Write::Put(item) => {
                item.insert(OUTBOX.into(), s(outbox));
            }
            Write::Update { expression, .. } => {
                expression.push_str(", #outbox = :outbox");
                self.names.insert("#outbox".into(), OUTBOX.into());
                self.values.insert(":outbox".into(), s(outbox));
            }
        }
    }

    fn into_transact(self, table: &str) -> Result<TransactWriteItem, StoreError> {
        let names = (!self.names.is_empty()).then_some(self.names);
        let values = (!self.values.is_empty()).then_some(self.values);
        let item = match self.write {
            Write::Put(item) => TransactWriteItem::builder().put(
                Put::builder()
                    .table_name(table)
                    .set_item(Some(item))
                    .set_condition_expression(self.condition)
                    .set_expression_attribute_names(names)
                    .set_expression_attribute_values(values)
                    .return_values_on_condition_check_failure(OnFailure::AllOld)
                    .build()
                    .map_err(|e| build_err("building a put", e))?,
            ),
            Write::Update { key, expression } => TransactWriteItem::builder().update(
                Update::builder()
                    .table_name(table)
                    .set_key(Some(key))
                    .update_expression(expression)
                    .set_condition_expression(self.condition)
                    .set_expression_attribute_names(names)
                    .set_expression_attribute_values(values)
                    .return_values_on_condition_check_failure(OnFailure::AllOld)
                    .build()
                    .map_err(|e| build_err("building an update", e))?,
            ),
        };
        Ok(item.build())
    }
}

/// The conflict that refused condition(s) stand for, in the order the
/// embedded backend checks them. `failed` pairs each refused write's role
/// with the item as it was (`None`: it did not exist).
fn conflict(failed: Vec<(Role, Option<Item>)>) -> Conflict {
    let mut short = Vec::new();
    let mut unknown = None;
    let mut other = None;
    for (role, old) in failed {
        match role {
            Role::Order => return Conflict::OrderChanged,
            Role::Stock(sku) if old.is_none() => {
                unknown.get_or_insert(sku);
            }
            Role::Stock(sku) => short.push(sku),
            Role::Idempotency => other = other.or(Some(Conflict::IdempotencyKeyTaken)),
            Role::Invoice => other = other.or(Some(Conflict::InvoiceSequenceTaken)),
            Role::PaymentEvent | Role::PaymentBooked => {
                other = other.or(Some(Conflict::DuplicatePaymentEvent))
            }
            Role::BankTransaction => other = other.or(Some(Conflict::BankTransactionTaken)),
            Role::Plain => {}
        }
    }
    if let Some(sku) = unknown {
        return Conflict::UnknownSku(sku);
    }
    if !short.is_empty() {
        short.sort();
        return Conflict::InsufficientStock(short);
    }
    other.unwrap_or(Conflict::OrderChanged)
}

/// Why a single-item write did not happen.
enum Refused {
    /// Its condition failed; the item as it was (`None`: it did not exist).
    Condition(Option<Item>),
    Failed(StoreError),
}

fn put_refused<R>(e: SdkError<PutItemError, R>, what: &str) -> Refused
where
    R: std::fmt::Debug + Send + Sync + 'static,
{
    match e {
        SdkError::ServiceError(s) => match s.into_err() {
            PutItemError::ConditionalCheckFailedException(c) => Refused::Condition(c.item),
            other => Refused::Failed(service_err(what, other)),
        },
        other => Refused::Failed(sdk_err(what, other)),
    }
}

fn update_refused<R>(e: SdkError<UpdateItemError, R>, what: &str) -> Refused
where
    R: std::fmt::Debug + Send + Sync + 'static,
{
    match e {
        SdkError::ServiceError(s) => match s.into_err() {
            UpdateItemError::ConditionalCheckFailedException(c) => Refused::Condition(c.item),
            other => Refused::Failed(service_err(what, other)),
        },
        other => Refused::Failed(sdk_err(what, other)),
    }
}

fn outbox_json(events: &[Envelope]) -> String {
    let bodies: Vec<String> = events.iter().map(Envelope::to_json).collect();
    format!("[{}]", bodies.join(","))
}

fn now_s() -> i64 {
    Timestamp::now().as_second()
}

impl DynamoStore {
    pub fn new(sdk: &Sdk, table: &str, idempotency_ttl: Option<Duration>) -> DynamoStore {
        DynamoStore {
            client: aws_sdk_dynamodb::Client::new(&sdk.config),
            table: table.into(),
            usage: sdk.usage.clone(),
            idempotency_ttl,
        }
    }

    pub fn table(&self) -> &str {
        &self.table
    }

    /// The writes of a change set, each with its condition.
    fn ops(&self, c: &ChangeSet) -> Result<Vec<Op>, StoreError> {
        let mut ops = Vec::new();
        if let Some(w) = &c.order {
            let item = order_item(&w.order)?;
            ops.push(match w.expected_version {
                None => Op::put(Role::Order, item, Some("attribute_not_exists(pk)")),
                Some(v) => Op::put(Role::Order, item, Some("#v = :expected"))
                    .name("#v", "version")
                    .value(":expected", n(v)),
            });
        }
        if let Some(w) = c.order.as_ref().filter(|w| w.expected_version.is_none()) {
            if w.order.pays_by_transfer() {
                ops.push(Op::put(
                    Role::Plain,
                    payment_reference_item(&w.order.id),
                    None,
                ));
            }
        }
        if let Some(w) = &c.bank_transaction {
            let item = bank_transaction_item(&w.transaction)?;
            ops.push(match w.expected {
                None => Op::put(
                    Role::BankTransaction,
                    item,
                    Some("attribute_not_exists(pk)"),
                ),
                Some(status) => Op::put(Role::BankTransaction, item, Some("#st = :st"))
                    .name("#st", "status")
                    .value(":st", s(status.as_str())),
            });
        }
        if let Some(p) = &c.payment_event {
            ops.push(Op::put(
                Role::PaymentEvent,
                payment_item(p)?,
                Some("attribute_not_exists(pk)"),
            ));
        }
        if let Some(w) = &c.invoice {
            ops.push(Op::put(
                Role::Invoice,
                invoice_item(&w.invoice)?,
                Some("attribute_not_exists(pk)"),
            ));
            // The number and the invoice in one transaction: the series
            // item moves from n-1 to n only together with invoice n.
            let series = series_key(&w.series);
            ops.push(if w.sequence == 1 {
                let mut item = key(series);
                item.insert("last".into(), n(1));
                Op::put(Role::Invoice, item, Some("attribute_not_exists(pk)"))
            } else {
                Op::update(Role::Invoice, series, "SET #last = :seq", "#last = :prev")
                    .name("#last", "last")
                    .value(":seq", n(w.sequence))
                    .value(":prev", n(w.sequence - 1))
            });
        }
        for st in &c.stock {
            let moved = st.on_hand - st.reserved;
            ops.push(
                Op::update(
                    Role::Stock(st.sku.clone()),
                    sku_key(&st.sku),
                    "SET on_hand = on_hand + :dh, reserved = reserved + :dr, available = available + :da, updated_at = :now",
                    "attribute_exists(pk) AND on_hand >= :min_h AND reserved >= :min_r AND available >= :min_a",
                )
                .value(":dh", n(st.on_hand))
                .value(":dr", n(st.reserved))
                .value(":da", n(moved))
                .value(":min_h", n(-st.on_hand))
                .value(":min_r", n(-st.reserved))
                .value(":min_a", n(-moved))
                .value(":now", n(Timestamp::now().as_millisecond())),
            );
        }
        if let Some(r) = &c.idempotency {
            // DynamoDB's TTL ignores an expiry far in the future: "for ever".
            let expires = match self.idempotency_ttl {
                Some(ttl) => r
                    .created_at
                    .as_second()
                    .saturating_add(i64::try_from(ttl.as_secs()).unwrap_or(i64::MAX)),
                None => i64::MAX,
            };
            ops.push(
                Op::put(
                    Role::Idempotency,
                    idempotency_item(r, expires),
                    Some("attribute_not_exists(pk) OR #exp < :now"),
                )
                .name("#exp", TTL_ATTRIBUTE)
                .value(":now", n(now_s())),
            );
        }
        if let Some((provider, event_id)) = &c.payment_event_booked {
            ops.push(
                Op::update(
                    Role::PaymentBooked,
                    payment_key(provider, event_id),
                    "SET booked_at = :now",
                    "attribute_exists(pk) AND attribute_not_exists(booked_at)",
                )
                .value(":now", n(Timestamp::now().as_millisecond())),
            );
        }
        if let Some(p) = &c.parcel {
            ops.push(Op::put(Role::Plain, parcel_item(p), None));
        }
        for (i, l) in c.ledger.iter().enumerate() {
            ops.push(Op::put(Role::Plain, ledger_item(l, i), None));
        }
        for (i, m) in c.mismatches.iter().enumerate() {
            ops.push(Op::put(Role::Plain, mismatch_item(m, i)?, None));
        }
        for e in &c.journal {
            // Keyed by the event: written again, it stays the one entry.
            ops.push(Op::put(Role::Plain, journal_item(e)?, None));
        }
        if let Some((intent, order)) = &c.payment_intent {
            ops.push(Op::put(
                Role::Plain,
                payment_intent_item(intent, order),
                None,
            ));
        }
        if !c.events.is_empty() {
            let outbox = outbox_json(&c.events);
            match ops.first_mut() {
                Some(op) => op.attach_outbox(outbox),
                None => {
                    let mut item = key(format!("outbox#{}", c.events[0].id));
                    item.insert(OUTBOX.into(), s(outbox));
                    item.insert(TTL_ATTRIBUTE.into(), n(now_s() + OUTBOX_ITEM_TTL));
                    ops.push(Op::put(Role::Plain, item, None));
                }
            }
        }
        Ok(ops)
    }

    /// One item: a plain conditional write, half the price of a transaction.
    async fn write_one(&self, op: Op) -> Result<(), CommitError> {
        let names = (!op.names.is_empty()).then_some(op.names);
        let values = (!op.values.is_empty()).then_some(op.values);
        let role = op.role;
        let outcome = match op.write {
            Write::Put(item) => self
                .client
                .put_item()
                .table_name(self.table.as_ref())
                .set_item(Some(item))
                .set_condition_expression(op.condition)
                .set_expression_attribute_names(names)
                .set_expression_attribute_values(values)
                .return_values_on_condition_check_failure(OnFailure::AllOld)
                .return_consumed_capacity(ReturnConsumedCapacity::Total)
                .send()
                .await
                .map(|o| self.usage.wrote(o.consumed_capacity()))
                .map_err(|e| put_refused(e, "writing an item")),
            Write::Update { key, expression } => self
                .client
                .update_item()
                .table_name(self.table.as_ref())
                .set_key(Some(key))
                .update_expression(expression)
                .set_condition_expression(op.condition)
                .set_expression_attribute_names(names)
                .set_expression_attribute_values(values)
                .return_values_on_condition_check_failure(OnFailure::AllOld)
                .return_consumed_capacity(ReturnConsumedCapacity::Total)
                .send()
                .await
                .map(|o| self.usage.wrote(o.consumed_capacity()))
                .map_err(|e| update_refused(e, "updating an item")),
        };
        match outcome {
            Ok(()) => Ok(()),
            Err(Refused::Failed(store)) => Err(store.into()),
            Err(Refused::Condition(old)) => Err(conflict(vec![(role, old)]).into()),
        }
    }

    async fn write_all(&self, ops: Vec<Op>) -> Result<(), CommitError> {
        let roles: Vec<Role> = ops.iter().map(|o| o.role.clone()).collect();
        let items = ops
            .into_iter()
            .map(|o| o.into_transact(&self.table))
            .collect::<Result<Vec<_>, _>>()?;
        // Another transaction on one of our items at the same moment
        // (TransactionConflict) is a race, not a failure: the same write is
        // sent again after a short pause, with its conditions checked anew.
        // Failing the message instead would spend one of its deliveries on
        // every busy moment of a hot item (an order shipping parcel after
        // parcel while the first is invoiced).
        let mut pause = TRANSACTION_RETRY_PAUSE;
        for attempt in 1.. {
            match self.transact(items.clone(), &roles).await {
                Err(Transact::Busy(reason)) if attempt < TRANSACTION_ATTEMPTS => {
                    tracing::debug!(%reason, attempt, "transaction cancelled by a concurrent one; sending it again");
                    tokio::time::sleep(jittered(pause)).await;
                    pause *= 2;
                }
                Err(Transact::Busy(reason)) => {
                    return Err(
                        StoreError::unavailable(format!("transaction cancelled: {reason}")).into(),
                    )
                }
                Err(Transact::Refused(e)) => return Err(e),
                Ok(()) => return Ok(()),
            }
        }
        unreachable!("the loop returns")
    }

    /// Sends one transaction.
    async fn transact(
        &self,
        items: Vec<TransactWriteItem>,
        roles: &[Role],
    ) -> Result<(), Transact> {
        // The token makes an SDK retry of a transaction that did succeed
        // answer "succeeded" instead of failing its own conditions.
        let token = ulid::Ulid::new().to_string();
        let sent = self
            .client
            .transact_write_items()
            .set_transact_items(Some(items))
            .client_request_token(token)
            .return_consumed_capacity(ReturnConsumedCapacity::Total)
            .send()
            .await;
        match sent {
            Ok(o) => {
                for c in o.consumed_capacity() {
                    self.usage.wrote(Some(c));
                }
                Ok(())
            }
            Err(SdkError::ServiceError(s)) if s.err().is_transaction_canceled_exception() => {
                let reasons = match s.into_err() {
                    aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError::TransactionCanceledException(c) => c.cancellation_reasons.unwrap_or_default(),
                    _ => Vec::new(),
                };
                let mut failed = Vec::new();
                let mut busy = None;
                for (reason, role) in reasons.into_iter().zip(roles.iter().cloned()) {
                    match reason.code.as_deref() {
                        Some("ConditionalCheckFailed") => failed.push((role, reason.item)),
                        Some("None") | None => {}
                        // TransactionConflict, throttling: someone else was writing.
                        Some(code) => {
                            busy.get_or_insert(format!(
                                "{code} {}",
                                reason.message.unwrap_or_default()
                            ));
                        }
                    }
                }
                // A condition that failed decides: the caller reads again.
                if !failed.is_empty() {
                    return Err(Transact::Refused(conflict(failed).into()));
                }
                Err(Transact::Busy(
                    busy.unwrap_or_else(|| "no reason given".into()),
                ))
            }
            Err(e) => Err(Transact::Refused(
                sdk_err("writing a transaction", e).into(),
            )),
        }
    }

    async fn get(&self, pk: String) -> Result<Option<Item>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(self.table.as_ref())
            .set_key(Some(key(pk)))
            .consistent_read(true)
            .return_consumed_capacity(ReturnConsumedCapacity::Total)
            .send()
            .await
            .map_err(|e| sdk_err("reading an item", e))?;
        self.usage.read(out.consumed_capacity());
        Ok(out.item)
    }

    /// Every item of `index` in partition `value` (sort key within `range`).
    async fn query(
        &self,
        index: &str,
        partition: &str,
        value: &str,
        range: Option<(&str, i64, i64)>,
        count_only: bool,
    ) -> Result<(u64, Vec<Item>), StoreError> {
        let mut condition = "#p = :p".to_string();
        let mut names = HashMap::from([("#p".to_string(), partition.to_string())]);
        let mut values = HashMap::from([(":p".to_string(), s(value))]);
        if let Some((sort, from, to)) = range {
            condition.push_str(" AND #s BETWEEN :from AND :to");
            names.insert("#s".into(), sort.into());
            values.insert(":from".into(), n(from));
            values.insert(":to".into(), n(to));
        }
        let (mut count, mut items, mut start) = (0u64, Vec::new(), None);
        loop {
            let mut q = self
                .client
                .query()
                .table_name(self.table.as_ref())
                .index_name(index)
                .key_condition_expression(&condition)
                .set_expression_attribute_names(Some(names.clone()))
                .set_expression_attribute_values(Some(values.clone()))
                .set_exclusive_start_key(start)
                .return_consumed_capacity(ReturnConsumedCapacity::Total);
            if count_only {
                q = q.select(Select::Count);
            }
            let out = q
                .send()
                .await
                .map_err(|e| sdk_err("querying an index", e))?;
            self.usage.read(out.consumed_capacity());
            count += out.count.max(0) as u64;
            items.extend(out.items.unwrap_or_default());
            match out.last_evaluated_key {
                Some(k) if !k.is_empty() => start = Some(k),
                _ => return Ok((count, items)),
            }
        }
    }

    /// Orders waiting for stock, oldest first, with their units per SKU.
    async fn backlog(&self) -> Result<Vec<(OrderId, BTreeMap<Sku, i64>)>, StoreError> {
        let (_, items) = self
            .query("backlog", "backlog", "backordered", None, false)
            .await?;
        items
            .iter()
            .map(|item| {
                let id = OrderId(get_s(item, KEY)?.trim_start_matches("order#").to_string());
                let units: BTreeMap<String, i64> =
                    serde_json::from_str(get_s(item, "units")?).map_err(corrupt)?;
                Ok((id, units.into_iter().map(|(k, v)| (Sku(k), v)).collect()))
            })
            .collect()
    }
}

/// The UTC days that `[from, to)` touches.
fn days(from: Timestamp, to: Timestamp) -> Vec<String> {
    let utc = jiff::tz::TimeZone::UTC;
    let (mut d, last) = (
        from.to_zoned(utc.clone()).date(),
        (to - jiff::SignedDuration::from_millis(1))
            .to_zoned(utc)
            .date(),
    );
    let mut out = Vec::new();
    while d <= last && out.len() < 366 {
        out.push(d.to_string());
        match d.tomorrow() {
            Ok(next) => d = next,
            Err(_) => break,
        }
    }
    out
}

#[async_trait]
impl Store for DynamoStore {
    async fn put_sku(
        &self,
        u: SkuUpdate,
        events: Vec<Envelope>,
    ) -> Result<(SkuItem, bool), CommitError> {
        let mut expression = "SET #name = :name, tax_bp = :tax, on_hand = :h, reserved = if_not_exists(reserved, :zero), available = :h - if_not_exists(reserved, :zero), updated_at = :now".to_string();
        let mut values = HashMap::from([
            (":name".to_string(), s(&u.name)),
            (":tax".into(), n(u.tax_rate.basis_points())),
            (":h".into(), n(u.on_hand)),
            (":zero".into(), n(0)),
            (":now".into(), n(Timestamp::now().as_millisecond())),
        ]);
        if !events.is_empty() {
            expression.push_str(", #outbox = :outbox");
            values.insert(":outbox".into(), s(outbox_json(&events)));
        }
        let mut names = HashMap::from([("#name".to_string(), "name".to_string())]);
        if !events.is_empty() {
            names.insert("#outbox".into(), OUTBOX.into());
        }
        let out = self
            .client
            .update_item()
            .table_name(self.table.as_ref())
            .set_key(Some(key(sku_key(&u.sku))))
            .update_expression(expression)
            // Never below what orders hold: that stock is promised.
            .condition_expression("attribute_not_exists(pk) OR reserved <= :h")
            .set_expression_attribute_names(Some(names))
            .set_expression_attribute_values(Some(values))
            .return_values(ReturnValue::AllOld)
            .return_values_on_condition_check_failure(OnFailure::AllOld)
            .return_consumed_capacity(ReturnConsumedCapacity::Total)
            .send()
            .await;
        match out {
            Ok(o) => {
                self.usage.wrote(o.consumed_capacity());
                let old = o.attributes.filter(|a| !a.is_empty());
                let reserved = old.as_ref().and_then(|a| opt_n(a, "reserved")).unwrap_or(0);
                let item = SkuItem::new(u.sku, u.name, u.tax_rate, u.on_hand, reserved);
                Ok((item, old.is_none()))
            }
            Err(e) => match update_refused(e, "writing an item") {
                Refused::Condition(old) => {
                    let reserved = old.as_ref().and_then(|i| opt_n(i, "reserved")).unwrap_or(0);
                    Err(Conflict::BelowReserved(reserved).into())
                }
                Refused::Failed(e) => Err(e.into()),
            },
        }
    }

    async fn skus(&self, skus: &[Sku]) -> Result<HashMap<Sku, SkuItem>, StoreError> {
        let mut found = HashMap::new();
        for sku in skus {
            if let Some(item) = self.get(sku_key(sku)).await? {
                found.insert(sku.clone(), parse_sku(&item)?);
            }
        }
        Ok(found)
    }

    async fn order(&self, id: &OrderId) -> Result<Option<Order>, StoreError> {
        self.get(order_key(id))
            .await?
            .map(|i| parse_order(&i))
            .transpose()
    }

    async fn order_by_fulfillment(&self, id: &FulfillmentId) -> Result<Option<Order>, StoreError> {
        let order = self.order(&order_of_fulfillment(id)).await?;
        Ok(order.filter(|o| o.fulfillment.as_ref().is_some_and(|f| &f.id == id)))
    }

    async fn backordered_demand(&self) -> Result<BTreeMap<Sku, i64>, StoreError> {
        let mut demand = BTreeMap::new();
        for (_, units) in self.backlog().await? {
            for (sku, n) in units {
                *demand.entry(sku).or_insert(0) += n;
            }
        }
        Ok(demand)
    }

    async fn backordered_with(&self, sku: &Sku) -> Result<Vec<OrderId>, StoreError> {
        Ok(self
            .backlog()
            .await?
            .into_iter()
            .filter(|(_, units)| units.contains_key(sku))
            .map(|(id, _)| id)
            .collect())
    }

    async fn idempotency(&self, key: &str) -> Result<Option<IdempotencyRecord>, StoreError> {
        let Some(item) = self.get(idempotency_key(key)).await? else {
            return Ok(None);
        };
        // TTL deletes lazily (within days); an expired record is forgotten now.
        if opt_n(&item, TTL_ATTRIBUTE).is_some_and(|e| e < now_s()) {
            return Ok(None);
        }
        parse_idempotency(&item).map(Some)
    }

    async fn invoice(&self, number: &InvoiceNumber) -> Result<Option<Invoice>, StoreError> {
        self.get(invoice_key(number))
            .await?
            .map(|i| parse_invoice(&i))
            .transpose()
    }

    async fn last_invoice_sequence(&self, series: &str) -> Result<u64, StoreError> {
        Ok(self
            .get(series_key(series))
            .await?
            .and_then(|i| opt_n(&i, "last"))
            .unwrap_or(0) as u64)
    }

    async fn invoice_emailed(&self, number: &InvoiceNumber) -> Result<bool, StoreError> {
        Ok(self
            .get(invoice_key(number))
            .await?
            .is_some_and(|i| i.contains_key("emailed_at")))
    }

    async fn mark_invoice_emailed(
        &self,
        number: &InvoiceNumber,
        at: Timestamp,
    ) -> Result<(), StoreError> {
        let op = Op::update(
            Role::Plain,
            invoice_key(number),
            "SET emailed_at = :at",
            "attribute_exists(pk) AND attribute_not_exists(emailed_at)",
        )
        .value(":at", n(at.as_millisecond()));
        match self.write_one(op).await {
            Ok(()) | Err(CommitError::Conflict(_)) => Ok(()),
            Err(CommitError::Store(e)) => Err(e),
        }
    }

    async fn payment_event(
        &self,
        provider: &str,
        event_id: &str,
    ) -> Result<Option<StoredPaymentEvent>, StoreError> {
        self.get(payment_key(provider, event_id))
            .await?
            .map(|i| parse_payment(&i))
            .transpose()
    }

    async fn orders_awaiting_payment(&self) -> Result<Vec<OrderId>, StoreError> {
        let (_, items) = self
            .query("backlog", "backlog", "awaiting_payment", None, false)
            .await?;
        items
            .iter()
            .map(|i| {
                Ok(OrderId(
                    get_s(i, KEY)?.trim_start_matches("order#").to_string(),
                ))
            })
            .collect()
    }

    async fn receivables(&self) -> Result<Vec<Receivable>, StoreError> {
        let (_, items) = self
            .query("receivable", "receivable", "open", None, false)
            .await?;
        let mut out: Vec<Receivable> = items
            .iter()
            .map(|i| serde_json::from_str(get_s(i, "summary")?).map_err(corrupt))
            .collect::<Result<_, _>>()?;
        out.sort_by(|a, b| a.order_id.as_str().cmp(b.order_id.as_str()));
        Ok(out)
    }

    async fn order_of_payment_reference(
        &self,
        reference: &str,
    ) -> Result<Option<OrderId>, StoreError> {
        self.get(payment_reference_key(reference))
            .await?
            .map(|i| get_s(&i, "order_id").map(|o| OrderId(o.to_string())))
            .transpose()
    }

    async fn bank_transaction(&self, id: &str) -> Result<Option<BankTransaction>, StoreError> {
        self.get(bank_transaction_key(id))
            .await?
            .map(|i| parse_bank_transaction(&i))
            .transpose()
    }

    async fn journal(&self, from: Date, to: Date) -> Result<Vec<JournalEntry>, StoreError> {
        let mut out = Vec::new();
        let mut day = from;
        while day <= to {
            let (_, facts) = self
                .query("facts", "fact_day", &day.to_string(), None, false)
                .await?;
            for f in facts {
                if f.get("fact")
                    .and_then(|v| v.as_s().ok())
                    .map(String::as_str)
                    != Some("journal")
                {
                    continue;
                }
                if let Some(item) = self.get(get_s(&f, KEY)?.to_string()).await? {
                    out.push(parse_journal(&item)?);
                }
            }
            day = match day.tomorrow() {
                Ok(next) => next,
                Err(_) => break,
            };
        }
        out.sort_by(|a, b| (a.date, &a.id).cmp(&(b.date, &b.id)));
        Ok(out)
    }

    async fn unmatched_bank_transactions(&self) -> Result<Vec<BankTransaction>, StoreError> {
        let (_, keys) = self
            .query("backlog", "backlog", "bank_unmatched", None, false)
            .await?;
        let mut out = Vec::with_capacity(keys.len());
        for k in keys {
            // The index may lag the table: read each item and keep it only
            // while it is still unmatched.
            if let Some(item) = self.get(get_s(&k, KEY)?.to_string()).await? {
                let t = parse_bank_transaction(&item)?;
                if t.status == BankTxStatus::Unmatched {
                    out.push(t);
                }
            }
        }
        Ok(out)
    }

    async fn order_of_payment_intent(&self, id: &str) -> Result<Option<OrderId>, StoreError> {
        self.get(payment_intent_key(id))
            .await?
            .map(|i| get_s(&i, "order_id").map(|o| OrderId(o.to_string())))
            .transpose()
    }

    async fn daily_facts(&self, from: Timestamp, to: Timestamp) -> Result<DailyFacts, StoreError> {
        let mut facts = DailyFacts::default();
        if from >= to {
            return Ok(facts);
        }
        let range = (from.as_millisecond(), to.as_millisecond() - 1);
        for day in days(from, to) {
            let count = |index: &'static str| {
                let day = day.clone();
                async move {
                    let (p, s) = (format!("{index}_day"), format!("{index}_at"));
                    self.query(index, &p, &day, Some((&s, range.0, range.1)), true)
                        .await
                        .map(|(n, _)| n)
                }
            };
            facts.orders_captured += count("captured").await?;
            facts.orders_backordered += count("backordered").await?;
            facts.orders_cancelled += count("cancelled").await?;
            let (_, shipped) = self
                .query(
                    "shipped",
                    "shipped_day",
                    &day,
                    Some(("shipped_at", range.0, range.1)),
                    false,
                )
                .await?;
            for item in &shipped {
                let optional =
                    |name: &str| item.get(name).and_then(|v| v.as_n().ok()?.parse().ok());
                facts.lead_times.push(StepTimes {
                    captured: get_n(item, "captured_at")?,
                    reserved: optional("reserved_at"),
                    handed_off: optional("handed_off_at"),
                    shipped: get_n(item, "shipped_at")?,
                });
            }
            facts.orders_shipped += shipped.len() as u64;
            let (_, items) = self
                .query(
                    "facts",
                    "fact_day",
                    &day,
                    Some(("fact_at", range.0, range.1)),
                    false,
                )
                .await?;
            for item in &items {
                let fact = get_s(item, "fact")?;
                // Journal entries share the index; they are not daily facts.
                if fact == "parcel" {
                    facts.partial_parcels.push(get_n(item, "amount")?);
                    continue;
                }
                if !matches!(fact, "invoice" | "credit_note" | "ledger" | "mismatch") {
                    continue;
                }
                let currency = get_s(item, "currency")?.to_string();
                let amount = get_n(item, "amount")?;
                match fact {
                    "invoice" => {
                        facts.invoices_issued += 1;
                        *facts.revenue.entry(currency).or_insert(0) += amount;
                    }
                    "credit_note" => *facts.revenue.entry(currency).or_insert(0) -= amount,
                    "ledger" => *facts.payments_received.entry(currency).or_insert(0) += amount,
                    "mismatch" => facts.payment_mismatches += 1,
                    _ => {}
                }
            }
        }
        // What is open now (the index holds current balances, not history).
        let (_, open) = self
            .query("receivable", "receivable", "open", None, false)
            .await?;
        for item in &open {
            let currency = get_s(item, "currency")?.to_string();
            *facts.open_receivables.entry(currency).or_insert(0) += get_n(item, "due")?;
        }
        Ok(facts)
    }

    async fn commit(&self, changes: ChangeSet) -> Result<(), CommitError> {
        let mut ops = self.ops(&changes)?;
        match ops.len() {
            0 => Ok(()),
            1 => self.write_one(ops.pop().expect("one op")).await,
            _ => self.write_all(ops).await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_sku_wins_over_short_ones_and_an_order_race_over_both() {
        let sku = |s: &str| Sku(s.to_string());
        let old = Some(Item::new());
        assert_eq!(
            conflict(vec![
                (Role::Stock(sku("B")), old.clone()),
                (Role::Stock(sku("A")), old.clone())
            ]),
            Conflict::InsufficientStock(vec![sku("A"), sku("B")])
        );
        assert_eq!(
            conflict(vec![
                (Role::Stock(sku("B")), old.clone()),
                (Role::Stock(sku("C")), None)
            ]),
            Conflict::UnknownSku(sku("C"))
        );
        assert_eq!(
            conflict(vec![(Role::Stock(sku("B")), old), (Role::Order, None)]),
            Conflict::OrderChanged
        );
        assert_eq!(
            conflict(vec![(Role::Invoice, None)]),
            Conflict::InvoiceSequenceTaken
        );
    }

    #[test]
    fn a_report_range_covers_each_utc_day_it_touches() {
        let t = |s: &str| s.parse::<Timestamp>().unwrap();
        assert_eq!(
            days(t("2026-11-26T00:00:00Z"), t("2026-11-27T00:00:00Z")),
            ["2026-11-26"]
        );
        assert_eq!(
            days(t("2026-11-26T23:00:00Z"), t("2026-11-27T00:00:01Z")),
            ["2026-11-26", "2026-11-27"]
        );
    }
}
