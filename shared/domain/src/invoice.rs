//! Invoices: per-rate VAT on gross prices, with discount and shipping spread
//! over the rates of the goods (the usual EU treatment of ancillary costs).

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use utoipa::ToSchema;

use crate::money::allocate;
use crate::order::{Address, Order, PaymentMethod};
use crate::{Currency, InvoiceNumber, OrderId, TaxRate};

/// The seller, as printed on every invoice. Comes from configuration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Seller {
    pub name: String,
    pub address: String,
    pub vat_id: String,
    pub email: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct InvoiceLine {
    pub sku: String,
    pub name: String,
    pub quantity: i64,
    pub unit_price: i64,
    #[schema(value_type = String)]
    pub tax_rate: TaxRate,
    pub net: i64,
    pub tax: i64,
    pub gross: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct TaxTotal {
    #[schema(value_type = String)]
    pub rate: TaxRate,
    pub net: i64,
    pub tax: i64,
    pub gross: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Invoice {
    #[schema(value_type = String, example = "INV-2026-000001")]
    pub number: InvoiceNumber,
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
    pub shipping: i64,
    pub discount: i64,
    pub discount_code: Option<String>,
    pub tax_totals: Vec<TaxTotal>,
    pub total_net: i64,
    pub total_tax: i64,
    pub total: i64,
    pub amount_paid: i64,
    pub amount_due: i64,
}

/// Computes the invoice of a shipped order. The per-rate totals are the
/// legally relevant figures; line net/tax are shown for information and are
/// split from each line's gross on its own.
pub fn build_invoice(
    order: &Order,
    number: InvoiceNumber,
    issued_at: Timestamp,
    seller: Seller,
) -> Invoice {
    let lines: Vec<InvoiceLine> = order
        .lines
        .iter()
        .map(|l| {
            let gross = l.gross();
            let (net, tax) = l.tax_rate.split_gross(gross);
            InvoiceLine {
                sku: l.sku.to_string(),
                name: l.name.clone(),
                quantity: l.quantity,
                unit_price: l.unit_price,
                tax_rate: l.tax_rate,
                net,
                tax,
                gross,
            }
        })
        .collect();
    let mut goods_per_rate: BTreeMap<TaxRate, i64> = BTreeMap::new();
    for l in &lines {
        *goods_per_rate.entry(l.tax_rate).or_insert(0) += l.gross;
    }
    let rates: Vec<TaxRate> = goods_per_rate.keys().copied().collect();
    let weights: Vec<i64> = goods_per_rate.values().copied().collect();
    let discount = order.discount.as_ref().map_or(0, |d| d.amount);
    let discount_parts = allocate(discount, &weights);
    let shipping_parts = allocate(order.shipping_price, &weights);
    let tax_totals: Vec<TaxTotal> = rates
        .iter()
        .enumerate()
        .map(|(i, rate)| {
            let gross = weights[i] - discount_parts[i] + shipping_parts[i];
            let (net, tax) = rate.split_gross(gross);
            TaxTotal {
                rate: *rate,
                net,
                tax,
                gross,
            }
        })
        .collect();
    let total: i64 = tax_totals.iter().map(|t| t.gross).sum();
    debug_assert_eq!(total, order.total);
    Invoice {
        number,
        order_id: order.id.clone(),
        issued_at,
        currency: order.currency,
        seller,
        buyer_name: order.customer.name.clone(),
        buyer_email: order.customer.email.clone(),
        billing_address: order.billing_address.clone(),
        payment_method: order.payment_method,
        lines,
        shipping: order.shipping_price,
        discount,
        discount_code: order.discount.as_ref().and_then(|d| d.code.clone()),
        total_net: tax_totals.iter().map(|t| t.net).sum(),
        total_tax: tax_totals.iter().map(|t| t.tax).sum(),
        tax_totals,
        total,
        amount_paid: order.amount_paid(),
        amount_due: order.amount_due(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::order::tests::sample_order;
    use crate::order::OrderLine;
    use crate::Sku;

    fn seller() -> Seller {
        Seller {
            name: "Shop".into(),
            address: "Street 1".into(),
            vat_id: "DE1".into(),
            email: "s@example.com".into(),
        }
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
        assert_eq!(inv.total_net + inv.total_tax, inv.total);
        assert_eq!(inv.amount_due, 2893);
    }

    #[test]
    fn discount_and_shipping_are_spread_over_rates() {
        let mut o = sample_order();
        o.lines.push(OrderLine {
            sku: Sku::from("BOOK"),
            name: "Buch".into(),
            quantity: 1,
            unit_price: 1000,
            tax_rate: TaxRate::parse("7").unwrap(),
        });
        o.total = crate::order::order_total(&o.lines, o.shipping_price, o.discount.as_ref());
        let inv = build_invoice(&o, InvoiceNumber::new(2026, 2), o.captured_at, seller());
        assert_eq!(inv.total, o.total);
        let by_rate: Vec<(String, i64)> = inv
            .tax_totals
            .iter()
            .map(|t| (t.rate.to_string(), t.gross))
            .collect();
        // Goods 1000 @7 % and 2598 @19 %: discount 200 → 56 / 144, shipping 495 → 138 / 357.
        assert_eq!(
            by_rate,
            vec![
                ("7".to_string(), 1000 - 56 + 138),
                ("19".to_string(), 2598 - 144 + 357)
            ]
        );
        for t in &inv.tax_totals {
            assert_eq!(t.net + t.tax, t.gross);
            assert_eq!(t.rate.split_gross(t.gross), (t.net, t.tax));
        }
    }

    #[test]
    fn payments_so_far_reduce_the_amount_due() {
        let mut o = sample_order();
        o.ledger.received = 1000;
        let inv = build_invoice(&o, InvoiceNumber::new(2026, 3), o.captured_at, seller());
        assert_eq!((inv.amount_paid, inv.amount_due), (1000, 1893));
    }
}
