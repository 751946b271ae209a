//! The daily report: figures from what is stored, assembled here.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use utoipa::ToSchema;

/// Percentiles of a duration in seconds, to the millisecond (whole seconds
/// are written without a fraction, as before).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct LeadTime {
    #[serde(serialize_with = "seconds")]
    pub p50: f64,
    #[serde(serialize_with = "seconds")]
    pub p95: f64,
    #[serde(serialize_with = "seconds")]
    pub max: f64,
}

fn seconds<S: serde::Serializer>(v: &f64, s: S) -> Result<S::Ok, S::Error> {
    if v.fract() == 0.0 && v.abs() < 9.0e15 {
        s.serialize_i64(*v as i64)
    } else {
        s.serialize_f64(*v)
    }
}

/// Each step of the orders shipped that day: capture to reservation, to
/// hand-off, to shipment.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct LeadTimeBySteps {
    pub reserved: Option<LeadTime>,
    pub handed_off: Option<LeadTime>,
    pub shipped: Option<LeadTime>,
}

/// When one shipped order reached each step (milliseconds since the epoch).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StepTimes {
    pub captured: i64,
    pub reserved: Option<i64>,
    pub handed_off: Option<i64>,
    pub shipped: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
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
    /// The same by step: capture → reserved → handed off → shipped.
    pub order_lead_time_by_step: LeadTimeBySteps,
    /// Capture to each parcel shipped that day (an order in one parcel
    /// counts once, an order in three parcels three times); null if none.
    pub order_lead_time_by_parcel: Option<LeadTime>,
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
    /// The steps of each order shipped that day.
    pub lead_times: Vec<StepTimes>,
    /// Capture to shipment (ms) of each parcel shipped that day that left
    /// units of its order open (the completing parcels are `lead_times`).
    pub partial_parcels: Vec<i64>,
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
            order_lead_time_seconds: lead_time(
                self.lead_times
                    .iter()
                    .map(|t| t.shipped - t.captured)
                    .collect(),
            ),
            order_lead_time_by_parcel: lead_time(
                self.lead_times
                    .iter()
                    .map(|t| t.shipped - t.captured)
                    .chain(self.partial_parcels.iter().copied())
                    .collect(),
            ),
            order_lead_time_by_step: LeadTimeBySteps {
                reserved: lead_time(
                    self.lead_times
                        .iter()
                        .filter_map(|t| Some(t.reserved? - t.captured))
                        .collect(),
                ),
                handed_off: lead_time(
                    self.lead_times
                        .iter()
                        .filter_map(|t| Some(t.handed_off? - t.reserved?))
                        .collect(),
                ),
                shipped: lead_time(
                    self.lead_times
                        .iter()
                        .filter_map(|t| Some(t.shipped - t.handed_off?))
                        .collect(),
                ),
            },
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

/// Percentiles of durations given in milliseconds, in seconds.
pub fn lead_time(mut millis: Vec<i64>) -> Option<LeadTime> {
    if millis.is_empty() {
        return None;
    }
    millis.sort_unstable();
    let s = |ms: i64| ms as f64 / 1000.0;
    Some(LeadTime {
        p50: s(percentile(&millis, 50)),
        p95: s(percentile(&millis, 95)),
        max: s(*millis.last().expect("not empty")),
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
            lead_time(vec![30_000, 10_000, 20_250]),
            Some(LeadTime {
                p50: 20.25,
                p95: 30.0,
                max: 30.0
            })
        );
        let json = serde_json::to_string(&lead_time(vec![1_500, 2_000]).unwrap()).unwrap();
        assert_eq!(
            json, r#"{"p50":1.5,"p95":2,"max":2}"#,
            "whole seconds stay integers"
        );
    }

    #[test]
    fn each_parcel_counts_once() {
        // One order in one parcel (10 s), one in three: two partial
        // parcels (2 s, 5 s) and the completing one (8 s).
        let order = |shipped| StepTimes {
            captured: 0,
            shipped,
            ..StepTimes::default()
        };
        let facts = DailyFacts {
            lead_times: vec![order(10_000), order(8_000)],
            partial_parcels: vec![2_000, 5_000],
            ..DailyFacts::default()
        };
        let r = facts.into_report("2026-11-27".into());
        assert_eq!(
            r.order_lead_time_by_parcel,
            Some(LeadTime {
                p50: 5.0,
                p95: 10.0,
                max: 10.0
            })
        );
        assert_eq!(r.order_lead_time_seconds.unwrap().p50, 8.0);
    }

    #[test]
    fn steps_are_measured_from_step_to_step() {
        let facts = DailyFacts {
            lead_times: vec![
                StepTimes {
                    captured: 0,
                    reserved: Some(120),
                    handed_off: Some(1_120),
                    shipped: 61_120,
                },
                // Shipped without a recorded hand-off: only the first step counts.
                StepTimes {
                    captured: 0,
                    reserved: Some(80),
                    handed_off: None,
                    shipped: 5_000,
                },
            ],
            ..DailyFacts::default()
        };
        let r = facts.into_report("2026-11-27".into());
        let steps = r.order_lead_time_by_step;
        assert_eq!(steps.reserved.unwrap().max, 0.12);
        assert_eq!(steps.handed_off.unwrap().p50, 1.0);
        assert_eq!(steps.shipped.unwrap().p50, 60.0);
        assert_eq!(r.order_lead_time_seconds.unwrap().max, 61.12);
    }
}

/// Open receivables on a day, aged by days overdue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ReceivablesReport {
    pub date: String,
    pub currency: String,
    /// The sum of every bucket, and of every order's `amount_due`.
    pub open: i64,
    pub buckets: AgeingBuckets,
    pub orders: Vec<ReceivableLine>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct AgeingBuckets {
    pub not_due: i64,
    #[serde(rename = "1_30")]
    pub d1_30: i64,
    #[serde(rename = "31_60")]
    pub d31_60: i64,
    #[serde(rename = "61_90")]
    pub d61_90: i64,
    pub over_90: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ReceivableLine {
    pub order_id: String,
    pub invoice_number: Option<String>,
    /// Null for invoices without terms (due at once; counted as not due).
    pub due_date: Option<String>,
    /// Open amount, dunning fees and interest included.
    pub amount_due: i64,
    pub days_overdue: i64,
    pub dunning_level: u8,
}

/// Ages `open` (one currency's receivables) on `date`. Orders are listed
/// most overdue first.
pub fn receivables_report(
    open: &[crate::collection::Receivable],
    date: jiff::civil::Date,
    currency: &str,
) -> ReceivablesReport {
    let mut buckets = AgeingBuckets::default();
    let mut orders: Vec<ReceivableLine> = open
        .iter()
        .filter(|r| r.currency == currency)
        .map(|r| {
            let days = r
                .due_date
                .map_or(0, |due| crate::collection::days_overdue(due, date));
            let bucket = match days {
                0 => &mut buckets.not_due,
                1..=30 => &mut buckets.d1_30,
                31..=60 => &mut buckets.d31_60,
                61..=90 => &mut buckets.d61_90,
                _ => &mut buckets.over_90,
            };
            *bucket += r.amount_due;
            ReceivableLine {
                order_id: r.order_id.to_string(),
                invoice_number: r.invoice_number.clone(),
                due_date: r.due_date.map(|d| d.to_string()),
                amount_due: r.amount_due,
                days_overdue: days,
                dunning_level: r.dunning_level,
            }
        })
        .collect();
    orders.sort_by(|a, b| {
        b.days_overdue
            .cmp(&a.days_overdue)
            .then_with(|| a.order_id.cmp(&b.order_id))
    });
    ReceivablesReport {
        date: date.to_string(),
        currency: currency.to_string(),
        open: orders.iter().map(|o| o.amount_due).sum(),
        buckets,
        orders,
    }
}

#[cfg(test)]
mod receivables_tests {
    use super::*;
    use crate::collection::Receivable;
    use crate::OrderId;

    fn r(id: &str, due: Option<&str>, amount: i64, currency: &str) -> Receivable {
        Receivable {
            order_id: OrderId(id.into()),
            currency: currency.into(),
            invoice_number: Some(format!("INV-{id}")),
            due_date: due.map(|d| d.parse().unwrap()),
            amount_due: amount,
            invoice_due: amount,
            dunning_level: 0,
            dunning_blocked: false,
        }
    }

    #[test]
    fn buckets_add_up_to_the_open_total() {
        let open = [
            r("a", Some("2026-12-20"), 100, "EUR"),
            r("b", Some("2026-12-19"), 200, "EUR"),
            r("c", Some("2026-11-20"), 400, "EUR"),
            r("d", Some("2026-11-19"), 800, "EUR"),
            r("e", Some("2026-09-21"), 1600, "EUR"),
            r("f", Some("2026-09-20"), 3200, "EUR"),
            r("g", None, 6400, "EUR"),
            r("h", Some("2026-01-01"), 9999, "USD"),
        ];
        let report = receivables_report(&open, "2026-12-20".parse().unwrap(), "EUR");
        let b = &report.buckets;
        assert_eq!(b.not_due, 100 + 6400);
        assert_eq!(b.d1_30, 200 + 400, "1 and 30 days");
        assert_eq!(b.d31_60, 800, "31 days");
        assert_eq!(b.d61_90, 1600, "90 days");
        assert_eq!(b.over_90, 3200, "91 days");
        assert_eq!(
            report.open,
            b.not_due + b.d1_30 + b.d31_60 + b.d61_90 + b.over_90
        );
        assert_eq!(report.orders.len(), 7, "USD is another report");
        assert_eq!(report.orders[0].order_id, "f");
        assert_eq!(report.orders[0].days_overdue, 91);
    }
}
