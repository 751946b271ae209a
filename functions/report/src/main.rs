//! Lambda: the daily report and the daily collection run. The schedules
//! invoke it after each UTC midnight for the day before's report, and each
//! morning with `{"collect": true}` for prepayment expiry and dunning;
//! `{"date": "YYYY-MM-DD"}` reports (and emails) any day on demand
//! (`aws lambda invoke`); the API serves both too.
use lambda_runtime::{service_fn, LambdaEvent};
use oms_lambda::HandlerError;
use oms_runtime::Env;
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), oms_lambda::Error> {
    oms_lambda::init_tracing();
    let config = oms_lambda::config::report(Env::from_process())?;
    let sdk = oms_aws::Sdk::from_env().await;
    let store = oms_aws::DynamoStore::new(&sdk, &config.aws.table, None);
    let mailer = oms_aws::SesMailer::new(&sdk);
    let mail = oms_report::ReportMail {
        from: config.mail_from,
        to: config.finance_email,
    };
    let (store, mailer, mail, policy) = (&store, &mailer, &mail, &config.collection);
    lambda_runtime::run(service_fn(|event: LambdaEvent<Value>| async move {
        let now = jiff::Timestamp::now();
        if event.payload.get("collect") == Some(&Value::Bool(true)) {
            let done = oms_runtime::housekeeping::collect(store, policy, now)
                .await
                .map_err(HandlerError::from)?;
            return Ok::<_, HandlerError>(serde_json::to_value(done).unwrap_or_default());
        }
        let date = oms_report::report_date(&event.payload, now).map_err(HandlerError::from)?;
        let report = oms_report::email_daily_report(store, mailer, mail, date)
            .await
            .map_err(HandlerError::from)?;
        Ok(serde_json::to_value(report).unwrap_or_default())
    }))
    .await
}
