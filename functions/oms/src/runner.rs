//! The local dispatcher: one worker per queue takes batches of messages and
//! runs the stage handler for each, like the Lambda event source mapping
//! does in AWS. Success deletes the message, a transient failure makes it
//! visible again after a backoff, a permanent one dead-letters it at once.

use oms_domain::event::{Envelope, QueueName};
use oms_domain::ports::{Consumer, Delivery, Mailer, Store, Warehouse};
use oms_domain::StageError;
use oms_invoice::InvoiceConfig;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{watch, Notify};
use tokio::task::JoinSet;

const BATCH: usize = 32;
/// Messages of one queue in work at once.
const IN_FLIGHT: usize = 64;
/// Delayed messages (retries, the simulated warehouse) are looked for this often.
const POLL: Duration = Duration::from_millis(100);

/// Every stage handler with what it needs.
pub struct Stages {
    pub store: Arc<dyn Store>,
    pub mailer: Arc<dyn Mailer>,
    pub warehouse: Arc<dyn Warehouse>,
    pub invoice: InvoiceConfig,
}

impl Stages {
    /// The routing table from queue to stage.
    pub async fn handle(&self, queue: QueueName, event: &Envelope) -> Result<(), StageError> {
        let store = self.store.as_ref();
        match queue {
            QueueName::Reserve => oms_reserve::handle(store, event).await,
            QueueName::Fulfill => oms_fulfill::handle(store, self.warehouse.as_ref(), event).await,
            QueueName::Invoice => {
                oms_invoice::handle(store, self.mailer.as_ref(), &self.invoice, event).await
            }
            QueueName::Reconcile => oms_reconcile::handle(store, event).await,
            QueueName::WarehouseSim => oms_fulfill::ship_simulated(store, event).await,
        }
    }
}

/// Exponential backoff from 200 ms to 5 minutes, with jitter so that a
/// batch that failed together does not retry together.
pub fn backoff(attempts: u32, receipt: &str) -> Duration {
    let base = 200u64.saturating_mul(1 << attempts.min(12).saturating_sub(1));
    let capped = base.min(300_000);
    let jitter = receipt
        .bytes()
        .fold(0u64, |h, b| h.wrapping_mul(31).wrapping_add(b as u64))
        % (capped / 4 + 1);
    Duration::from_millis(capped - capped / 8 + jitter)
}

async fn process(consumer: Arc<dyn Consumer>, stages: Arc<Stages>, delivery: Delivery) {
    let event = Envelope::from_json(&delivery.body);
    let (order_id, correlation_id) = match &event {
        Ok(e) => (
            e.order_id
                .as_ref()
                .map(|o| o.to_string())
                .unwrap_or_default(),
            e.correlation_id.clone(),
        ),
        Err(_) => (String::new(), String::new()),
    };
    let result = match event {
        Ok(e) => stages.handle(delivery.queue, &e).await,
        Err(e) => Err(e),
    };
    let queue = delivery.queue.as_str();
    let outcome = match result {
        Ok(()) => consumer.ack(&delivery).await,
        Err(StageError::Transient(m)) => {
            tracing::warn!(queue, %order_id, %correlation_id, attempts = delivery.attempts, error = %m, "stage failed, will retry");
            consumer
                .retry(&delivery, backoff(delivery.attempts, &delivery.receipt), &m)
                .await
        }
        Err(StageError::Permanent(m)) => {
            tracing::error!(queue, %order_id, %correlation_id, error = %m, "stage failed for good, dead-lettered");
            consumer.dead_letter(&delivery, &m).await
        }
    };
    if let Err(e) = outcome {
        // The message stays in flight and comes back after its visibility timeout.
        tracing::error!(queue, %order_id, error = %e, "could not settle a message");
    }
}

/// Works one queue until `shutdown` turns true, keeping up to `IN_FLIGHT`
/// messages in work: a slow message does not hold up the next batch.
pub async fn run_queue(
    consumer: Arc<dyn Consumer>,
    stages: Arc<Stages>,
    queue: QueueName,
    wake: Arc<Notify>,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut running = JoinSet::new();
    while !*shutdown.borrow() {
        while running.try_join_next().is_some() {}
        let room = IN_FLIGHT - running.len();
        let mut taken = 0;
        if room > 0 {
            match consumer.receive(queue, room.min(BATCH)).await {
                Ok(batch) => {
                    taken = batch.len();
                    for delivery in batch {
                        running.spawn(process(consumer.clone(), stages.clone(), delivery));
                    }
                }
                Err(e) => {
                    tracing::error!(queue = queue.as_str(), error = %e, "receiving failed");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    continue;
                }
            }
        }
        if taken == 0 {
            // Nothing due: wait for new work, a delayed message, or the end.
            tokio::select! {
                _ = wake.notified() => {}
                _ = tokio::time::sleep(POLL) => {}
                _ = shutdown.changed() => {}
            }
        } else if running.len() >= IN_FLIGHT {
            running.join_next().await;
        }
    }
    while running.join_next().await.is_some() {}
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_is_capped() {
        let first = backoff(1, "1:1");
        let later = backoff(5, "1:5");
        assert!(first < later, "{first:?} < {later:?}");
        assert!(backoff(30, "x") <= Duration::from_secs(300) + Duration::from_secs(75));
        assert!(
            backoff(12, "x") >= Duration::from_secs(260),
            "the cap of 5 minutes is reached"
        );
        assert!(first >= Duration::from_millis(175));
    }
}
