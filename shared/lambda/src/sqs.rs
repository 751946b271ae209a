//! The SQS event source adapter: each record of a batch is handled by the
//! runtime's [`handle_delivery`]; its fate is carried out here. Done records
//! are left to the event source mapping to delete; records to retry are
//! named in the answer (`ReportBatchItemFailures`), and SQS's redrive policy
//! dead-letters them after `maxReceiveCount`; records that can never
//! succeed are parked in the dead-letter queue at once and reported done.

use aws_lambda_events::event::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent, SqsMessage};
use lambda_runtime::{service_fn, LambdaEvent};
use oms_domain::error::chain;
use oms_domain::event::{Envelope, QueueName};
use oms_domain::ports::DeadLetters;
use oms_domain::StageError;
use oms_runtime::{handle_delivery, Fate};
use std::future::Future;

/// Whether SQS must deliver a record again.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    Done,
    Retry,
    Parked,
}

/// Runs `handle` on one record and carries out its fate.
pub async fn settle<F, Fut>(
    dead_letters: &dyn DeadLetters,
    queue: QueueName,
    message: &SqsMessage,
    handle: &F,
) -> Outcome
where
    F: Fn(Envelope) -> Fut,
    Fut: Future<Output = Result<(), StageError>>,
{
    let body = message.body.as_deref().unwrap_or_default();
    let attempts = message
        .attributes
        .get("ApproximateReceiveCount")
        .and_then(|n| n.parse().ok())
        .unwrap_or(1);
    let id = message.message_id.as_deref().unwrap_or_default();
    match handle_delivery(queue, body, attempts, id, handle).await {
        Fate::Done => Outcome::Done,
        // SQS makes it visible again after the visibility timeout.
        Fate::Retry { .. } => Outcome::Retry,
        // The event source mapping deletes the record when we report it
        // done; it must be in the DLQ before that.
        Fate::DeadLetter { reason } => match dead_letters.park(queue, body, &reason).await {
            Ok(()) => Outcome::Parked,
            Err(e) => {
                tracing::error!(queue = queue.as_str(), error = %chain(&e), "could not dead-letter a message; it will be retried");
                Outcome::Retry
            }
        },
    }
}

/// The partial batch response for a batch handled by `handle`.
pub async fn handle_batch<F, Fut>(
    dead_letters: &dyn DeadLetters,
    queue: QueueName,
    event: SqsEvent,
    handle: &F,
) -> SqsBatchResponse
where
    F: Fn(Envelope) -> Fut,
    Fut: Future<Output = Result<(), StageError>>,
{
    let mut response = SqsBatchResponse::default();
    for message in &event.records {
        if settle(dead_letters, queue, message, handle).await == Outcome::Retry {
            let mut failure = BatchItemFailure::default();
            failure.item_identifier = message.message_id.clone().unwrap_or_default();
            response.batch_item_failures.push(failure);
        }
    }
    response
}

/// Serves the queue `queue` with `handle` until the Lambda is torn down.
pub async fn serve<D, F, Fut>(
    dead_letters: D,
    queue: QueueName,
    handle: F,
) -> Result<(), lambda_runtime::Error>
where
    D: DeadLetters,
    F: Fn(Envelope) -> Fut,
    Fut: Future<Output = Result<(), StageError>>,
{
    let (dead_letters, handle) = (&dead_letters, &handle);
    lambda_runtime::run(service_fn(move |event: LambdaEvent<SqsEvent>| async move {
        Ok::<_, crate::HandlerError>(handle_batch(dead_letters, queue, event.payload, handle).await)
    }))
    .await
}

#[cfg(test)]
mod tests {
    //! The batch loop against an in-memory dead-letter queue: no SQS needed.
    use super::*;
    use async_trait::async_trait;
    use oms_domain::event::EventType;
    use oms_domain::{OrderId, StoreError};
    use std::sync::Mutex;

    #[derive(Default)]
    struct MemoryDlq {
        parked: Mutex<Vec<(String, String)>>,
        refuse: bool,
    }

    #[async_trait]
    impl DeadLetters for MemoryDlq {
        async fn park(&self, _: QueueName, body: &str, reason: &str) -> Result<(), StoreError> {
            if self.refuse {
                return Err(StoreError::unavailable("SQS SendMessage"));
            }
            self.parked
                .lock()
                .unwrap()
                .push((body.to_string(), reason.to_string()));
            Ok(())
        }
    }

    fn record(id: &str, body: &str) -> SqsMessage {
        let mut m = SqsMessage::default();
        m.message_id = Some(id.into());
        m.body = Some(body.into());
        m
    }

    fn order_event(order: &str) -> String {
        Envelope::new(
            EventType::OrderCaptured,
            Some(OrderId(order.into())),
            "c",
            jiff::Timestamp::UNIX_EPOCH,
        )
        .to_json()
    }

    async fn handle(e: Envelope) -> Result<(), StageError> {
        match e.order_id.as_ref().map(|o| o.as_str()) {
            Some("busy") => Err(StageError::transient("table busy")),
            Some("bad") => Err(StageError::permanent("unknown order bad")),
            _ => Ok(()),
        }
    }

    fn batch() -> SqsEvent {
        let mut event = SqsEvent::default();
        event.records = vec![
            record("ok", &order_event("ok")),
            record("busy", &order_event("busy")),
            record("bad", &order_event("bad")),
            record("garbage", "{"),
        ];
        event
    }

    fn retried(response: &SqsBatchResponse) -> Vec<&str> {
        response
            .batch_item_failures
            .iter()
            .map(|f| f.item_identifier.as_str())
            .collect()
    }

    #[tokio::test]
    async fn only_transient_failures_come_back_and_permanent_ones_are_parked_with_a_reason() {
        let dlq = MemoryDlq::default();
        let response = handle_batch(&dlq, QueueName::Reserve, batch(), &handle).await;
        assert_eq!(retried(&response), ["busy"]);
        let parked = dlq.parked.lock().unwrap();
        assert_eq!(parked.len(), 2);
        assert_eq!(parked[0].1, "unknown order bad");
        assert_eq!(parked[1].0, "{");
        assert!(parked[1].1.starts_with("unreadable message"), "{parked:?}");
    }

    #[tokio::test]
    async fn a_record_that_cannot_be_parked_is_retried_not_lost() {
        let dlq = MemoryDlq {
            refuse: true,
            ..MemoryDlq::default()
        };
        let response = handle_batch(&dlq, QueueName::Reserve, batch(), &handle).await;
        assert_eq!(retried(&response), ["busy", "bad", "garbage"]);
    }
}
