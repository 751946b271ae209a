//! Lambda: the invoice queue → `oms_invoice::handle`, mailing through SES v2.
use oms_domain::event::QueueName;

#[tokio::main]
async fn main() -> Result<(), oms_lambda::Error> {
    oms_lambda::init_tracing();
    let mut env = oms_lambda::Env::default();
    let config = oms_invoice::InvoiceConfig {
        seller: env.seller(),
        mail_from: env.required("OMS_MAIL_FROM"),
        finance_email: env.optional("OMS_FINANCE_EMAIL"),
    };
    let stage = oms_lambda::Stage::init(QueueName::Invoice, env).await?;
    let mailer = oms_aws::SesMailer::new(&stage.clients);
    let (store, mailer, config) = (&stage.store, &mailer, &config);
    oms_lambda::sqs::serve(
        stage.queues.clone(),
        QueueName::Invoice,
        |event| async move { oms_invoice::handle(store, mailer, config, &event).await },
    )
    .await
}
