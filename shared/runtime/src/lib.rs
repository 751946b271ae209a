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

pub mod config;
pub mod local;
pub mod settle;

pub use config::{ConfigError, Env, Secret};
pub use settle::{handle_delivery, Fate};
