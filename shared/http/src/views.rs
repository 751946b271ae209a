//! What the API shows of stored things.

use oms_domain::order::{
    Address, Customer, Discount, FulfillmentStatus, Order, OrderLine, OrderStatus, PaymentMethod,
    Return, TimelineEntry,
};
use oms_domain::payment::PaymentStatus;
use serde::Serialize;
use utoipa::ToSchema;

#[derive(Debug, Serialize, ToSchema)]
pub struct FulfillmentView {
    pub id: String,
    pub status: FulfillmentStatus,
    pub carrier: Option<String>,
    pub tracking_number: Option<String>,
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
    pub fulfillments: Vec<FulfillmentView>,
    pub returns: Vec<Return>,
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
            returns: o.returns.clone(),
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
