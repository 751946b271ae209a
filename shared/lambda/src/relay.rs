//! The outbox relay as a Lambda on the table's stream: the events each write
//! carried go to their SQS queues. A failure fails the batch, which the
//! stream delivers again (relaying is at least once).

use aws_lambda_events::event::dynamodb::Event;
use lambda_runtime::{service_fn, LambdaEvent};
use oms_aws::SqsQueues;
use std::time::Duration;

fn outbox(image: &serde_dynamo::Item) -> Option<String> {
    match image.get("outbox")? {
        serde_dynamo::AttributeValue::S(s) => Some(s.clone()),
        _ => None,
    }
}

pub async fn relay_batch(queues: &SqsQueues, event: Event) -> Result<usize, lambda_runtime::Error> {
    let mut events = Vec::new();
    for record in event.records {
        let new = outbox(&record.change.new_image);
        let old = outbox(&record.change.old_image);
        events.extend(oms_aws::outbox_of_images(new.as_deref(), old.as_deref())?);
    }
    queues.send_all(&events, Duration::ZERO).await?;
    Ok(events.len())
}

pub async fn serve(queues: SqsQueues) -> Result<(), lambda_runtime::Error> {
    let queues = &queues;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Event>| async move {
        let n = relay_batch(queues, event.payload).await?;
        tracing::info!(relayed = n, "outbox relayed");
        Ok::<_, lambda_runtime::Error>(())
    }))
    .await
}
