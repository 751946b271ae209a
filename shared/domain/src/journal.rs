//! The journal: every document and every movement of money as balanced
//! double-entry postings, written in the same atomic change as the business
//! event itself (so each is booked exactly once). Entries name accounts by
//! what they are ([`Account`]); a [`Chart`] (SKR03 or SKR04, each account
//! overridable) gives them their numbers when the journal is read.

use jiff::civil::Date;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

use crate::collection::business_date;
use crate::invoice::{DocumentKind, Invoice};
use crate::order::Order;
use crate::TaxRate;

/// An account by its role; [`Chart::number`] maps it to the chart's number.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(tag = "account", content = "of", rename_all = "snake_case")]
pub enum Account {
    /// Trade receivables (the collective debtor).
    Receivables,
    /// Revenue at a VAT rate (basis points).
    Revenue(u32),
    /// Tax-free intra-community supplies (§ 4 Nr. 1b UStG).
    RevenueIntraCommunity,
    /// Output VAT at a rate (basis points).
    OutputVat(u32),
    /// The bank account statements come from.
    Bank,
    /// A payment provider's clearing account (`stripe`, `paypal`).
    Clearing(String),
    /// Dunning fees charged (not subject to VAT).
    DunningFees,
    /// Default interest charged.
    InterestIncome,
}

impl Account {
    /// The name used in `OMS_ACCOUNT_<NAME>` and in the README's table.
    pub fn config_name(&self) -> String {
        match self {
            Account::Receivables => "RECEIVABLES".into(),
            Account::Revenue(bp) => format!("REVENUE_{}", rate_name(*bp)),
            Account::RevenueIntraCommunity => "REVENUE_INTRA_EU".into(),
            Account::OutputVat(bp) => format!("VAT_{}", rate_name(*bp)),
            Account::Bank => "BANK".into(),
            Account::Clearing(p) => format!("CLEARING_{}", p.to_uppercase()),
            Account::DunningFees => "DUNNING_FEES".into(),
            Account::InterestIncome => "INTEREST".into(),
        }
    }
}

/// 1900 → "19", 700 → "7", 550 → "5_5".
fn rate_name(bp: u32) -> String {
    let rate = TaxRate::from_basis_points(bp).to_string();
    rate.replace('.', "_")
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Posting {
    #[serde(flatten)]
    pub account: Account,
    pub debit: i64,
    pub credit: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JournalEntry {
    /// Stable per business event: the same event books the same id.
    pub id: String,
    /// The business date (Europe/Berlin).
    pub date: Date,
    /// The invoice or credit note it is about, else the payment reference.
    pub document: String,
    pub text: String,
    pub currency: String,
    pub postings: Vec<Posting>,
}

impl JournalEntry {
    pub fn is_balanced(&self) -> bool {
        let debit: i64 = self.postings.iter().map(|p| p.debit).sum();
        let credit: i64 = self.postings.iter().map(|p| p.credit).sum();
        debit == credit
    }
}

fn debit(account: Account, amount: i64) -> Posting {
    Posting {
        account,
        debit: amount,
        credit: 0,
    }
}

fn credit(account: Account, amount: i64) -> Posting {
    Posting {
        account,
        debit: 0,
        credit: amount,
    }
}

/// Swaps debit and credit (for amounts that go the other way).
fn signed(account: Account, amount: i64, debit_side: bool) -> Posting {
    match (amount >= 0, debit_side) {
        (true, true) | (false, false) => debit(account, amount.abs()),
        _ => credit(account, amount.abs()),
    }
}

/// An invoice: receivables against revenue and VAT per rate. A rounding
/// amount (at most a cent per rate) goes with the largest rate's revenue.
/// A credit note books the same the other way round.
pub fn for_document(inv: &Invoice) -> JournalEntry {
    let (is_invoice, text) = match &inv.kind {
        DocumentKind::Invoice => (true, format!("Rechnung {} {}", inv.number, inv.order_id)),
        DocumentKind::CreditNote { corrects, .. } => (
            false,
            format!("Gutschrift {} zu {corrects} {}", inv.number, inv.order_id),
        ),
    };
    let largest = inv
        .tax_totals
        .iter()
        .max_by_key(|t| (t.net, t.rate))
        .map(|t| t.rate);
    let mut postings = vec![signed(Account::Receivables, inv.total, is_invoice)];
    for t in &inv.tax_totals {
        let bp = t.rate.basis_points();
        let rounding = if Some(t.rate) == largest {
            inv.rounding
        } else {
            0
        };
        let revenue = if inv.intra_community_supply {
            Account::RevenueIntraCommunity
        } else {
            Account::Revenue(bp)
        };
        postings.push(signed(revenue, t.net + rounding, !is_invoice));
        if t.tax != 0 {
            postings.push(signed(Account::OutputVat(bp), t.tax, !is_invoice));
        }
    }
    JournalEntry {
        id: format!("doc-{}", inv.number),
        date: business_date(inv.issued_at),
        document: inv.number.to_string(),
        text,
        currency: inv.currency.to_string(),
        postings,
    }
}

/// Money in (positive) or back out (negative) through `provider`: the
/// provider's clearing account (the bank for transfers) against receivables.
pub fn for_payment(
    order: &Order,
    provider: &str,
    event_id: &str,
    amount: i64,
    what: &str,
    at: Timestamp,
) -> JournalEntry {
    let account = if provider == "bank" {
        Account::Bank
    } else {
        Account::Clearing(provider.to_string())
    };
    JournalEntry {
        id: format!("pay-{provider}-{event_id}"),
        date: business_date(at),
        document: document_of(order),
        text: format!("{what} {} {}", order.id, provider),
        currency: order.currency.to_string(),
        postings: vec![
            signed(account, amount, true),
            signed(Account::Receivables, amount, false),
        ],
    }
}

/// Dunning charges of one notice: receivables against fee and interest income.
pub fn for_dunning(
    order: &Order,
    level: u8,
    fee: i64,
    interest: i64,
    on: Date,
) -> Option<JournalEntry> {
    if fee == 0 && interest == 0 {
        return None;
    }
    let mut postings = vec![debit(Account::Receivables, fee + interest)];
    if fee != 0 {
        postings.push(credit(Account::DunningFees, fee));
    }
    if interest != 0 {
        postings.push(credit(Account::InterestIncome, interest));
    }
    Some(JournalEntry {
        id: format!("dun-{}-{level}", order.id),
        date: on,
        document: document_of(order),
        text: format!("Mahnstufe {level} {}", order.id),
        currency: order.currency.to_string(),
        postings,
    })
}

/// A payment's document: the invoice it settles, else the order's reference.
fn document_of(order: &Order) -> String {
    order
        .invoice_number
        .as_ref()
        .map(|n| n.to_string())
        .unwrap_or_else(|| crate::payment_reference::for_order(&order.id))
}

/// Which chart of accounts gives the numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChartKind {
    Skr03,
    Skr04,
}

/// Account numbers: the chart's defaults, each overridable by
/// `OMS_ACCOUNT_<NAME>` ([`Account::config_name`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chart {
    pub kind: ChartKind,
    pub overrides: BTreeMap<String, String>,
}

impl Default for Chart {
    fn default() -> Self {
        Chart {
            kind: ChartKind::Skr03,
            overrides: BTreeMap::new(),
        }
    }
}

impl Chart {
    /// The number of `account` in this chart.
    pub fn number(&self, account: &Account) -> String {
        if let Some(n) = self.overrides.get(&account.config_name()) {
            return n.clone();
        }
        let skr03 = self.kind == ChartKind::Skr03;
        let pick = |a: &str, b: &str| if skr03 { a } else { b }.to_string();
        match account {
            // A collective debtor: DATEV's personal accounts start at 10000.
            Account::Receivables => "10000".into(),
            Account::Revenue(1900) => pick("8400", "4400"),
            Account::Revenue(700) => pick("8300", "4300"),
            Account::Revenue(0) => pick("8120", "4120"),
            Account::Revenue(_) => pick("8400", "4400"),
            Account::RevenueIntraCommunity => pick("8125", "4125"),
            Account::OutputVat(1900) => pick("1776", "3806"),
            Account::OutputVat(700) => pick("1771", "3801"),
            Account::OutputVat(_) => pick("1770", "3800"),
            Account::Bank => pick("1200", "1800"),
            Account::Clearing(_) => pick("1360", "1460"),
            Account::DunningFees => pick("8600", "4830"),
            Account::InterestIncome => pick("2650", "7100"),
        }
    }

    /// Every account name with its SKR03 and SKR04 default, for the docs.
    pub fn defaults() -> Vec<(String, String, String)> {
        let skr03 = Chart::default();
        let skr04 = Chart {
            kind: ChartKind::Skr04,
            ..Chart::default()
        };
        [
            Account::Receivables,
            Account::Revenue(1900),
            Account::Revenue(700),
            Account::Revenue(0),
            Account::RevenueIntraCommunity,
            Account::OutputVat(1900),
            Account::OutputVat(700),
            Account::Bank,
            Account::Clearing("stripe".into()),
            Account::Clearing("paypal".into()),
            Account::DunningFees,
            Account::InterestIncome,
        ]
        .iter()
        .map(|a| (a.config_name(), skr03.number(a), skr04.number(a)))
        .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::invoice::build_invoice;
    use crate::invoice::tests::seller;
    use crate::order::fixtures::sample_order;
    use crate::order::OrderLine;
    use crate::InvoiceNumber;

    #[test]
    fn an_invoice_books_receivables_against_revenue_and_vat_per_rate() {
        let mut o = sample_order();
        o.lines.push(OrderLine {
            tax_rate: TaxRate::parse("7").unwrap(),
            unit_price: 999,
            quantity: 1,
            ..o.lines[0].clone()
        });
        o.total = crate::order::order_total(&o.lines, o.shipping_price, o.discount.as_ref());
        let inv = build_invoice(&o, InvoiceNumber::new(2026, 17), o.captured_at, seller());
        let e = for_document(&inv);
        assert!(e.is_balanced(), "{e:?}");
        assert_eq!(e.postings[0], debit(Account::Receivables, inv.total));
        let vat: i64 = e
            .postings
            .iter()
            .filter(|p| matches!(p.account, Account::OutputVat(_)))
            .map(|p| p.credit)
            .sum();
        assert_eq!(vat, inv.total_tax);
        assert_eq!(e.document, "INV-2026-000017");
        let chart = Chart::default();
        assert_eq!(chart.number(&Account::Revenue(700)), "8300");
        assert_eq!(chart.number(&Account::OutputVat(1900)), "1776");
    }

    #[test]
    fn the_example_of_the_api_contract_books_as_written() {
        // 30.93 gross at 19 %: 25.99 revenue, 4.94 VAT on account 10000.
        let mut o = sample_order();
        o.discount = None;
        o.lines[0].quantity = 1;
        o.lines[0].unit_price = 3093;
        o.shipping_price = 0;
        o.total = 3093;
        let inv = build_invoice(&o, InvoiceNumber::new(2026, 17), o.captured_at, seller());
        let chart = Chart::default();
        let numbered: Vec<(String, i64, i64)> = for_document(&inv)
            .postings
            .iter()
            .map(|p| (chart.number(&p.account), p.debit, p.credit))
            .collect();
        assert_eq!(
            numbered,
            [
                ("10000".into(), 3093, 0),
                ("8400".into(), 0, 2599),
                ("1776".into(), 0, 494)
            ]
        );
    }

    #[test]
    fn payments_refunds_and_dunning_balance_and_overrides_apply() {
        let o = sample_order();
        let at = o.captured_at;
        let paid = for_payment(&o, "stripe", "evt_1", 2893, "Zahlung", at);
        assert!(paid.is_balanced());
        assert_eq!(
            paid.postings[0],
            debit(Account::Clearing("stripe".into()), 2893)
        );
        let back = for_payment(&o, "bank", "r1", -500, "Rücküberweisung", at);
        assert_eq!(back.postings[0], credit(Account::Bank, 500));
        assert_eq!(back.postings[1], debit(Account::Receivables, 500));
        let dun = for_dunning(&o, 2, 4000, 78, "2026-12-22".parse().unwrap()).unwrap();
        assert!(dun.is_balanced());
        assert_eq!(
            for_dunning(&o, 1, 0, 0, "2026-12-08".parse().unwrap()),
            None
        );
        let chart = Chart {
            kind: ChartKind::Skr04,
            overrides: [("CLEARING_STRIPE".to_string(), "1361".to_string())].into(),
        };
        assert_eq!(chart.number(&Account::Clearing("stripe".into())), "1361");
        assert_eq!(chart.number(&Account::Clearing("paypal".into())), "1460");
        assert_eq!(chart.number(&Account::Revenue(1900)), "4400");
    }
}

#[cfg(test)]
mod properties {
    use super::*;
    use crate::invoice::tests::seller;
    use crate::invoice::{build_credit_note, build_invoice};
    use crate::order::fixtures::sample_order;
    use crate::order::{Discount, OrderLine, Return, ReturnLine};
    use crate::{InvoiceNumber, Sku};
    use proptest::prelude::*;

    proptest! {
        /// Any invoice and any credit note books balanced, with the whole
        /// gross on receivables and exactly the document's VAT on VAT accounts.
        #[test]
        fn documents_always_balance(
            lines in prop::collection::vec((0usize..3, 1i64..5, 1i64..50_000), 1..6),
            shipping in 0i64..2_000,
            discount_per_mille in 0i64..1_000,
        ) {
            let rates = ["19", "7", "0"];
            let mut o = sample_order();
            o.lines = lines
                .iter()
                .enumerate()
                .map(|(i, (r, q, p))| OrderLine {
                    sku: Sku(format!("S{i}")),
                    name: "x".into(),
                    quantity: *q,
                    unit_price: *p,
                    tax_rate: TaxRate::parse(rates[*r]).unwrap(),
                })
                .collect();
            let goods: i64 = o.lines.iter().map(OrderLine::gross).sum();
            o.discount = Some(Discount { code: None, amount: goods * discount_per_mille / 1_000 });
            o.shipping_price = shipping;
            o.total = crate::order::order_total(&o.lines, shipping, o.discount.as_ref());
            let inv = build_invoice(&o, InvoiceNumber::new(2026, 1), o.captured_at, seller());
            let e = for_document(&inv);
            prop_assert!(e.is_balanced());
            prop_assert_eq!(&e.postings[0], &debit(Account::Receivables, inv.total));
            let vat: i64 = e.postings.iter()
                .filter(|p| matches!(p.account, Account::OutputVat(_)))
                .map(|p| p.credit)
                .sum();
            prop_assert_eq!(vat, inv.total_tax);

            let ret = Return {
                id: "R".into(),
                lines: vec![ReturnLine { sku: o.lines[0].sku.clone(), quantity: 1 }],
                restocked: true,
                at: o.captured_at,
                credit_note: None,
                credit: None,
                exchange: None,
            };
            o.returns.push(ret.clone());
            let note = build_credit_note(&o, &ret, InvoiceNumber::new(2026, 1), InvoiceNumber::credit_note(2026, 1), o.captured_at, seller());
            let c = for_document(&note);
            prop_assert!(c.is_balanced());
            prop_assert_eq!(&c.postings[0], &credit(Account::Receivables, note.total));
        }
    }
}
