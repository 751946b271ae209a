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

/// What has been received for an order and what has been paid back, in the
/// order's currency. Refunds reported per charge are kept per charge because
/// Stripe's `charge.refunded` reports the cumulative refunded amount of a
/// charge, not the increment; refunds reported one by one (Stripe's refund
/// objects, PayPal refunds) are kept per refund id. A charge's refunds count
/// once: the larger of its cumulative figure and its single refunds.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentLedger {
    pub received: i64,
    pub refunds: BTreeMap<String, i64>,
    /// Refunds reported one by one, by refund id (succeeded, or failed after).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub refund_objects: BTreeMap<String, RefundEntry>,
    /// Money taken back by disputes (chargebacks) and given back, by dispute id.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub disputes: BTreeMap<String, DisputeEntry>,
    /// Credit moved between orders by exchanges, by return id: given to a
    /// replacement order (negative, on the original) or paying it
    /// (positive, on the replacement).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub exchanged: BTreeMap<String, i64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefundEntry {
    pub charge_id: Option<String>,
    pub amount: i64,
    /// Failed or cancelled: no money went back after all.
    #[serde(default)]
    pub failed: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DisputeEntry {
    pub withdrawn: i64,
    pub reinstated: i64,
}

impl PaymentLedger {
    /// Everything paid back by refunds, each counted once.
    pub fn refunded(&self) -> i64 {
        let mut singles: BTreeMap<&str, i64> = BTreeMap::new();
        let mut without_charge = 0;
        for r in self.refund_objects.values().filter(|r| !r.failed) {
            match &r.charge_id {
                Some(c) => *singles.entry(c.as_str()).or_default() += r.amount,
                None => without_charge += r.amount,
            }
        }
        let mut total = without_charge;
        for (charge, cumulative) in &self.refunds {
            total += (*cumulative).max(singles.remove(charge.as_str()).unwrap_or(0));
        }
        total + singles.values().sum::<i64>()
    }

    /// What disputes have taken back and not given back.
    pub fn disputed_amount(&self) -> i64 {
        self.disputes
            .values()
            .map(|d| d.withdrawn - d.reinstated)
            .sum()
    }

    /// Whether a dispute has taken money back that was not reinstated.
    pub fn disputed(&self) -> bool {
        self.disputes.values().any(|d| d.withdrawn > d.reinstated)
    }

    pub fn net_paid(&self) -> i64 {
        self.received - self.refunded() - self.disputed_amount()
            + self.exchanged.values().sum::<i64>()
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
    /// The provider's payment the event belongs to (Stripe's payment
    /// intent): finds the order when the event does not name it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment_intent: Option<String>,
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
    /// One refund in its current state: booked once when it has
    /// succeeded, reversed if it fails or is cancelled afterwards.
    Refund {
        refund_id: String,
        charge_id: Option<String>,
        amount: i64,
        currency: String,
        status: RefundStatus,
    },
    /// A dispute took money back (`withdrawn`) or gave it back.
    Dispute {
        dispute_id: String,
        withdrawn: bool,
        amount: i64,
        currency: String,
    },
    /// A transfer came back (returned by the payer's bank, or reversed):
    /// what it had brought is owed again.
    Returned { amount: i64, currency: String },
    /// An event type we accept but do not book (acknowledged, stored, ignored).
    Ignored { event_type: String },
}

/// Where a refund stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RefundStatus {
    Succeeded,
    /// Failed or cancelled: no money went back.
    Failed,
    /// Not decided yet (pending, requires action).
    Pending,
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

/// More paid back (refunds, returned transfers) than was ever received.
fn refund_exceeds_payment(ledger: &PaymentLedger) -> Option<Mismatch> {
    (ledger.refunded() > ledger.received).then(|| Mismatch {
        kind: MismatchKind::RefundExceedsPayment,
        detail: format!(
            "refunded {} but received {}",
            ledger.refunded(),
            ledger.received
        ),
    })
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
                    // Zero for what the charge's single refunds counted.
                    amount = next.net_paid() - ledger.net_paid();
                }
                mismatches.extend(refund_exceeds_payment(&next));
            }
        }
        PaymentEventKind::Refund {
            refund_id,
            charge_id,
            amount: refund,
            currency,
            status,
        } => {
            if let Some(m) = wrong_currency(currency) {
                mismatches.push(m);
            } else {
                let known = next.refund_objects.get(refund_id).cloned();
                match (status, known) {
                    // A failed refund does not succeed later: the first
                    // outcome seen for an id stands, whatever the order.
                    (RefundStatus::Succeeded | RefundStatus::Failed, None) => {
                        next.refund_objects.insert(
                            refund_id.clone(),
                            RefundEntry {
                                charge_id: charge_id.clone(),
                                amount: *refund,
                                failed: *status == RefundStatus::Failed,
                            },
                        );
                    }
                    (RefundStatus::Failed, Some(entry)) if !entry.failed => {
                        // If the charge's cumulative figure counted it, it
                        // no longer stands either.
                        if let Some(charge) = &entry.charge_id {
                            let singles: i64 = next
                                .refund_objects
                                .values()
                                .filter(|r| !r.failed && r.charge_id.as_ref() == Some(charge))
                                .map(|r| r.amount)
                                .sum();
                            if let Some(cumulative) = next.refunds.get_mut(charge) {
                                if *cumulative >= singles {
                                    *cumulative = (*cumulative - entry.amount).max(0);
                                }
                            }
                        }
                        next.refund_objects.insert(
                            refund_id.clone(),
                            RefundEntry {
                                failed: true,
                                ..entry
                            },
                        );
                    }
                    _ => {}
                }
                // Negative when money went back, positive for a reversed
                // refund, zero when `charge.refunded` had counted it.
                amount = next.net_paid() - ledger.net_paid();
                if amount < 0 {
                    mismatches.extend(refund_exceeds_payment(&next));
                }
            }
        }
        PaymentEventKind::Dispute {
            dispute_id,
            withdrawn,
            amount: disputed,
            currency,
        } => {
            if let Some(m) = wrong_currency(currency) {
                mismatches.push(m);
            } else {
                let entry = next.disputes.entry(dispute_id.clone()).or_default();
                let side = if *withdrawn {
                    &mut entry.withdrawn
                } else {
                    &mut entry.reinstated
                };
                // Once per dispute and kind.
                if *side == 0 {
                    *side = *disputed;
                }
                amount = next.net_paid() - ledger.net_paid();
            }
        }
        PaymentEventKind::Returned {
            amount: returned,
            currency,
        } => {
            if let Some(m) = wrong_currency(currency) {
                mismatches.push(m);
            } else {
                // Each return is its own event, booked once by its id.
                next.received -= returned;
                amount = -returned;
                mismatches.extend(refund_exceeds_payment(&next));
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

    fn refund(id: &str, amount: i64, status: RefundStatus) -> PaymentEventKind {
        PaymentEventKind::Refund {
            refund_id: id.into(),
            charge_id: Some("ch_1".into()),
            amount,
            currency: "eur".into(),
            status,
        }
    }

    /// Books `kind` on `ledger` for an order of 1000 in EUR.
    fn apply(ledger: &PaymentLedger, kind: &PaymentEventKind) -> Booking {
        book(ledger, 1000, eur(), false, kind)
    }

    fn paid() -> PaymentLedger {
        book(
            &PaymentLedger::default(),
            1000,
            eur(),
            false,
            &received(1000, "eur"),
        )
        .ledger
    }

    #[test]
    fn a_refund_is_booked_once_when_it_succeeds_and_reversed_if_it_fails() {
        let pending = apply(&paid(), &refund("re_1", 300, RefundStatus::Pending));
        assert_eq!(pending.amount, 0);
        let done = apply(
            &pending.ledger,
            &refund("re_1", 300, RefundStatus::Succeeded),
        );
        assert_eq!((done.amount, done.ledger.net_paid()), (-300, 700));
        let again = apply(&done.ledger, &refund("re_1", 300, RefundStatus::Succeeded));
        assert_eq!(again.amount, 0, "the same refund twice");
        let failed = apply(&again.ledger, &refund("re_1", 300, RefundStatus::Failed));
        assert_eq!((failed.amount, failed.ledger.net_paid()), (300, 1000));
        let repeated = apply(&failed.ledger, &refund("re_1", 300, RefundStatus::Failed));
        assert_eq!(repeated.amount, 0, "reversed once");
        let late = apply(
            &repeated.ledger,
            &refund("re_1", 300, RefundStatus::Succeeded),
        );
        assert_eq!(
            late.amount, 0,
            "a stale success after the failure changes nothing"
        );
    }

    #[test]
    fn a_refund_failing_after_charge_refunded_counted_it_is_reversed() {
        let cumulative = PaymentEventKind::Refunded {
            charge_id: "ch_1".into(),
            cumulative: 300,
            currency: "eur".into(),
        };
        let counted = apply(&paid(), &cumulative);
        let object = apply(
            &counted.ledger,
            &refund("re_1", 300, RefundStatus::Succeeded),
        );
        let failed = apply(&object.ledger, &refund("re_1", 300, RefundStatus::Failed));
        assert_eq!(
            (
                failed.amount,
                failed.ledger.refunded(),
                failed.ledger.net_paid()
            ),
            (300, 0, 1000)
        );
        // Failing before it ever succeeded: never counted, nothing to undo.
        let early = apply(&paid(), &refund("re_2", 200, RefundStatus::Failed));
        assert_eq!((early.amount, early.ledger.net_paid()), (0, 1000));
    }

    #[test]
    fn a_refund_counts_once_whether_charge_refunded_or_the_refund_comes_first() {
        let cumulative = |c: i64| PaymentEventKind::Refunded {
            charge_id: "ch_1".into(),
            cumulative: c,
            currency: "eur".into(),
        };
        // charge.refunded first, then the refund object: nothing more.
        let a = apply(&paid(), &cumulative(300));
        let a2 = apply(&a.ledger, &refund("re_1", 300, RefundStatus::Succeeded));
        assert_eq!((a.amount, a2.amount, a2.ledger.refunded()), (-300, 0, 300));
        // The refund object first, then charge.refunded: nothing more.
        let b = apply(&paid(), &refund("re_1", 300, RefundStatus::Succeeded));
        let b2 = apply(&b.ledger, &cumulative(300));
        assert_eq!((b.amount, b2.amount, b2.ledger.refunded()), (-300, 0, 300));
        // A second refund on the charge adds only itself.
        let b3 = apply(&b2.ledger, &refund("re_2", 200, RefundStatus::Succeeded));
        let b4 = apply(&b3.ledger, &cumulative(500));
        assert_eq!((b3.amount, b4.amount, b4.ledger.refunded()), (-200, 0, 500));
    }

    #[test]
    fn a_dispute_takes_money_back_once_and_gives_it_back_once() {
        let dispute = |withdrawn: bool| PaymentEventKind::Dispute {
            dispute_id: "dp_1".into(),
            withdrawn,
            amount: 1000,
            currency: "eur".into(),
        };
        let taken = apply(&paid(), &dispute(true));
        assert_eq!((taken.amount, taken.ledger.net_paid()), (-1000, 0));
        assert!(taken.ledger.disputed());
        assert_eq!(
            taken.ledger.status(1000),
            PaymentStatus::Unpaid,
            "owed again"
        );
        let twice = apply(&taken.ledger, &dispute(true));
        assert_eq!(twice.amount, 0);
        let back = apply(&twice.ledger, &dispute(false));
        assert_eq!((back.amount, back.ledger.net_paid()), (1000, 1000));
        assert!(!back.ledger.disputed());
        // Delivered out of order: reinstated before withdrawn nets to zero.
        let early = apply(&paid(), &dispute(false));
        let late = apply(&early.ledger, &dispute(true));
        assert_eq!(
            (early.amount + late.amount, late.ledger.net_paid()),
            (0, 1000)
        );
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
