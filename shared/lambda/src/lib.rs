//! The Lambda side of the stages. Each `functions/<stage>/src/main.rs` reads
//! its configuration with [`Env`] (a missing variable stops the init with a
//! message naming it), builds its clients once, and hands its handler to one
//! of the loops here. No call to AWS happens at init.

pub mod config;
pub mod relay;
pub mod sqs;

pub use config::Env;
pub use lambda_runtime::Error;

/// JSON logs to CloudWatch, level from `OMS_LOG` (default `info`).
pub fn init_tracing() {
    tracing_subscriber::fmt()
        .json()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("OMS_LOG")
                .unwrap_or_else(|_| "info".into()),
        )
        .with_current_span(false)
        .without_time() // CloudWatch stamps every line
        .init();
}

/// What a queue consumer's main needs: its store and its queue (for the DLQ).
pub struct Stage {
    pub clients: oms_aws::Clients,
    pub store: oms_aws::DynamoStore,
    pub queues: oms_aws::SqsQueues,
}

impl Stage {
    /// Reads the table and `queue`'s URLs, then checks that nothing the
    /// caller asked `env` for is missing; builds the clients.
    pub async fn init(queue: oms_domain::event::QueueName, mut env: Env) -> Result<Stage, Error> {
        let aws = env.aws(&[queue]);
        env.done()?;
        let clients = config::clients().await;
        Ok(Stage {
            store: oms_aws::DynamoStore::new(&clients, &aws.table, std::time::Duration::ZERO),
            // SQS's redrive policy counts attempts in Lambda.
            queues: oms_aws::SqsQueues::new(&clients, aws.queues, u32::MAX),
            clients,
        })
    }
}
