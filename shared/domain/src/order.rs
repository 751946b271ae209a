//! The order and its state machine. Every status change goes through
//! [`Order::transition`], which refuses illegal moves and writes the timeline.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use utoipa::ToSchema;

use crate::payment::{PaymentLedger, PaymentStatus};
use crate::{Currency, FulfillmentId, InvoiceNumber, OrderId, Sku, TaxRate};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum OrderStatus {
    Captured,
    Reserved,
    Backordered,
    Rejected,
    /// Prepayment (`bank_transfer`): reserved, waiting to be paid in full
    /// before the warehouse gets it.
    AwaitingPayment,
    HandedOff,
    /// Some parcels have left the warehouse, not all units yet.
    PartiallyShipped,
    Shipped,
    Cancelled,
}

impl OrderStatus {
    pub fn as_str(&self) -> &'static str {
        match self {
            OrderStatus::Captured => "captured",
            OrderStatus::Reserved => "reserved",
            OrderStatus::Backordered => "backordered",
            OrderStatus::Rejected => "rejected",
            OrderStatus::AwaitingPayment => "awaiting_payment",
            OrderStatus::HandedOff => "handed_off",
            OrderStatus::PartiallyShipped => "partially_shipped",
            OrderStatus::Shipped => "shipped",
            OrderStatus::Cancelled => "cancelled",
        }
    }

    /// The legal moves. Everything not listed here is an error.
    pub fn can_become(self, to: OrderStatus) -> bool {
        use OrderStatus::*;
        matches!(
            (self, to),
            (
                Captured,
                Reserved | AwaitingPayment | Backordered | Rejected | Cancelled
            ) | (
                Backordered,
                Reserved | AwaitingPayment | Rejected | Cancelled
            ) | (AwaitingPayment, Reserved | Cancelled)
                | (Reserved, HandedOff | PartiallyShipped | Shipped | Cancelled)
                | (HandedOff, PartiallyShipped | Shipped | Cancelled)
                | (PartiallyShipped, Shipped)
        )
    }

    /// True while the order's units are counted in `reserved` of its SKUs.
    pub fn holds_stock(self) -> bool {
        matches!(
            self,
            OrderStatus::Reserved
                | OrderStatus::AwaitingPayment
                | OrderStatus::HandedOff
                | OrderStatus::PartiallyShipped
        )
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("an order that is {} cannot become {}", from.as_str(), to.as_str())]
pub struct IllegalTransition {
    pub from: OrderStatus,
    pub to: OrderStatus,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PaymentMethod {
    Card,
    Paypal,
    Invoice,
    BankTransfer,
    /// A replacement order of an exchange, paid by the return's credit
    /// (what the credit does not cover is due by transfer, like an invoice).
    /// Not accepted at capture.
    Exchange,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Customer {
    #[schema(max_length = 254, example = "erika@example.com")]
    pub email: String,
    #[schema(min_length = 1, max_length = 200)]
    pub name: String,
    /// The buying company; with it (or a VAT id) the buyer is a business.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(max_length = 200)]
    pub company: Option<String>,
    /// EU VAT id, e.g. `DE123456788`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(pattern = "^[A-Z]{2}[A-Za-z0-9+*.]{2,13}$", example = "DE123456788")]
    pub vat_id: Option<String>,
}

impl Customer {
    /// A business buyer (B2B): it named a company or a VAT id. Dunning
    /// charges businesses the flat fee and the higher default interest.
    pub fn is_business(&self) -> bool {
        self.company.is_some() || self.vat_id.is_some()
    }
}

/// The language of the documents and emails a customer gets.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Locale {
    #[default]
    De,
    En,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Address {
    #[schema(min_length = 1, max_length = 200)]
    pub name: String,
    #[schema(min_length = 1, max_length = 200)]
    pub line1: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(max_length = 200)]
    pub line2: Option<String>,
    #[schema(min_length = 1, max_length = 20)]
    pub postal_code: String,
    #[schema(min_length = 1, max_length = 100)]
    pub city: String,
    /// ISO 3166-1 alpha-2.
    #[schema(pattern = "^[A-Z]{2}$", example = "DE")]
    pub country: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Discount {
    #[serde(default)]
    pub code: Option<String>,
    /// Gross, in minor units; at most the value of the goods.
    #[schema(minimum = 0)]
    pub amount: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct OrderLine {
    #[schema(value_type = String)]
    pub sku: Sku,
    pub name: String,
    pub quantity: i64,
    /// Gross price of one unit in minor units.
    pub unit_price: i64,
    #[schema(value_type = String)]
    pub tax_rate: TaxRate,
}

impl OrderLine {
    pub fn gross(&self) -> i64 {
        self.quantity * self.unit_price
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum FulfillmentStatus {
    /// Created, hand-off to the warehouse not yet confirmed.
    Pending,
    HandedOff,
    /// Some of its parcels have shipped.
    PartiallyShipped,
    Shipped,
    Cancelled,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fulfillment {
    pub id: FulfillmentId,
    pub status: FulfillmentStatus,
    pub carrier: Option<String>,
    pub tracking_number: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct TimelineEntry {
    #[schema(value_type = String)]
    pub at: Timestamp,
    pub event: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Order {
    pub id: OrderId,
    /// Bumped by every write; stores refuse a write whose expected version is stale.
    pub version: u64,
    pub external_ref: Option<String>,
    pub status: OrderStatus,
    pub currency: Currency,
    pub customer: Customer,
    pub billing_address: Address,
    pub shipping_address: Address,
    pub lines: Vec<OrderLine>,
    pub shipping_price: i64,
    pub discount: Option<Discount>,
    pub payment_method: PaymentMethod,
    pub total: i64,
    pub ledger: PaymentLedger,
    /// The sum of the credit notes issued for returns.
    #[serde(default)]
    pub credited: i64,
    pub invoice_number: Option<InvoiceNumber>,
    pub fulfillment: Option<Fulfillment>,
    /// The parcels shipped so far, each with its own invoice.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub shipments: Vec<crate::shipment::Shipment>,
    pub correlation_id: String,
    pub captured_at: Timestamp,
    pub timeline: Vec<TimelineEntry>,
    /// Goods sent back after shipment.
    #[serde(default)]
    pub returns: Vec<Return>,
    /// Units the warehouse could not ship, cut from the order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub short_picks: Vec<crate::short_pick::ShortPick>,
    #[serde(default)]
    pub locale: Locale,
    /// The buyer's reference (a public buyer's Leitweg-ID), BT-10.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub buyer_reference: Option<String>,
    /// When the invoice must be paid (invoices with payment terms).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub due_date: Option<jiff::civil::Date>,
    /// Reminders and dunning notices sent, and what they added.
    #[serde(default, skip_serializing_if = "Dunning::is_empty")]
    pub dunning: Dunning,
    /// A tax-free intra-community supply to a business in another EU
    /// member state: every line at 0 % VAT (category K).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub intra_community_supply: bool,
    /// The order whose return this order replaces (an exchange).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exchange_for: Option<OrderId>,
}

/// Where collecting an overdue invoice stands.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Dunning {
    /// 0 none, 1 reminder, 2 first dunning notice, 3 final notice.
    pub level: u8,
    /// Finance stopped dunning this order.
    #[serde(default)]
    pub blocked: bool,
    /// Flat fees owed (minor units), in addition to the invoice.
    pub fees: i64,
    /// Default interest owed (minor units), in addition to the invoice.
    pub interest: i64,
    pub notices: Vec<DunningNotice>,
}

impl Dunning {
    fn is_empty(&self) -> bool {
        *self == Dunning::default()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct DunningNotice {
    pub level: u8,
    #[schema(value_type = String, example = "2026-12-22")]
    pub sent_on: jiff::civil::Date,
    /// The flat fee this notice added.
    pub fee: i64,
    /// The interest this notice added.
    pub interest: i64,
}

/// Goods a customer sent back, as the warehouse reports them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Return {
    /// The warehouse's id of the return (RMA); a repeated report with the
    /// same id changes nothing.
    pub id: String,
    pub lines: Vec<ReturnLine>,
    /// Whether the units went back into stock (else: written off).
    pub restocked: bool,
    #[schema(value_type = String)]
    pub at: Timestamp,
    /// The credit note issued for it, once it is.
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub credit_note: Option<InvoiceNumber>,
    /// What it is credited (the credit note's amount), fixed when recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credit: Option<i64>,
    /// Goods the customer gets instead, as a replacement order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exchange: Option<crate::exchange::Exchange>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReturnLine {
    #[schema(value_type = String)]
    pub sku: Sku,
    #[schema(minimum = 1, maximum = 10_000)]
    pub quantity: i64,
}

/// Why a return cannot be recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReturnError {
    /// The order has not shipped (or was cancelled): 409.
    NotShipped(OrderStatus),
    /// The return id was used before with other lines: 409.
    IdReused(String),
    /// A line names a SKU the order does not have, or more units than were
    /// shipped and not yet returned: 422, naming the line.
    Unprocessable(crate::FieldError),
}

/// What recording a return did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReturnOutcome {
    /// Recorded now; these units go back into stock.
    Recorded(BTreeMap<Sku, i64>),
    /// The same return was recorded before.
    Repeated,
}

impl Order {
    /// Moves the order to `to`, recording when. Illegal moves change nothing.
    pub fn transition(&mut self, to: OrderStatus, at: Timestamp) -> Result<(), IllegalTransition> {
        if !self.status.can_become(to) {
            return Err(IllegalTransition {
                from: self.status,
                to,
            });
        }
        self.status = to;
        self.note(to.as_str(), at);
        Ok(())
    }

    /// Adds a timeline entry that is not a status change (e.g. `payment_received`).
    pub fn note(&mut self, event: &str, at: Timestamp) {
        self.timeline.push(TimelineEntry {
            at,
            event: event.to_string(),
        });
    }

    /// When the order first reached an event in its timeline.
    pub fn first(&self, event: &str) -> Option<Timestamp> {
        self.timeline
            .iter()
            .find(|e| e.event == event)
            .map(|e| e.at)
    }

    /// Units per SKU, with repeated SKUs summed: what a reservation holds.
    pub fn units_per_sku(&self) -> BTreeMap<Sku, i64> {
        let mut units = BTreeMap::new();
        for line in &self.lines {
            *units.entry(line.sku.clone()).or_insert(0) += line.quantity;
        }
        units
    }

    /// Records goods sent back after shipment and what they are credited.
    /// Only the order changes here; the caller moves the returned units into
    /// stock in the same write.
    pub fn record_return(&mut self, r: Return) -> Result<ReturnOutcome, ReturnError> {
        if let Some(before) = self.returns.iter().find(|x| x.id == r.id) {
            return if before.lines == r.lines && before.restocked == r.restocked {
                Ok(ReturnOutcome::Repeated)
            } else {
                Err(ReturnError::IdReused(r.id))
            };
        }
        if !matches!(
            self.status,
            OrderStatus::Shipped | OrderStatus::PartiallyShipped
        ) {
            return Err(ReturnError::NotShipped(self.status));
        }
        let mut open: BTreeMap<Sku, i64> = self.shipped_units();
        for line in self.returns.iter().flat_map(|x| &x.lines) {
            *open.entry(line.sku.clone()).or_insert(0) -= line.quantity;
        }
        let mut units = BTreeMap::new();
        for (i, line) in r.lines.iter().enumerate() {
            let left = open.get_mut(&line.sku).ok_or_else(|| {
                ReturnError::Unprocessable(crate::FieldError::new(
                    format!("lines[{i}].sku"),
                    format!("the order has no SKU {}", line.sku),
                ))
            })?;
            if line.quantity > *left {
                return Err(ReturnError::Unprocessable(crate::FieldError::new(
                    format!("lines[{i}].quantity"),
                    format!(
                        "{} units of {} returned, but only {} shipped and not yet returned",
                        line.quantity, line.sku, *left
                    ),
                )));
            }
            *left -= line.quantity;
            *units.entry(line.sku.clone()).or_insert(0) += line.quantity;
        }
        self.note("returned", r.at);
        let restocked = r.restocked;
        self.returns.push(r);
        // The credit is fixed now: an exchange prices the replacement by it.
        let credit = crate::invoice::credit_amount(self, &self.returns[self.returns.len() - 1]);
        self.returns.last_mut().expect("just pushed").credit = Some(credit);
        self.credited += credit;
        Ok(ReturnOutcome::Recorded(if restocked {
            units
        } else {
            BTreeMap::new()
        }))
    }

    /// The order's invoices: one per parcel, in the order they shipped (the
    /// order's own for an order invoiced before parcels were recorded).
    pub fn invoice_numbers(&self) -> Vec<InvoiceNumber> {
        let parcels: Vec<InvoiceNumber> = self
            .shipments
            .iter()
            .filter_map(|s| s.invoice_number.clone())
            .collect();
        if parcels.is_empty() {
            self.invoice_number.iter().cloned().collect()
        } else {
            parcels
        }
    }

    /// Orders paid by bank transfer (prepayment, or an invoice with terms):
    /// the stores index their payment reference for the statement import.
    pub fn pays_by_transfer(&self) -> bool {
        matches!(
            self.payment_method,
            PaymentMethod::BankTransfer | PaymentMethod::Invoice | PaymentMethod::Exchange
        )
    }

    pub fn amount_paid(&self) -> i64 {
        self.ledger.net_paid()
    }

    /// What the customer owes in all: the total less what was credited,
    /// plus dunning fees and interest.
    pub fn amount_owed(&self) -> i64 {
        self.invoiced_owed() + self.dunning.fees + self.dunning.interest
    }

    /// What the goods cost less what was credited (no dunning charges).
    pub fn invoiced_owed(&self) -> i64 {
        self.total - self.credited
    }

    /// What the invoices issued so far come to: the total, except while
    /// the order is partly shipped (then its invoiced parcels).
    pub fn invoiced_total(&self) -> i64 {
        if self.status != OrderStatus::PartiallyShipped {
            return self.total;
        }
        (0..self.shipments.len())
            .filter(|i| self.shipments[*i].invoice_number.is_some())
            .map(|i| self.parcel(i).total)
            .sum()
    }

    /// What is still open of the invoices themselves; dunning stops at zero.
    pub fn invoice_due(&self) -> i64 {
        (self.invoiced_total() - self.credited - self.amount_paid()).max(0)
    }

    /// What is open on the invoices issued, dunning charges included: what
    /// receivables list (goods not yet shipped are not receivable yet).
    pub fn receivable(&self) -> i64 {
        (self.invoiced_total() - self.credited + self.dunning.fees + self.dunning.interest
            - self.amount_paid())
        .max(0)
    }

    pub fn amount_due(&self) -> i64 {
        (self.amount_owed() - self.amount_paid()).max(0)
    }

    pub fn payment_status(&self) -> PaymentStatus {
        self.ledger.status(self.amount_owed())
    }
}

/// `total = Σ quantity × unit_price + shipping_price − discount`.
pub fn order_total(lines: &[OrderLine], shipping_price: i64, discount: Option<&Discount>) -> i64 {
    let goods: i64 = lines.iter().map(OrderLine::gross).sum();
    goods + shipping_price - discount.map_or(0, |d| d.amount)
}

/// An order to build tests on, in this crate and in the adapters' contract tests.
#[doc(hidden)]
pub mod fixtures {
    use super::*;

    pub fn sample_order() -> Order {
        let eur = Currency::parse("EUR").unwrap();
        let address = Address {
            name: "Erika Mustermann".into(),
            line1: "Heidestr. 17".into(),
            line2: None,
            postal_code: "51147".into(),
            city: "Köln".into(),
            country: "DE".into(),
        };
        let lines = vec![OrderLine {
            sku: Sku::from("MUG-BLUE"),
            name: "Tasse Blau".into(),
            quantity: 2,
            unit_price: 1299,
            tax_rate: TaxRate::parse("19").unwrap(),
        }];
        let discount = Some(Discount {
            code: Some("WELCOME10".into()),
            amount: 200,
        });
        let total = order_total(&lines, 495, discount.as_ref());
        let at: Timestamp = "2026-11-26T10:00:00Z".parse().unwrap();
        Order {
            id: OrderId::from("ord_TEST"),
            version: 1,
            external_ref: Some("shop-10023".into()),
            status: OrderStatus::Captured,
            currency: eur,
            customer: Customer {
                email: "erika@example.com".into(),
                name: "Erika Mustermann".into(),
                company: None,
                vat_id: None,
            },
            billing_address: address.clone(),
            shipping_address: address,
            lines,
            shipping_price: 495,
            discount,
            payment_method: PaymentMethod::Card,
            total,
            ledger: PaymentLedger::default(),
            credited: 0,
            invoice_number: None,
            fulfillment: None,
            shipments: Vec::new(),
            correlation_id: "corr".into(),
            captured_at: at,
            timeline: vec![TimelineEntry {
                at,
                event: "captured".into(),
            }],
            returns: Vec::new(),
            short_picks: Vec::new(),
            locale: Locale::De,
            buyer_reference: None,
            due_date: None,
            dunning: Dunning::default(),
            intra_community_supply: false,
            exchange_for: None,
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    pub use super::fixtures::sample_order;
    use super::*;
    use OrderStatus::*;

    #[test]
    fn total_follows_the_api_formula() {
        assert_eq!(sample_order().total, 2 * 1299 + 495 - 200);
    }

    #[test]
    fn happy_path_transitions_are_legal_and_recorded() {
        let mut o = sample_order();
        let t = o.captured_at;
        for s in [Reserved, HandedOff, Shipped] {
            o.transition(s, t).unwrap();
        }
        let events: Vec<_> = o.timeline.iter().map(|e| e.event.as_str()).collect();
        assert_eq!(events, ["captured", "reserved", "handed_off", "shipped"]);
    }

    #[test]
    fn illegal_transitions_are_refused_and_change_nothing() {
        let mut o = sample_order();
        let t = o.captured_at;
        assert_eq!(
            o.transition(Shipped, t),
            Err(IllegalTransition {
                from: Captured,
                to: Shipped
            })
        );
        assert_eq!(o.status, Captured);
        assert_eq!(o.timeline.len(), 1);
        o.transition(Reserved, t).unwrap();
        o.transition(HandedOff, t).unwrap();
        o.transition(Shipped, t).unwrap();
        assert!(
            o.transition(Cancelled, t).is_err(),
            "shipped orders cannot be cancelled"
        );
        let mut c = sample_order();
        c.transition(Cancelled, t).unwrap();
        assert!(c.transition(Cancelled, t).is_err(), "cancel happens once");
        assert!(c.transition(Reserved, t).is_err());
    }

    #[test]
    fn every_status_pair_matches_the_table() {
        let all = [
            Captured,
            Reserved,
            AwaitingPayment,
            Backordered,
            Rejected,
            HandedOff,
            PartiallyShipped,
            Shipped,
            Cancelled,
        ];
        let legal: usize = all
            .iter()
            .map(|a| all.iter().filter(|b| a.can_become(**b)).count())
            .sum();
        assert_eq!(legal, 5 + 4 + 2 + 4 + 3 + 1);
        for terminal in [Shipped, Cancelled, Rejected] {
            assert!(all.iter().all(|s| !terminal.can_become(*s)));
        }
    }

    #[test]
    fn units_per_sku_sums_repeated_lines() {
        let mut o = sample_order();
        let mut second = o.lines[0].clone();
        second.quantity = 3;
        o.lines.push(second);
        assert_eq!(o.units_per_sku().get(&Sku::from("MUG-BLUE")), Some(&5));
    }

    fn ret(id: &str, qty: i64, restocked: bool) -> Return {
        Return {
            id: id.into(),
            lines: vec![ReturnLine {
                sku: Sku::from("MUG-BLUE"),
                quantity: qty,
            }],
            restocked,
            at: "2026-11-27T10:00:00Z".parse().unwrap(),
            credit_note: None,
            credit: None,
            exchange: None,
        }
    }

    #[test]
    fn returns_restock_at_most_what_shipped_once_per_id() {
        let mut o = sample_order();
        let t = o.captured_at;
        assert_eq!(
            o.record_return(ret("R1", 1, true)),
            Err(ReturnError::NotShipped(Captured))
        );
        for s in [Reserved, HandedOff, Shipped] {
            o.transition(s, t).unwrap();
        }
        let units =
            |n: i64| ReturnOutcome::Recorded([(Sku::from("MUG-BLUE"), n)].into_iter().collect());
        assert_eq!(o.record_return(ret("R1", 1, true)), Ok(units(1)));
        assert_eq!(
            o.record_return(ret("R1", 1, true)),
            Ok(ReturnOutcome::Repeated)
        );
        assert_eq!(
            o.record_return(ret("R1", 2, true)),
            Err(ReturnError::IdReused("R1".into()))
        );
        let too_many = o.record_return(ret("R2", 2, true));
        assert!(
            matches!(too_many, Err(ReturnError::Unprocessable(ref f)) if f.field.as_deref() == Some("lines[0].quantity")),
            "2 shipped, 1 back already"
        );
        assert_eq!(
            o.record_return(ret("R2", 1, false)),
            Ok(ReturnOutcome::Recorded(Default::default())),
            "written off"
        );
        assert_eq!(o.returns.len(), 2);
        // Each mug is credited 12.99 less its half of the 2.00 discount.
        assert_eq!(
            o.returns.iter().map(|r| r.credit).collect::<Vec<_>>(),
            [Some(1199), Some(1199)]
        );
        assert_eq!(o.credited, 2398);
        assert_eq!(
            o.timeline.iter().filter(|e| e.event == "returned").count(),
            2
        );
        let mut other = ret("R3", 1, true);
        other.lines[0].sku = Sku::from("NOT-IN-ORDER");
        let unknown = o.record_return(other);
        assert!(
            matches!(unknown, Err(ReturnError::Unprocessable(ref f)) if f.field.as_deref() == Some("lines[0].sku"))
        );
    }
}
