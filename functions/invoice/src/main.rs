//! Lambda: the invoice queue → `oms_invoice::handle`, mailing through SES v2.
use oms_domain::event::QueueName;
use oms_runtime::Env;

#[tokio::main]
async fn main() -> Result<(), oms_lambda::Error> {
    oms_lambda::init_tracing();
    let (aws, config) = oms_lambda::config::invoice(Env::from_process())?;
    let sdk = oms_aws::Sdk::from_env().await;
    let store = oms_aws::DynamoStore::new(&sdk, &aws.table, None);
    let dead_letters = oms_aws::SqsQueues::new(&sdk, aws.queues, u32::MAX);
    let mailer = oms_aws::SesMailer::new(&sdk);
    let (store, mailer, config) = (&store, &mailer, &config);
    oms_lambda::sqs::serve(dead_letters, QueueName::Invoice, |event| async move {
        oms_invoice::handle(store, mailer, config, &event).await
    })
    .await
}
