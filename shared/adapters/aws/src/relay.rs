//! The outbox relay: reads the table's stream and sends the events each
//! write carried (the `outbox` attribute of its new image) to SQS. In AWS a
//! Lambda subscribed to the stream does this (`functions/relay`); locally
//! [`StreamRelay`] polls the stream the same way.
//!
//! A record is relayed when its new image carries an outbox that its old
//! image did not: writes that leave the attribute as it was (say, marking an
//! invoice emailed) relay nothing. Relaying is at least once; every consumer
//! is idempotent.

use aws_sdk_dynamodbstreams::types::{AttributeValue, ShardIteratorType};
use oms_domain::StoreError;
use std::collections::{HashMap, HashSet};
use std::time::Duration;
use tokio::sync::watch;

use crate::outbox::{outbox_of_images, OUTBOX};
use crate::sqs::SqsQueues;
use crate::{sdk_err, Sdk};

fn outbox_attr(image: Option<&HashMap<String, AttributeValue>>) -> Option<&str> {
    match image?.get(OUTBOX)? {
        AttributeValue::S(s) => Some(s),
        _ => None,
    }
}

/// Polls a table's stream and relays outboxes to SQS, until shutdown.
pub struct StreamRelay {
    dynamodb: aws_sdk_dynamodb::Client,
    streams: aws_sdk_dynamodbstreams::Client,
    table: String,
    queues: SqsQueues,
}

/// How often an idle shard is read again.
const IDLE: Duration = Duration::from_millis(100);

impl StreamRelay {
    pub fn new(sdk: &Sdk, table: &str, queues: SqsQueues) -> StreamRelay {
        StreamRelay {
            dynamodb: aws_sdk_dynamodb::Client::new(&sdk.config),
            streams: aws_sdk_dynamodbstreams::Client::new(&sdk.config),
            table: table.to_string(),
            queues,
        }
    }

    async fn stream_arn(&self) -> Result<String, StoreError> {
        let t = self
            .dynamodb
            .describe_table()
            .table_name(&self.table)
            .send()
            .await
            .map_err(|e| sdk_err("describing the table", e))?;
        t.table.and_then(|t| t.latest_stream_arn).ok_or_else(|| {
            StoreError::unavailable(format!(
                "table {} has no stream (run `oms aws init`)",
                self.table
            ))
        })
    }

    /// Reads from the oldest record the stream keeps: after a restart some
    /// events are sent again rather than any being lost.
    pub async fn run(self, mut shutdown: watch::Receiver<bool>) {
        let mut iterators: HashMap<String, Option<String>> = HashMap::new();
        let mut done: HashSet<String> = HashSet::new();
        let mut arn = None;
        let mut last_describe = std::time::Instant::now() - Duration::from_secs(60);
        while !*shutdown.borrow() {
            if let Err(e) = self
                .step(&mut arn, &mut iterators, &mut done, &mut last_describe)
                .await
            {
                tracing::error!(error = %e, "relaying the outbox failed; will retry");
                tokio::select! {
                    _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                    _ = shutdown.changed() => {}
                }
                continue;
            }
            tokio::select! {
                _ = tokio::time::sleep(IDLE) => {}
                _ = shutdown.changed() => {}
            }
        }
    }

    async fn step(
        &self,
        arn: &mut Option<String>,
        iterators: &mut HashMap<String, Option<String>>,
        done: &mut HashSet<String>,
        last_describe: &mut std::time::Instant,
    ) -> Result<(), StoreError> {
        let streams = &self.streams;
        if arn.is_none() {
            *arn = Some(self.stream_arn().await?);
        }
        let stream = arn.clone().unwrap_or_default();
        // New shards appear as the stream rolls over; look for them now and then.
        if last_describe.elapsed() > Duration::from_secs(2) {
            *last_describe = std::time::Instant::now();
            let d = streams
                .describe_stream()
                .stream_arn(&stream)
                .send()
                .await
                .map_err(|e| sdk_err("describing the stream", e))?;
            for shard in d
                .stream_description
                .and_then(|s| s.shards)
                .unwrap_or_default()
            {
                let id = shard.shard_id.unwrap_or_default();
                if !done.contains(&id) && !iterators.contains_key(&id) {
                    let it = streams
                        .get_shard_iterator()
                        .stream_arn(&stream)
                        .shard_id(&id)
                        .shard_iterator_type(ShardIteratorType::TrimHorizon)
                        .send()
                        .await
                        .map_err(|e| sdk_err("opening a shard", e))?;
                    iterators.insert(id, it.shard_iterator);
                }
            }
        }
        let shards: Vec<String> = iterators.keys().cloned().collect();
        for shard in shards {
            let Some(Some(iterator)) = iterators.get(&shard).cloned() else {
                iterators.remove(&shard);
                done.insert(shard);
                continue;
            };
            let out = match streams.get_records().shard_iterator(iterator).send().await {
                Ok(out) => out,
                // An iterator lives 15 minutes, and one behind the stream's
                // retention (or one DynamoDB Local has trimmed) can never be
                // read again: open the shard afresh from its oldest record
                // (some events are sent again; consumers are idempotent).
                Err(e)
                    if e.as_service_error().is_some_and(|s| {
                        s.is_expired_iterator_exception() || s.is_trimmed_data_access_exception()
                    }) =>
                {
                    tracing::warn!(
                        shard,
                        "stream iterator expired or trimmed; reopening the shard"
                    );
                    iterators.remove(&shard);
                    *last_describe = std::time::Instant::now() - Duration::from_secs(60);
                    continue;
                }
                Err(e) => return Err(sdk_err("reading the stream", e)),
            };
            let mut events = Vec::new();
            for r in out.records.unwrap_or_default() {
                if let Some(d) = r.dynamodb {
                    events.extend(outbox_of_images(
                        outbox_attr(d.new_image.as_ref()),
                        outbox_attr(d.old_image.as_ref()),
                    )?);
                }
            }
            // Only advance past records once their events are in SQS.
            self.queues.send_all(&events, Duration::ZERO).await?;
            iterators.insert(shard, out.next_shard_iterator);
        }
        Ok(())
    }
}
