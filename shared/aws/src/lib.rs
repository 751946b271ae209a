//! The AWS backend: the same ports as `oms-embedded`, on DynamoDB (state and
//! the transactional outbox), DynamoDB Streams (the outbox relay), SQS (the
//! queues between stages) and SES v2 (email).
//!
//! Clients are built from the environment the AWS SDK way (`AWS_REGION`,
//! `AWS_ENDPOINT_URL`, `AWS_ENDPOINT_URL_DYNAMODB`, ...) without any network
//! call: a Lambda's init never waits on AWS.

mod config;
mod dynamo;
mod items;
mod relay;
mod schema;
mod ses;
mod sqs;
mod usage;

pub use config::{queue_vars, AwsConfig, ConfigError, QueueUrl, QueueUrls};
pub use dynamo::DynamoStore;
pub use relay::{outbox_of_images, StreamRelay};
pub use schema::{find_queues, init, queue_name, InitReport, TableSpec, GSIS, QUEUES};
pub use schema::{CONSUMER_TIMEOUT_SECONDS, MAX_RECEIVE_COUNT, VISIBILITY_TIMEOUT_SECONDS};
pub use ses::SesMailer;
pub use sqs::SqsQueues;
pub use usage::{Usage, UsageCounts};

use oms_domain::StoreError;
use std::sync::Arc;

/// The SDK clients, built once and shared (they are cheap to clone).
#[derive(Clone)]
pub struct Clients {
    pub dynamodb: aws_sdk_dynamodb::Client,
    pub streams: aws_sdk_dynamodbstreams::Client,
    pub sqs: aws_sdk_sqs::Client,
    pub ses: aws_sdk_sesv2::Client,
    /// What the clients have consumed, for cost figures.
    pub usage: Arc<Usage>,
}

impl Clients {
    /// Reads region, endpoints and credentials from the environment. Makes
    /// no network call: credentials are resolved on first use.
    pub async fn from_env() -> Clients {
        let shared = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
        Clients {
            dynamodb: aws_sdk_dynamodb::Client::new(&shared),
            streams: aws_sdk_dynamodbstreams::Client::new(&shared),
            sqs: aws_sdk_sqs::Client::new(&shared),
            ses: aws_sdk_sesv2::Client::new(&shared),
            usage: Arc::new(Usage::default()),
        }
    }
}

/// Every SDK failure that is not a business outcome is "try again later".
pub(crate) fn unavailable(what: &str, e: impl std::fmt::Display) -> StoreError {
    StoreError::Unavailable(format!("{what}: {e}"))
}

/// The full chain of an SDK error (its `Display` alone is "service error").
pub(crate) fn sdk_err<E: std::error::Error>(what: &str, e: E) -> StoreError {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    StoreError::Unavailable(format!("{what}: {text}"))
}
