//! The queues between stages on SQS. Messages carry the versioned event
//! envelope as body and its type, version, correlation and order id as
//! message attributes (so a consumer or an operator can route and trace
//! without parsing). Every batch send checks each entry's outcome.

use async_trait::async_trait;
use aws_sdk_sqs::types::{
    MessageAttributeValue, MessageSystemAttributeName, SendMessageBatchRequestEntry,
};
use oms_domain::event::{Envelope, QueueName};
use oms_domain::ports::{Consumer, DeadLetters, Delivery, Publisher};
use oms_domain::StoreError;
use std::sync::Arc;
use std::time::Duration;

use crate::config::QueueUrls;
use crate::usage::Usage;
use crate::{build_err, sdk_err, Sdk};

/// SQS takes at most ten messages per batch request.
const BATCH: usize = 10;
/// The longest delay SQS allows on a message.
const MAX_DELAY: Duration = Duration::from_secs(900);
/// The longest visibility timeout SQS allows.
const MAX_VISIBILITY: u64 = 43_200;

#[derive(Clone)]
pub struct SqsQueues {
    client: aws_sdk_sqs::Client,
    urls: Arc<QueueUrls>,
    usage: Arc<Usage>,
    /// Receives after which `retry` parks a message in the DLQ.
    max_attempts: u32,
    /// How long `receive` waits for a message (long polling).
    wait: Duration,
}

fn text(v: &str) -> MessageAttributeValue {
    MessageAttributeValue::builder()
        .data_type("String")
        .string_value(v)
        .build()
        .expect("type is set")
}

fn attributes(e: &Envelope) -> std::collections::HashMap<String, MessageAttributeValue> {
    let mut a = std::collections::HashMap::from([
        (
            "event_type".to_string(),
            text(&format!("{:?}", e.event_type)),
        ),
        (
            "envelope_version".to_string(),
            MessageAttributeValue::builder()
                .data_type("Number")
                .string_value(e.version.to_string())
                .build()
                .expect("type is set"),
        ),
        ("correlation_id".to_string(), text(&e.correlation_id)),
    ]);
    if let Some(o) = &e.order_id {
        a.insert("order_id".into(), text(o.as_str()));
    }
    a
}

impl SqsQueues {
    pub fn new(sdk: &Sdk, urls: QueueUrls, max_attempts: u32) -> SqsQueues {
        SqsQueues {
            client: aws_sdk_sqs::Client::new(&sdk.config),
            urls: Arc::new(urls),
            usage: sdk.usage.clone(),
            max_attempts,
            wait: Duration::from_secs(1),
        }
    }

    pub fn urls(&self) -> &QueueUrls {
        &self.urls
    }

    fn url(&self, queue: QueueName) -> Result<&str, StoreError> {
        self.urls.get(queue).map(|u| u.url.as_str()).ok_or_else(|| {
            StoreError::refused(format!("no URL configured for queue {}", queue.as_str()))
        })
    }

    fn dlq(&self, queue: QueueName) -> Result<&str, StoreError> {
        self.urls.get(queue).map(|u| u.dlq.as_str()).ok_or_else(|| {
            StoreError::refused(format!(
                "no dead-letter queue configured for {}",
                queue.as_str()
            ))
        })
    }

    /// Sends `events` to their queues, ten per request. Entries SQS refused
    /// are sent once more; any still refused fail the whole call, so that
    /// the caller (the relay) retries: consumers are idempotent.
    pub async fn send_all(&self, events: &[Envelope], delay: Duration) -> Result<(), StoreError> {
        let mut by_queue: std::collections::BTreeMap<&str, Vec<&Envelope>> = Default::default();
        for e in events {
            by_queue
                .entry(e.event_type.queue().as_str())
                .or_default()
                .push(e);
        }
        let delay = delay.min(MAX_DELAY).as_secs() as i32;
        for (queue, events) in by_queue {
            let url = self.url(QueueName::parse(queue).expect("a queue name"))?;
            for chunk in events.chunks(BATCH) {
                let mut pending: Vec<&Envelope> = chunk.to_vec();
                for attempt in 0..2 {
                    let entries = pending
                        .iter()
                        .enumerate()
                        .map(|(i, e)| {
                            SendMessageBatchRequestEntry::builder()
                                .id(i.to_string())
                                .message_body(e.to_json())
                                .set_message_attributes(Some(attributes(e)))
                                .delay_seconds(delay)
                                .build()
                                .map_err(|e| build_err("building a message", e))
                        })
                        .collect::<Result<Vec<_>, _>>()?;
                    self.usage.add_sqs(1);
                    let out = self
                        .client
                        .send_message_batch()
                        .queue_url(url)
                        .set_entries(Some(entries))
                        .send()
                        .await
                        .map_err(|e| sdk_err("sending messages", e))?;
                    if out.failed.is_empty() {
                        break;
                    }
                    let failed: Vec<String> = out
                        .failed
                        .iter()
                        .map(|f| format!("{} {}", f.code, f.message.clone().unwrap_or_default()))
                        .collect();
                    if attempt == 1 {
                        return Err(StoreError::unavailable(format!(
                            "SQS refused {} of {} messages: {}",
                            failed.len(),
                            pending.len(),
                            failed.join("; ")
                        )));
                    }
                    tracing::warn!(queue, refused = ?failed, "SQS refused messages in a batch; sending them again");
                    pending = out
                        .failed
                        .iter()
                        .filter_map(|f| f.id.parse::<usize>().ok())
                        .filter_map(|i| pending.get(i).copied())
                        .collect();
                }
            }
        }
        Ok(())
    }

    /// Moves a message to its queue's DLQ: send there, then delete here.
    pub async fn park(
        &self,
        queue: QueueName,
        body: &str,
        receipt: Option<&str>,
        reason: &str,
    ) -> Result<(), StoreError> {
        self.usage.add_sqs(1);
        self.client
            .send_message()
            .queue_url(self.dlq(queue)?)
            .message_body(body)
            .message_attributes(
                "error",
                text(&reason.chars().take(1000).collect::<String>()),
            )
            .send()
            .await
            .map_err(|e| sdk_err("dead-lettering a message", e))?;
        if let Some(receipt) = receipt {
            self.usage.add_sqs(1);
            self.client
                .delete_message()
                .queue_url(self.url(queue)?)
                .receipt_handle(receipt)
                .send()
                .await
                .map_err(|e| sdk_err("deleting a message", e))?;
        }
        Ok(())
    }

    /// Approximate number of messages waiting in each queue and its DLQ.
    pub async fn depths(&self) -> Result<Vec<(QueueName, u64, u64)>, StoreError> {
        use aws_sdk_sqs::types::QueueAttributeName as A;
        let mut out = Vec::new();
        let mut queues: Vec<_> = self.urls.queues().collect();
        queues.sort_by_key(|(q, _)| q.as_str());
        for (q, u) in queues {
            let mut n = [0u64; 2];
            for (i, url) in [&u.url, &u.dlq].into_iter().enumerate() {
                let a = self
                    .client
                    .get_queue_attributes()
                    .queue_url(url)
                    .attribute_names(A::ApproximateNumberOfMessages)
                    .send()
                    .await
                    .map_err(|e| sdk_err("reading queue attributes", e))?;
                n[i] = a
                    .attributes
                    .and_then(|mut m| m.remove(&A::ApproximateNumberOfMessages))
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(0);
            }
            out.push((q, n[0], n[1]));
        }
        Ok(out)
    }

    /// Moves every message in `queue`'s DLQ back to `queue`; returns how many.
    pub async fn redrive(&self, queue: QueueName) -> Result<usize, StoreError> {
        let (url, dlq) = (self.url(queue)?.to_string(), self.dlq(queue)?.to_string());
        let mut moved = 0;
        loop {
            let got = self
                .client
                .receive_message()
                .queue_url(&dlq)
                .max_number_of_messages(BATCH as i32)
                .send()
                .await
                .map_err(|e| sdk_err("reading dead letters", e))?;
            let messages = got.messages.unwrap_or_default();
            if messages.is_empty() {
                return Ok(moved);
            }
            for m in messages {
                self.client
                    .send_message()
                    .queue_url(&url)
                    .message_body(m.body.unwrap_or_default())
                    .send()
                    .await
                    .map_err(|e| sdk_err("redriving a message", e))?;
                self.client
                    .delete_message()
                    .queue_url(&dlq)
                    .receipt_handle(m.receipt_handle.unwrap_or_default())
                    .send()
                    .await
                    .map_err(|e| sdk_err("deleting a dead letter", e))?;
                moved += 1;
            }
        }
    }
}

#[async_trait]
impl Publisher for SqsQueues {
    async fn publish(&self, event: Envelope, delay: Duration) -> Result<(), StoreError> {
        self.send_all(std::slice::from_ref(&event), delay).await
    }
    async fn publish_all(&self, events: Vec<Envelope>) -> Result<(), StoreError> {
        self.send_all(&events, Duration::ZERO).await
    }
}

#[async_trait]
impl DeadLetters for SqsQueues {
    async fn park(&self, queue: QueueName, body: &str, reason: &str) -> Result<(), StoreError> {
        SqsQueues::park(self, queue, body, None, reason).await
    }
}

#[async_trait]
impl Consumer for SqsQueues {
    async fn receive(&self, queue: QueueName, max: usize) -> Result<Vec<Delivery>, StoreError> {
        self.usage.add_sqs(1);
        let out = self
            .client
            .receive_message()
            .queue_url(self.url(queue)?)
            .max_number_of_messages(max.clamp(1, BATCH) as i32)
            .wait_time_seconds(self.wait.as_secs() as i32)
            .message_system_attribute_names(MessageSystemAttributeName::ApproximateReceiveCount)
            .send()
            .await
            .map_err(|e| sdk_err("receiving messages", e))?;
        Ok(out
            .messages
            .unwrap_or_default()
            .into_iter()
            .map(|m| Delivery {
                queue,
                attempts: m
                    .attributes
                    .as_ref()
                    .and_then(|a| a.get(&MessageSystemAttributeName::ApproximateReceiveCount))
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(1),
                receipt: m.receipt_handle.unwrap_or_default(),
                body: m.body.unwrap_or_default(),
            })
            .collect())
    }

    async fn ack(&self, delivery: &Delivery) -> Result<(), StoreError> {
        self.usage.add_sqs(1);
        self.client
            .delete_message()
            .queue_url(self.url(delivery.queue)?)
            .receipt_handle(&delivery.receipt)
            .send()
            .await
            .map_err(|e| sdk_err("deleting a message", e))?;
        Ok(())
    }

    async fn retry(
        &self,
        delivery: &Delivery,
        delay: Duration,
        error: &str,
    ) -> Result<(), StoreError> {
        if delivery.attempts >= self.max_attempts {
            return self
                .dead_letter(
                    delivery,
                    &format!("gave up after {} attempts: {error}", delivery.attempts),
                )
                .await;
        }
        self.usage.add_sqs(1);
        self.client
            .change_message_visibility()
            .queue_url(self.url(delivery.queue)?)
            .receipt_handle(&delivery.receipt)
            .visibility_timeout(delay.as_secs().min(MAX_VISIBILITY) as i32)
            .send()
            .await
            .map_err(|e| sdk_err("delaying a message", e))?;
        Ok(())
    }

    async fn dead_letter(&self, delivery: &Delivery, reason: &str) -> Result<(), StoreError> {
        self.park(
            delivery.queue,
            &delivery.body,
            Some(&delivery.receipt),
            reason,
        )
        .await
    }
}
