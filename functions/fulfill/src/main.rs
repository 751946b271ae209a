//! Lambda: the fulfill queue → `oms_fulfill::handle`, handing off to the
//! warehouse at `OMS_WAREHOUSE_URL`, signed with `OMS_WAREHOUSE_SECRET`.
use oms_domain::event::QueueName;
use oms_runtime::Env;

#[tokio::main]
async fn main() -> Result<(), oms_lambda::Error> {
    oms_lambda::init_tracing();
    let (aws, warehouse) = oms_lambda::config::fulfill(Env::from_process())?;
    let sdk = oms_aws::Sdk::from_env().await;
    let store = oms_aws::DynamoStore::new(&sdk, &aws.table, None);
    let dead_letters = oms_aws::SqsQueues::new(&sdk, aws.queues, u32::MAX);
    let warehouse = oms_warehouse::HttpWarehouse::new(
        warehouse.url,
        warehouse.secret.expose().as_bytes().to_vec(),
    );
    let (store, warehouse) = (&store, &warehouse);
    oms_lambda::sqs::serve(dead_letters, QueueName::Fulfill, |event| async move {
        oms_fulfill::handle(store, warehouse, &event).await
    })
    .await
}
