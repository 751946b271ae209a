//! The Lambda side of the runtime. Each `functions/<name>/src/main.rs` reads
//! its configuration with one function of [`config`] (every missing or
//! invalid variable named at once), builds the clients it uses, and hands
//! its handler to one of the loops here. No call to AWS happens at init.

pub mod config;
pub mod error;
pub mod relay;
pub mod sqs;

pub use error::HandlerError;
pub use lambda_runtime::Error;

/// JSON logs to CloudWatch, level from `OMS_LOG` (default `info`).
pub fn init_tracing() {
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    tracing_subscriber::registry()
        .with(
            tracing_subscriber::fmt::layer()
                .json()
                .with_current_span(false)
                .without_time(), // CloudWatch stamps every line
        )
        .with(oms_runtime::log_filter(tracing::Level::INFO))
        .init();
}
