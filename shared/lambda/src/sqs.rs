//! The SQS event source loop: each record of a batch is handled on its own;
//! the answer names the records to deliver again (`ReportBatchItemFailures`).
//! A transient failure is retried by SQS (and dead-lettered by its redrive
//! policy after `maxReceiveCount`); a permanent one is parked in the DLQ at
//! once and reported done.

use aws_lambda_events::event::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent, SqsMessage};
use lambda_runtime::{service_fn, LambdaEvent};
use oms_aws::SqsQueues;
use oms_domain::event::{Envelope, QueueName};
use oms_domain::StageError;
use std::future::Future;

/// What became of one record.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    Done,
    Retry,
    Parked,
}

/// Runs `handle` on one message and settles it.
pub async fn settle<F, Fut>(
    queues: &SqsQueues,
    queue: QueueName,
    message: &SqsMessage,
    handle: &F,
) -> Outcome
where
    F: Fn(Envelope) -> Fut,
    Fut: Future<Output = Result<(), StageError>>,
{
    let body = message.body.clone().unwrap_or_default();
    let result = match Envelope::from_json(&body) {
        Ok(event) => {
            let (order, correlation) = (
                event
                    .order_id
                    .as_ref()
                    .map(|o| o.to_string())
                    .unwrap_or_default(),
                event.correlation_id.clone(),
            );
            let r = handle(event).await;
            if let Err(e) = &r {
                tracing::warn!(queue = queue.as_str(), order_id = %order, correlation_id = %correlation, error = %e, "stage failed");
            }
            r
        }
        Err(e) => Err(e),
    };
    match result {
        Ok(()) => Outcome::Done,
        Err(StageError::Transient(_)) => Outcome::Retry,
        Err(StageError::Permanent(reason)) => {
            // The event source mapping deletes the record when we report
            // success; it must be in the DLQ before that.
            match queues.park(queue, &body, None, &reason).await {
                Ok(()) => Outcome::Parked,
                Err(e) => {
                    tracing::error!(error = %e, "could not dead-letter a message; it will be retried");
                    Outcome::Retry
                }
            }
        }
    }
}

/// The partial batch response for a batch handled by `handle`.
pub async fn handle_batch<F, Fut>(
    queues: &SqsQueues,
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
        if settle(queues, queue, message, handle).await == Outcome::Retry {
            let mut failure = BatchItemFailure::default();
            failure.item_identifier = message.message_id.clone().unwrap_or_default();
            response.batch_item_failures.push(failure);
        }
    }
    response
}

/// Serves the queue `queue` with `handle` until the Lambda is torn down.
pub async fn serve<F, Fut>(
    queues: SqsQueues,
    queue: QueueName,
    handle: F,
) -> Result<(), lambda_runtime::Error>
where
    F: Fn(Envelope) -> Fut,
    Fut: Future<Output = Result<(), StageError>>,
{
    let (queues, handle) = (&queues, &handle);
    lambda_runtime::run(service_fn(move |event: LambdaEvent<SqsEvent>| async move {
        Ok::<_, lambda_runtime::Error>(handle_batch(queues, queue, event.payload, handle).await)
    }))
    .await
}
