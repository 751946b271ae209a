//! Exchanges: a return whose customer gets other goods instead. The return
//! is booked as any return (stock back, a credit note); a replacement order
//! for the new goods is captured at once, and the credit pays for it. What
//! the credit does not cover is due on the replacement; what the
//! replacement does not use stays on the original order as an overpayment
//! (a refund is due).
//!
//! The credit moves between the two orders as ledger entries under the
//! return's id: `-applied` on the original, `+applied` on the replacement.
//! Both are the same customer's receivables, so the journal needs no entry
//! of its own for it: the credit note and the replacement's invoice book
//! the goods.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use utoipa::ToSchema;

use crate::catalog::SkuItem;
use crate::event::{Envelope, EventType};
use crate::money::allocate;
use crate::order::{Dunning, Order, OrderLine, OrderStatus, PaymentMethod, Return, TimelineEntry};
use crate::payment::PaymentLedger;
use crate::ports::LedgerEntry;
use crate::{FieldError, OrderId, Sku, TaxRate};

/// Goods the customer asks for instead, as the warehouse reports them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ExchangeLine {
    #[schema(value_type = String)]
    pub sku: Sku,
    #[schema(minimum = 1, maximum = 10_000)]
    pub quantity: i64,
    /// Gross price of one unit (a dearer or cheaper article); without it
    /// the goods cost exactly what the returned goods were credited.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 0)]
    pub unit_price: Option<i64>,
}

/// An exchange as the return keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Exchange {
    #[schema(value_type = String)]
    pub replacement_order_id: OrderId,
    /// What was asked for, to tell a repeated report from another one.
    pub requested: Vec<ExchangeLine>,
    /// The replacement's goods, priced.
    pub lines: Vec<OrderLine>,
    /// How much of the return's credit pays the replacement.
    pub applied: i64,
}

/// Prices the replacement goods. Lines with a `unit_price` cost that;
/// the others share what the credit leaves after them, unit by unit by
/// largest remainder (units of one SKU at two prices become two lines).
/// Unknown SKUs are refused naming the line.
pub fn price(
    requested: &[ExchangeLine],
    catalogue: &HashMap<Sku, SkuItem>,
    credit: i64,
    intra_community_supply: bool,
) -> Result<Vec<OrderLine>, FieldError> {
    let mut items = Vec::with_capacity(requested.len());
    for (i, line) in requested.iter().enumerate() {
        let item = catalogue.get(&line.sku).ok_or_else(|| {
            FieldError::new(
                format!("exchange[{i}].sku"),
                format!("unknown SKU `{}`", line.sku),
            )
        })?;
        items.push(item);
    }
    let priced: i64 = requested
        .iter()
        .filter_map(|l| Some(l.quantity * l.unit_price?))
        .sum();
    let unpriced_units: Vec<usize> = requested
        .iter()
        .enumerate()
        .filter(|(_, l)| l.unit_price.is_none())
        .flat_map(|(i, l)| std::iter::repeat_n(i, l.quantity as usize))
        .collect();
    let shares = allocate((credit - priced).max(0), &vec![1; unpriced_units.len()]);
    let mut lines: Vec<OrderLine> = Vec::new();
    let tax_rate = |item: &SkuItem| {
        if intra_community_supply {
            TaxRate::from_basis_points(0)
        } else {
            item.tax_rate
        }
    };
    let mut unit = 0;
    for (i, (line, item)) in requested.iter().zip(items).enumerate() {
        let mut add = |unit_price: i64, quantity: i64| match lines.last_mut() {
            Some(l) if l.sku == line.sku && l.unit_price == unit_price => l.quantity += quantity,
            _ => lines.push(OrderLine {
                sku: line.sku.clone(),
                name: item.name.clone(),
                quantity,
                unit_price,
                tax_rate: tax_rate(item),
            }),
        };
        match line.unit_price {
            Some(p) => add(p, line.quantity),
            None => {
                while unpriced_units.get(unit) == Some(&i) {
                    add(shares[unit], 1);
                    unit += 1;
                }
            }
        }
    }
    Ok(lines)
}

/// The replacement order of return `ret` of `original` (whose exchange is
/// recorded): the same customer and addresses, the exchanged goods, no
/// shipping, paid by the applied credit.
pub fn replacement(original: &Order, ret: &Return, at: Timestamp) -> Option<Order> {
    let exchange = ret.exchange.as_ref()?;
    let total: i64 = exchange.lines.iter().map(OrderLine::gross).sum();
    let mut ledger = PaymentLedger::default();
    ledger.exchanged.insert(ret.id.clone(), exchange.applied);
    Some(Order {
        id: exchange.replacement_order_id.clone(),
        version: 1,
        external_ref: None,
        status: OrderStatus::Captured,
        currency: original.currency,
        customer: original.customer.clone(),
        billing_address: original.billing_address.clone(),
        shipping_address: original.shipping_address.clone(),
        lines: exchange.lines.clone(),
        shipping_price: 0,
        discount: None,
        payment_method: PaymentMethod::Exchange,
        total,
        ledger,
        credited: 0,
        invoice_number: None,
        fulfillment: None,
        shipments: Vec::new(),
        correlation_id: original.correlation_id.clone(),
        captured_at: at,
        timeline: vec![TimelineEntry {
            at,
            event: "captured".into(),
        }],
        returns: Vec::new(),
        short_picks: Vec::new(),
        locale: original.locale,
        buyer_reference: original.buyer_reference.clone(),
        due_date: None,
        dunning: Dunning::default(),
        intra_community_supply: original.intra_community_supply,
        exchange_for: Some(original.id.clone()),
    })
}

/// Records the exchange on the return just recorded (`order.returns`'
/// last): prices the goods against the return's credit, applies what of
/// the credit the replacement can use, and names the replacement order.
pub fn record(
    order: &mut Order,
    requested: &[ExchangeLine],
    catalogue: &HashMap<Sku, SkuItem>,
    replacement_order_id: OrderId,
) -> Result<(), FieldError> {
    let ret = order.returns.last().expect("the return was just recorded");
    let credit = ret.credit.unwrap_or(0);
    let lines = price(requested, catalogue, credit, order.intra_community_supply)?;
    let total: i64 = lines.iter().map(OrderLine::gross).sum();
    let applied = credit.min(total);
    let id = ret.id.clone();
    order.ledger.exchanged.insert(id, -applied);
    order.returns.last_mut().expect("checked").exchange = Some(Exchange {
        replacement_order_id,
        requested: requested.to_vec(),
        lines,
        applied,
    });
    Ok(())
}

/// A replacement order cancelled (by the customer, the warehouse or a short
/// pick of every unit) has no use for the credit that paid it: it goes back
/// to the original order, which then owes the customer the whole credit as
/// if the return had been a plain one. Zeroes the replacement's share (pure)
/// and gives what the change must carry: the booked amounts leaving it and
/// an event per return that gives them to the original. Money the customer
/// paid on top stays on the replacement, to be refunded there.
pub fn give_back_credit(
    replacement: &mut Order,
    at: Timestamp,
) -> (Vec<LedgerEntry>, Vec<Envelope>) {
    let Some(original) = replacement.exchange_for.clone() else {
        return (Vec::new(), Vec::new());
    };
    let mut booked = Vec::new();
    let mut events = Vec::new();
    for (return_id, applied) in replacement.ledger.exchanged.iter_mut() {
        if *applied == 0 {
            continue;
        }
        booked.push(LedgerEntry {
            order_id: replacement.id.clone(),
            event_id: credit_back_id(return_id),
            amount: -*applied,
            currency: replacement.currency.to_string(),
            at,
        });
        *applied = 0;
        let mut event = Envelope::new(
            EventType::CreditReturned,
            Some(original.clone()),
            &replacement.correlation_id,
            at,
        );
        event.payload.return_id = Some(return_id.clone());
        events.push(event);
    }
    if !booked.is_empty() {
        replacement.note("credit_returned", at);
    }
    (booked, events)
}

/// The original order takes back the credit of its return `return_id`
/// (pure): its share given to the replacement is zeroed. Returns the booked
/// amount, `None` when it was given back before (a redelivered event).
pub fn take_back_credit(
    original: &mut Order,
    return_id: &str,
    at: Timestamp,
) -> Option<LedgerEntry> {
    let given = original.ledger.exchanged.get_mut(return_id)?;
    if *given == 0 {
        return None;
    }
    let entry = LedgerEntry {
        order_id: original.id.clone(),
        event_id: credit_back_id(return_id),
        amount: -*given,
        currency: original.currency.to_string(),
        at,
    };
    *given = 0;
    original.note("credit_returned", at);
    Some(entry)
}

fn credit_back_id(return_id: &str) -> String {
    format!("exchange-{return_id}-back")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn catalogue() -> HashMap<Sku, SkuItem> {
        ["SHIRT-M", "SHIRT-L", "COAT"]
            .into_iter()
            .map(|s| {
                (
                    Sku::from(s),
                    SkuItem {
                        sku: Sku::from(s),
                        name: s.to_lowercase(),
                        tax_rate: TaxRate::parse("19").unwrap(),
                        on_hand: 10,
                        reserved: 0,
                        available: 10,
                    },
                )
            })
            .collect()
    }

    fn ask(sku: &str, quantity: i64, unit_price: Option<i64>) -> ExchangeLine {
        ExchangeLine {
            sku: Sku::from(sku),
            quantity,
            unit_price,
        }
    }

    #[test]
    fn like_for_like_costs_exactly_the_credit_cents_spread() {
        let lines = price(&[ask("SHIRT-L", 3, None)], &catalogue(), 1000, false).unwrap();
        assert_eq!(
            lines
                .iter()
                .map(|l| (l.quantity, l.unit_price))
                .collect::<Vec<_>>(),
            [(1, 334), (2, 333)]
        );
        assert_eq!(lines.iter().map(OrderLine::gross).sum::<i64>(), 1000);
    }

    #[test]
    fn given_prices_are_kept_and_the_rest_shares_what_is_left() {
        let lines = price(
            &[ask("COAT", 1, Some(700)), ask("SHIRT-L", 2, None)],
            &catalogue(),
            1000,
            false,
        )
        .unwrap();
        assert_eq!(lines[0].unit_price, 700);
        assert_eq!((lines[1].quantity, lines[1].unit_price), (2, 150));
        let intra = price(&[ask("COAT", 1, Some(700))], &catalogue(), 0, true).unwrap();
        assert_eq!(intra[0].tax_rate.basis_points(), 0);
    }

    #[test]
    fn a_cancelled_replacement_gives_the_credit_back_once() {
        let mut original = crate::order::fixtures::sample_order();
        original.ledger.received = original.total;
        original.ledger.exchanged.insert("RMA-1".into(), -1900);
        let mut replacement = original.clone();
        replacement.id = OrderId::from("ord_r");
        replacement.exchange_for = Some(original.id.clone());
        replacement.ledger = PaymentLedger::default();
        replacement.ledger.received = 3100;
        replacement.ledger.exchanged.insert("RMA-1".into(), 1900);

        let (booked, events) = give_back_credit(&mut replacement, Timestamp::UNIX_EPOCH);
        assert_eq!(
            replacement.ledger.net_paid(),
            3100,
            "what the customer paid"
        );
        assert_eq!(booked.len(), 1);
        assert_eq!(
            (booked[0].amount, booked[0].order_id.clone()),
            (-1900, replacement.id.clone())
        );
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].event_type, EventType::CreditReturned);
        assert_eq!(events[0].order_id.as_ref(), Some(&original.id));
        assert_eq!(events[0].payload.return_id.as_deref(), Some("RMA-1"));
        // Nothing more to give on a second cancellation path.
        assert!(give_back_credit(&mut replacement, Timestamp::UNIX_EPOCH)
            .0
            .is_empty());

        let back = take_back_credit(&mut original, "RMA-1", Timestamp::UNIX_EPOCH).unwrap();
        assert_eq!(
            (back.amount, back.event_id.as_str()),
            (1900, "exchange-RMA-1-back")
        );
        assert_eq!(original.ledger.net_paid(), original.total);
        assert_eq!(original.timeline.last().unwrap().event, "credit_returned");
        assert_eq!(
            replacement.timeline.last().unwrap().event,
            "credit_returned"
        );
        assert!(take_back_credit(&mut original, "RMA-1", Timestamp::UNIX_EPOCH).is_none());
        assert!(take_back_credit(&mut original, "RMA-9", Timestamp::UNIX_EPOCH).is_none());
        // An ordinary order has no credit to give back.
        let mut plain = crate::order::fixtures::sample_order();
        assert_eq!(
            give_back_credit(&mut plain, Timestamp::UNIX_EPOCH),
            (vec![], vec![])
        );
    }

    #[test]
    fn an_unknown_sku_names_the_line() {
        let e = price(
            &[ask("COAT", 1, None), ask("HAT", 1, None)],
            &catalogue(),
            10,
            false,
        )
        .unwrap_err();
        assert_eq!(e.field.as_deref(), Some("exchange[1].sku"));
    }

    proptest::proptest! {
        /// Without prices the replacement costs exactly the credit.
        #[test]
        fn unpriced_goods_cost_the_credit(
            credit in 0i64..1_000_000,
            quantities in proptest::collection::vec(1i64..7, 1..4),
        ) {
            let asked: Vec<_> = quantities
                .iter()
                .enumerate()
                .map(|(i, q)| ask(["SHIRT-M", "SHIRT-L", "COAT"][i % 3], *q, None))
                .collect();
            let lines = price(&asked, &catalogue(), credit, false).unwrap();
            proptest::prop_assert_eq!(lines.iter().map(OrderLine::gross).sum::<i64>(), credit);
            proptest::prop_assert_eq!(
                lines.iter().map(|l| l.quantity).sum::<i64>(),
                quantities.iter().sum::<i64>()
            );
        }
    }
}
