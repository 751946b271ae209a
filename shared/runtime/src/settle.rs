//! Handling one queue delivery and deciding what becomes of it. The local
//! dispatcher and the Lambda SQS loop both call [`handle_delivery`] and only
//! carry out its [`Fate`]: acknowledge, make visible again later, or park in
//! the dead-letter queue.
//!
//! How often a message may come back is the queue's business, as in SQS
//! (`maxReceiveCount` of the redrive policy): the embedded queue and the
//! SQS consumer of `oms serve --backend aws` dead-letter a message on their
//! own once it has been received too often.

use oms_domain::error::chain;
use oms_domain::event::{Envelope, QueueName};
use oms_domain::StageError;
use std::future::Future;
use std::time::Duration;

/// What becomes of one delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fate {
    /// Handled: delete it.
    Done,
    /// Failed for now: deliver again after `after`.
    Retry { after: Duration, error: String },
    /// Can never succeed: park it in the dead-letter queue with `reason`.
    DeadLetter { reason: String },
}

/// Exponential backoff from 200 ms to 5 minutes, with jitter (from `seed`,
/// e.g. the receipt) so that a batch that failed together does not retry
/// together.
pub fn backoff(attempts: u32, seed: &str) -> Duration {
    let base = 200u64.saturating_mul(1 << attempts.min(12).saturating_sub(1));
    let capped = base.min(300_000);
    let jitter = seed
        .bytes()
        .fold(0u64, |h, b| h.wrapping_mul(31).wrapping_add(b as u64))
        % (capped / 4 + 1);
    Duration::from_millis(capped - capped / 8 + jitter)
}

/// The fate of a delivery whose handling ended with `result`.
pub fn decide(result: Result<(), StageError>, attempts: u32, seed: &str) -> Fate {
    match result {
        Ok(()) => Fate::Done,
        Err(e @ StageError::Transient(_)) => Fate::Retry {
            after: backoff(attempts, seed),
            error: chain(&e),
        },
        Err(e @ StageError::Permanent(_)) => Fate::DeadLetter { reason: chain(&e) },
    }
}

/// Reads the envelope in `body`, runs `handler` on it and decides the fate.
/// A body that is not an envelope can never succeed: dead letter. Every
/// failure is logged here, with the order and correlation id.
pub async fn handle_delivery<F, Fut>(
    queue: QueueName,
    body: &str,
    attempts: u32,
    seed: &str,
    handler: F,
) -> Fate
where
    F: FnOnce(Envelope) -> Fut,
    Fut: Future<Output = Result<(), StageError>>,
{
    let (order_id, correlation_id, result) = match Envelope::from_json(body) {
        Ok(event) => {
            let order = event
                .order_id
                .as_ref()
                .map(|o| o.to_string())
                .unwrap_or_default();
            let correlation = event.correlation_id.clone();
            (order, correlation, handler(event).await)
        }
        Err(e) => (String::new(), String::new(), Err(e)),
    };
    let fate = decide(result, attempts, seed);
    let queue = queue.as_str();
    match &fate {
        Fate::Done => {}
        Fate::Retry { after, error } => {
            tracing::warn!(queue, %order_id, %correlation_id, attempts, retry_in_ms = after.as_millis() as u64, %error, "stage failed, will retry")
        }
        Fate::DeadLetter { reason } => {
            tracing::error!(queue, %order_id, %correlation_id, attempts, %reason, "stage failed for good, dead-lettered")
        }
    }
    fate
}

#[cfg(test)]
mod tests {
    use super::*;
    use oms_domain::StoreError;

    fn envelope() -> String {
        oms_domain::event::Envelope::new(
            oms_domain::event::EventType::OrderCaptured,
            None,
            "c1",
            jiff::Timestamp::UNIX_EPOCH,
        )
        .to_json()
    }

    async fn fate_of(body: &str, result: Result<(), StageError>) -> Fate {
        handle_delivery(QueueName::Reserve, body, 3, "r", |_| async { result }).await
    }

    #[tokio::test]
    async fn success_is_done() {
        assert_eq!(fate_of(&envelope(), Ok(())).await, Fate::Done);
    }

    #[tokio::test]
    async fn a_store_outage_is_retried_with_its_cause() {
        let fate = fate_of(
            &envelope(),
            Err(StoreError::unavailable("DynamoDB GetItem").into()),
        )
        .await;
        match fate {
            Fate::Retry { after, error } => {
                assert_eq!(after, backoff(3, "r"));
                assert_eq!(error, "storage unavailable: DynamoDB GetItem");
            }
            other => panic!("expected a retry, got {other:?}"),
        }
    }

    #[tokio::test]
    async fn permanent_failures_and_refusals_are_dead_lettered_at_once() {
        let fate = fate_of(
            &envelope(),
            Err(StageError::permanent("unknown order ord_1")),
        )
        .await;
        assert_eq!(
            fate,
            Fate::DeadLetter {
                reason: "unknown order ord_1".into()
            }
        );
        let refused = fate_of(
            &envelope(),
            Err(StoreError::refused("SQS SendMessage (AccessDenied)").into()),
        )
        .await;
        assert!(matches!(refused, Fate::DeadLetter { .. }), "{refused:?}");
    }

    #[tokio::test]
    async fn a_body_that_is_no_envelope_is_dead_lettered_without_running_the_handler() {
        let fate = handle_delivery(QueueName::Reserve, "not json", 1, "r", |_| async {
            panic!("the handler must not run")
        })
        .await;
        assert!(matches!(fate, Fate::DeadLetter { .. }), "{fate:?}");
    }

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
