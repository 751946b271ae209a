//! The resources the AWS backend needs, as data: one DynamoDB table with its
//! indexes and one SQS queue (with a dead-letter queue) per stage. `init`
//! (in `admin.rs`) creates them on an emulator or a dev account; `infra/template.yaml`
//! declares the same for deployment, and a test keeps the two in step.

use oms_domain::event::QueueName;

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
    // Orders waiting for stock (`backordered`, with their units per SKU) or
    // for their prepayment (`awaiting_payment`), and unmatched bank
    // transactions (`bank_unmatched`), oldest first.
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
        projected: &["captured_at", "reserved_at", "handed_off_at"],
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
        projected: &["currency", "due", "summary"],
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
