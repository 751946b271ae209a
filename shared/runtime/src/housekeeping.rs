//! The daily collection work, the same in `oms serve` (every few minutes)
//! and in AWS (a schedule): prepayment orders unpaid too long are cancelled,
//! overdue invoices move up a dunning level. Each run does only what is due
//! and each step happens once, so running it often, late or twice at once
//! is harmless.

use jiff::Timestamp;
use oms_domain::collection::{business_date, CollectionPolicy};
use oms_domain::ports::Store;
use oms_domain::StageError;
use oms_invoice::dunning::DunningRun;
use serde::Serialize;

#[derive(Debug, Clone, Serialize)]
pub struct Collected {
    /// Prepayment orders cancelled unpaid.
    pub prepayments_expired: Vec<String>,
    pub dunning: DunningRun,
}

pub async fn collect<S: Store + ?Sized>(
    store: &S,
    policy: &CollectionPolicy,
    now: Timestamp,
) -> Result<Collected, StageError> {
    let expired = oms_reserve::expire_prepayments(store, policy, now).await?;
    let dunning = oms_invoice::dunning::run(store, policy, business_date(now), now).await?;
    Ok(Collected {
        prepayments_expired: expired.into_iter().map(|o| o.to_string()).collect(),
        dunning,
    })
}
