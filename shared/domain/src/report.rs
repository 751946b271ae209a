//! The daily report: figures from what is stored, assembled here.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use utoipa::ToSchema;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct LeadTime {
    pub p50: i64,
    pub p95: i64,
    pub max: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct DailyReport {
    pub date: String,
    pub orders_captured: u64,
    pub orders_shipped: u64,
    pub orders_backordered: u64,
    pub orders_cancelled: u64,
    /// Invoiced amounts per currency (revenue is booked when goods ship).
    pub revenue: BTreeMap<String, i64>,
    pub invoices_issued: u64,
    /// Net payments (receipts minus refunds) booked that day, per currency.
    pub payments_received: BTreeMap<String, i64>,
    /// What invoices issued up to the end of that day still wait for.
    pub open_receivables: BTreeMap<String, i64>,
    pub payment_mismatches: u64,
    /// Capture to shipment, for the orders shipped that day; null if none.
    pub order_lead_time_seconds: Option<LeadTime>,
}

/// Raw figures a store gathers for one day; [`DailyFacts::into_report`] shapes them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DailyFacts {
    pub orders_captured: u64,
    pub orders_shipped: u64,
    pub orders_backordered: u64,
    pub orders_cancelled: u64,
    pub revenue: BTreeMap<String, i64>,
    pub invoices_issued: u64,
    pub payments_received: BTreeMap<String, i64>,
    pub open_receivables: BTreeMap<String, i64>,
    pub payment_mismatches: u64,
    pub lead_times_seconds: Vec<i64>,
}

impl DailyFacts {
    pub fn into_report(self, date: String) -> DailyReport {
        DailyReport {
            date,
            orders_captured: self.orders_captured,
            orders_shipped: self.orders_shipped,
            orders_backordered: self.orders_backordered,
            orders_cancelled: self.orders_cancelled,
            revenue: self.revenue,
            invoices_issued: self.invoices_issued,
            payments_received: self.payments_received,
            open_receivables: self.open_receivables,
            payment_mismatches: self.payment_mismatches,
            order_lead_time_seconds: lead_time(self.lead_times_seconds),
        }
    }
}

/// Nearest-rank percentile of sorted values: the smallest value with at
/// least `p` percent of the values at or below it.
pub fn percentile(sorted: &[i64], p: u32) -> i64 {
    assert!(!sorted.is_empty() && p <= 100);
    let rank = (p as usize * sorted.len()).div_ceil(100).max(1);
    sorted[rank - 1]
}

pub fn lead_time(mut seconds: Vec<i64>) -> Option<LeadTime> {
    if seconds.is_empty() {
        return None;
    }
    seconds.sort_unstable();
    Some(LeadTime {
        p50: percentile(&seconds, 50),
        p95: percentile(&seconds, 95),
        max: *seconds.last().expect("not empty"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let v: Vec<i64> = (1..=100).collect();
        assert_eq!(percentile(&v, 50), 50);
        assert_eq!(percentile(&v, 95), 95);
        assert_eq!(percentile(&v, 100), 100);
        assert_eq!(percentile(&[7], 50), 7);
        assert_eq!(percentile(&[1, 2, 3], 50), 2);
    }

    #[test]
    fn lead_time_of_nothing_is_none() {
        assert_eq!(lead_time(vec![]), None);
        assert_eq!(
            lead_time(vec![30, 10, 20]),
            Some(LeadTime {
                p50: 20,
                p95: 30,
                max: 30
            })
        );
    }
}
