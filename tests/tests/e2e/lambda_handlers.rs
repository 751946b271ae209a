//! The Lambda side, driven with the events AWS delivers: an SQS batch answers
//! with exactly the records to retry and parks permanent failures in the DLQ;
//! the stream relay sends what a write's outbox carried; a function whose
//! configuration is incomplete refuses to start and names what is missing.

use aws_lambda_events::event::sqs::{SqsEvent, SqsMessage};
use oms_aws::SqsQueues;
use oms_domain::event::{Envelope, EventType, QueueName};
use oms_domain::ports::Consumer;
use oms_domain::{OrderId, StageError};
use oms_runtime::Env;
use oms_tests::aws::aws_env;
use std::time::Duration;

fn message(id: &str, body: &str) -> SqsMessage {
    let mut m = SqsMessage::default();
    m.message_id = Some(id.to_string());
    m.body = Some(body.to_string());
    m
}

fn event(order: &str) -> Envelope {
    Envelope::new(
        EventType::OrderCaptured,
        Some(OrderId(order.to_string())),
        "c",
        jiff::Timestamp::now(),
    )
}

async fn dead_letters(queues: &SqsQueues, queue: QueueName) -> Vec<String> {
    let (_, dlq) = (queue, queues.urls().get(queue).unwrap().dlq.clone());
    let mut urls = oms_aws::QueueUrls::default();
    // Read the DLQ as a queue of its own.
    urls.insert(
        queue,
        oms_aws::QueueUrl {
            url: dlq.clone(),
            dlq,
        },
    );
    let reader = SqsQueues::new(&oms_aws::Sdk::from_env().await, urls, 10);
    let mut bodies = Vec::new();
    for _ in 0..3 {
        for d in reader.receive(queue, 10).await.unwrap() {
            bodies.push(d.body);
        }
    }
    bodies
}

#[tokio::test]
async fn a_batch_reports_only_transient_failures_and_parks_permanent_ones() {
    let env = aws_env().await;
    let queues = SqsQueues::new(&env.sdk, env.resources.queues.clone(), u32::MAX);
    let mut batch = SqsEvent::default();
    batch.records = vec![
        message("m-ok", &event("ord_ok").to_json()),
        message("m-busy", &event("ord_busy").to_json()),
        message("m-bad", &event("ord_bad").to_json()),
        message("m-garbage", "{not json"),
    ];
    let handle = |e: Envelope| async move {
        match e.order_id.as_ref().map(|o| o.as_str()) {
            Some("ord_busy") => Err(StageError::transient("table busy")),
            Some("ord_bad") => Err(StageError::permanent("unknown order ord_bad")),
            _ => Ok(()),
        }
    };
    let response = oms_lambda::sqs::handle_batch(&queues, QueueName::Reserve, batch, &handle).await;
    let retried: Vec<&str> = response
        .batch_item_failures
        .iter()
        .map(|f| f.item_identifier.as_str())
        .collect();
    assert_eq!(retried, ["m-busy"]);
    let mut parked = dead_letters(&queues, QueueName::Reserve).await;
    parked.sort();
    assert_eq!(parked.len(), 2, "{parked:?}");
    assert!(parked.iter().any(|b| b.contains("ord_bad")));
    assert!(parked.iter().any(|b| b == "{not json"));
}

#[tokio::test]
async fn the_relay_sends_what_a_new_image_carries_and_nothing_else() {
    let env = aws_env().await;
    let queues = SqsQueues::new(&env.sdk, env.resources.queues.clone(), 10);
    let e = event("ord_relay");
    let outbox = format!("[{}]", e.to_json());
    let record = |new: Option<&str>, old: Option<&str>| {
        let image = |v: Option<&str>| match v {
            Some(v) => serde_json::json!({"pk": {"S": "order#ord_relay"}, "outbox": {"S": v}}),
            None => serde_json::json!({"pk": {"S": "order#ord_relay"}}),
        };
        serde_json::json!({
            "eventID": "1", "eventName": "MODIFY", "eventVersion": "1.1", "eventSource": "aws:dynamodb",
            "awsRegion": "us-east-1",
            "dynamodb": {"Keys": {"pk": {"S": "order#ord_relay"}}, "NewImage": image(new), "OldImage": image(old),
                         "SequenceNumber": "1", "SizeBytes": 10, "StreamViewType": "NEW_AND_OLD_IMAGES"},
            "eventSourceARN": "arn:aws:dynamodb:us-east-1:000000000000:table/t/stream/x"
        })
    };
    let stream_event: aws_lambda_events::event::dynamodb::Event = serde_json::from_value(serde_json::json!({
        "Records": [record(Some(&outbox), None), record(Some(&outbox), Some(&outbox)), record(None, Some(&outbox))]
    }))
    .unwrap();
    let sent = oms_lambda::relay::relay_batch(&queues, stream_event)
        .await
        .unwrap();
    assert_eq!(sent, 1);
    let got = queues.receive(QueueName::Reserve, 10).await.unwrap();
    assert_eq!(got.len(), 1);
    assert_eq!(Envelope::from_json(&got[0].body).unwrap(), e);
    tokio::time::sleep(Duration::from_millis(100)).await;
}

#[test]
fn incomplete_configuration_names_every_missing_variable() {
    let err = oms_lambda::config::api(Env::default())
        .unwrap_err()
        .to_string();
    for variable in [
        "OMS_TABLE",
        "OMS_API_KEYS",
        "OMS_STRIPE_WEBHOOK_SECRET",
        "OMS_SELLER_NAME",
        "OMS_SELLER_VAT_ID",
        "OMS_MAIL_FROM",
    ] {
        assert!(err.contains(variable), "{variable} in {err}");
    }
}

#[tokio::test]
async fn a_missing_table_dead_letters_at_once_instead_of_retrying() {
    let env = aws_env().await;
    let sdk = oms_aws::Sdk::from_env().await;
    let missing = oms_aws::DynamoStore::new(&sdk, "oms-no-such-table", None);
    let queues = SqsQueues::new(&env.sdk, env.resources.queues.clone(), u32::MAX);
    let mut batch = SqsEvent::default();
    batch.records = vec![message("m-1", &event("ord_1").to_json())];
    let handle = |e: Envelope| {
        let missing = &missing;
        async move { oms_reserve::handle(missing, &e).await }
    };
    let response = oms_lambda::sqs::handle_batch(&queues, QueueName::Reserve, batch, &handle).await;
    assert!(response.batch_item_failures.is_empty(), "not retried");
    let parked = dead_letters(&queues, QueueName::Reserve).await;
    assert_eq!(parked.len(), 1, "{parked:?}");
}

#[tokio::test]
async fn serving_on_aws_refuses_to_start_and_names_what_is_missing() {
    let _env = aws_env().await;
    let sdk = oms_aws::Sdk::from_env().await;
    let err = oms_aws::check(&sdk, "oms-never-created").await.unwrap_err();
    let text = err.to_string();
    assert!(!err.is_transient(), "{text}");
    for missing in [
        "table oms-never-created",
        "queue oms-never-created-reserve",
        "queue oms-never-created-reconcile-dlq",
    ] {
        assert!(text.contains(missing), "{missing} in {text}");
    }
}

#[tokio::test]
async fn aws_init_is_idempotent() {
    let env = aws_env().await;
    let again = oms_aws::init(&env.sdk, &env.prefix, Some("shop@example.com"))
        .await
        .unwrap();
    assert!(again.created.is_empty(), "{:?}", again.created);
    assert_eq!(again.existing.len(), 1 + 5 + 1, "{:?}", again.existing);
    for queue in oms_aws::QUEUES {
        assert_eq!(again.queues.get(queue), env.resources.queues.get(queue));
    }
}
