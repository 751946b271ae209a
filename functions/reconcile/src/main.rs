//! Lambda: the reconcile queue → `oms_reconcile::handle`.
use oms_domain::event::QueueName;

#[tokio::main]
async fn main() -> Result<(), oms_lambda::Error> {
    oms_lambda::init_tracing();
    let stage = oms_lambda::Stage::init(QueueName::Reconcile, Default::default()).await?;
    let store = &stage.store;
    oms_lambda::sqs::serve(
        stage.queues.clone(),
        QueueName::Reconcile,
        |event| async move { oms_reconcile::handle(store, &event).await },
    )
    .await
}
