//! Lambda: the reserve queue → `oms_reserve::handle`.
use oms_domain::event::QueueName;
use oms_runtime::Env;

#[tokio::main]
async fn main() -> Result<(), oms_lambda::Error> {
    oms_lambda::init_tracing();
    let aws = oms_lambda::config::stage(Env::from_process(), QueueName::Reserve)?;
    let sdk = oms_aws::Sdk::from_env().await;
    let store = oms_aws::DynamoStore::new(&sdk, &aws.table, None);
    let dead_letters = oms_aws::SqsQueues::new(&sdk, aws.queues, u32::MAX);
    let store = &store;
    oms_lambda::sqs::serve(dead_letters, QueueName::Reserve, |event| async move {
        oms_reserve::handle(store, &event).await
    })
    .await
}
