//! Lambda: the table's stream → the events each write carried → SQS.
#[tokio::main]
async fn main() -> Result<(), oms_lambda::Error> {
    oms_lambda::init_tracing();
    let mut env = oms_lambda::Env::default();
    let aws = env.aws(&oms_aws::QUEUES);
    env.done()?;
    let clients = oms_aws::Clients::from_env().await;
    oms_lambda::relay::serve(oms_aws::SqsQueues::new(&clients, aws.queues, u32::MAX)).await
}
