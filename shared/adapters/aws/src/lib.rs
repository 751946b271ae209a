//! The AWS backend: the same ports as `oms-embedded`, on DynamoDB (state and
//! the transactional outbox), DynamoDB Streams (the outbox relay), SQS (the
//! queues between stages) and SES v2 (email).
//!
//! Each service sits behind a cargo feature (`dynamodb`, `sqs`, `ses`,
//! `streams`, `admin`), so a Lambda links only the clients it calls. Clients
//! are built from the environment the AWS SDK way (`AWS_REGION`,
//! `AWS_ENDPOINT_URL`, `AWS_ENDPOINT_URL_DYNAMODB`, ...) without any network
//! call: a Lambda's init never waits on AWS.

mod config;
mod outbox;
mod schema;
mod usage;

#[cfg(feature = "admin")]
mod admin;
#[cfg(feature = "dynamodb")]
mod dynamo;
#[cfg(feature = "dynamodb")]
mod items;
#[cfg(feature = "streams")]
mod relay;
#[cfg(feature = "ses")]
mod ses;
#[cfg(feature = "sqs")]
mod sqs;

pub use config::{queue_vars, AwsConfig, QueueUrl, QueueUrls};
pub use outbox::{outbox_of_images, OUTBOX};
pub use schema::{queue_name, TableSpec, GSIS, KEY, QUEUES, TTL_ATTRIBUTE};
pub use schema::{
    CONSUMER_TIMEOUT_SECONDS, DLQ_RETENTION_SECONDS, MAX_RECEIVE_COUNT, VISIBILITY_TIMEOUT_SECONDS,
};
pub use usage::{Usage, UsageCounts};

#[cfg(feature = "admin")]
pub use admin::{check, find_queues, init, InitReport};
#[cfg(feature = "dynamodb")]
pub use dynamo::DynamoStore;
#[cfg(feature = "streams")]
pub use relay::StreamRelay;
#[cfg(feature = "ses")]
pub use ses::SesMailer;
#[cfg(feature = "sqs")]
pub use sqs::SqsQueues;

#[cfg(any(feature = "dynamodb", feature = "sqs", feature = "ses"))]
use aws_smithy_runtime_api::client::result::SdkError;
#[cfg(any(feature = "dynamodb", feature = "sqs", feature = "ses"))]
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
#[cfg(any(feature = "dynamodb", feature = "sqs", feature = "ses"))]
use oms_domain::error::StoreErrorKind;
#[cfg(any(feature = "dynamodb", feature = "sqs", feature = "ses"))]
use oms_domain::StoreError;
use std::sync::Arc;

/// The SDK's configuration from the environment, shared by the adapters
/// (each builds its own client from it), and what they have consumed.
#[derive(Clone)]
pub struct Sdk {
    pub config: aws_config::SdkConfig,
    /// What the clients have consumed, for cost figures.
    pub usage: Arc<Usage>,
}

impl Sdk {
    /// Reads region, endpoints and credentials from the environment. Makes
    /// no network call: credentials are resolved on first use.
    pub async fn from_env() -> Sdk {
        use aws_smithy_http_client::tls::{rustls_provider::CryptoMode, Provider};
        // The SDK's default HTTPS client, with rustls on ring rather than
        // aws-lc (a few MB less per Lambda; see docs/decisions.md).
        let https = aws_smithy_http_client::Builder::new()
            .tls_provider(Provider::Rustls(CryptoMode::Ring))
            .build_https();
        Sdk {
            config: aws_config::defaults(aws_config::BehaviorVersion::latest())
                .http_client(https)
                .load()
                .await,
            usage: Arc::new(Usage::default()),
        }
    }
}

/// Error codes of AWS answers that say "this will never work as asked":
/// wrong credentials or permissions, a resource that does not exist, a
/// request the service cannot accept. Retrying them only delays the page.
const PERMANENT_CODES: &[&str] = &[
    "AccessDenied",
    "AccessDeniedException",
    "UnrecognizedClientException",
    "InvalidClientTokenId",
    "InvalidSignatureException",
    "MissingAuthenticationToken",
    "NotAuthorized",
    "ValidationException",
    "ValidationError",
    "ResourceNotFoundException",
    "NotFoundException",
    "AWS.SimpleQueueService.NonExistentQueue",
    "QueueDoesNotExist",
    "InvalidParameterValue",
    "InvalidAddress",
    "MessageRejected",
    "MailFromDomainNotVerifiedException",
    "AccountSuspendedException",
    "SendingPausedException",
    "BadRequestException",
];

/// Whether an AWS error code is one that a retry cannot fix.
pub fn is_permanent_code(code: &str) -> bool {
    PERMANENT_CODES.contains(&code)
}

/// An SDK failure as a store error that keeps the SDK error as its source:
/// refused for good when the service's code says a retry cannot help (or
/// the request could not even be built), else unavailable.
#[cfg(any(feature = "dynamodb", feature = "sqs", feature = "ses"))]
pub(crate) fn sdk_err<E, R>(what: &str, e: SdkError<E, R>) -> StoreError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    if matches!(e, SdkError::ConstructionFailure(_)) {
        return StoreError::caused(StoreErrorKind::Refused, what, e);
    }
    // Only service errors carry a code; timeouts and I/O are unavailable.
    service_err(what, e)
}

/// A service's own error (the operation error inside an SDK error),
/// classified by its code: refused for good when the code says a retry
/// cannot help, else unavailable.
#[cfg(any(feature = "dynamodb", feature = "sqs", feature = "ses"))]
pub(crate) fn service_err<E>(what: &str, e: E) -> StoreError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let kind = match e.code() {
        Some(code) if is_permanent_code(code) => StoreErrorKind::Refused,
        _ => StoreErrorKind::Unavailable,
    };
    let what = match e.code() {
        Some(code) => format!("{what} ({code})"),
        None => what.to_string(),
    };
    StoreError::caused(kind, what, e)
}

/// A request the SDK refused to build: a bug or a bad setting, never busy.
#[cfg(any(feature = "dynamodb", feature = "sqs", feature = "ses"))]
pub(crate) fn build_err(
    what: &str,
    e: aws_smithy_types::error::operation::BuildError,
) -> StoreError {
    StoreError::caused(StoreErrorKind::Refused, what, e)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn access_and_missing_resources_are_permanent_throttling_is_not() {
        for code in [
            "AccessDeniedException",
            "ResourceNotFoundException",
            "AWS.SimpleQueueService.NonExistentQueue",
            "ValidationException",
        ] {
            assert!(is_permanent_code(code), "{code}");
        }
        for code in [
            "ThrottlingException",
            "ProvisionedThroughputExceededException",
            "InternalServerError",
            "ServiceUnavailable",
            "RequestLimitExceeded",
        ] {
            assert!(!is_permanent_code(code), "{code}");
        }
    }
}
