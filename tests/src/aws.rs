//! The AWS backend under test: a fresh table and fresh queues (unique
//! names) on the emulators that `scripts/test.sh` started.

use oms_aws::{InitReport, Sdk};

pub struct AwsTestEnv {
    pub sdk: Sdk,
    pub prefix: String,
    pub resources: InitReport,
    /// moto's base URL, to read back what SES was asked to send.
    pub moto: String,
}

/// Creates the resources under a new prefix. Panics (fails the test) when
/// the emulators are not configured: the AWS tests never run against an
/// account by accident, and are never skipped silently.
pub async fn aws_env() -> AwsTestEnv {
    let (Ok(moto), Ok(_)) = (
        std::env::var("OMS_TEST_MOTO_URL"),
        std::env::var("AWS_ENDPOINT_URL_DYNAMODB"),
    ) else {
        panic!(
            "the AWS backend tests need the emulators: run scripts/test.sh, which starts \
             DynamoDB Local and moto and sets AWS_ENDPOINT_URL_DYNAMODB and OMS_TEST_MOTO_URL"
        );
    };
    let sdk = Sdk::from_env().await;
    let prefix = format!("oms-t-{}", ulid::Ulid::new().to_string().to_lowercase());
    let resources = oms_aws::init(&sdk, &prefix, Some("shop@example.com"))
        .await
        .expect("creating the table and queues on the emulators");
    AwsTestEnv {
        sdk,
        prefix,
        resources,
        moto,
    }
}

/// The raw MIME of every email moto's SES has accepted so far.
pub async fn sent_emails(moto: &str) -> Vec<String> {
    let data: serde_json::Value = reqwest::get(format!("{moto}/moto-api/data.json"))
        .await
        .expect("moto answers")
        .json()
        .await
        .expect("moto's data is JSON");
    data["ses"]["RawMessage"]
        .as_array()
        .map(|messages| {
            messages
                .iter()
                .filter_map(|m| m["raw_data"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}
