//! The outbox relay as a Lambda on the table's stream: the events each write
//! carried go to their SQS queues. A failure fails the batch, which the
//! stream delivers again (relaying is at least once).

use aws_lambda_events::event::dynamodb::Event;
use lambda_runtime::{service_fn, LambdaEvent};
use oms_domain::ports::Publisher;
use oms_domain::StoreError;

fn outbox(image: &serde_dynamo::Item) -> Option<String> {
    match image.get(oms_aws::OUTBOX)? {
        serde_dynamo::AttributeValue::S(s) => Some(s.clone()),
        _ => None,
    }
}

/// Sends the new outboxes of a stream batch; returns how many events.
pub async fn relay_batch(queues: &dyn Publisher, event: Event) -> Result<usize, StoreError> {
    let mut events = Vec::new();
    for record in event.records {
        let new = outbox(&record.change.new_image);
        let old = outbox(&record.change.old_image);
        events.extend(oms_aws::outbox_of_images(new.as_deref(), old.as_deref())?);
    }
    let n = events.len();
    queues.publish_all(events).await?;
    Ok(n)
}

pub async fn serve(queues: impl Publisher) -> Result<(), lambda_runtime::Error> {
    let queues = &queues;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Event>| async move {
        let n = relay_batch(queues, event.payload)
            .await
            .map_err(crate::HandlerError::from)?;
        tracing::info!(relayed = n, "outbox relayed");
        Ok::<_, crate::HandlerError>(())
    }))
    .await
}
