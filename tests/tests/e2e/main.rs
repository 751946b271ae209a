//! End-to-end and contract tests across crates, over real HTTP on loopback,
//! on both backends.
//!
//! One test binary with a module per subject rather than a binary per file:
//! every binary links the whole stack (the AWS SDK included), so 23 of them
//! took 1.6 GB of disk and 23 links per build. Tests still run two at a time
//! on two cores, as they did binary after binary. Run one subject with
//! `cargo test -p oms-tests --test e2e -- parcels::`.

mod api_contract;
mod aws_pipeline;
mod bank;
mod collection;
mod concurrency;
mod config;
mod customer_emails;
mod docs;
mod einvoice;
mod exchanges;
mod failures;
mod journal;
mod lambda_handlers;
mod lambda_runtime;
mod parcels;
mod parcels_generated;
mod payments;
mod paypal;
mod pipeline;
mod port_contract;
mod short_picks;
mod template;
mod warehouse_cancel;
