//! Lambda: the daily report. The schedule invokes it after each UTC midnight
//! for the day before; `{"date": "YYYY-MM-DD"}` reports (and emails) any day
//! on demand (`aws lambda invoke`); the API serves it too.
use lambda_runtime::{service_fn, LambdaEvent};
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), oms_lambda::Error> {
    oms_lambda::init_tracing();
    let mut env = oms_lambda::Env::default();
    let aws = env.aws(&[]);
    let mail = oms_report::ReportMail {
        from: env.required("OMS_MAIL_FROM"),
        to: env.required("OMS_FINANCE_EMAIL"),
    };
    env.done()?;
    let clients = oms_aws::Clients::from_env().await;
    let store = oms_aws::DynamoStore::new(&clients, &aws.table, std::time::Duration::ZERO);
    let mailer = oms_aws::SesMailer::new(&clients);
    let (store, mailer, mail) = (&store, &mailer, &mail);
    lambda_runtime::run(service_fn(|event: LambdaEvent<Value>| async move {
        let date = oms_report::report_date(&event.payload, jiff::Timestamp::now())?;
        let report = oms_report::email_daily_report(store, mailer, mail, date).await?;
        Ok::<_, oms_lambda::Error>(serde_json::to_value(report)?)
    }))
    .await
}
