//! Invoices, computed so that the same figures satisfy EN 16931 (the EU
//! e-invoice norm) and add up to exactly what the customer was charged.
//!
//! Prices are gross. Per VAT rate: the goods of that rate, minus their share
//! of the discount, plus their share of shipping (shares by largest
//! remainder, the usual EU treatment of ancillary costs) give the rate's gross
//! `T`. Its taxable amount is `round(T / (1 + rate))` and its VAT is
//! `round(taxable × rate)` (rule BR-CO-17). Where `taxable + VAT` misses `T`
//! by a cent, the difference is the invoice's rounding amount (BT-114), so
//! the amount payable is always the order total.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use utoipa::ToSchema;

use crate::money::{allocate, div_round};
use crate::order::{Address, Order, OrderLine, PaymentMethod, Return};
use crate::{Currency, InvoiceNumber, OrderId, TaxRate};

/// The seller, as printed on every invoice. Comes from configuration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Seller {
    pub name: String,
    pub street: String,
    pub postal_code: String,
    pub city: String,
    /// ISO 3166-1 alpha-2.
    pub country: String,
    pub vat_id: String,
    pub email: String,
    /// For payment by bank transfer; printed and put into the e-invoice.
    pub iban: Option<String>,
    /// Who answers questions about invoices (BG-6, required by XRechnung).
    #[serde(default)]
    pub contact: SellerContact,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct SellerContact {
    pub name: String,
    pub phone: String,
    pub email: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct InvoiceLine {
    pub sku: String,
    pub name: String,
    pub quantity: i64,
    /// Gross price of one unit.
    pub unit_price: i64,
    #[schema(value_type = String)]
    pub tax_rate: TaxRate,
    /// The line's share of its rate's net goods amount.
    pub net: i64,
    pub tax: i64,
    pub gross: i64,
}

/// The VAT breakdown of one rate (EN 16931 BG-23).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct TaxTotal {
    #[schema(value_type = String)]
    pub rate: TaxRate,
    /// Taxable amount: `goods_net - discount_net + shipping_net`.
    pub net: i64,
    pub tax: i64,
    pub gross: i64,
    pub goods_net: i64,
    pub discount_net: i64,
    pub shipping_net: i64,
}

/// An invoice, or a credit note that corrects one (for returned goods).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum DocumentKind {
    #[default]
    Invoice,
    CreditNote {
        /// The invoice it corrects.
        #[schema(value_type = String)]
        corrects: InvoiceNumber,
        return_id: String,
        /// The part of the credit that pays for an exchange's replacement.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        exchange: Option<AppliedCredit>,
    },
}

/// Credit applied to an exchange's replacement order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct AppliedCredit {
    #[schema(value_type = String)]
    pub replacement_order_id: OrderId,
    pub amount: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Invoice {
    #[schema(value_type = String, example = "INV-2026-000001")]
    pub number: InvoiceNumber,
    #[serde(default)]
    pub kind: DocumentKind,
    #[schema(value_type = String)]
    pub order_id: OrderId,
    #[schema(value_type = String)]
    pub issued_at: Timestamp,
    #[schema(value_type = String)]
    pub currency: Currency,
    pub seller: Seller,
    pub buyer_name: String,
    pub buyer_email: String,
    pub billing_address: Address,
    pub payment_method: PaymentMethod,
    pub lines: Vec<InvoiceLine>,
    /// Gross shipping charge.
    pub shipping: i64,
    /// Gross discount.
    pub discount: i64,
    pub discount_code: Option<String>,
    pub tax_totals: Vec<TaxTotal>,
    pub total_net: i64,
    pub total_tax: i64,
    /// `total - (total_net + total_tax)`: at most a cent per rate.
    pub rounding: i64,
    /// What the order costs, VAT included: the amount charged.
    pub total: i64,
    pub amount_paid: i64,
    pub amount_due: i64,
    /// When it must be paid, for invoices with payment terms (BT-9).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, example = "2026-12-10")]
    pub due_date: Option<jiff::civil::Date>,
    /// The order's ISO 11649 reference to quote on a transfer (BT-83).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment_reference: Option<String>,
    /// When the goods were delivered (shipped): BT-72, required by § 14 UStG.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, example = "2026-11-26")]
    pub delivery_date: Option<jiff::civil::Date>,
    /// The buying company (B2B), BT-44 with the person as contact.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub buyer_company: Option<String>,
    /// The buyer's VAT id (BT-48).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub buyer_vat_id: Option<String>,
    /// The buyer's reference (BT-10); the order id when the buyer gave none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub buyer_reference: Option<String>,
    /// A tax-free intra-community supply: VAT category K at 0 %.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub intra_community_supply: bool,
    /// Where the goods went (BG-13/BG-15): the order's shipping address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ship_to: Option<Address>,
    /// The parcel this invoice covers (an order shipped in several parcels
    /// has an invoice for each); null for credit notes.
    #[serde(default)]
    pub shipment_id: Option<String>,
    /// The language of the email it is sent with: the order's.
    #[serde(default)]
    pub locale: crate::order::Locale,
}

/// Why an intra-community supply carries no VAT (BT-120, BT-121).
pub const INTRA_COMMUNITY_EXEMPTION: (&str, &str) = (
    "VATEX-EU-IC",
    "Intra-community supply - tax-free under section 4 no. 1b and section 6a UStG",
);

impl Invoice {
    /// The VAT category of a rate on this document (EN 16931 BT-118):
    /// `K` intra-community supply, `Z` zero rated, `S` standard rated.
    pub fn vat_category(&self, rate: TaxRate) -> &'static str {
        if self.intra_community_supply {
            "K"
        } else if rate.basis_points() == 0 {
            "Z"
        } else {
            "S"
        }
    }

    /// The exemption reason code and text, for categories that need one.
    pub fn vat_exemption(&self) -> Option<(&'static str, &'static str)> {
        self.intra_community_supply
            .then_some(INTRA_COMMUNITY_EXEMPTION)
    }
}

fn net_of(gross: i64, rate: TaxRate) -> i64 {
    rate.split_gross(gross).0
}

fn tax_on(net: i64, rate: TaxRate) -> i64 {
    div_round(net as i128 * rate.basis_points() as i128, 10_000) as i64
}

/// Computes the invoice of a shipped order.
pub fn build_invoice(
    order: &Order,
    number: InvoiceNumber,
    issued_at: Timestamp,
    seller: Seller,
) -> Invoice {
    let mut goods: BTreeMap<TaxRate, i64> = BTreeMap::new();
    for l in &order.lines {
        *goods.entry(l.tax_rate).or_insert(0) += l.gross();
    }
    let rates: Vec<TaxRate> = goods.keys().copied().collect();
    let weights: Vec<i64> = goods.values().copied().collect();
    let discount = order.discount.as_ref().map_or(0, |d| d.amount);
    let discount_parts = allocate(discount, &weights);
    let shipping_parts = allocate(order.shipping_price, &weights);

    let mut tax_totals = Vec::with_capacity(rates.len());
    let mut lines = Vec::with_capacity(order.lines.len());
    for (i, rate) in rates.iter().enumerate() {
        let gross = weights[i] - discount_parts[i] + shipping_parts[i];
        let net = net_of(gross, *rate);
        let goods_net = net_of(weights[i], *rate);
        // Discount and shipping nets are rounded separately; the one that
        // exists absorbs the cent that makes them add up to the taxable amount.
        // (A one-cent discount can round to a negative net; then shipping
        // takes the cent instead, as neither amount may be negative.)
        let (discount_net, shipping_net) = if discount_parts[i] != 0 {
            let shipping_net = net_of(shipping_parts[i], *rate);
            let discount_net = goods_net + shipping_net - net;
            if discount_net < 0 {
                (0, net - goods_net)
            } else {
                (discount_net, shipping_net)
            }
        } else {
            (0, net - goods_net)
        };
        let tax = tax_on(net, *rate);
        tax_totals.push(TaxTotal {
            rate: *rate,
            net,
            tax,
            gross: net + tax,
            goods_net,
            discount_net,
            shipping_net,
        });

        // The rate's net goods amount spread over its lines, so they add up.
        let of_rate: Vec<_> = order
            .lines
            .iter()
            .enumerate()
            .filter(|(_, l)| l.tax_rate == *rate)
            .collect();
        let shares = allocate(
            goods_net,
            &of_rate.iter().map(|(_, l)| l.gross()).collect::<Vec<_>>(),
        );
        for ((position, l), line_net) in of_rate.into_iter().zip(shares) {
            let gross = l.gross();
            let line = InvoiceLine {
                sku: l.sku.to_string(),
                name: l.name.clone(),
                quantity: l.quantity,
                unit_price: l.unit_price,
                tax_rate: l.tax_rate,
                net: line_net,
                tax: gross - line_net,
                gross,
            };
            lines.push((position, line));
        }
    }
    lines.sort_by_key(|(position, _)| *position);
    let total_net: i64 = tax_totals.iter().map(|t| t.net).sum();
    let total_tax: i64 = tax_totals.iter().map(|t| t.tax).sum();
    Invoice {
        number,
        kind: DocumentKind::Invoice,
        order_id: order.id.clone(),
        issued_at,
        currency: order.currency,
        seller,
        buyer_name: order.customer.name.clone(),
        buyer_email: order.customer.email.clone(),
        billing_address: order.billing_address.clone(),
        payment_method: order.payment_method,
        lines: lines.into_iter().map(|(_, l)| l).collect(),
        shipping: order.shipping_price,
        discount,
        discount_code: order.discount.as_ref().and_then(|d| d.code.clone()),
        tax_totals,
        total_net,
        total_tax,
        rounding: order.total - total_net - total_tax,
        total: order.total,
        amount_paid: order.amount_paid(),
        amount_due: order.amount_due(),
        due_date: order.due_date,
        payment_reference: (order.pays_by_transfer() || order.amount_due() > 0)
            .then(|| crate::payment_reference::for_order(&order.id)),
        delivery_date: order.first("shipped").map(crate::collection::business_date),
        buyer_company: order.customer.company.clone(),
        buyer_vat_id: order.customer.vat_id.clone(),
        buyer_reference: order.buyer_reference.clone(),
        intra_community_supply: order.intra_community_supply,
        ship_to: Some(order.shipping_address.clone()),
        shipment_id: None,
        locale: order.locale,
    }
}

/// The invoice of parcel `index` of an order (one of `order.shipments`):
/// its goods, shipping and discount as fixed when it shipped. Payments
/// settle the parcels in the order they shipped: a parcel counts as paid
/// by what the payments leave after the parcels before it; the order's
/// last parcel also shows an overpayment.
pub fn build_parcel_invoice(
    order: &Order,
    index: usize,
    number: InvoiceNumber,
    issued_at: Timestamp,
    seller: Seller,
) -> Invoice {
    let shipment = &order.shipments[index];
    let mut invoice = build_invoice(&order.parcel(index), number, issued_at, seller);
    let earlier: i64 = order.parcel_totals()[..index].iter().sum();
    let paid = (order.amount_paid() - earlier).max(0);
    let last = index + 1 == order.shipments.len() && order.open_units().is_empty();
    invoice.amount_paid = if last { paid } else { paid.min(invoice.total) };
    invoice.amount_due = (invoice.total - invoice.amount_paid).max(0);
    invoice.payment_reference = (order.pays_by_transfer() || invoice.amount_due > 0)
        .then(|| crate::payment_reference::for_order(&order.id));
    invoice.delivery_date = Some(crate::collection::business_date(shipment.shipped_at));
    invoice.shipment_id = Some(shipment.id.clone());
    invoice
}

/// The goods of `ret` priced as the order sold them (at the SKU's first line).
fn returned_lines(order: &Order, ret: &Return) -> Vec<OrderLine> {
    ret.lines
        .iter()
        .filter_map(|r| {
            let sold = order.lines.iter().find(|l| l.sku == r.sku)?;
            Some(OrderLine {
                quantity: r.quantity,
                ..sold.clone()
            })
        })
        .collect()
}

/// The credit note for the goods of return `ret` (one of `order.returns`),
/// correcting invoice `corrects`. The goods are credited at their gross price
/// less their share of the order's discount; shipping is not credited. The
/// discount shares are cut cumulatively over the order's returns, so all
/// returns together never credit more discount than was given.
pub fn build_credit_note(
    order: &Order,
    ret: &Return,
    corrects: InvoiceNumber,
    number: InvoiceNumber,
    issued_at: Timestamp,
    seller: Seller,
) -> Invoice {
    let this = returned_lines(order, ret);
    let this_gross: i64 = this.iter().map(OrderLine::gross).sum();
    // The amount fixed when the return was recorded (older returns: now).
    let share = this_gross - ret.credit.unwrap_or_else(|| credit_amount(order, ret));

    let mut credited = order.clone();
    credited.lines = this;
    credited.shipping_price = 0;
    credited.discount = (share > 0).then(|| crate::order::Discount {
        code: order.discount.as_ref().and_then(|d| d.code.clone()),
        amount: share,
    });
    credited.total = this_gross - share;
    credited.ledger = Default::default();
    credited.credited = 0;
    credited.dunning = Default::default();
    credited.shipments = Vec::new();
    let mut note = build_invoice(&credited, number, issued_at, seller);
    note.kind = DocumentKind::CreditNote {
        corrects,
        return_id: ret.id.clone(),
        exchange: ret.exchange.as_ref().map(|e| AppliedCredit {
            replacement_order_id: e.replacement_order_id.clone(),
            amount: e.applied,
        }),
    };
    note.due_date = None;
    note.payment_reference = None;
    note
}

/// What return `ret` (one of `order.returns`) is credited: the goods at
/// their gross price less their share of the order's discount.
pub fn credit_amount(order: &Order, ret: &Return) -> i64 {
    let goods: i64 = order.lines.iter().map(OrderLine::gross).sum();
    let discount = order.discount.as_ref().map_or(0, |d| d.amount);
    let upto = order
        .returns
        .iter()
        .position(|r| r.id == ret.id)
        .map_or(order.returns.len(), |i| i + 1);
    let returned_gross = |returns: &[Return]| -> i64 {
        returns
            .iter()
            .flat_map(|r| returned_lines(order, r))
            .map(|l| l.gross())
            .sum()
    };
    let share_upto = |gross: i64| {
        if goods == 0 {
            0
        } else {
            div_round(discount as i128 * gross as i128, goods as i128) as i64
        }
    };
    let before = returned_gross(&order.returns[..upto.saturating_sub(1)]);
    let this = returned_lines(order, ret);
    let this_gross: i64 = this.iter().map(OrderLine::gross).sum();
    let share = share_upto(before + this_gross) - share_upto(before);
    this_gross - share
}

/// A seller to build tests and benchmarks on (with IBAN and contact).
#[doc(hidden)]
pub mod fixtures {
    use super::{Seller, SellerContact};

    pub fn seller() -> Seller {
        Seller {
            name: "Example Shop GmbH".into(),
            street: "Musterstr. 1".into(),
            postal_code: "50667".into(),
            city: "Köln".into(),
            country: "DE".into(),
            vat_id: "DE123456789".into(),
            email: "invoices@shop.example".into(),
            iban: Some("DE02120300000000202051".into()),
            contact: SellerContact {
                name: "Petra Buch".into(),
                phone: "+49 221 1234567".into(),
                email: "buchhaltung@shop.example".into(),
            },
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::order::tests::sample_order;
    use crate::order::{order_total, Discount};
    use crate::Sku;

    pub(crate) fn seller() -> Seller {
        Seller {
            name: "Shop".into(),
            street: "Street 1".into(),
            postal_code: "50667".into(),
            city: "Köln".into(),
            country: "DE".into(),
            vat_id: "DE1".into(),
            email: "s@example.com".into(),
            iban: None,
            contact: Default::default(),
        }
    }

    fn line(sku: &str, quantity: i64, unit_price: i64, rate: &str) -> OrderLine {
        OrderLine {
            sku: Sku::from(sku),
            name: sku.into(),
            quantity,
            unit_price,
            tax_rate: TaxRate::parse(rate).unwrap(),
        }
    }

    /// The arithmetic rules of EN 16931 that a validator checks, plus ours.
    fn assert_consistent(inv: &Invoice) {
        let lines_net: i64 = inv.lines.iter().map(|l| l.net).sum();
        assert_eq!(
            lines_net,
            inv.tax_totals.iter().map(|t| t.goods_net).sum::<i64>(),
            "BR-CO-10"
        );
        for t in &inv.tax_totals {
            assert_eq!(
                t.goods_net - t.discount_net + t.shipping_net,
                t.net,
                "BR-S-08 at {}",
                t.rate
            );
            assert_eq!(t.tax, tax_on(t.net, t.rate), "BR-CO-17 at {}", t.rate);
            assert!(t.discount_net >= 0 && t.shipping_net >= 0, "{t:?}");
            let of_rate: i64 = inv
                .lines
                .iter()
                .filter(|l| l.tax_rate == t.rate)
                .map(|l| l.net)
                .sum();
            assert_eq!(of_rate, t.goods_net);
        }
        assert_eq!(
            inv.total_net + inv.total_tax + inv.rounding,
            inv.total,
            "BR-CO-15/16"
        );
        assert!(
            inv.rounding.abs() <= inv.tax_totals.len() as i64,
            "rounding {} too large",
            inv.rounding
        );
        assert_eq!(
            inv.lines.iter().map(|l| l.gross).sum::<i64>() + inv.shipping - inv.discount,
            inv.total
        );
    }

    #[test]
    fn single_rate_invoice_matches_the_order_total() {
        let o = sample_order();
        let inv = build_invoice(&o, InvoiceNumber::new(2026, 1), o.captured_at, seller());
        assert_eq!(inv.total, 2893);
        assert_eq!(inv.tax_totals.len(), 1);
        let t = &inv.tax_totals[0];
        // 2598 goods − 200 discount + 495 shipping = 2893 gross at 19 %.
        assert_eq!((t.gross, t.net, t.tax), (2893, 2431, 462));
        assert_eq!(
            (t.goods_net, t.discount_net, t.shipping_net),
            (2183, 168, 416)
        );
        assert_eq!(inv.rounding, 0);
        assert_eq!(inv.amount_due, 2893);
        assert_consistent(&inv);
    }

    #[test]
    fn discount_and_shipping_are_spread_over_rates() {
        let mut o = sample_order();
        o.lines.push(line("BOOK", 1, 1000, "7"));
        o.total = order_total(&o.lines, o.shipping_price, o.discount.as_ref());
        let inv = build_invoice(&o, InvoiceNumber::new(2026, 2), o.captured_at, seller());
        assert_eq!(inv.total, o.total);
        let by_rate: Vec<(String, i64, i64)> = inv
            .tax_totals
            .iter()
            .map(|t| (t.rate.to_string(), t.net, t.tax))
            .collect();
        // Goods 1000 @7 % and 2598 @19 %: discount 200 → 56 / 144, shipping 495 → 138 / 357,
        // so 1082 gross @7 % and 2811 gross @19 %.
        assert_eq!(
            by_rate,
            vec![("7".to_string(), 1011, 71), ("19".to_string(), 2362, 449)]
        );
        assert_eq!(
            inv.lines.iter().map(|l| l.sku.as_str()).collect::<Vec<_>>(),
            ["MUG-BLUE", "BOOK"],
            "order kept"
        );
        assert_consistent(&inv);
    }

    #[test]
    fn every_combination_adds_up_under_en_16931_rules() {
        // A deterministic spread of prices, quantities, rates, discounts and shipping.
        let rates = ["19", "7", "0", "5.5", "20", "21"];
        let mut seed: u64 = 42;
        let mut next = |m: u64| {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (seed >> 33) % m
        };
        for case in 0..2000 {
            let mut o = sample_order();
            o.lines = (0..1 + next(6))
                .map(|i| {
                    line(
                        &format!("S{i}"),
                        1 + next(5) as i64,
                        next(100_000) as i64,
                        rates[next(6) as usize],
                    )
                })
                .collect();
            let goods: i64 = o.lines.iter().map(OrderLine::gross).sum();
            o.discount = (next(2) == 0).then(|| Discount {
                code: None,
                amount: (next(goods as u64 + 1)) as i64,
            });
            o.shipping_price = [0, 495, 1, 999][next(4) as usize];
            o.total = order_total(&o.lines, o.shipping_price, o.discount.as_ref());
            let inv = build_invoice(&o, InvoiceNumber::new(2026, case), o.captured_at, seller());
            assert_consistent(&inv);
        }
    }

    #[test]
    fn tiny_discounts_never_give_negative_amounts() {
        for goods in 1..400 {
            for shipping in [1, 2, 3, 5, 8, 13, 495] {
                for rate in ["19", "7", "5.5"] {
                    let mut o = sample_order();
                    o.lines = vec![line("A", 1, goods, rate)];
                    o.discount = Some(Discount {
                        code: None,
                        amount: 1,
                    });
                    o.shipping_price = shipping;
                    o.total = order_total(&o.lines, o.shipping_price, o.discount.as_ref());
                    assert_consistent(&build_invoice(
                        &o,
                        InvoiceNumber::new(2026, 1),
                        o.captured_at,
                        seller(),
                    ));
                }
            }
        }
    }

    #[test]
    fn credit_notes_credit_goods_less_their_discount_share_and_never_more() {
        use crate::order::{Return, ReturnLine};
        // Two mugs at 12.99 with a 2.00 discount: each returned mug is worth 11.99.
        let mut o = sample_order();
        let ret = |id: &str| Return {
            id: id.into(),
            lines: vec![ReturnLine {
                sku: Sku::from("MUG-BLUE"),
                quantity: 1,
            }],
            restocked: true,
            at: o.captured_at,
            credit_note: None,
            credit: None,
            exchange: None,
        };
        o.returns = vec![ret("R1"), ret("R2")];
        let first = build_credit_note(
            &o,
            &o.returns[0],
            InvoiceNumber::new(2026, 1),
            InvoiceNumber::credit_note(2026, 1),
            o.captured_at,
            seller(),
        );
        let second = build_credit_note(
            &o,
            &o.returns[1],
            InvoiceNumber::new(2026, 1),
            InvoiceNumber::credit_note(2026, 2),
            o.captured_at,
            seller(),
        );
        assert_eq!((first.total, second.total), (1199, 1199));
        assert_eq!(
            first.discount + second.discount,
            200,
            "all of the discount, no more"
        );
        assert_eq!(first.shipping, 0);
        assert_eq!(first.number.as_str(), "CN-2026-000001");
        assert_eq!(
            first.kind,
            DocumentKind::CreditNote {
                corrects: InvoiceNumber::new(2026, 1),
                return_id: "R1".into(),
                exchange: None,
            }
        );
        assert_consistent(&first);
        assert_eq!((first.amount_paid, first.amount_due), (0, 1199));

        // Odd amounts: the shares still add up to the discount exactly.
        let mut o = sample_order();
        o.lines[0].quantity = 3;
        o.lines[0].unit_price = 1000;
        o.discount = Some(Discount {
            code: None,
            amount: 100,
        });
        o.returns = vec![ret("A"), ret("B"), ret("C")];
        let shares: Vec<i64> = o
            .returns
            .iter()
            .map(|r| {
                build_credit_note(
                    &o,
                    r,
                    InvoiceNumber::new(2026, 1),
                    InvoiceNumber::credit_note(2026, 9),
                    o.captured_at,
                    seller(),
                )
                .discount
            })
            .collect();
        assert_eq!(shares.iter().sum::<i64>(), 100, "{shares:?}");
    }

    #[test]
    fn payments_so_far_reduce_the_amount_due() {
        let mut o = sample_order();
        o.ledger.received = 1000;
        let inv = build_invoice(&o, InvoiceNumber::new(2026, 3), o.captured_at, seller());
        assert_eq!((inv.amount_paid, inv.amount_due), (1000, 1893));
    }
}
