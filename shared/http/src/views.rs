//! What the API shows of stored things.

use oms_domain::order::{
    Address, Customer, Discount, DunningNotice, FulfillmentStatus, Locale, Order, OrderLine,
    OrderStatus, PaymentMethod, Return, ReturnLine, TimelineEntry,
};
use oms_domain::payment::PaymentStatus;
use oms_domain::shipment::Shipment;
use oms_domain::short_pick::ShortPick;
use serde::Serialize;
use utoipa::ToSchema;

#[derive(Debug, Serialize, ToSchema)]
pub struct FulfillmentView {
    pub id: String,
    pub status: FulfillmentStatus,
    pub carrier: Option<String>,
    pub tracking_number: Option<String>,
}

/// One parcel as the API shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct ShipmentView {
    pub id: String,
    pub fulfillment_id: String,
    pub carrier: String,
    pub tracking_number: String,
    pub lines: Vec<ReturnLine>,
    #[schema(value_type = String)]
    pub shipped_at: jiff::Timestamp,
    /// The parcel's invoice; null until it is issued.
    pub invoice_number: Option<String>,
}

impl From<&Shipment> for ShipmentView {
    fn from(s: &Shipment) -> Self {
        ShipmentView {
            id: s.id.clone(),
            fulfillment_id: s.fulfillment_id.to_string(),
            carrier: s.carrier.clone(),
            tracking_number: s.tracking_number.clone(),
            lines: s.lines.clone(),
            shipped_at: s.shipped_at,
            invoice_number: s.invoice_number.as_ref().map(|n| n.to_string()),
        }
    }
}

/// Dunning of the order: level, what it added (owed on top of the
/// invoice) and each notice sent.
#[derive(Debug, Serialize, ToSchema)]
pub struct DunningView {
    pub level: u8,
    /// Flat fees owed, minor units.
    pub fees: i64,
    /// Default interest owed, minor units.
    pub interest: i64,
    pub notices: Vec<DunningNotice>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct OrderView {
    pub id: String,
    pub external_ref: Option<String>,
    pub status: OrderStatus,
    pub payment_status: PaymentStatus,
    pub currency: String,
    pub total: i64,
    pub amount_paid: i64,
    /// What was paid back by refunds (`amount_paid` is net of it).
    pub amount_refunded: i64,
    /// ISO 11649 creditor reference (`RF…`) to quote when paying by transfer.
    pub payment_reference: String,
    /// True while a dispute (chargeback) has taken money back.
    pub disputed: bool,
    /// Credited for returned goods (credit notes).
    pub amount_credited: i64,
    pub amount_due: i64,
    pub shipping_price: i64,
    pub discount: Option<Discount>,
    pub payment_method: PaymentMethod,
    pub customer: Customer,
    pub billing_address: Address,
    pub shipping_address: Address,
    pub lines: Vec<OrderLine>,
    pub invoice_number: Option<String>,
    /// When the invoice must be paid; null until invoiced with terms.
    #[schema(value_type = Option<String>, example = "2026-12-10")]
    pub due_date: Option<jiff::civil::Date>,
    /// 0 none, 1 reminder, 2 first dunning notice, 3 final notice.
    pub dunning_level: u8,
    pub dunning_blocked: bool,
    pub dunning: DunningView,
    pub locale: Locale,
    pub buyer_reference: Option<String>,
    /// A tax-free intra-community supply (a business of another EU member
    /// state, goods going there): every line at 0 % VAT.
    pub intra_community_supply: bool,
    /// The order whose return this replacement order is for (an exchange).
    pub exchange_for: Option<String>,
    pub fulfillments: Vec<FulfillmentView>,
    /// Each parcel shipped, with its invoice once issued.
    pub shipments: Vec<ShipmentView>,
    pub returns: Vec<Return>,
    /// Units the warehouse could not ship, cut from the order, each with
    /// what it took off the total (and the warehouse's `Idempotency-Key`).
    pub short_picks: Vec<ShortPick>,
    pub timeline: Vec<TimelineEntry>,
}

impl From<&Order> for OrderView {
    fn from(o: &Order) -> Self {
        OrderView {
            id: o.id.to_string(),
            external_ref: o.external_ref.clone(),
            status: o.status,
            payment_status: o.payment_status(),
            currency: o.currency.to_string(),
            total: o.total,
            amount_paid: o.amount_paid(),
            amount_refunded: o.ledger.refunded(),
            payment_reference: oms_domain::payment_reference::for_order(&o.id),
            disputed: o.ledger.disputed(),
            amount_credited: o.credited,
            amount_due: o.amount_due(),
            shipping_price: o.shipping_price,
            discount: o.discount.clone(),
            payment_method: o.payment_method,
            customer: o.customer.clone(),
            billing_address: o.billing_address.clone(),
            shipping_address: o.shipping_address.clone(),
            lines: o.lines.clone(),
            invoice_number: o.invoice_number.as_ref().map(|n| n.to_string()),
            due_date: o.due_date,
            dunning_level: o.dunning.level,
            dunning_blocked: o.dunning.blocked,
            dunning: DunningView {
                level: o.dunning.level,
                fees: o.dunning.fees,
                interest: o.dunning.interest,
                notices: o.dunning.notices.clone(),
            },
            locale: o.locale,
            buyer_reference: o.buyer_reference.clone(),
            intra_community_supply: o.intra_community_supply,
            exchange_for: o.exchange_for.as_ref().map(|id| id.to_string()),
            fulfillments: o
                .fulfillment
                .iter()
                .map(|f| FulfillmentView {
                    id: f.id.to_string(),
                    status: f.status,
                    carrier: f.carrier.clone(),
                    tracking_number: f.tracking_number.clone(),
                })
                .collect(),
            shipments: o.shipments.iter().map(ShipmentView::from).collect(),
            returns: o.returns.clone(),
            short_picks: o.short_picks.clone(),
            timeline: o.timeline.clone(),
        }
    }
}

pub fn order_json(o: &Order) -> String {
    serde_json::to_string(&OrderView::from(o)).expect("views always serialize")
}

#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookAck {
    pub received: bool,
    /// True when this event id had been received before (nothing was done again).
    pub duplicate: bool,
}
