//! Creating, finding and checking the AWS backend's resources (`oms aws
//! init|queues|redrive`, `oms serve --backend aws`).

use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection,
    ProjectionType, ScalarAttributeType, StreamSpecification, StreamViewType,
    TimeToLiveSpecification,
};
use oms_domain::event::QueueName;
use oms_domain::StoreError;
use std::collections::HashMap;

use crate::config::{QueueUrl, QueueUrls};
use crate::schema::*;
use crate::{build_err, sdk_err, Sdk};

/// The SDK clients the admin work uses.
struct Clients {
    dynamodb: aws_sdk_dynamodb::Client,
    sqs: aws_sdk_sqs::Client,
    ses: aws_sdk_sesv2::Client,
}

impl Clients {
    fn new(sdk: &Sdk) -> Clients {
        Clients {
            dynamodb: aws_sdk_dynamodb::Client::new(&sdk.config),
            sqs: aws_sdk_sqs::Client::new(&sdk.config),
            ses: aws_sdk_sesv2::Client::new(&sdk.config),
        }
    }
}

/// What `init` found and did.
#[derive(Debug, Default)]
pub struct InitReport {
    pub created: Vec<String>,
    pub existing: Vec<String>,
    pub table: String,
    pub queues: QueueUrls,
}

fn key(name: &str, kind: KeyType) -> KeySchemaElement {
    KeySchemaElement::builder()
        .attribute_name(name)
        .key_type(kind)
        .build()
        .expect("name and type are set")
}

fn attribute(name: &str, kind: ScalarAttributeType) -> AttributeDefinition {
    AttributeDefinition::builder()
        .attribute_name(name)
        .attribute_type(kind)
        .build()
        .expect("name and type are set")
}

/// Creates the table `prefix` and the queues `prefix-<stage>` (plus
/// `prefix-warehouse-sim` for the simulated warehouse) unless they exist,
/// and asks SES to verify `sender` (AWS then emails it a link to click).
pub async fn init(sdk: &Sdk, prefix: &str, sender: Option<&str>) -> Result<InitReport, StoreError> {
    let clients = &Clients::new(sdk);
    let mut report = InitReport {
        table: prefix.to_string(),
        ..InitReport::default()
    };
    create_table(clients, prefix, &mut report).await?;
    for queue in QUEUES.into_iter().chain([QueueName::WarehouseSim]) {
        let urls = create_queue(clients, &queue_name(prefix, queue), &mut report).await?;
        report.queues.insert(queue, urls);
    }
    if let Some(sender) = sender {
        let known = clients
            .ses
            .get_email_identity()
            .email_identity(sender)
            .send()
            .await
            .is_ok();
        if known {
            report.existing.push(format!("SES identity {sender}"));
        } else {
            match clients
                .ses
                .create_email_identity()
                .email_identity(sender)
                .send()
                .await
            {
                Ok(_) => report
                    .created
                    .push(format!("SES identity {sender} (verification pending)")),
                Err(e)
                    if e.as_service_error()
                        .is_some_and(|s| s.is_already_exists_exception()) =>
                {
                    report.existing.push(format!("SES identity {sender}"))
                }
                Err(e) => return Err(sdk_err("creating the SES identity", e)),
            }
        }
    }
    Ok(report)
}

async fn create_table(
    clients: &Clients,
    table: &str,
    report: &mut InitReport,
) -> Result<(), StoreError> {
    let mut attributes = vec![attribute(KEY, ScalarAttributeType::S)];
    let mut indexes = Vec::new();
    for gsi in GSIS {
        // Day and marker keys are strings, time keys numbers.
        attributes.push(attribute(gsi.partition, ScalarAttributeType::S));
        let mut keys = vec![key(gsi.partition, KeyType::Hash)];
        if let Some(sort) = gsi.sort {
            attributes.push(attribute(sort, ScalarAttributeType::N));
            keys.push(key(sort, KeyType::Range));
        }
        let projection = if gsi.projected.is_empty() {
            Projection::builder().projection_type(ProjectionType::KeysOnly)
        } else {
            Projection::builder()
                .projection_type(ProjectionType::Include)
                .set_non_key_attributes(Some(gsi.projected.iter().map(|s| s.to_string()).collect()))
        };
        indexes.push(
            GlobalSecondaryIndex::builder()
                .index_name(gsi.index)
                .set_key_schema(Some(keys))
                .projection(projection.build())
                .build()
                .map_err(|e| build_err("index definition", e))?,
        );
    }
    let created = clients
        .dynamodb
        .create_table()
        .table_name(table)
        .billing_mode(BillingMode::PayPerRequest)
        .set_attribute_definitions(Some(attributes))
        .key_schema(key(KEY, KeyType::Hash))
        .set_global_secondary_indexes(Some(indexes))
        .stream_specification(
            StreamSpecification::builder()
                .stream_enabled(true)
                .stream_view_type(StreamViewType::NewAndOldImages)
                .build()
                .map_err(|e| build_err("stream definition", e))?,
        )
        .send()
        .await;
    match created {
        Ok(_) => report.created.push(format!("table {table}")),
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_resource_in_use_exception()) =>
        {
            report.existing.push(format!("table {table}"))
        }
        Err(e) => return Err(sdk_err("creating the table", e)),
    }
    // Setting TTL again to the same attribute is refused; that is "done".
    let ttl = clients
        .dynamodb
        .update_time_to_live()
        .table_name(table)
        .time_to_live_specification(
            TimeToLiveSpecification::builder()
                .enabled(true)
                .attribute_name(TTL_ATTRIBUTE)
                .build()
                .map_err(|e| build_err("TTL definition", e))?,
        )
        .send()
        .await;
    if let Err(e) = ttl {
        let text = format!("{:?}", e);
        if !text.contains("already enabled") && !text.contains("TimeToLive is already") {
            return Err(sdk_err("enabling TTL", e));
        }
    }
    Ok(())
}

async fn create_queue(
    clients: &Clients,
    name: &str,
    report: &mut InitReport,
) -> Result<QueueUrl, StoreError> {
    use aws_sdk_sqs::types::QueueAttributeName as A;
    let dlq_name = format!("{name}-dlq");
    let existed = clients
        .sqs
        .get_queue_url()
        .queue_name(name)
        .send()
        .await
        .is_ok();
    let dlq = clients
        .sqs
        .create_queue()
        .queue_name(&dlq_name)
        .attributes(A::MessageRetentionPeriod, DLQ_RETENTION_SECONDS.to_string())
        .send()
        .await
        .map_err(|e| sdk_err("creating a dead-letter queue", e))?
        .queue_url
        .unwrap_or_default();
    let dlq_arn = clients
        .sqs
        .get_queue_attributes()
        .queue_url(&dlq)
        .attribute_names(A::QueueArn)
        .send()
        .await
        .map_err(|e| sdk_err("reading a dead-letter queue", e))?
        .attributes
        .unwrap_or_default()
        .remove(&A::QueueArn)
        .unwrap_or_default();
    let redrive = serde_json::json!({
        "deadLetterTargetArn": dlq_arn,
        "maxReceiveCount": MAX_RECEIVE_COUNT.to_string(),
    })
    .to_string();
    let attributes: HashMap<A, String> = [
        (A::VisibilityTimeout, VISIBILITY_TIMEOUT_SECONDS.to_string()),
        (A::RedrivePolicy, redrive),
    ]
    .into();
    let url = if existed {
        let url = clients
            .sqs
            .get_queue_url()
            .queue_name(name)
            .send()
            .await
            .map_err(|e| sdk_err("finding a queue", e))?
            .queue_url
            .unwrap_or_default();
        clients
            .sqs
            .set_queue_attributes()
            .queue_url(&url)
            .set_attributes(Some(attributes))
            .send()
            .await
            .map_err(|e| sdk_err("updating a queue", e))?;
        report.existing.push(format!("queue {name}"));
        url
    } else {
        let url = clients
            .sqs
            .create_queue()
            .queue_name(name)
            .set_attributes(Some(attributes))
            .send()
            .await
            .map_err(|e| sdk_err("creating a queue", e))?
            .queue_url
            .unwrap_or_default();
        report.created.push(format!("queue {name}"));
        url
    };
    Ok(QueueUrl { url, dlq })
}

/// The URLs of the queues under `prefix`, looked up by name.
pub async fn find_queues(sdk: &Sdk, prefix: &str) -> Result<QueueUrls, StoreError> {
    let clients = &Clients::new(sdk);
    let mut urls = QueueUrls::default();
    for queue in QUEUES.into_iter().chain([QueueName::WarehouseSim]) {
        let name = queue_name(prefix, queue);
        let find = |name: String| async move {
            clients
                .sqs
                .get_queue_url()
                .queue_name(&name)
                .send()
                .await
                .map_err(|e| sdk_err(&format!("finding queue {name} (run `oms aws init`)"), e))
                .map(|o| o.queue_url.unwrap_or_default())
        };
        let url = find(name.clone()).await?;
        let dlq = find(format!("{name}-dlq")).await?;
        urls.insert(queue, QueueUrl { url, dlq });
    }
    Ok(urls)
}

/// Checks that everything `oms serve --backend aws` needs under `prefix`
/// exists: the table, its stream, every queue and its dead-letter queue.
/// Names everything missing at once; returns the queues' URLs.
pub async fn check(sdk: &Sdk, prefix: &str) -> Result<QueueUrls, StoreError> {
    let clients = Clients::new(sdk);
    let mut missing = Vec::new();
    match clients
        .dynamodb
        .describe_table()
        .table_name(prefix)
        .send()
        .await
    {
        Ok(t) => {
            let stream = t.table().and_then(|t| t.latest_stream_arn());
            if stream.is_none() {
                missing.push(format!("the stream of table {prefix}"));
            }
        }
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_resource_not_found_exception()) =>
        {
            missing.push(format!("table {prefix}"))
        }
        Err(e) => return Err(sdk_err(&format!("describing table {prefix}"), e)),
    }
    let mut urls = QueueUrls::default();
    for queue in QUEUES.into_iter().chain([QueueName::WarehouseSim]) {
        let name = queue_name(prefix, queue);
        let mut found = Vec::new();
        for name in [name.clone(), format!("{name}-dlq")] {
            match clients.sqs.get_queue_url().queue_name(&name).send().await {
                Ok(o) => found.push(o.queue_url.unwrap_or_default()),
                Err(e)
                    if e.as_service_error()
                        .is_some_and(|s| s.is_queue_does_not_exist()) =>
                {
                    missing.push(format!("queue {name}"))
                }
                Err(e) => return Err(sdk_err(&format!("finding queue {name}"), e)),
            }
        }
        if let Ok([url, dlq]) = <[String; 2]>::try_from(found) {
            urls.insert(queue, QueueUrl { url, dlq });
        }
    }
    if missing.is_empty() {
        Ok(urls)
    } else {
        Err(StoreError::refused(format!(
            "missing on AWS: {} (create them with `oms aws init --prefix {prefix}`)",
            missing.join(", ")
        )))
    }
}
