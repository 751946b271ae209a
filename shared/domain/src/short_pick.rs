//! Short picks: units the warehouse cannot ship (damaged, lost, miscounted)
//! are cut from the order. The order's total shrinks by their gross price
//! less their share of the discount; shipping stays unless nothing is left
//! to ship, in which case the order is cancelled and owes nothing.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use utoipa::ToSchema;

use crate::money::allocate;
use crate::order::{Order, OrderStatus, ReturnLine};
use crate::shipment::{validate_against, ReportError};
use crate::Sku;

/// One short pick as the order keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ShortPick {
    pub lines: Vec<ReturnLine>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[schema(value_type = String)]
    pub at: Timestamp,
    /// By how much the order's total went down.
    pub amount: i64,
    /// The warehouse's `Idempotency-Key` for this report, when it sent one:
    /// the same report again is then recognised and cuts nothing more.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
}

/// What an `Idempotency-Key` makes of a short-pick report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Replay {
    /// The key is new on this order: cut.
    New,
    /// The same report again (same lines and reason): nothing to do.
    Same,
    /// The key was used for another report: refused.
    Different,
}

/// Whether the short pick reported under `key` was recorded on `order`
/// before, and if so whether it was this one. Without a key a warehouse
/// cannot retry safely (two reports of one missing unit cut two), which is
/// why it may send one.
pub fn replay(order: &Order, key: &str, lines: &[ReturnLine], reason: Option<&str>) -> Replay {
    match order
        .short_picks
        .iter()
        .find(|p| p.key.as_deref() == Some(key))
    {
        None => Replay::New,
        Some(p) if p.lines == lines && p.reason.as_deref() == reason => Replay::Same,
        Some(_) => Replay::Different,
    }
}

/// Cuts `lines` from `order` (pure): lines, discount and total shrink, and
/// an order left with nothing to ship is cancelled with a total of 0.
/// Returns the stock to take out (units per SKU) with the short pick.
pub fn cut(
    order: &mut Order,
    lines: &[ReturnLine],
    reason: Option<String>,
    at: Timestamp,
) -> Result<BTreeMap<Sku, i64>, ReportError> {
    if !matches!(
        order.status,
        OrderStatus::Reserved | OrderStatus::HandedOff | OrderStatus::PartiallyShipped
    ) {
        return Err(ReportError::Conflict(format!(
            "order {} is {}: only units the warehouse holds can be short",
            order.id,
            order.status.as_str()
        )));
    }
    let open = order.open_units();
    validate_against(lines, &order.units_per_sku(), &open, "not yet shipped")?;
    let mut wanted: BTreeMap<Sku, i64> = BTreeMap::new();
    for l in lines {
        *wanted.entry(l.sku.clone()).or_default() += l.quantity;
    }
    let open_gross = order.open_gross();
    let discount_left = order.discount_left();
    let mut cut_gross = 0;
    for (sku, units) in &wanted {
        let mut left = *units;
        // From the last line of the SKU backwards.
        for line in order.lines.iter_mut().rev().filter(|l| &l.sku == sku) {
            let take = left.min(line.quantity);
            line.quantity -= take;
            cut_gross += take * line.unit_price;
            left -= take;
        }
    }
    order.lines.retain(|l| l.quantity > 0);
    let total_before = order.total;
    if order.lines.is_empty() {
        order.discount = None;
        order.shipping_price = 0;
        order.total = 0;
        order
            .transition(OrderStatus::Cancelled, at)
            .map_err(|e| ReportError::Conflict(e.to_string()))?;
    } else {
        // The cut units take their share of the discount no parcel took
        // (all of it when nothing is left to ship), as a parcel would.
        let share = allocate(discount_left, &[cut_gross, open_gross - cut_gross])[0];
        if let Some(d) = order.discount.as_mut() {
            d.amount -= share;
        }
        order.total =
            crate::order::order_total(&order.lines, order.shipping_price, order.discount.as_ref());
        if order.open_units().is_empty() {
            // The parcels shipped are all there is now.
            order
                .transition(OrderStatus::Shipped, at)
                .map_err(|e| ReportError::Conflict(e.to_string()))?;
            if let Some(f) = order.fulfillment.as_mut() {
                f.status = crate::order::FulfillmentStatus::Shipped;
            }
        }
    }
    order.short_picks.push(ShortPick {
        lines: lines.to_vec(),
        reason,
        at,
        amount: total_before - order.total,
        key: None,
    });
    order.note("short_picked", at);
    Ok(wanted)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::order::fixtures::sample_order;
    use crate::order::OrderLine;
    use crate::TaxRate;
    use proptest::prelude::*;

    fn line(sku: &str, quantity: i64) -> ReturnLine {
        ReturnLine {
            sku: Sku::from(sku),
            quantity,
        }
    }

    fn held() -> Order {
        let mut o = sample_order();
        o.status = OrderStatus::HandedOff;
        o
    }

    #[test]
    fn a_key_recognises_its_report_and_refuses_another() {
        let mut o = held();
        let lines = [line("MUG-BLUE", 1)];
        assert_eq!(replay(&o, "k1", &lines, Some("damaged")), Replay::New);
        cut(
            &mut o,
            &lines,
            Some("damaged".into()),
            Timestamp::UNIX_EPOCH,
        )
        .unwrap();
        o.short_picks.last_mut().unwrap().key = Some("k1".into());
        assert_eq!(replay(&o, "k1", &lines, Some("damaged")), Replay::Same);
        assert_eq!(replay(&o, "k1", &lines, Some("lost")), Replay::Different);
        assert_eq!(
            replay(&o, "k1", &[line("MUG-BLUE", 2)], Some("damaged")),
            Replay::Different
        );
        assert_eq!(replay(&o, "k2", &lines, Some("damaged")), Replay::New);
    }

    #[test]
    fn a_cut_unit_takes_its_price_less_its_discount_share_off_the_total() {
        let mut o = held();
        // 2 × 12.99, 4.95 shipping, 2.00 discount: 28.93.
        assert_eq!(o.total, 2893);
        let stock = cut(
            &mut o,
            &[line("MUG-BLUE", 1)],
            Some("damaged".into()),
            Timestamp::UNIX_EPOCH,
        )
        .unwrap();
        assert_eq!(stock[&Sku::from("MUG-BLUE")], 1);
        assert_eq!(o.lines[0].quantity, 1);
        assert_eq!(
            o.discount.as_ref().unwrap().amount,
            100,
            "half the discount goes with half the goods"
        );
        assert_eq!(o.total, 1299 + 495 - 100);
        assert_eq!(o.short_picks[0].amount, 1299 - 100);
        assert_eq!(o.status, OrderStatus::HandedOff);
    }

    #[test]
    fn cutting_everything_cancels_the_order_and_it_owes_nothing() {
        let mut o = held();
        cut(&mut o, &[line("MUG-BLUE", 2)], None, Timestamp::UNIX_EPOCH).unwrap();
        assert_eq!((o.status, o.total), (OrderStatus::Cancelled, 0));
        assert_eq!(o.short_picks[0].amount, 2893);
    }

    #[test]
    fn more_than_held_or_an_unknown_sku_names_the_line_and_changes_nothing() {
        let mut o = held();
        let before = o.clone();
        let e = cut(
            &mut o,
            &[line("MUG-BLUE", 1), line("MUG-BLUE", 2)],
            None,
            Timestamp::UNIX_EPOCH,
        )
        .unwrap_err();
        assert!(
            matches!(e, ReportError::Unprocessable(ref f) if f.field.as_deref() == Some("lines[1].quantity")),
            "{e:?}"
        );
        let e = cut(&mut o, &[line("LAMP", 1)], None, Timestamp::UNIX_EPOCH).unwrap_err();
        assert!(
            matches!(e, ReportError::Unprocessable(ref f) if f.field.as_deref() == Some("lines[0].sku")),
            "{e:?}"
        );
        assert_eq!(o, before);
        o.status = OrderStatus::Shipped;
        assert!(matches!(
            cut(&mut o, &[line("MUG-BLUE", 1)], None, Timestamp::UNIX_EPOCH),
            Err(ReportError::Conflict(_))
        ));
    }

    proptest! {
        /// Over random orders and cuts: the total never grows, what was
        /// cut plus what is left is what there was, and the discount never
        /// exceeds the goods left.
        #[test]
        fn cuts_add_up(
            prices in proptest::collection::vec((1i64..10_000, 1i64..5), 1..5),
            discount in 0i64..5_000,
            cuts in proptest::collection::vec((0usize..5, 1i64..5), 1..4),
        ) {
            let mut o = held();
            o.lines = prices.iter().enumerate().map(|(i, (p, q))| OrderLine {
                sku: Sku(format!("S{i}")), name: format!("S{i}"), quantity: *q, unit_price: *p,
                tax_rate: TaxRate::parse("19").unwrap(),
            }).collect();
            let goods: i64 = o.lines.iter().map(|l| l.gross()).sum();
            o.discount = (discount < goods).then_some(crate::order::Discount { code: None, amount: discount });
            o.total = crate::order::order_total(&o.lines, o.shipping_price, o.discount.as_ref());
            let start = o.total;
            for (i, q) in cuts {
                let lines = [line(&format!("S{}", i % prices.len()), q)];
                let before = o.total;
                if cut(&mut o, &lines, None, Timestamp::UNIX_EPOCH).is_ok() {
                    prop_assert!(o.total <= before);
                }
            }
            let cut_total: i64 = o.short_picks.iter().map(|s| s.amount).sum();
            prop_assert_eq!(cut_total + o.total, start);
            let goods: i64 = o.lines.iter().map(|l| l.gross()).sum();
            prop_assert!(o.discount.as_ref().map_or(0, |d| d.amount) <= goods.max(0));
        }
    }
}
