//! The local dispatcher: one worker per queue takes batches of messages and
//! runs the stage handler for each, as the Lambda event source mapping does
//! in AWS. The fate of each message is decided by [`handle_delivery`]; this
//! module only carries it out on the [`Consumer`] port.

use oms_domain::event::{Envelope, QueueName};
use oms_domain::ports::{Consumer, Delivery, Mailer, Store, Warehouse};
use oms_domain::{StageError, StoreError};
use oms_invoice::InvoiceConfig;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{watch, Notify};
use tokio::task::JoinSet;

use crate::settle::{handle_delivery, Fate};

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

/// Carries out `fate` for `delivery`.
pub async fn settle(
    consumer: &dyn Consumer,
    delivery: &Delivery,
    fate: Fate,
) -> Result<(), StoreError> {
    match fate {
        Fate::Done => consumer.ack(delivery).await,
        Fate::Retry { after, error } => consumer.retry(delivery, after, &error).await,
        Fate::DeadLetter { reason } => consumer.dead_letter(delivery, &reason).await,
    }
}

/// Handles one delivery with `stages` and settles it.
pub async fn process(consumer: &dyn Consumer, stages: &Stages, delivery: Delivery) {
    let queue = delivery.queue;
    let fate = handle_delivery(
        queue,
        &delivery.body,
        delivery.attempts,
        &delivery.receipt,
        |event| async move { stages.handle(queue, &event).await },
    )
    .await;
    if let Err(e) = settle(consumer, &delivery, fate).await {
        // The message stays in flight and comes back after its visibility timeout.
        tracing::error!(queue = queue.as_str(), error = %oms_domain::error::chain(&e), "could not settle a message");
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
                        let (consumer, stages) = (consumer.clone(), stages.clone());
                        running.spawn(async move {
                            process(consumer.as_ref(), &stages, delivery).await
                        });
                    }
                }
                Err(e) => {
                    tracing::error!(queue = queue.as_str(), error = %oms_domain::error::chain(&e), "receiving failed");
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
    //! The dispatcher against an in-memory queue: no database, no emulator.
    use super::*;
    use async_trait::async_trait;
    use std::sync::Mutex;

    /// Records what was done with each delivery.
    #[derive(Default)]
    struct MemoryQueue {
        settled: Mutex<Vec<(String, String)>>,
    }

    #[async_trait]
    impl Consumer for MemoryQueue {
        async fn receive(&self, _: QueueName, _: usize) -> Result<Vec<Delivery>, StoreError> {
            Ok(Vec::new())
        }
        async fn ack(&self, d: &Delivery) -> Result<(), StoreError> {
            self.settled
                .lock()
                .unwrap()
                .push((d.receipt.clone(), "ack".into()));
            Ok(())
        }
        async fn retry(&self, d: &Delivery, _: Duration, error: &str) -> Result<(), StoreError> {
            self.settled
                .lock()
                .unwrap()
                .push((d.receipt.clone(), format!("retry: {error}")));
            Ok(())
        }
        async fn dead_letter(&self, d: &Delivery, reason: &str) -> Result<(), StoreError> {
            self.settled
                .lock()
                .unwrap()
                .push((d.receipt.clone(), format!("dead letter: {reason}")));
            Ok(())
        }
    }

    fn delivery(receipt: &str, body: &str) -> Delivery {
        Delivery {
            queue: QueueName::Reserve,
            receipt: receipt.into(),
            body: body.into(),
            attempts: 1,
        }
    }

    #[tokio::test]
    async fn each_fate_is_carried_out_on_the_consumer() {
        let queue = MemoryQueue::default();
        let d = delivery("r1", "{}");
        for (fate, expected) in [
            (Fate::Done, "ack"),
            (
                Fate::Retry {
                    after: Duration::from_secs(1),
                    error: "busy".into(),
                },
                "retry: busy",
            ),
            (
                Fate::DeadLetter {
                    reason: "bad".into(),
                },
                "dead letter: bad",
            ),
        ] {
            settle(&queue, &d, fate).await.unwrap();
            assert_eq!(queue.settled.lock().unwrap().pop().unwrap().1, expected);
        }
    }

    #[tokio::test]
    async fn an_unreadable_message_is_dead_lettered_by_the_dispatcher() {
        let queue = MemoryQueue::default();
        let fate = handle_delivery(QueueName::Reserve, "garbage", 1, "r2", |_| async {
            Ok::<(), StageError>(())
        })
        .await;
        settle(&queue, &delivery("r2", "garbage"), fate)
            .await
            .unwrap();
        let settled = queue.settled.lock().unwrap();
        assert_eq!(settled.len(), 1);
        assert!(
            settled[0].1.starts_with("dead letter: unreadable message"),
            "{settled:?}"
        );
    }
}
