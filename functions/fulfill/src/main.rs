//! Lambda: the fulfill queue → `oms_fulfill::handle`, handing off to the
//! warehouse at `OMS_WAREHOUSE_URL`, signed with `OMS_WAREHOUSE_SECRET`.
use oms_domain::event::QueueName;

#[tokio::main]
async fn main() -> Result<(), oms_lambda::Error> {
    oms_lambda::init_tracing();
    let mut env = oms_lambda::Env::default();
    let url = env.required("OMS_WAREHOUSE_URL");
    let secret = env.required("OMS_WAREHOUSE_SECRET");
    let stage = oms_lambda::Stage::init(QueueName::Fulfill, env).await?;
    let warehouse = oms_fulfill::HttpWarehouse::new(url, secret.into_bytes());
    let (store, warehouse) = (&stage.store, &warehouse);
    oms_lambda::sqs::serve(
        stage.queues.clone(),
        QueueName::Fulfill,
        |event| async move { oms_fulfill::handle(store, warehouse, &event).await },
    )
    .await
}
