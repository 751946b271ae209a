//! Lambda: the reserve queue → `oms_reserve::handle`.
use oms_domain::event::QueueName;

#[tokio::main]
async fn main() -> Result<(), oms_lambda::Error> {
    oms_lambda::init_tracing();
    let stage = oms_lambda::Stage::init(QueueName::Reserve, Default::default()).await?;
    let store = &stage.store;
    oms_lambda::sqs::serve(
        stage.queues.clone(),
        QueueName::Reserve,
        |event| async move { oms_reserve::handle(store, &event).await },
    )
    .await
}
