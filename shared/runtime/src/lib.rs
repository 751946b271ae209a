//! What every entry point shares, whether it runs as a Lambda or as the
//! local `oms serve`:
//!
//! - [`config`]: one typed configuration, read once from `OMS_*` variables
//!   with one meaning and one validation everywhere; secrets never printed.
//! - [`settle`]: handle one queue delivery and decide its fate (done, retry
//!   later, dead-letter with a reason), in one place.
//! - [`local`]: the local dispatcher, a thin adapter of [`settle`] onto the
//!   polling [`Consumer`](oms_domain::ports::Consumer) port. The Lambda
//!   adapter (`oms-lambda`) is the other one.
//! - [`housekeeping`]: the daily collection run (prepayment expiry, dunning).

pub mod config;
pub mod housekeeping;
pub mod local;
pub mod settle;

pub use config::{ConfigError, Env, Secret};
pub use settle::{handle_delivery, Fate};

/// The log filter from `OMS_LOG` (`warn`, `info`, `oms_reserve=debug,warn`,
/// …; per-target levels without regular expressions, which would cost a
/// Lambda bootstrap about 300 KB), else `default` for everything.
pub fn log_filter(default: tracing::Level) -> tracing_subscriber::filter::Targets {
    std::env::var("OMS_LOG")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| tracing_subscriber::filter::Targets::new().with_default(default))
}
