//! The `oms` command's library: local wiring, the queue dispatcher, and the
//! demo and benchmark drivers, shared with the end-to-end tests.

pub mod app;
pub mod bench;
pub mod bench_collection;
pub mod client;
pub mod config;
pub mod cost;
pub mod demo;
pub mod export;
pub mod sample_statement;
