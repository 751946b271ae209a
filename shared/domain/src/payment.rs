//! Payments: the ledger of one order, provider events and the mismatches
//! finance must look at.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use utoipa::ToSchema;

use crate::Currency;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PaymentStatus {
    Unpaid,
    PartiallyPaid,
    Paid,
    Overpaid,
    Refunded,
}

/// What has been received for an order and what has been refunded, in the
/// order's currency. Refunds are kept per charge because Stripe reports the
/// cumulative refunded amount of a charge, not the increment.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentLedger {
    pub received: i64,
    pub refunds: BTreeMap<String, i64>,
}

impl PaymentLedger {
    pub fn refunded(&self) -> i64 {
        self.refunds.values().sum()
    }

    pub fn net_paid(&self) -> i64 {
        self.received - self.refunded()
    }

    pub fn status(&self, total: i64) -> PaymentStatus {
        let net = self.net_paid();
        if self.refunded() > 0 && net <= 0 {
            PaymentStatus::Refunded
        } else if net <= 0 {
            PaymentStatus::Unpaid
        } else if net < total {
            PaymentStatus::PartiallyPaid
        } else if net == total {
            PaymentStatus::Paid
        } else {
            PaymentStatus::Overpaid
        }
    }
}

/// A provider event reduced to what reconciliation needs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentEvent {
    pub provider: String,
    pub event_id: String,
    pub order_id: Option<String>,
    pub kind: PaymentEventKind,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum PaymentEventKind {
    /// Money arrived: `amount` in minor units of `currency`.
    Received { amount: i64, currency: String },
    /// The charge `charge_id` has now been refunded by `cumulative` in total.
    Refunded {
        charge_id: String,
        cumulative: i64,
        currency: String,
    },
    /// An event type we accept but do not book (acknowledged, stored, ignored).
    Ignored { event_type: String },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum MismatchKind {
    /// The event names no order we know.
    UnknownOrder,
    /// Paid in another currency than the order's: not booked.
    WrongCurrency,
    /// More was paid than the order total.
    Overpaid,
    /// More was refunded than was received.
    RefundExceedsPayment,
    /// Money arrived for an order that was cancelled or rejected.
    PaidAfterCancellation,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Mismatch {
    pub kind: MismatchKind,
    pub detail: String,
}

/// The booking an event makes on a ledger: a signed amount for the day's
/// payment figures (receipts positive, refunds negative).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Booking {
    pub ledger: PaymentLedger,
    pub amount: i64,
    pub mismatches: Vec<Mismatch>,
}

/// Applies one event to an order's ledger. Pure: the caller stores the result.
pub fn book(
    ledger: &PaymentLedger,
    order_total: i64,
    order_currency: Currency,
    order_is_void: bool,
    kind: &PaymentEventKind,
) -> Booking {
    let mut next = ledger.clone();
    let mut mismatches = Vec::new();
    let mut amount = 0;
    let wrong_currency = |c: &str| {
        (!c.eq_ignore_ascii_case(order_currency.as_str())).then(|| Mismatch {
            kind: MismatchKind::WrongCurrency,
            detail: format!(
                "paid in {} but the order is in {order_currency}",
                c.to_uppercase()
            ),
        })
    };
    match kind {
        PaymentEventKind::Received {
            amount: received,
            currency,
        } => {
            if let Some(m) = wrong_currency(currency) {
                mismatches.push(m);
            } else {
                next.received += received;
                amount = *received;
                if order_is_void {
                    mismatches.push(Mismatch {
                        kind: MismatchKind::PaidAfterCancellation,
                        detail: format!("{received} received for an order that will not ship"),
                    });
                }
            }
        }
        PaymentEventKind::Refunded {
            charge_id,
            cumulative,
            currency,
        } => {
            if let Some(m) = wrong_currency(currency) {
                mismatches.push(m);
            } else {
                let before = next.refunds.get(charge_id).copied().unwrap_or(0);
                // Stripe resends the cumulative figure; an older event changes nothing.
                if *cumulative > before {
                    next.refunds.insert(charge_id.clone(), *cumulative);
                    amount = -(cumulative - before);
                }
                if next.refunded() > next.received {
                    mismatches.push(Mismatch {
                        kind: MismatchKind::RefundExceedsPayment,
                        detail: format!(
                            "refunded {} but received {}",
                            next.refunded(),
                            next.received
                        ),
                    });
                }
            }
        }
        PaymentEventKind::Ignored { .. } => {}
    }
    if amount > 0 && next.net_paid() > order_total && ledger.net_paid() <= order_total {
        mismatches.push(Mismatch {
            kind: MismatchKind::Overpaid,
            detail: format!("paid {} for a total of {order_total}", next.net_paid()),
        });
    }
    Booking {
        ledger: next,
        amount,
        mismatches,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn eur() -> Currency {
        Currency::parse("EUR").unwrap()
    }

    fn received(amount: i64, currency: &str) -> PaymentEventKind {
        PaymentEventKind::Received {
            amount,
            currency: currency.into(),
        }
    }

    #[test]
    fn partial_then_full_payment() {
        let l = PaymentLedger::default();
        assert_eq!(l.status(1000), PaymentStatus::Unpaid);
        let b = book(&l, 1000, eur(), false, &received(400, "eur"));
        assert_eq!(b.ledger.status(1000), PaymentStatus::PartiallyPaid);
        assert!(b.mismatches.is_empty());
        let b = book(&b.ledger, 1000, eur(), false, &received(600, "eur"));
        assert_eq!(b.ledger.status(1000), PaymentStatus::Paid);
        assert_eq!(b.amount, 600);
    }

    #[test]
    fn overpayment_is_booked_and_flagged_once() {
        let b = book(
            &PaymentLedger::default(),
            1000,
            eur(),
            false,
            &received(1500, "eur"),
        );
        assert_eq!(b.ledger.status(1000), PaymentStatus::Overpaid);
        assert_eq!(b.mismatches[0].kind, MismatchKind::Overpaid);
        let again = book(&b.ledger, 1000, eur(), false, &received(1, "eur"));
        assert!(again.mismatches.is_empty(), "already flagged as overpaid");
    }

    #[test]
    fn wrong_currency_is_not_booked() {
        let b = book(
            &PaymentLedger::default(),
            1000,
            eur(),
            false,
            &received(1000, "usd"),
        );
        assert_eq!(b.ledger.received, 0);
        assert_eq!(b.amount, 0);
        assert_eq!(b.mismatches[0].kind, MismatchKind::WrongCurrency);
    }

    #[test]
    fn refunds_are_cumulative_per_charge() {
        let paid = book(
            &PaymentLedger::default(),
            1000,
            eur(),
            false,
            &received(1000, "eur"),
        )
        .ledger;
        let refund = |c: i64| PaymentEventKind::Refunded {
            charge_id: "ch_1".into(),
            cumulative: c,
            currency: "eur".into(),
        };
        let b = book(&paid, 1000, eur(), false, &refund(300));
        assert_eq!(
            (b.amount, b.ledger.status(1000)),
            (-300, PaymentStatus::PartiallyPaid)
        );
        let stale = book(&b.ledger, 1000, eur(), false, &refund(300));
        assert_eq!(stale.amount, 0);
        let full = book(&b.ledger, 1000, eur(), false, &refund(1000));
        assert_eq!(
            (full.amount, full.ledger.status(1000)),
            (-700, PaymentStatus::Refunded)
        );
        assert_eq!(full.ledger.net_paid(), 0);
    }

    #[test]
    fn refund_beyond_receipts_is_flagged() {
        let refund = PaymentEventKind::Refunded {
            charge_id: "ch_1".into(),
            cumulative: 50,
            currency: "eur".into(),
        };
        let b = book(&PaymentLedger::default(), 1000, eur(), false, &refund);
        assert_eq!(b.mismatches[0].kind, MismatchKind::RefundExceedsPayment);
    }

    #[test]
    fn payment_for_cancelled_order_is_flagged() {
        let b = book(
            &PaymentLedger::default(),
            1000,
            eur(),
            true,
            &received(1000, "eur"),
        );
        assert_eq!(b.mismatches[0].kind, MismatchKind::PaidAfterCancellation);
        assert_eq!(b.ledger.received, 1000);
    }
}
