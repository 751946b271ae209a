//! Parcels: a fulfillment may leave the warehouse in several shipments, each
//! invoiced on its own. What a parcel costs is fixed when it ships, so that
//! whatever happens later (a short pick, a late invoice run) the order's
//! invoices add up to exactly its total:
//!
//! - the goods at the prices sold (units of a SKU taken from its first
//!   order line on; short picks cut from its last line, so the two never
//!   meet);
//! - the shipping price on the first parcel;
//! - of the discount not yet given, the parcel's share against the goods
//!   still open, cent by largest remainder; the parcel that completes the
//!   order takes what is left of it.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use utoipa::ToSchema;

use crate::money::allocate;
use crate::order::{Discount, FulfillmentStatus, Order, OrderLine, OrderStatus, ReturnLine};
use crate::{FieldError, FulfillmentId, InvoiceNumber, Sku};

/// One parcel as the order keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Shipment {
    /// `shp_<order ULID>-<n>`, n counting the order's parcels from 1.
    pub id: String,
    #[schema(value_type = String)]
    pub fulfillment_id: FulfillmentId,
    pub carrier: String,
    pub tracking_number: String,
    pub lines: Vec<ReturnLine>,
    #[schema(value_type = String)]
    pub shipped_at: Timestamp,
    /// The parcel's invoice, once issued.
    #[schema(value_type = Option<String>)]
    pub invoice_number: Option<InvoiceNumber>,
    /// Gross shipping charged on this parcel's invoice (the first parcel's).
    pub shipping: i64,
    /// Gross discount given on this parcel's invoice.
    pub discount: i64,
}

/// What the warehouse reports for one parcel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parcel {
    pub carrier: String,
    pub tracking_number: String,
    /// What the parcel holds; `None`: every unit not yet shipped.
    pub lines: Option<Vec<ReturnLine>>,
}

/// Why a warehouse report (a parcel, a short pick) was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReportError {
    /// The order is not with the warehouse, or the tracking number was
    /// reported before with other lines: 409.
    Conflict(String),
    /// A SKU the order lacks, or more units than are open: 422 naming the line.
    Unprocessable(FieldError),
}

/// What recording a parcel did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Shipped {
    /// Recorded now as `order.shipments[index]`; these units leave stock.
    New {
        index: usize,
        stock: BTreeMap<Sku, i64>,
    },
    /// The same parcel was recorded before, as `order.shipments[index]`.
    Repeated(usize),
}

fn sum_lines<'a>(lines: impl IntoIterator<Item = &'a ReturnLine>) -> BTreeMap<Sku, i64> {
    let mut units = BTreeMap::new();
    for l in lines {
        *units.entry(l.sku.clone()).or_insert(0) += l.quantity;
    }
    units
}

impl Order {
    /// Units per SKU that left in parcels. An order shipped before parcels
    /// were recorded shipped everything it has.
    pub fn shipped_units(&self) -> BTreeMap<Sku, i64> {
        if self.shipments.is_empty() && self.status == OrderStatus::Shipped {
            return self.units_per_sku();
        }
        sum_lines(self.shipments.iter().flat_map(|s| &s.lines))
    }

    /// Units per SKU still to ship (none zero).
    pub fn open_units(&self) -> BTreeMap<Sku, i64> {
        let mut open = self.units_per_sku();
        for (sku, n) in self.shipped_units() {
            if let Some(left) = open.get_mut(&sku) {
                *left -= n;
            }
        }
        open.retain(|_, n| *n > 0);
        open
    }

    /// The goods of `lines`, priced as sold, after skipping the units that
    /// left in `self.shipments[..before]` (each SKU from its first line on).
    pub fn priced(&self, before: usize, lines: &[ReturnLine]) -> Vec<OrderLine> {
        let mut skip = sum_lines(self.shipments[..before].iter().flat_map(|s| &s.lines));
        let mut take = sum_lines(lines);
        let mut out = Vec::new();
        for l in &self.lines {
            let skipped = skip.get_mut(&l.sku).map_or(0, |s| {
                let n = (*s).min(l.quantity);
                *s -= n;
                n
            });
            let n = take.get_mut(&l.sku).map_or(0, |t| {
                let n = (*t).min(l.quantity - skipped);
                *t -= n;
                n
            });
            if n > 0 {
                out.push(OrderLine {
                    quantity: n,
                    ..l.clone()
                });
            }
        }
        out
    }

    /// The gross value of the units still to ship.
    pub fn open_gross(&self) -> i64 {
        let goods: i64 = self.lines.iter().map(OrderLine::gross).sum();
        let shipped: i64 = self
            .shipments
            .iter()
            .enumerate()
            .map(|(i, s)| {
                self.priced(i, &s.lines)
                    .iter()
                    .map(OrderLine::gross)
                    .sum::<i64>()
            })
            .sum();
        goods - shipped
    }

    /// The part of the order's discount no parcel has taken yet.
    pub fn discount_left(&self) -> i64 {
        self.discount.as_ref().map_or(0, |d| d.amount)
            - self.shipments.iter().map(|s| s.discount).sum::<i64>()
    }

    /// Records a parcel of the fulfillment (pure): the shipment is added at
    /// its price, the order becomes `partially_shipped`, or `shipped` with
    /// the last open unit.
    pub fn ship(&mut self, parcel: Parcel, at: Timestamp) -> Result<Shipped, ReportError> {
        let carrier = parcel.carrier.trim().to_string();
        if let Some(index) = self
            .shipments
            .iter()
            .position(|s| s.tracking_number == parcel.tracking_number)
        {
            let before = &self.shipments[index];
            let same_lines = parcel
                .lines
                .as_ref()
                .is_none_or(|l| sum_lines(l) == sum_lines(&before.lines));
            return if same_lines {
                Ok(Shipped::Repeated(index))
            } else {
                Err(ReportError::Conflict(format!(
                    "tracking number {} was reported with other lines",
                    parcel.tracking_number
                )))
            };
        }
        let fulfillment = match (&self.fulfillment, self.status) {
            (
                Some(f),
                OrderStatus::Reserved | OrderStatus::HandedOff | OrderStatus::PartiallyShipped,
            ) => f.id.clone(),
            (Some(f), OrderStatus::Shipped) => {
                return Err(ReportError::Conflict(format!(
                    "fulfillment {} was already shipped in full (tracking number {})",
                    f.id,
                    f.tracking_number.as_deref().unwrap_or("-")
                )))
            }
            _ => {
                return Err(ReportError::Conflict(format!(
                    "order {} is {}: nothing to ship",
                    self.id,
                    self.status.as_str()
                )))
            }
        };
        let open = self.open_units();
        let lines = match parcel.lines {
            None => open
                .iter()
                .map(|(sku, n)| ReturnLine {
                    sku: sku.clone(),
                    quantity: *n,
                })
                .collect(),
            Some(lines) => {
                validate_against(&lines, &self.units_per_sku(), &open, "still to ship")?;
                lines
            }
        };
        let index = self.shipments.len();
        let goods: i64 = self
            .priced(index, &lines)
            .iter()
            .map(OrderLine::gross)
            .sum();
        let open_after = self.open_gross() - goods;
        let discount = allocate(self.discount_left(), &[goods, open_after])[0];
        let shipping = if index == 0 { self.shipping_price } else { 0 };
        let tail = self
            .id
            .as_str()
            .strip_prefix("ord_")
            .unwrap_or(self.id.as_str());
        self.shipments.push(Shipment {
            id: format!("shp_{tail}-{}", index + 1),
            fulfillment_id: fulfillment,
            carrier: carrier.clone(),
            tracking_number: parcel.tracking_number.clone(),
            lines: lines.clone(),
            shipped_at: at,
            invoice_number: None,
            shipping,
            discount,
        });
        let complete = self.open_units().is_empty();
        let to = if complete {
            OrderStatus::Shipped
        } else {
            OrderStatus::PartiallyShipped
        };
        if self.status == to {
            self.note("parcel_shipped", at);
        } else {
            self.transition(to, at)
                .map_err(|e| ReportError::Conflict(e.to_string()))?;
        }
        if let Some(f) = self.fulfillment.as_mut() {
            f.status = if complete {
                FulfillmentStatus::Shipped
            } else {
                FulfillmentStatus::PartiallyShipped
            };
            f.carrier = Some(carrier);
            f.tracking_number = Some(parcel.tracking_number);
        }
        Ok(Shipped::New {
            index,
            stock: sum_lines(&lines),
        })
    }

    /// The order as one parcel's invoice sees it: the parcel's goods, its
    /// shipping and discount; paid is what payments leave after the
    /// parcels before it (the last parcel also shows an overpayment).
    pub fn parcel(&self, index: usize) -> Order {
        let s = &self.shipments[index];
        let mut parcel = self.clone();
        parcel.lines = self.priced(index, &s.lines);
        parcel.shipping_price = s.shipping;
        parcel.discount = (s.discount != 0).then(|| Discount {
            code: self.discount.as_ref().and_then(|d| d.code.clone()),
            amount: s.discount,
        });
        parcel.total =
            crate::order::order_total(&parcel.lines, s.shipping, parcel.discount.as_ref());
        parcel.shipments = vec![s.clone()];
        parcel
    }

    /// The invoice total of each parcel so far.
    pub fn parcel_totals(&self) -> Vec<i64> {
        (0..self.shipments.len())
            .map(|i| self.parcel(i).total)
            .collect()
    }
}

/// Checks warehouse lines against units per SKU: every SKU known, every
/// quantity at least 1, no SKU over what `units` allows in all.
pub fn validate_against(
    lines: &[ReturnLine],
    ordered: &BTreeMap<Sku, i64>,
    units: &BTreeMap<Sku, i64>,
    what: &str,
) -> Result<(), ReportError> {
    if lines.is_empty() {
        return Err(ReportError::Unprocessable(FieldError::new(
            "lines",
            "lines must name at least one SKU",
        )));
    }
    let mut wanted: BTreeMap<&Sku, i64> = BTreeMap::new();
    for (i, l) in lines.iter().enumerate() {
        if l.quantity < 1 {
            return Err(ReportError::Unprocessable(FieldError::new(
                format!("lines[{i}].quantity"),
                "quantity must be at least 1",
            )));
        }
        if !ordered.contains_key(&l.sku) {
            return Err(ReportError::Unprocessable(FieldError::new(
                format!("lines[{i}].sku"),
                format!("the order has no SKU `{}`", l.sku),
            )));
        }
        let total = wanted.entry(&l.sku).or_default();
        *total += l.quantity;
        let have = units.get(&l.sku).copied().unwrap_or(0);
        if *total > have {
            return Err(ReportError::Unprocessable(FieldError::new(
                format!("lines[{i}].quantity"),
                format!(
                    "{} units of `{}` in the parcel, but only {have} {what}",
                    *total, l.sku
                ),
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::invoice::{build_parcel_invoice, fixtures::seller};
    use crate::order::fixtures::sample_order;
    use crate::order::{order_total, Discount};
    use crate::short_pick::cut;
    use crate::TaxRate;
    use proptest::prelude::*;

    fn at() -> Timestamp {
        "2026-11-27T10:00:00Z".parse().unwrap()
    }

    fn line(sku: &str, quantity: i64) -> ReturnLine {
        ReturnLine {
            sku: Sku::from(sku),
            quantity,
        }
    }

    fn parcel(tracking: &str, lines: Option<Vec<ReturnLine>>) -> Parcel {
        Parcel {
            carrier: "DHL".into(),
            tracking_number: tracking.into(),
            lines,
        }
    }

    /// 3 mugs at 12.99 and 2 lamps at 49.00, 4.95 shipping, 10.00 off.
    fn handed_off() -> Order {
        let mut o = sample_order();
        o.lines[0].quantity = 3;
        o.lines.push(OrderLine {
            sku: Sku::from("LAMP"),
            name: "Lampe".into(),
            quantity: 2,
            unit_price: 4900,
            tax_rate: TaxRate::parse("7").unwrap(),
        });
        o.discount = Some(Discount {
            code: None,
            amount: 1000,
        });
        o.total = order_total(&o.lines, o.shipping_price, o.discount.as_ref());
        o.status = OrderStatus::HandedOff;
        o.fulfillment = Some(crate::order::Fulfillment {
            id: FulfillmentId::from("ful_TEST"),
            status: FulfillmentStatus::HandedOff,
            carrier: None,
            tracking_number: None,
        });
        o
    }

    fn invoices(o: &Order) -> Vec<crate::invoice::Invoice> {
        (0..o.shipments.len())
            .map(|i| {
                build_parcel_invoice(o, i, InvoiceNumber::new(2026, i as u64 + 1), at(), seller())
            })
            .collect()
    }

    #[test]
    fn two_partial_parcels_and_the_rest_add_up_to_the_order() {
        let mut o = handed_off();
        let first = o.ship(parcel("P1", Some(vec![line("MUG-BLUE", 1)])), at());
        assert_eq!(
            first,
            Ok(Shipped::New {
                index: 0,
                stock: [(Sku::from("MUG-BLUE"), 1)].into()
            })
        );
        assert_eq!(o.status, OrderStatus::PartiallyShipped);
        o.ship(
            parcel("P2", Some(vec![line("LAMP", 1), line("MUG-BLUE", 1)])),
            at(),
        )
        .unwrap();
        assert_eq!(o.status, OrderStatus::PartiallyShipped);
        let rest = o.ship(parcel("P3", None), at()).unwrap();
        assert_eq!(
            rest,
            Shipped::New {
                index: 2,
                stock: [(Sku::from("LAMP"), 1), (Sku::from("MUG-BLUE"), 1)].into()
            }
        );
        assert_eq!(o.status, OrderStatus::Shipped);
        assert_eq!(
            o.fulfillment.as_ref().unwrap().status,
            FulfillmentStatus::Shipped
        );
        let inv = invoices(&o);
        assert_eq!(
            inv.iter().map(|i| i.shipping).collect::<Vec<_>>(),
            [495, 0, 0],
            "shipping on the first parcel"
        );
        // Goods 1299 | 6199 | 6199 of 13697: discount 1000 by largest remainder.
        assert_eq!(
            inv.iter().map(|i| i.discount).collect::<Vec<_>>(),
            [95, 453, 452]
        );
        assert_eq!(inv.iter().map(|i| i.total).sum::<i64>(), o.total);
        for i in &inv {
            assert_eq!(i.total_net + i.total_tax + i.rounding, i.total);
        }
        assert_eq!(
            inv[1].shipment_id.as_deref(),
            Some(o.shipments[1].id.as_str())
        );
    }

    #[test]
    fn a_repeated_parcel_changes_nothing_and_other_lines_conflict() {
        let mut o = handed_off();
        o.ship(parcel("P1", Some(vec![line("MUG-BLUE", 2)])), at())
            .unwrap();
        let before = o.clone();
        assert_eq!(
            o.ship(parcel("P1", Some(vec![line("MUG-BLUE", 2)])), at()),
            Ok(Shipped::Repeated(0))
        );
        assert_eq!(o.ship(parcel("P1", None), at()), Ok(Shipped::Repeated(0)));
        assert!(matches!(
            o.ship(parcel("P1", Some(vec![line("MUG-BLUE", 1)])), at()),
            Err(ReportError::Conflict(_))
        ));
        assert_eq!(o, before);
    }

    #[test]
    fn more_than_is_open_names_the_line_and_changes_nothing() {
        let mut o = handed_off();
        o.ship(parcel("P1", Some(vec![line("LAMP", 1)])), at())
            .unwrap();
        let before = o.clone();
        let e = o
            .ship(
                parcel("P2", Some(vec![line("MUG-BLUE", 3), line("LAMP", 2)])),
                at(),
            )
            .unwrap_err();
        assert!(
            matches!(e, ReportError::Unprocessable(ref f) if f.field.as_deref() == Some("lines[1].quantity") && f.message.contains("only 1 still to ship")),
            "{e:?}"
        );
        let e = o
            .ship(parcel("P2", Some(vec![line("DESK", 1)])), at())
            .unwrap_err();
        assert!(
            matches!(e, ReportError::Unprocessable(ref f) if f.field.as_deref() == Some("lines[0].sku")),
            "{e:?}"
        );
        assert_eq!(o, before);
        o.ship(parcel("P2", None), at()).unwrap();
        assert!(matches!(
            o.ship(parcel("P3", None), at()),
            Err(ReportError::Conflict(_))
        ));
    }

    #[test]
    fn a_short_pick_after_a_parcel_leaves_the_invoices_summing_to_the_new_total() {
        let mut o = handed_off();
        o.ship(parcel("P1", Some(vec![line("MUG-BLUE", 3)])), at())
            .unwrap();
        cut(&mut o, &[line("LAMP", 1)], None, at()).unwrap();
        assert_eq!(o.status, OrderStatus::PartiallyShipped);
        assert!(
            cut(&mut o, &[line("MUG-BLUE", 1)], None, at()).is_err(),
            "shipped units cannot be short"
        );
        cut(&mut o, &[line("LAMP", 1)], None, at()).unwrap();
        assert_eq!(
            o.status,
            OrderStatus::Shipped,
            "what shipped is all there is"
        );
        let inv = invoices(&o);
        assert_eq!(inv.len(), 1);
        assert_eq!(inv[0].total, o.total);
    }

    #[test]
    fn only_invoiced_parcels_are_receivable_while_the_order_is_partly_shipped() {
        let mut o = handed_off();
        o.ship(parcel("P1", Some(vec![line("MUG-BLUE", 1)])), at())
            .unwrap();
        assert_eq!(o.receivable(), 0, "not invoiced yet");
        o.shipments[0].invoice_number = Some(InvoiceNumber::new(2026, 1));
        assert_eq!(o.receivable(), 1299 + 495 - 95);
        assert_eq!(o.invoice_due(), 1299 + 495 - 95);
        o.ship(parcel("P2", None), at()).unwrap();
        assert_eq!(o.receivable(), o.total, "shipped: the whole order");
    }

    #[test]
    fn what_left_in_a_parcel_can_come_back_before_the_rest_ships() {
        let mut o = handed_off();
        o.ship(parcel("P1", Some(vec![line("LAMP", 1)])), at())
            .unwrap();
        let back = |qty| crate::order::Return {
            id: format!("R{qty}"),
            lines: vec![line("LAMP", qty)],
            restocked: true,
            at: at(),
            credit_note: None,
            credit: None,
            exchange: None,
        };
        assert!(
            matches!(
                o.record_return(back(2)),
                Err(crate::order::ReturnError::Unprocessable(_))
            ),
            "only one lamp has left"
        );
        assert!(o.record_return(back(1)).is_ok());
        assert_eq!(o.status, OrderStatus::PartiallyShipped);
        assert!(o.credited > 0);
    }

    /// An order of 1 to 5 lines at random prices and rates, with a random
    /// discount and shipping price.
    fn any_order() -> impl Strategy<Value = Order> {
        (
            proptest::collection::vec((1i64..20_000, 1i64..6, 0usize..3), 1..6),
            0i64..1_000,
            0u32..101,
        )
            .prop_map(|(lines, shipping, discount_pct)| {
                let mut o = handed_off();
                let rates = ["19", "7", "0"];
                o.lines = lines
                    .iter()
                    .enumerate()
                    .map(|(i, (price, qty, rate))| OrderLine {
                        sku: Sku(format!("S{}", i % 4)),
                        name: format!("Article {i}"),
                        quantity: *qty,
                        unit_price: *price,
                        tax_rate: TaxRate::parse(rates[*rate]).unwrap(),
                    })
                    .collect();
                let goods: i64 = o.lines.iter().map(OrderLine::gross).sum();
                o.shipping_price = shipping;
                o.discount = (discount_pct > 0).then(|| Discount {
                    code: Some("X".into()),
                    amount: goods * discount_pct as i64 / 100,
                });
                o.total = order_total(&o.lines, shipping, o.discount.as_ref());
                o
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(1_000))]

        /// 1,000 generated orders shipped in random parcels (some units
        /// short): the parcels' invoices hold exactly the units shipped and
        /// add up to exactly the order's total, shipping once, the discount
        /// in full, every invoice balanced and none negative; payments
        /// settle them in turn.
        #[test]
        fn parcel_invoices_add_up_to_the_order(
            mut o in any_order(),
            splits in proptest::collection::vec((0usize..6, 1i64..4, any::<bool>()), 0..8),
            paid_pct in 0i64..130,
        ) {
            for (n, (pick, qty, short)) in splits.into_iter().enumerate() {
                let open: Vec<_> = o.open_units().into_iter().collect();
                if open.is_empty() {
                    break;
                }
                let (sku, left) = &open[pick % open.len()];
                let lines = vec![line(sku.as_str(), (*left).min(qty))];
                if short && n % 3 == 2 {
                    cut(&mut o, &lines, None, at()).unwrap();
                } else {
                    o.ship(parcel(&format!("T{n}"), Some(lines)), at()).unwrap();
                }
            }
            if o.status != OrderStatus::Cancelled && !o.open_units().is_empty() {
                o.ship(parcel("REST", None), at()).unwrap();
            }
            if o.status == OrderStatus::Cancelled {
                prop_assert_eq!(o.total, 0);
                return Ok(());
            }
            prop_assert_eq!(o.status, OrderStatus::Shipped);
            o.ledger.received = o.total * paid_pct / 100;
            let inv = invoices(&o);
            prop_assert_eq!(inv.iter().map(|i| i.total).sum::<i64>(), o.total);
            prop_assert_eq!(inv.iter().map(|i| i.shipping).sum::<i64>(), o.shipping_price);
            prop_assert_eq!(
                inv.iter().map(|i| i.discount).sum::<i64>(),
                o.discount.as_ref().map_or(0, |d| d.amount)
            );
            let mut units = std::collections::BTreeMap::new();
            for i in &inv {
                prop_assert!(i.total >= 0 && i.discount >= 0, "{i:?}");
                prop_assert_eq!(i.total_net + i.total_tax + i.rounding, i.total);
                prop_assert!(i.rounding.abs() <= i.tax_totals.len() as i64);
                for l in &i.lines {
                    *units.entry(Sku(l.sku.clone())).or_insert(0) += l.quantity;
                }
            }
            prop_assert_eq!(units, o.units_per_sku());
            prop_assert_eq!(
                inv.iter().map(|i| i.amount_paid).sum::<i64>(),
                o.amount_paid()
            );
            prop_assert_eq!(
                inv.iter().map(|i| i.amount_due).sum::<i64>(),
                (o.total - o.amount_paid()).max(0)
            );
        }
    }
}
