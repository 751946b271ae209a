//! Counts of what the backend consumed: DynamoDB capacity units as the
//! service reports them (`ReturnConsumedCapacity`), SQS requests and SES
//! emails. `oms bench --backend aws` turns them into cost per order.

use std::sync::atomic::{AtomicU64, Ordering};

/// Capacity is kept in thousandths of a unit so that halves add up exactly.
#[derive(Debug, Default)]
pub struct Usage {
    write_milli: AtomicU64,
    read_milli: AtomicU64,
    sqs_requests: AtomicU64,
    ses_emails: AtomicU64,
}

#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct UsageCounts {
    pub write_units: f64,
    pub read_units: f64,
    pub sqs_requests: u64,
    pub ses_emails: u64,
}

impl Usage {
    pub fn add_write(&self, units: f64) {
        self.write_milli
            .fetch_add((units * 1000.0).round() as u64, Ordering::Relaxed);
    }
    pub fn add_read(&self, units: f64) {
        self.read_milli
            .fetch_add((units * 1000.0).round() as u64, Ordering::Relaxed);
    }
    pub fn add_sqs(&self, requests: u64) {
        self.sqs_requests.fetch_add(requests, Ordering::Relaxed);
    }
    /// SES bills each recipient of a message as one email.
    pub fn add_ses(&self, recipients: u64) {
        self.ses_emails.fetch_add(recipients, Ordering::Relaxed);
    }
    pub fn snapshot(&self) -> UsageCounts {
        UsageCounts {
            write_units: self.write_milli.load(Ordering::Relaxed) as f64 / 1000.0,
            read_units: self.read_milli.load(Ordering::Relaxed) as f64 / 1000.0,
            sqs_requests: self.sqs_requests.load(Ordering::Relaxed),
            ses_emails: self.ses_emails.load(Ordering::Relaxed),
        }
    }
    /// Adds the capacity a DynamoDB write reported (table and indexes).
    #[cfg(feature = "dynamodb")]
    pub(crate) fn wrote(&self, c: Option<&aws_sdk_dynamodb::types::ConsumedCapacity>) {
        self.add_write(c.and_then(|c| c.capacity_units()).unwrap_or(0.0));
    }
    /// Adds the capacity a DynamoDB read reported.
    #[cfg(feature = "dynamodb")]
    pub(crate) fn read(&self, c: Option<&aws_sdk_dynamodb::types::ConsumedCapacity>) {
        self.add_read(c.and_then(|c| c.capacity_units()).unwrap_or(0.0));
    }
}
