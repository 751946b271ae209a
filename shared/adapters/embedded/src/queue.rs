//! Durable local queues in the same SQLite file: at-least-once delivery, a
//! visibility timeout, retries with backoff, dead letters after too many
//! attempts. The same semantics as SQS with a redrive policy.

use async_trait::async_trait;
use oms_domain::event::{Envelope, QueueName};
use oms_domain::ports::{Consumer, Delivery, Publisher};
use oms_domain::StoreError;
use rusqlite::params;
use std::time::Duration;

use crate::store::enqueue;
use crate::{now_ms, sql_err, Embedded};

#[derive(Debug, Clone, Copy)]
pub struct QueueSettings {
    /// How long a received message stays invisible before it is delivered again.
    pub visibility_timeout: Duration,
    /// Deliveries after which a failing message goes to dead letters.
    pub max_attempts: u32,
}

impl Default for QueueSettings {
    fn default() -> Self {
        QueueSettings {
            visibility_timeout: Duration::from_secs(30),
            // With the dispatcher's backoff (200 ms doubling to 5 min) that is about
            // 27 minutes of retries: a warehouse outage of that length loses nothing.
            max_attempts: 16,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct DeadLetter {
    pub id: i64,
    pub queue: String,
    pub body: String,
    pub attempts: u32,
    pub reason: String,
    pub failed_at: String,
}

fn parse_receipt(receipt: &str) -> Result<(i64, i64), StoreError> {
    receipt
        .split_once(':')
        .and_then(|(id, n)| Some((id.parse().ok()?, n.parse().ok()?)))
        .ok_or_else(|| StoreError::corrupt(format!("bad receipt {receipt}")))
}

impl Embedded {
    /// Makes every in-flight message visible again. Run once at start by the
    /// only process using this file: what a crashed run had taken is resumed
    /// at once instead of after its visibility timeout.
    pub async fn recover_in_flight(&self) -> Result<usize, StoreError> {
        self.call(|conn| conn.execute("UPDATE queue SET visible_ms = ?1 WHERE visible_ms > ?1 AND attempts > 0 AND last_error IS NULL", [now_ms()]).map_err(sql_err))
            .await
    }

    /// Messages waiting or in flight per queue.
    pub async fn queue_depths(&self) -> Result<Vec<(String, u64)>, StoreError> {
        self.call(|conn| {
            let mut stmt = conn
                .prepare("SELECT queue, COUNT(*) FROM queue GROUP BY queue ORDER BY queue")
                .map_err(sql_err)?;
            let rows = stmt
                .query_map([], |r| Ok((r.get(0)?, r.get::<_, i64>(1)? as u64)))
                .map_err(sql_err)?;
            rows.collect::<Result<_, _>>().map_err(sql_err)
        })
        .await
    }

    pub async fn dead_letters(&self) -> Result<Vec<DeadLetter>, StoreError> {
        self.call(|conn| {
            let mut stmt = conn
                .prepare("SELECT id, queue, body, attempts, reason, failed_ms FROM dead_letters ORDER BY id")
                .map_err(sql_err)?;
            let rows = stmt
                .query_map([], |r| {
                    let ms: i64 = r.get(5)?;
                    Ok(DeadLetter {
                        id: r.get(0)?,
                        queue: r.get(1)?,
                        body: r.get(2)?,
                        attempts: r.get(3)?,
                        reason: r.get(4)?,
                        failed_at: jiff::Timestamp::from_millisecond(ms).map(|t| t.to_string()).unwrap_or_default(),
                    })
                })
                .map_err(sql_err)?;
            rows.collect::<Result<_, _>>().map_err(sql_err)
        })
        .await
    }

    /// Forgets `Idempotency-Key` records made before `cutoff`, so the table
    /// does not grow without end. A retry after that creates a new order, as
    /// with Stripe's 24-hour keys; DynamoDB does the same with a TTL.
    pub async fn forget_idempotency_keys(
        &self,
        cutoff: jiff::Timestamp,
    ) -> Result<usize, StoreError> {
        let cutoff = cutoff.as_millisecond();
        self.call(move |conn| {
            let sp = conn.savepoint().map_err(sql_err)?;
            let n = sp
                .execute("DELETE FROM idempotency WHERE created_ms < ?1", [cutoff])
                .map_err(sql_err)?;
            sp.commit().map_err(sql_err)?;
            Ok(n)
        })
        .await
    }

    /// Moves dead letters back to their queues with a fresh attempt count
    /// (all of them, or the one with `id`). Returns how many moved.
    pub async fn redrive(&self, id: Option<i64>) -> Result<usize, StoreError> {
        let moved = self
            .call(move |conn| {
                let tx = conn.savepoint().map_err(sql_err)?;
                let filter = if id.is_some() { "WHERE id = ?1" } else { "WHERE ?1 IS NULL" };
                let now = now_ms();
                let n = tx
                    .execute(
                        &format!("INSERT INTO queue (queue, body, visible_ms, enqueued_ms) SELECT queue, body, {now}, {now} FROM dead_letters {filter} ORDER BY id"),
                        [id],
                    )
                    .map_err(sql_err)?;
                tx.execute(&format!("DELETE FROM dead_letters {filter}"), [id]).map_err(sql_err)?;
                tx.commit().map_err(sql_err)?;
                Ok(n)
            })
            .await?;
        self.notify(QueueName::ALL);
        Ok(moved)
    }
}

#[async_trait]
impl Publisher for Embedded {
    async fn publish(&self, event: Envelope, delay: Duration) -> Result<(), StoreError> {
        let queue = event.event_type.queue();
        self.call(move |conn| {
            let tx = conn.savepoint().map_err(sql_err)?;
            enqueue(&tx, std::slice::from_ref(&event), delay.as_millis() as i64)?;
            tx.commit().map_err(sql_err)
        })
        .await?;
        if delay.is_zero() {
            self.notify([queue]);
        }
        Ok(())
    }
}

#[async_trait]
impl Consumer for Embedded {
    async fn receive(&self, queue: QueueName, max: usize) -> Result<Vec<Delivery>, StoreError> {
        let invisible_for = self.settings.visibility_timeout.as_millis() as i64;
        self.call(move |conn| {
            let tx = conn.savepoint().map_err(sql_err)?;
            let now = now_ms();
            let taken: Vec<(i64, String, i64)> = {
                let mut stmt = tx
                    .prepare_cached(
                        "SELECT id, body, attempts FROM queue WHERE queue = ?1 AND visible_ms <= ?2 ORDER BY visible_ms, id LIMIT ?3",
                    )
                    .map_err(sql_err)?;
                let rows = stmt
                    .query_map(params![queue.as_str(), now, max as i64], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
                    .map_err(sql_err)?;
                rows.collect::<Result<_, _>>().map_err(sql_err)?
            };
            let mut deliveries = Vec::with_capacity(taken.len());
            {
                let mut mark = tx
                    .prepare_cached("UPDATE queue SET attempts = attempts + 1, visible_ms = ?2, last_error = NULL WHERE id = ?1")
                    .map_err(sql_err)?;
                for (id, body, attempts) in taken {
                    mark.execute(params![id, now + invisible_for]).map_err(sql_err)?;
                    let attempts = attempts + 1;
                    deliveries.push(Delivery { queue, receipt: format!("{id}:{attempts}"), body, attempts: attempts as u32 });
                }
            }
            tx.commit().map_err(sql_err)?;
            Ok(deliveries)
        })
        .await
    }

    async fn ack(&self, d: &Delivery) -> Result<(), StoreError> {
        let (id, attempts) = parse_receipt(&d.receipt)?;
        self.call(move |conn| {
            // A stale receipt (the message was redelivered meanwhile) deletes nothing.
            conn.prepare_cached("DELETE FROM queue WHERE id = ?1 AND attempts = ?2")
                .and_then(|mut s| s.execute(params![id, attempts]))
                .map_err(sql_err)?;
            Ok(())
        })
        .await
    }

    async fn retry(&self, d: &Delivery, delay: Duration, error: &str) -> Result<(), StoreError> {
        if d.attempts >= self.settings.max_attempts {
            return self
                .dead_letter(
                    d,
                    &format!("gave up after {} attempts: {error}", d.attempts),
                )
                .await;
        }
        let (id, attempts) = parse_receipt(&d.receipt)?;
        let error = error.to_string();
        self.call(move |conn| {
            conn.execute(
                "UPDATE queue SET visible_ms = ?3, last_error = ?4 WHERE id = ?1 AND attempts = ?2",
                params![id, attempts, now_ms() + delay.as_millis() as i64, error],
            )
            .map_err(sql_err)?;
            Ok(())
        })
        .await
    }

    async fn dead_letter(&self, d: &Delivery, reason: &str) -> Result<(), StoreError> {
        let (id, attempts) = parse_receipt(&d.receipt)?;
        let reason = reason.to_string();
        self.call(move |conn| {
            let tx = conn.savepoint().map_err(sql_err)?;
            let n = tx
                .execute(
                    "INSERT INTO dead_letters (queue, body, attempts, reason, failed_ms)
                     SELECT queue, body, attempts, ?3, ?4 FROM queue WHERE id = ?1 AND attempts = ?2",
                    params![id, attempts, reason, now_ms()],
                )
                .map_err(sql_err)?;
            if n > 0 {
                tx.execute("DELETE FROM queue WHERE id = ?1", [id]).map_err(sql_err)?;
            }
            tx.commit().map_err(sql_err)
        })
        .await
    }
}
