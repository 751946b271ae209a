//! Collecting money: payment terms, prepayment deadlines and dunning (levels,
//! the § 288 (5) BGB flat fee, default interest by § 288 (1)/(2) BGB).
//! Pure: the dunning run in the invoice stage reads orders and stores what
//! [`next_step`] decides.

use jiff::civil::Date;
use jiff::tz::TimeZone;
use jiff::Timestamp;

use serde::{Deserialize, Serialize};

use crate::order::{Order, OrderStatus, PaymentMethod};
use crate::OrderId;

/// The flat fee a business debtor owes once when in default (§ 288 (5) BGB).
pub const B2B_FLAT_FEE_EUR: i64 = 4000;

/// How the shop collects; from `OMS_PAYMENT_TERMS_DAYS`,
/// `OMS_PREPAYMENT_DAYS`, `OMS_DUNNING_DAYS`, `OMS_BASE_RATE`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CollectionPolicy {
    /// Days from the invoice date to the due date (`invoice` orders).
    pub payment_terms_days: u32,
    /// Days a prepayment (`bank_transfer`) order waits for its money.
    pub prepayment_days: u32,
    /// Days after the due date on which levels 1, 2 and 3 are reached.
    pub dunning_days: [u32; 3],
    /// The base rate in basis points, instead of [`BASE_RATES`].
    pub base_rate_bp: Option<i64>,
}

impl Default for CollectionPolicy {
    fn default() -> Self {
        CollectionPolicy {
            payment_terms_days: 14,
            prepayment_days: 7,
            dunning_days: [7, 21, 35],
            base_rate_bp: None,
        }
    }
}

/// The Bundesbank's base rate (§ 247 BGB) in basis points, from the date it
/// applies. Published each 1 January and 1 July; add the new row then (or
/// set `OMS_BASE_RATE` until a release has it).
pub const BASE_RATES: &[(&str, i64)] = &[
    ("2019-07-01", -88),
    ("2023-01-01", 162),
    ("2023-07-01", 312),
    ("2024-01-01", 362),
    ("2024-07-01", 337),
    ("2025-01-01", 227),
    ("2025-07-01", 127),
];

/// Business dates (due dates, dunning dates) are days in Germany. Looked
/// up once: every invoice asks.
pub fn business_timezone() -> TimeZone {
    BUSINESS_ZONE
        .get_or_init(|| TimeZone::get(DEFAULT_TIMEZONE).unwrap_or(TimeZone::UTC))
        .clone()
}

static BUSINESS_ZONE: std::sync::OnceLock<TimeZone> = std::sync::OnceLock::new();

/// Where the business is unless `OMS_TIMEZONE` says otherwise.
pub const DEFAULT_TIMEZONE: &str = "Europe/Berlin";

/// Sets the business time zone (`OMS_TIMEZONE`, an IANA name) once per
/// process, before the first business date is taken. Setting it again to
/// another zone is refused: dates already given would not match.
pub fn set_business_timezone(name: &str) -> Result<(), String> {
    let zone = TimeZone::get(name)
        .map_err(|_| format!("`{name}` is not an IANA time zone (e.g. Europe/Berlin)"))?;
    let current = BUSINESS_ZONE.get_or_init(|| zone.clone());
    if current.iana_name() == zone.iana_name() {
        Ok(())
    } else {
        Err(format!(
            "the business time zone is already {}",
            current.iana_name().unwrap_or("set")
        ))
    }
}

/// The calendar day of `t` where the business is.
pub fn business_date(t: Timestamp) -> Date {
    t.to_zoned(business_timezone()).date()
}

/// The base rate in force on `day`.
pub fn base_rate_bp(day: Date, policy: &CollectionPolicy) -> i64 {
    if let Some(bp) = policy.base_rate_bp {
        return bp;
    }
    BASE_RATES
        .iter()
        .rev()
        .find(|(from, _)| from.parse::<Date>().is_ok_and(|from| from <= day))
        .map_or(BASE_RATES[0].1, |(_, bp)| *bp)
}

/// Default interest on `amount` for the days after `due` up to and including
/// `until`, at base rate + `points_bp`, each day at the base rate of that
/// day, actual/365, rounded half up to the minor unit once at the end.
pub fn default_interest(
    amount: i64,
    due: Date,
    until: Date,
    points_bp: i64,
    policy: &CollectionPolicy,
) -> i64 {
    if amount <= 0 || until <= due {
        return 0;
    }
    // Σ rate × days, in basis-point-days, over the periods of constant rate.
    let mut bp_days: i128 = 0;
    let mut day = due.tomorrow().unwrap_or(due);
    while day <= until {
        let rate = (base_rate_bp(day, policy) + points_bp).max(0);
        // Next change of the rate (a table row), or past `until`.
        let next_change = BASE_RATES
            .iter()
            .filter_map(|(from, _)| from.parse::<Date>().ok())
            .find(|from| *from > day)
            .filter(|_| policy.base_rate_bp.is_none());
        let end = match next_change {
            Some(change) if change <= until => change,
            _ => until.tomorrow().unwrap_or(until),
        };
        let days = i128::from(day.until(end).map_or(0, |s| s.get_days()));
        bp_days += i128::from(rate) * days;
        day = end;
    }
    let numerator = i128::from(amount) * bp_days;
    let denominator: i128 = 365 * 10_000;
    ((numerator + denominator / 2) / denominator) as i64
}

/// What a dunning run does to one order today.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DunningStep {
    pub level: u8,
    /// The flat fee this notice adds (business buyers, level 2, once).
    pub fee: i64,
    /// The interest this notice adds (accrued since the last notice).
    pub interest: i64,
}

/// Whether `order` is dunned today and to which level: invoiced with a due
/// date, something of the invoice still open, not blocked, below level 3,
/// and the day of its next level has come. One level per run.
pub fn next_step(order: &Order, today: Date, policy: &CollectionPolicy) -> Option<DunningStep> {
    let due = order.due_date?;
    if order.invoice_number.is_none()
        || order.dunning.blocked
        || order.dunning.level >= 3
        || order.invoice_due() <= 0
        || matches!(order.status, OrderStatus::Cancelled | OrderStatus::Rejected)
    {
        return None;
    }
    let level = order.dunning.level + 1;
    let day = due
        .checked_add(jiff::Span::new().days(policy.dunning_days[usize::from(level - 1)]))
        .ok()?;
    if today < day {
        return None;
    }
    // After a pause (runs missed, a block lifted) levels keep their spacing
    // from the last notice: no two letters in one week.
    if let Some(last) = order.dunning.notices.last() {
        let gap = policy.dunning_days[usize::from(level - 1)]
            .saturating_sub(policy.dunning_days[usize::from(level - 2)]);
        let earliest = last.sent_on.checked_add(jiff::Span::new().days(gap)).ok()?;
        if today < earliest {
            return None;
        }
    }
    let business = order.customer.is_business();
    let (mut fee, mut interest) = (0, 0);
    if level >= 2 {
        if business && order.dunning.fees == 0 && order.currency.as_str() == "EUR" {
            fee = B2B_FLAT_FEE_EUR;
        }
        let points = if business { 900 } else { 500 };
        let accrued = default_interest(order.invoice_due(), due, today, points, policy);
        interest = (accrued - order.dunning.interest).max(0);
    }
    Some(DunningStep {
        level,
        fee,
        interest,
    })
}

/// The due date of an invoice issued on `issued` under `policy`, for the
/// orders that have terms (`invoice`); others are paid at checkout or before.
pub fn due_date(method: PaymentMethod, issued: Date, policy: &CollectionPolicy) -> Option<Date> {
    matches!(method, PaymentMethod::Invoice | PaymentMethod::Exchange)
        .then(|| {
            issued
                .checked_add(jiff::Span::new().days(policy.payment_terms_days))
                .ok()
        })
        .flatten()
}

/// Whether a prepayment order's time is up on `now`: captured more than
/// `prepayment_days` whole days ago and still waiting.
pub fn prepayment_expired(order: &Order, now: Timestamp, policy: &CollectionPolicy) -> bool {
    order.status == OrderStatus::AwaitingPayment
        && order.payment_method == PaymentMethod::BankTransfer
        && order
            .captured_at
            .checked_add(jiff::SignedDuration::from_hours(
                24 * i64::from(policy.prepayment_days),
            ))
            .is_ok_and(|deadline| now >= deadline)
}

/// Ageing of an open amount: days overdue on `today` (0 if not yet due).
pub fn days_overdue(due: Date, today: Date) -> i64 {
    if today <= due {
        0
    } else {
        due.until(today).map_or(0, |s| i64::from(s.get_days()))
    }
}

/// An invoiced order with money still open, as the receivables report and
/// the dunning run list it. Stores keep it beside the order (an index), so
/// listing 100,000 of them reads no order documents.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Receivable {
    pub order_id: OrderId,
    pub currency: String,
    pub invoice_number: Option<String>,
    pub due_date: Option<Date>,
    /// Everything open, dunning charges included.
    pub amount_due: i64,
    /// What is open of the invoice itself.
    pub invoice_due: i64,
    pub dunning_level: u8,
    pub dunning_blocked: bool,
}

impl Receivable {
    /// The order's entry, if it is invoiced and not fully paid.
    pub fn of(order: &Order) -> Option<Receivable> {
        let number = order.invoice_number.as_ref()?;
        (order.receivable() > 0).then(|| Receivable {
            order_id: order.id.clone(),
            currency: order.currency.to_string(),
            invoice_number: Some(number.to_string()),
            due_date: order.due_date,
            amount_due: order.receivable(),
            invoice_due: order.invoice_due(),
            dunning_level: order.dunning.level,
            dunning_blocked: order.dunning.blocked,
        })
    }

    /// Whether a dunning run on `today` may have work for this order (the
    /// run reads the order and decides with [`next_step`]).
    pub fn may_be_dunned(&self, today: Date, policy: &CollectionPolicy) -> bool {
        let Some(due) = self.due_date else {
            return false;
        };
        !self.dunning_blocked
            && self.dunning_level < 3
            && self.invoice_due > 0
            && due
                .checked_add(
                    jiff::Span::new().days(policy.dunning_days[usize::from(self.dunning_level)]),
                )
                .is_ok_and(|day| day <= today)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::order::fixtures::sample_order;
    use crate::InvoiceNumber;

    fn d(s: &str) -> Date {
        s.parse().unwrap()
    }

    #[test]
    fn base_rate_follows_the_table_and_the_override() {
        let p = CollectionPolicy::default();
        assert_eq!(base_rate_bp(d("2024-06-30"), &p), 362);
        assert_eq!(base_rate_bp(d("2024-07-01"), &p), 337);
        assert_eq!(base_rate_bp(d("2026-11-27"), &p), 127);
        let fixed = CollectionPolicy {
            base_rate_bp: Some(250),
            ..p
        };
        assert_eq!(base_rate_bp(d("2024-06-30"), &fixed), 250);
    }

    #[test]
    fn interest_is_actual_over_365_and_splits_at_rate_changes() {
        let p = CollectionPolicy::default();
        // 10,000.00 EUR for 30 days at 1.27 + 5 = 6.27 %: 51.53 EUR.
        assert_eq!(
            default_interest(1_000_000, d("2026-01-01"), d("2026-01-31"), 500, &p),
            5153
        );
        // 20 days at 3.62 + 9 and 10 days at 3.37 + 9 over 1 July 2024:
        // 1,000,000 × (1262 × 20 + 1237 × 10) / 3,650,000 = 10,303.56.. → 10304.
        assert_eq!(
            default_interest(1_000_000, d("2024-06-10"), d("2024-07-10"), 900, &p),
            10304
        );
        assert_eq!(
            default_interest(1_000_000, d("2024-06-10"), d("2024-06-10"), 900, &p),
            0
        );
    }

    fn invoiced(business: bool) -> Order {
        let mut o = sample_order();
        o.payment_method = PaymentMethod::Invoice;
        o.status = OrderStatus::Shipped;
        o.invoice_number = Some(InvoiceNumber::new(2026, 1));
        o.due_date = Some(d("2026-12-01"));
        if business {
            o.customer.company = Some("Muster GmbH".into());
        }
        o
    }

    #[test]
    fn levels_come_on_their_days_with_fee_and_interest() {
        let p = CollectionPolicy::default();
        let o = invoiced(true);
        assert_eq!(next_step(&o, d("2026-12-07"), &p), None);
        let one = next_step(&o, d("2026-12-08"), &p).unwrap();
        assert_eq!((one.level, one.fee, one.interest), (1, 0, 0));
        let mut o2 = o.clone();
        o2.dunning.level = 1;
        assert_eq!(next_step(&o2, d("2026-12-21"), &p), None);
        let two = next_step(&o2, d("2026-12-22"), &p).unwrap();
        // 2,893 × 10.27 % × 21 / 365 = 17.09.. → 17.
        assert_eq!((two.level, two.fee, two.interest), (2, 4000, 17));
        let mut consumer = invoiced(false);
        consumer.dunning.level = 1;
        let two_c = next_step(&consumer, d("2026-12-22"), &p).unwrap();
        // 2,893 × 6.27 % × 21 / 365 = 10.43.. → 10.
        assert_eq!((two_c.fee, two_c.interest), (0, 10));
    }

    #[test]
    fn no_dunning_when_paid_blocked_or_at_the_last_level() {
        let p = CollectionPolicy::default();
        let today = d("2027-03-01");
        let mut paid = invoiced(false);
        paid.ledger.received = paid.total;
        assert_eq!(next_step(&paid, today, &p), None);
        let mut blocked = invoiced(false);
        blocked.dunning.blocked = true;
        assert_eq!(next_step(&blocked, today, &p), None);
        let mut last = invoiced(false);
        last.dunning.level = 3;
        assert_eq!(next_step(&last, today, &p), None);
        // Late: level 2 is long due, but the reminder went out yesterday.
        let mut late = invoiced(false);
        late.dunning.level = 1;
        late.dunning.notices.push(crate::order::DunningNotice {
            level: 1,
            sent_on: d("2027-02-28"),
            fee: 0,
            interest: 0,
        });
        assert_eq!(next_step(&late, today, &p), None);
        assert_eq!(
            next_step(&late, d("2027-03-14"), &p).map(|s| s.level),
            Some(2),
            "14 days after the reminder, as 21 - 7"
        );
        let mut card = invoiced(false);
        card.due_date = None;
        assert_eq!(next_step(&card, today, &p), None);
    }

    #[test]
    fn prepayment_expires_after_its_days() {
        let p = CollectionPolicy::default();
        let mut o = sample_order();
        o.payment_method = PaymentMethod::BankTransfer;
        o.status = OrderStatus::AwaitingPayment;
        let at = o.captured_at;
        assert!(!prepayment_expired(
            &o,
            at.checked_add(jiff::SignedDuration::from_hours(167))
                .unwrap(),
            &p
        ));
        assert!(prepayment_expired(
            &o,
            at.checked_add(jiff::SignedDuration::from_hours(168))
                .unwrap(),
            &p
        ));
    }

    #[test]
    fn due_dates_only_for_invoice_orders() {
        let p = CollectionPolicy::default();
        assert_eq!(
            due_date(PaymentMethod::Invoice, d("2026-12-20"), &p),
            Some(d("2027-01-03"))
        );
        assert_eq!(due_date(PaymentMethod::Card, d("2026-12-20"), &p), None);
        assert_eq!(days_overdue(d("2026-12-01"), d("2026-12-13")), 12);
        assert_eq!(days_overdue(d("2026-12-01"), d("2026-11-13")), 0);
    }
}
