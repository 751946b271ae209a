//! Lambda: the table's stream → the events each write carried → SQS. The
//! stream arrives as the event, so no DynamoDB or Streams client is needed.
use oms_runtime::Env;

#[tokio::main]
async fn main() -> Result<(), oms_lambda::Error> {
    oms_lambda::init_tracing();
    let aws = oms_lambda::config::relay(Env::from_process())?;
    let sdk = oms_aws::Sdk::from_env().await;
    oms_lambda::relay::serve(oms_aws::SqsQueues::new(&sdk, aws.queues, u32::MAX)).await
}
