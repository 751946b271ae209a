//! `Store` on SQLite: every change set is one savepoint, all or nothing, inside the database thread's group commit.

use async_trait::async_trait;
use jiff::civil::Date;
use jiff::Timestamp;
use oms_domain::bank::{BankTransaction, BankTxStatus};
use oms_domain::catalog::{SkuItem, SkuUpdate};
use oms_domain::collection::Receivable;
use oms_domain::event::{Envelope, QueueName};
use oms_domain::invoice::{DocumentKind, Invoice};
use oms_domain::journal::JournalEntry;
use oms_domain::order::Order;
use oms_domain::payment::PaymentEvent;
use oms_domain::ports::{
    ChangeSet, CommitError, Conflict, IdempotencyRecord, Store, StoredPaymentEvent,
};
use oms_domain::report::{DailyFacts, StepTimes};
use oms_domain::{FulfillmentId, InvoiceNumber, OrderId, Sku, StoreError, TaxRate};
use rusqlite::{params, Connection, OptionalExtension};
use std::collections::{BTreeMap, HashMap};

use crate::{json_err, now_ms, sql_err, Embedded};

fn read_sku(row: &rusqlite::Row) -> rusqlite::Result<SkuItem> {
    Ok(SkuItem::new(
        Sku(row.get(0)?),
        row.get(1)?,
        TaxRate::from_basis_points(row.get(2)?),
        row.get(3)?,
        row.get(4)?,
    ))
}

/// Every row of a one-column query of JSON documents, parsed.
fn json_rows<T: serde::de::DeserializeOwned>(
    conn: &Connection,
    sql: &str,
    params: impl rusqlite::Params,
) -> Result<Vec<T>, StoreError> {
    let mut stmt = conn.prepare_cached(sql).map_err(sql_err)?;
    let rows = stmt
        .query_map(params, |r| r.get::<_, String>(0))
        .map_err(sql_err)?;
    let mut out = Vec::new();
    for row in rows {
        out.push(serde_json::from_str(&row.map_err(sql_err)?).map_err(json_err)?);
    }
    Ok(out)
}

/// The order id in one column of one row, if there is such a row.
fn order_id_where(conn: &Connection, sql: &str, key: &str) -> Result<Option<OrderId>, StoreError> {
    conn.query_row(sql, [key], |r| r.get::<_, String>(0))
        .optional()
        .map(|o| o.map(OrderId))
        .map_err(sql_err)
}

fn parse_order(doc: String) -> Result<Order, StoreError> {
    serde_json::from_str(&doc).map_err(json_err)
}

/// Inserts events into their queues inside the caller's transaction.
pub(crate) fn enqueue(
    tx: &Connection,
    events: &[Envelope],
    delay_ms: i64,
) -> Result<(), StoreError> {
    let now = now_ms();
    let mut stmt = tx
        .prepare_cached(
            "INSERT INTO queue (queue, body, visible_ms, enqueued_ms) VALUES (?1, ?2, ?3, ?4)",
        )
        .map_err(sql_err)?;
    for e in events {
        stmt.execute(params![
            e.event_type.queue().as_str(),
            e.to_json(),
            now + delay_ms,
            now
        ])
        .map_err(sql_err)?;
    }
    Ok(())
}

fn write_order(tx: &Connection, order: &Order, expected: Option<u64>) -> Result<(), CommitError> {
    let doc = serde_json::to_string(order).map_err(json_err)?;
    let ms = |e: &str| order.first(e).map(|t| t.as_millisecond());
    let fulfillment = order.fulfillment.as_ref().map(|f| f.id.to_string());
    let receivable = Receivable::of(order)
        .map(|r| serde_json::to_string(&r))
        .transpose()
        .map_err(json_err)?;
    let changed = match expected {
        None => {
            let n = tx
                .prepare_cached(
                    "INSERT INTO orders (id, version, status, fulfillment_id, captured_ms, shipped_ms, backordered_ms, cancelled_ms, doc, receivable,
                                         reserved_ms, handed_off_ms)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12) ON CONFLICT (id) DO NOTHING",
                )
                .and_then(|mut s| {
                    s.execute(params![
                        order.id.as_str(),
                        order.version,
                        order.status.as_str(),
                        fulfillment,
                        order.captured_at.as_millisecond(),
                        ms("shipped"),
                        ms("backordered"),
                        ms("cancelled"),
                        doc,
                        receivable,
                        ms("reserved"),
                        ms("handed_off")
                    ])
                })
                .map_err(sql_err)?;
            let mut link = tx
                .prepare_cached("INSERT OR IGNORE INTO order_skus (order_id, sku) VALUES (?1, ?2)")
                .map_err(sql_err)?;
            for sku in order.units_per_sku().keys() {
                link.execute(params![order.id.as_str(), sku.as_str()]).map_err(sql_err)?;
            }
            n
        }
        Some(v) => tx
            .prepare_cached(
                "UPDATE orders SET version = ?2, status = ?3, fulfillment_id = ?4, shipped_ms = ?5, backordered_ms = ?6,
                 cancelled_ms = ?7, doc = ?8, receivable = ?10, reserved_ms = ?11, handed_off_ms = ?12
                 WHERE id = ?1 AND version = ?9",
            )
            .and_then(|mut s| {
                s.execute(params![
                    order.id.as_str(),
                    order.version,
                    order.status.as_str(),
                    fulfillment,
                    ms("shipped"),
                    ms("backordered"),
                    ms("cancelled"),
                    doc,
                    v,
                    receivable,
                    ms("reserved"),
                    ms("handed_off")
                ])
            })
            .map_err(sql_err)?,
    };
    if changed == 0 {
        return Err(Conflict::OrderChanged.into());
    }
    if expected.is_none() && order.pays_by_transfer() {
        tx.prepare_cached(
            "INSERT OR REPLACE INTO payment_references (reference, order_id) VALUES (?1, ?2)",
        )
        .and_then(|mut s| {
            s.execute(params![
                oms_domain::payment_reference::for_order(&order.id),
                order.id.as_str()
            ])
        })
        .map_err(sql_err)?;
    }
    Ok(())
}

fn apply(tx: &Connection, c: &ChangeSet) -> Result<(), CommitError> {
    if let Some(w) = &c.order {
        write_order(tx, &w.order, w.expected_version)?;
    }
    let mut short = Vec::new();
    for s in &c.stock {
        let n = tx
            .prepare_cached(
                "UPDATE skus SET on_hand = on_hand + ?2, reserved = reserved + ?3, updated_ms = ?4
                 WHERE sku = ?1 AND on_hand + ?2 >= 0 AND reserved + ?3 >= 0 AND (on_hand + ?2) - (reserved + ?3) >= 0",
            )
            .and_then(|mut st| st.execute(params![s.sku.as_str(), s.on_hand, s.reserved, now_ms()]))
            .map_err(sql_err)?;
        if n == 0 {
            let exists: Option<i64> = tx
                .query_row("SELECT 1 FROM skus WHERE sku = ?1", [s.sku.as_str()], |r| {
                    r.get(0)
                })
                .optional()
                .map_err(sql_err)?;
            if exists.is_none() {
                return Err(Conflict::UnknownSku(s.sku.clone()).into());
            }
            short.push(s.sku.clone());
        }
    }
    if !short.is_empty() {
        return Err(Conflict::InsufficientStock(short).into());
    }
    if let Some(r) = &c.idempotency {
        let n = tx
            .prepare_cached(
                "INSERT INTO idempotency (key, body_hash, status, response, order_id, created_ms)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (key) DO NOTHING",
            )
            .and_then(|mut s| {
                s.execute(params![
                    r.key,
                    r.body_hash,
                    r.status,
                    r.response,
                    r.order_id.as_str(),
                    r.created_at.as_millisecond()
                ])
            })
            .map_err(sql_err)?;
        if n == 0 {
            return Err(Conflict::IdempotencyKeyTaken.into());
        }
    }
    if let Some(w) = &c.invoice {
        let advanced = tx
            .execute(
                "UPDATE invoice_series SET last = ?2 WHERE series = ?1 AND last = ?2 - 1",
                params![w.series, w.sequence as i64],
            )
            .map_err(sql_err)?;
        let started = advanced == 0
            && w.sequence == 1
            && tx
                .execute("INSERT INTO invoice_series (series, last) VALUES (?1, 1) ON CONFLICT DO NOTHING", [&w.series])
                .map_err(sql_err)?
                == 1;
        if advanced == 0 && !started {
            return Err(Conflict::InvoiceSequenceTaken.into());
        }
        let inv = &w.invoice;
        let n = tx
            .execute(
                "INSERT INTO invoices (number, kind, order_id, currency, total, issued_ms, doc) VALUES (?1, ?7, ?2, ?3, ?4, ?5, ?6)
                 ON CONFLICT DO NOTHING",
                params![
                    inv.number.as_str(),
                    inv.order_id.as_str(),
                    inv.currency.as_str(),
                    inv.total,
                    inv.issued_at.as_millisecond(),
                    serde_json::to_string(inv).map_err(json_err)?,
                    match inv.kind {
                        DocumentKind::Invoice => "invoice",
                        DocumentKind::CreditNote { .. } => "credit_note",
                    }
                ],
            )
            .map_err(sql_err)?;
        if n == 0 {
            return Err(Conflict::InvoiceSequenceTaken.into());
        }
    }
    if let Some(p) = &c.payment_event {
        let n = tx
            .execute(
                "INSERT INTO payment_events (provider, event_id, received_ms, parsed, raw) VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT DO NOTHING",
                params![
                    p.event.provider,
                    p.event.event_id,
                    p.received_at.as_millisecond(),
                    serde_json::to_string(&p.event).map_err(json_err)?,
                    p.raw
                ],
            )
            .map_err(sql_err)?;
        if n == 0 {
            return Err(Conflict::DuplicatePaymentEvent.into());
        }
    }
    if let Some((provider, event_id)) = &c.payment_event_booked {
        let n = tx
            .execute(
                "UPDATE payment_events SET booked_ms = ?3 WHERE provider = ?1 AND event_id = ?2 AND booked_ms IS NULL",
                params![provider, event_id, now_ms()],
            )
            .map_err(sql_err)?;
        if n == 0 {
            return Err(Conflict::DuplicatePaymentEvent.into());
        }
    }
    if let Some(p) = &c.parcel {
        tx.execute(
            "INSERT OR IGNORE INTO parcels (id, shipped_ms, lead_ms) VALUES (?1, ?2, ?3)",
            params![p.shipment_id, p.shipped_at.as_millisecond(), p.lead_ms],
        )
        .map_err(sql_err)?;
    }
    for l in &c.ledger {
        tx.execute(
            "INSERT INTO ledger (order_id, event_id, amount, currency, at_ms) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![l.order_id.as_str(), l.event_id, l.amount, l.currency.to_uppercase(), l.at.as_millisecond()],
        )
        .map_err(sql_err)?;
    }
    if let Some((intent, order)) = &c.payment_intent {
        tx.execute(
            "INSERT OR REPLACE INTO payment_intents (payment_intent, order_id) VALUES (?1, ?2)",
            params![intent, order.as_str()],
        )
        .map_err(sql_err)?;
    }
    for m in &c.mismatches {
        let kind = serde_json::to_value(m.kind).map_err(json_err)?;
        tx.execute(
            "INSERT INTO mismatches (order_id, event_id, kind, detail, at_ms) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![m.order_id.as_ref().map(|o| o.to_string()), m.event_id, kind.as_str(), m.detail, m.at.as_millisecond()],
        )
        .map_err(sql_err)?;
    }
    for e in &c.journal {
        tx.prepare_cached(
            "INSERT INTO journal (id, day, doc) VALUES (?1, ?2, ?3) ON CONFLICT DO NOTHING",
        )
        .and_then(|mut st| {
            st.execute(params![
                e.id,
                e.date.to_string(),
                serde_json::to_string(e)
                    .map_err(|e| rusqlite::Error::ToSqlConversionFailure(e.into()))?
            ])
        })
        .map_err(sql_err)?;
    }
    if let Some(w) = &c.bank_transaction {
        let t = &w.transaction;
        let doc = serde_json::to_string(t).map_err(json_err)?;
        let n = match w.expected {
            None => tx.execute(
                "INSERT INTO bank_transactions (id, status, recorded_ms, doc) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT DO NOTHING",
                params![t.id, t.status.as_str(), now_ms(), doc],
            ),
            Some(expected) => tx.execute(
                "UPDATE bank_transactions SET status = ?2, doc = ?3 WHERE id = ?1 AND status = ?4",
                params![t.id, t.status.as_str(), doc, expected.as_str()],
            ),
        }
        .map_err(sql_err)?;
        if n == 0 {
            return Err(Conflict::BankTransactionTaken.into());
        }
    }
    enqueue(tx, &c.events, 0)?;
    Ok(())
}

fn sums(
    conn: &Connection,
    sql: &str,
    from: i64,
    to: i64,
) -> Result<BTreeMap<String, i64>, StoreError> {
    let mut stmt = conn.prepare_cached(sql).map_err(sql_err)?;
    let rows = stmt
        .query_map(params![from, to], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?))
        })
        .map_err(sql_err)?;
    rows.collect::<Result<_, _>>().map_err(sql_err)
}

fn count(conn: &Connection, sql: &str, from: i64, to: i64) -> Result<u64, StoreError> {
    conn.query_row(sql, params![from, to], |r| r.get::<_, i64>(0))
        .map(|n| n as u64)
        .map_err(sql_err)
}

impl Embedded {
    /// The order whose `column` (a unique column) equals `value`.
    async fn order_where(
        &self,
        column: &'static str,
        value: String,
    ) -> Result<Option<Order>, StoreError> {
        self.call(move |conn| {
            let doc: Option<String> = conn
                .prepare_cached(&format!("SELECT doc FROM orders WHERE {column} = ?1"))
                .and_then(|mut s| s.query_row([value], |r| r.get(0)).optional())
                .map_err(sql_err)?;
            doc.map(parse_order).transpose()
        })
        .await
    }
}

#[async_trait]
impl Store for Embedded {
    async fn put_sku(
        &self,
        u: SkuUpdate,
        events: Vec<Envelope>,
    ) -> Result<(SkuItem, bool), CommitError> {
        let result = self
            .call(move |conn| {
                let tx = conn.savepoint().map_err(sql_err)?;
                let reserved: Option<i64> = tx
                    .query_row("SELECT reserved FROM skus WHERE sku = ?1", [u.sku.as_str()], |r| r.get(0))
                    .optional()
                    .map_err(sql_err)?;
                if let Some(reserved) = reserved {
                    if u.on_hand < reserved {
                        return Ok(Err(Conflict::BelowReserved(reserved)));
                    }
                }
                tx.execute(
                    "INSERT INTO skus (sku, name, tax_rate_bp, on_hand, reserved, updated_ms) VALUES (?1, ?2, ?3, ?4, 0, ?5)
                     ON CONFLICT (sku) DO UPDATE SET name = ?2, tax_rate_bp = ?3, on_hand = ?4, updated_ms = ?5",
                    params![u.sku.as_str(), u.name, u.tax_rate.basis_points(), u.on_hand, now_ms()],
                )
                .map_err(sql_err)?;
                enqueue(&tx, &events, 0)?;
                let item = tx
                    .query_row(
                        "SELECT sku, name, tax_rate_bp, on_hand, reserved FROM skus WHERE sku = ?1",
                        [u.sku.as_str()],
                        read_sku,
                    )
                    .map_err(sql_err)?;
                tx.commit().map_err(sql_err)?;
                Ok(Ok((item, reserved.is_none(), !events.is_empty())))
            })
            .await??;
        if result.2 {
            self.notify([QueueName::Reserve]);
        }
        Ok((result.0, result.1))
    }

    async fn skus(&self, skus: &[Sku]) -> Result<HashMap<Sku, SkuItem>, StoreError> {
        let skus = skus.to_vec();
        self.call(move |conn| {
            let mut stmt = conn
                .prepare_cached(
                    "SELECT sku, name, tax_rate_bp, on_hand, reserved FROM skus WHERE sku = ?1",
                )
                .map_err(sql_err)?;
            let mut found = HashMap::new();
            for sku in skus {
                if let Some(item) = stmt
                    .query_row([sku.as_str()], read_sku)
                    .optional()
                    .map_err(sql_err)?
                {
                    found.insert(sku, item);
                }
            }
            Ok(found)
        })
        .await
    }

    async fn order(&self, id: &OrderId) -> Result<Option<Order>, StoreError> {
        self.order_where("id", id.to_string()).await
    }

    async fn order_by_fulfillment(&self, id: &FulfillmentId) -> Result<Option<Order>, StoreError> {
        self.order_where("fulfillment_id", id.to_string()).await
    }

    async fn backordered_demand(&self) -> Result<BTreeMap<Sku, i64>, StoreError> {
        self.call(|conn| {
            let mut stmt = conn
                .prepare_cached("SELECT doc FROM orders WHERE status = 'backordered'")
                .map_err(sql_err)?;
            let docs = stmt
                .query_map([], |r| r.get::<_, String>(0))
                .map_err(sql_err)?;
            let mut demand = BTreeMap::new();
            for doc in docs {
                for (sku, units) in parse_order(doc.map_err(sql_err)?)?.units_per_sku() {
                    *demand.entry(sku).or_insert(0) += units;
                }
            }
            Ok(demand)
        })
        .await
    }

    async fn backordered_with(&self, sku: &Sku) -> Result<Vec<OrderId>, StoreError> {
        let sku = sku.clone();
        self.call(move |conn| {
            let mut stmt = conn
                .prepare_cached(
                    "SELECT o.id FROM order_skus s JOIN orders o ON o.id = s.order_id
                     WHERE s.sku = ?1 AND o.status = 'backordered' ORDER BY o.captured_ms, o.id",
                )
                .map_err(sql_err)?;
            let ids = stmt
                .query_map([sku.as_str()], |r| r.get::<_, String>(0))
                .map_err(sql_err)?;
            ids.map(|r| r.map(OrderId).map_err(sql_err)).collect()
        })
        .await
    }

    async fn idempotency(&self, key: &str) -> Result<Option<IdempotencyRecord>, StoreError> {
        let key = key.to_string();
        self.call(move |conn| {
            conn.prepare_cached("SELECT key, body_hash, status, response, order_id, created_ms FROM idempotency WHERE key = ?1")
                .and_then(|mut s| {
                    s.query_row([key], |r| {
                        Ok(IdempotencyRecord {
                            key: r.get(0)?,
                            body_hash: r.get(1)?,
                            status: r.get(2)?,
                            response: r.get(3)?,
                            order_id: OrderId(r.get(4)?),
                            created_at: Timestamp::from_millisecond(r.get(5)?).unwrap_or(Timestamp::UNIX_EPOCH),
                        })
                    })
                    .optional()
                })
                .map_err(sql_err)
        })
        .await
    }

    async fn invoice(&self, number: &InvoiceNumber) -> Result<Option<Invoice>, StoreError> {
        let number = number.clone();
        self.call(move |conn| {
            let doc: Option<String> = conn
                .query_row(
                    "SELECT doc FROM invoices WHERE number = ?1",
                    [number.as_str()],
                    |r| r.get(0),
                )
                .optional()
                .map_err(sql_err)?;
            doc.map(|d| serde_json::from_str(&d).map_err(json_err))
                .transpose()
        })
        .await
    }

    async fn last_invoice_sequence(&self, series: &str) -> Result<u64, StoreError> {
        let series = series.to_string();
        self.call(move |conn| {
            let last: Option<i64> = conn
                .query_row(
                    "SELECT last FROM invoice_series WHERE series = ?1",
                    [series],
                    |r| r.get(0),
                )
                .optional()
                .map_err(sql_err)?;
            Ok(last.unwrap_or(0) as u64)
        })
        .await
    }

    async fn invoice_emailed(&self, number: &InvoiceNumber) -> Result<bool, StoreError> {
        let number = number.clone();
        self.call(move |conn| {
            let at: Option<Option<i64>> = conn
                .query_row(
                    "SELECT emailed_ms FROM invoices WHERE number = ?1",
                    [number.as_str()],
                    |r| r.get(0),
                )
                .optional()
                .map_err(sql_err)?;
            Ok(matches!(at, Some(Some(_))))
        })
        .await
    }

    async fn mark_invoice_emailed(
        &self,
        number: &InvoiceNumber,
        at: Timestamp,
    ) -> Result<(), StoreError> {
        let number = number.clone();
        self.call(move |conn| {
            conn.execute(
                "UPDATE invoices SET emailed_ms = ?2 WHERE number = ?1 AND emailed_ms IS NULL",
                params![number.as_str(), at.as_millisecond()],
            )
            .map_err(sql_err)?;
            Ok(())
        })
        .await
    }

    async fn payment_event(
        &self,
        provider: &str,
        event_id: &str,
    ) -> Result<Option<StoredPaymentEvent>, StoreError> {
        let (provider, event_id) = (provider.to_string(), event_id.to_string());
        self.call(move |conn| {
            let row: Option<(String, String, i64)> = conn
                .query_row(
                    "SELECT parsed, raw, received_ms FROM payment_events WHERE provider = ?1 AND event_id = ?2",
                    params![provider, event_id],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
                )
                .optional()
                .map_err(sql_err)?;
            row.map(|(parsed, raw, ms)| {
                let event: PaymentEvent = serde_json::from_str(&parsed).map_err(json_err)?;
                let received_at = Timestamp::from_millisecond(ms).map_err(|e| StoreError::caused(oms_domain::error::StoreErrorKind::Corrupt, "a payment event's receipt time", e))?;
                Ok(StoredPaymentEvent { event, raw, received_at })
            })
            .transpose()
        })
        .await
    }

    async fn orders_awaiting_payment(&self) -> Result<Vec<OrderId>, StoreError> {
        self.call(|conn| {
            let mut stmt = conn
                .prepare_cached(
                    "SELECT id FROM orders WHERE status = 'awaiting_payment' ORDER BY captured_ms",
                )
                .map_err(sql_err)?;
            let ids = stmt
                .query_map([], |r| r.get::<_, String>(0).map(OrderId))
                .map_err(sql_err)?
                .collect::<Result<Vec<_>, _>>()
                .map_err(sql_err);
            ids
        })
        .await
    }

    async fn receivables(&self) -> Result<Vec<Receivable>, StoreError> {
        self.call(|conn| {
            json_rows(
                conn,
                "SELECT receivable FROM orders WHERE receivable IS NOT NULL ORDER BY id",
                [],
            )
        })
        .await
    }

    async fn order_of_payment_reference(
        &self,
        reference: &str,
    ) -> Result<Option<OrderId>, StoreError> {
        let reference = reference.to_string();
        self.call(move |conn| {
            order_id_where(
                conn,
                "SELECT order_id FROM payment_references WHERE reference = ?1",
                &reference,
            )
        })
        .await
    }

    async fn bank_transaction(&self, id: &str) -> Result<Option<BankTransaction>, StoreError> {
        let id = id.to_string();
        self.call(move |conn| {
            let doc = conn
                .query_row(
                    "SELECT doc FROM bank_transactions WHERE id = ?1",
                    [id],
                    |r| r.get::<_, String>(0),
                )
                .optional()
                .map_err(sql_err)?;
            doc.map(|d| serde_json::from_str(&d).map_err(json_err))
                .transpose()
        })
        .await
    }

    async fn journal(&self, from: Date, to: Date) -> Result<Vec<JournalEntry>, StoreError> {
        let (from, to) = (from.to_string(), to.to_string());
        self.call(move |conn| {
            json_rows(
                conn,
                "SELECT doc FROM journal WHERE day >= ?1 AND day <= ?2 ORDER BY day, id",
                params![from, to],
            )
        })
        .await
    }

    async fn unmatched_bank_transactions(&self) -> Result<Vec<BankTransaction>, StoreError> {
        self.call(move |conn| {
            json_rows(
                conn,
                "SELECT doc FROM bank_transactions WHERE status = ?1 ORDER BY recorded_ms, id",
                [BankTxStatus::Unmatched.as_str()],
            )
        })
        .await
    }

    async fn order_of_payment_intent(&self, id: &str) -> Result<Option<OrderId>, StoreError> {
        let id = id.to_string();
        self.call(move |conn| {
            order_id_where(
                conn,
                "SELECT order_id FROM payment_intents WHERE payment_intent = ?1",
                &id,
            )
        })
        .await
    }

    async fn daily_facts(&self, from: Timestamp, to: Timestamp) -> Result<DailyFacts, StoreError> {
        let (from, to) = (from.as_millisecond(), to.as_millisecond());
        self.call(move |conn| {
            let in_range = |col: &str| format!("SELECT COUNT(*) FROM orders WHERE {col} >= ?1 AND {col} < ?2");
            let mut lead = conn
                .prepare_cached(
                    "SELECT captured_ms, reserved_ms, handed_off_ms, shipped_ms FROM orders
                     WHERE shipped_ms >= ?1 AND shipped_ms < ?2",
                )
                .map_err(sql_err)?;
            let lead_times = lead
                .query_map(params![from, to], |r| {
                    Ok(StepTimes {
                        captured: r.get(0)?,
                        reserved: r.get(1)?,
                        handed_off: r.get(2)?,
                        shipped: r.get(3)?,
                    })
                })
                .map_err(sql_err)?
                .collect::<Result<Vec<_>, _>>()
                .map_err(sql_err)?;
            let partial_parcels = conn
                .prepare_cached("SELECT lead_ms FROM parcels WHERE shipped_ms >= ?1 AND shipped_ms < ?2")
                .and_then(|mut s| {
                    s.query_map(params![from, to], |r| r.get(0))?
                        .collect::<Result<Vec<i64>, _>>()
                })
                .map_err(sql_err)?;
            Ok(DailyFacts {
                partial_parcels,
                orders_captured: count(conn, &in_range("captured_ms"), from, to)?,
                orders_shipped: lead_times.len() as u64,
                orders_backordered: count(conn, &in_range("backordered_ms"), from, to)?,
                orders_cancelled: count(conn, &in_range("cancelled_ms"), from, to)?,
                revenue: sums(
                    conn,
                    "SELECT currency, SUM(CASE kind WHEN 'credit_note' THEN -total ELSE total END) FROM invoices
                     WHERE issued_ms >= ?1 AND issued_ms < ?2 GROUP BY currency",
                    from,
                    to,
                )?,
                invoices_issued: count(conn, "SELECT COUNT(*) FROM invoices WHERE kind = 'invoice' AND issued_ms >= ?1 AND issued_ms < ?2", from, to)?,
                payments_received: sums(
                    conn,
                    "SELECT currency, SUM(amount) FROM ledger WHERE at_ms >= ?1 AND at_ms < ?2 GROUP BY currency",
                    from,
                    to,
                )?,
                // What each invoiced order (less its credit notes) still lacked
                // at the end of the day, never below zero per order.
                open_receivables: sums(
                    conn,
                    "SELECT d.currency, SUM(MAX(d.billed - COALESCE((SELECT SUM(l.amount) FROM ledger l
                        WHERE l.order_id = d.order_id AND l.currency = d.currency AND l.at_ms < ?2), 0), 0))
                     FROM (SELECT order_id, currency, SUM(CASE kind WHEN 'credit_note' THEN -total ELSE total END) AS billed
                           FROM invoices WHERE issued_ms < ?2 AND ?1 <= ?2 GROUP BY order_id, currency) d
                     GROUP BY d.currency",
                    from,
                    to,
                )?,
                payment_mismatches: count(conn, "SELECT COUNT(*) FROM mismatches WHERE at_ms >= ?1 AND at_ms < ?2", from, to)?,
                lead_times,
            })
        })
        .await
    }

    async fn commit(&self, changes: ChangeSet) -> Result<(), CommitError> {
        let queues: Vec<QueueName> = changes
            .events
            .iter()
            .map(|e| e.event_type.queue())
            .collect();
        self.call(move |conn| {
            let tx = conn.savepoint().map_err(sql_err)?;
            match apply(&tx, &changes) {
                Ok(()) => {
                    tx.commit().map_err(sql_err)?;
                    Ok(Ok(()))
                }
                // Dropping the savepoint rolls back everything it did.
                Err(e) => Ok(Err(e)),
            }
        })
        .await??;
        self.notify(queues);
        Ok(())
    }
}
