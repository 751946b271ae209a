//! The resources the AWS backend needs, as data: one DynamoDB table with its
//! indexes and one SQS queue (with a dead-letter queue) per stage. `init`
//! creates them on an emulator or a dev account; `infra/template.yaml`
//! declares the same for deployment, and a test keeps the two in step.

use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection,
    ProjectionType, ScalarAttributeType, StreamSpecification, StreamViewType,
    TimeToLiveSpecification,
};
use oms_domain::event::QueueName;
use oms_domain::StoreError;
use std::collections::HashMap;

use crate::config::{QueueUrl, QueueUrls};
use crate::{sdk_err, Clients};

/// The table's partition key; every item's key is `<kind>#<id>`.
pub const KEY: &str = "pk";
/// Items with this attribute (epoch seconds) are deleted by DynamoDB's TTL.
pub const TTL_ATTRIBUTE: &str = "expires_at";

/// One global secondary index: name, partition key, sort key (a number)
/// and the attributes it projects besides the keys.
#[derive(Debug, Clone, Copy)]
pub struct TableSpec {
    pub index: &'static str,
    pub partition: &'static str,
    pub sort: Option<&'static str>,
    pub projected: &'static [&'static str],
}

/// Every index, each sparse: only items that have its key attributes are in it.
pub const GSIS: [TableSpec; 7] = [
    // Orders waiting for stock, oldest first, with their units per SKU.
    TableSpec {
        index: "backlog",
        partition: "backlog",
        sort: Some("backlog_at"),
        projected: &["units"],
    },
    // Orders by the UTC day they were captured, shipped, backordered, cancelled.
    TableSpec {
        index: "captured",
        partition: "captured_day",
        sort: Some("captured_at"),
        projected: &[],
    },
    TableSpec {
        index: "shipped",
        partition: "shipped_day",
        sort: Some("shipped_at"),
        projected: &["captured_at"],
    },
    TableSpec {
        index: "backordered",
        partition: "backordered_day",
        sort: Some("backordered_at"),
        projected: &[],
    },
    TableSpec {
        index: "cancelled",
        partition: "cancelled_day",
        sort: Some("cancelled_at"),
        projected: &[],
    },
    // Invoices, credit notes, ledger entries and mismatches by UTC day.
    TableSpec {
        index: "facts",
        partition: "fact_day",
        sort: Some("fact_at"),
        projected: &["fact", "currency", "amount"],
    },
    // Invoiced orders with an amount still due.
    TableSpec {
        index: "receivable",
        partition: "receivable",
        sort: None,
        projected: &["currency", "due"],
    },
];

/// The queues of the stages (the simulated warehouse's only for local runs).
pub const QUEUES: [QueueName; 4] = [
    QueueName::Reserve,
    QueueName::Fulfill,
    QueueName::Invoice,
    QueueName::Reconcile,
];

/// A consumer's timeout; the queues' visibility timeout is 6× that, as AWS
/// advises for Lambda event source mappings.
pub const CONSUMER_TIMEOUT_SECONDS: u32 = 30;
pub const VISIBILITY_TIMEOUT_SECONDS: u32 = 6 * CONSUMER_TIMEOUT_SECONDS;
/// Deliveries before SQS moves a message to the dead-letter queue.
pub const MAX_RECEIVE_COUNT: u32 = 5;
/// How long a dead letter is kept (the SQS maximum, 14 days).
pub const DLQ_RETENTION_SECONDS: u32 = 1_209_600;

pub fn queue_name(prefix: &str, queue: QueueName) -> String {
    format!("{prefix}-{}", queue.as_str())
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
pub async fn init(
    clients: &Clients,
    prefix: &str,
    sender: Option<&str>,
) -> Result<InitReport, StoreError> {
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
                .map_err(|e| sdk_err("index definition", e))?,
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
                .map_err(|e| sdk_err("stream definition", e))?,
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
                .map_err(|e| sdk_err("TTL definition", e))?,
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
pub async fn find_queues(clients: &Clients, prefix: &str) -> Result<QueueUrls, StoreError> {
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
