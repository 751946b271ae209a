//! The versioned envelope every message between stages travels in.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::{OrderId, Sku};

/// Version of the envelope layout and its payloads. A consumer refuses
/// (dead-letters) a version it does not know rather than guessing.
pub const ENVELOPE_VERSION: u16 = 1;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum EventType {
    OrderCaptured,
    OrderReserved,
    OrderShipped,
    /// Goods came back; the payload names the return (a credit note is due).
    OrderReturned,
    PaymentEventReceived,
    StockReplenished,
    /// The simulated warehouse's timer: ship this order now.
    ShipmentDue,
    /// A prepayment order was cancelled unpaid: tell the customer.
    PrepaymentExpired,
    /// A dunning level was reached (payload `dunning_level`): send its notice.
    DunningNoticeDue,
    /// Something the customer is told by email (payload `notice`).
    CustomerNotice,
    /// A cancelled replacement order gave the credit of the original's
    /// return (payload `return_id`) back: the original order takes it back.
    CreditReturned,
}

/// What a [`EventType::CustomerNotice`] tells the customer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Notice {
    /// The order was received (with the bank details for prepayment).
    Confirmation,
    /// Some goods are not in stock; the order waits for them.
    Backorder,
    /// The parcel is on its way (carrier, tracking number and link).
    Shipment,
    /// The order was cancelled.
    Cancellation,
    /// Units could not be shipped and were cut (payload `sequence`).
    Short,
    /// Money went back to the customer (payload `sequence`, `amount`).
    Refund,
    /// A prepayment order was cancelled unpaid.
    PrepaymentExpired,
}

impl Notice {
    pub fn as_str(&self) -> &'static str {
        match self {
            Notice::Confirmation => "confirmation",
            Notice::Backorder => "backorder",
            Notice::Shipment => "shipment",
            Notice::Cancellation => "cancellation",
            Notice::Short => "short",
            Notice::Refund => "refund",
            Notice::PrepaymentExpired => "prepayment_expired",
        }
    }
}

/// The queues between stages, each with exactly one consumer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum QueueName {
    Reserve,
    Fulfill,
    Invoice,
    Reconcile,
    /// The built-in simulated warehouse (embedded backend, demos).
    WarehouseSim,
}

impl QueueName {
    pub const ALL: [QueueName; 5] = [
        QueueName::Reserve,
        QueueName::Fulfill,
        QueueName::Invoice,
        QueueName::Reconcile,
        QueueName::WarehouseSim,
    ];

    pub fn as_str(&self) -> &'static str {
        match self {
            QueueName::Reserve => "reserve",
            QueueName::Fulfill => "fulfill",
            QueueName::Invoice => "invoice",
            QueueName::Reconcile => "reconcile",
            QueueName::WarehouseSim => "warehouse-sim",
        }
    }

    pub fn parse(s: &str) -> Option<QueueName> {
        QueueName::ALL.into_iter().find(|q| q.as_str() == s)
    }
}

impl EventType {
    /// Where an event is delivered: the routing table of the pipeline.
    pub fn queue(&self) -> QueueName {
        match self {
            EventType::OrderCaptured | EventType::StockReplenished => QueueName::Reserve,
            EventType::OrderReserved => QueueName::Fulfill,
            EventType::OrderShipped
            | EventType::OrderReturned
            | EventType::PrepaymentExpired
            | EventType::DunningNoticeDue
            | EventType::CustomerNotice
            | EventType::CreditReturned => QueueName::Invoice,
            EventType::PaymentEventReceived => QueueName::Reconcile,
            EventType::ShipmentDue => QueueName::WarehouseSim,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Envelope {
    pub id: String,
    #[serde(rename = "type")]
    pub event_type: EventType,
    pub version: u16,
    pub order_id: Option<OrderId>,
    pub correlation_id: String,
    pub occurred_at: Timestamp,
    #[serde(default)]
    pub payload: Payload,
}

/// Extra data some events carry; most need only the order id.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Payload {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sku: Option<Sku>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider_event_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub return_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dunning_level: Option<u8>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notice: Option<Notice>,
    /// Which of the order's short picks or refunds (1-based) a notice is about.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sequence: Option<u32>,
    /// The amount a notice is about (a refund), in minor units.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amount: Option<i64>,
    /// The parcel a shipment event or notice is about.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shipment_id: Option<String>,
}

impl Envelope {
    pub fn new(
        event_type: EventType,
        order_id: Option<OrderId>,
        correlation_id: &str,
        at: Timestamp,
    ) -> Self {
        Envelope {
            id: format!("evt_{}", ulid::Ulid::new()),
            event_type,
            version: ENVELOPE_VERSION,
            order_id,
            correlation_id: correlation_id.to_string(),
            occurred_at: at,
            payload: Payload::default(),
        }
    }

    pub fn for_order(event_type: EventType, order: &crate::order::Order, at: Timestamp) -> Self {
        Envelope::new(
            event_type,
            Some(order.id.clone()),
            &order.correlation_id,
            at,
        )
    }

    /// Tells the customer of `order` about `notice` (the invoice stage mails it).
    pub fn notice(notice: Notice, order: &crate::order::Order, at: Timestamp) -> Self {
        Envelope::for_order(EventType::CustomerNotice, order, at).with_payload(Payload {
            notice: Some(notice),
            ..Payload::default()
        })
    }

    /// A notice about the `sequence`th short pick or refund of its order,
    /// of `amount` where it names one.
    pub fn numbered(mut self, sequence: usize, amount: Option<i64>) -> Self {
        self.payload.sequence = Some(sequence as u32);
        self.payload.amount = amount;
        self
    }

    /// An event or notice about one parcel of its order.
    pub fn about_shipment(mut self, id: &str) -> Self {
        self.payload.shipment_id = Some(id.to_string());
        self
    }

    pub fn with_payload(mut self, payload: Payload) -> Self {
        self.payload = payload;
        self
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("an envelope always serializes")
    }

    /// Reads a message body; an unreadable body or unknown version can never
    /// succeed, so the error says so.
    pub fn from_json(body: &str) -> Result<Envelope, crate::StageError> {
        let env: Envelope = serde_json::from_str(body)
            .map_err(|e| crate::StageError::permanent(format!("unreadable message: {e}")))?;
        if env.version != ENVELOPE_VERSION {
            return Err(crate::StageError::permanent(format!(
                "unknown envelope version {}",
                env.version
            )));
        }
        Ok(env)
    }

    /// The order id, which every order event must carry.
    pub fn require_order(&self) -> Result<&OrderId, crate::StageError> {
        self.order_id.as_ref().ok_or_else(|| {
            crate::StageError::permanent(format!("{:?} without order id", self.event_type))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn envelope_round_trips_and_routes() {
        let e = Envelope::new(
            EventType::OrderCaptured,
            Some(OrderId::from("ord_1")),
            "c1",
            Timestamp::UNIX_EPOCH,
        );
        let back = Envelope::from_json(&e.to_json()).unwrap();
        assert_eq!(back, e);
        assert_eq!(back.event_type.queue(), QueueName::Reserve);
        assert!(e.to_json().contains("\"type\":\"OrderCaptured\""));
    }

    #[test]
    fn garbage_and_unknown_versions_are_permanent_failures() {
        assert!(!Envelope::from_json("not json").unwrap_err().is_transient());
        let mut e = Envelope::new(EventType::OrderShipped, None, "c", Timestamp::UNIX_EPOCH);
        e.version = 99;
        assert!(!Envelope::from_json(&e.to_json())
            .unwrap_err()
            .is_transient());
    }
}
