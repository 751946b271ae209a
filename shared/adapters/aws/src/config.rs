//! Where the backend's resources are: the table name and the queue URLs.
//! Lambdas read them from environment variables (set by the SAM template,
//! read by `oms-runtime`'s configuration); `oms` looks them up by name under
//! a prefix.

use oms_domain::event::QueueName;
use std::collections::HashMap;

/// The URLs of a queue and of its dead-letter queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueUrl {
    pub url: String,
    pub dlq: String,
}

#[derive(Debug, Clone, Default)]
pub struct QueueUrls(HashMap<QueueName, QueueUrl>);

impl QueueUrls {
    pub fn insert(&mut self, queue: QueueName, url: QueueUrl) {
        self.0.insert(queue, url);
    }
    pub fn get(&self, queue: QueueName) -> Option<&QueueUrl> {
        self.0.get(&queue)
    }
    /// The queue whose URL (or DLQ URL) is `url`, if it is one of ours.
    pub fn by_url(&self, url: &str) -> Option<QueueName> {
        self.0
            .iter()
            .find(|(_, u)| u.url == url || u.dlq == url)
            .map(|(q, _)| *q)
    }
    pub fn queues(&self) -> impl Iterator<Item = (QueueName, &QueueUrl)> {
        self.0.iter().map(|(q, u)| (*q, u))
    }
}

/// The names of the environment variables holding a queue's URLs, e.g.
/// `OMS_RESERVE_QUEUE_URL` and `OMS_RESERVE_DLQ_URL`.
pub fn queue_vars(queue: QueueName) -> (String, String) {
    let stem = queue.as_str().to_uppercase().replace('-', "_");
    (
        format!("OMS_{stem}_QUEUE_URL"),
        format!("OMS_{stem}_DLQ_URL"),
    )
}

#[derive(Debug, Clone)]
pub struct AwsConfig {
    /// The one DynamoDB table (`OMS_TABLE`).
    pub table: String,
    pub queues: QueueUrls,
}
