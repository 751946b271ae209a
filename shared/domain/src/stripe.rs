//! Stripe events reduced to [`PaymentEvent`]s.

use serde::Deserialize;

use crate::payment::{PaymentEvent, PaymentEventKind, RefundStatus};
use crate::FieldError;

#[derive(Deserialize)]
struct Event {
    id: String,
    #[serde(rename = "type")]
    event_type: String,
    data: Data,
}

#[derive(Deserialize)]
struct Data {
    object: serde_json::Value,
}

/// Parses a Stripe event body. Unknown event types are kept as `Ignored`, so
/// they are acknowledged (Stripe would otherwise retry them for days).
pub fn parse_event(body: &[u8]) -> Result<PaymentEvent, FieldError> {
    let event: Event = serde_json::from_slice(body)
        .map_err(|e| FieldError::general(format!("not a Stripe event: {e}")))?;
    if event.id.is_empty() {
        return Err(FieldError::new("id", "event id is empty"));
    }
    let object = &event.data.object;
    let order_id = object
        .pointer("/metadata/order_id")
        .and_then(|v| v.as_str())
        .map(str::to_string);
    let int = |name: &str| {
        object
            .get(name)
            .and_then(|v| v.as_i64())
            .filter(|v| *v >= 0)
            .ok_or_else(|| {
                FieldError::new(
                    format!("data.object.{name}"),
                    format!("{name} must be a non-negative integer"),
                )
            })
    };
    let text = |name: &str| {
        object
            .get(name)
            .and_then(|v| v.as_str())
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .ok_or_else(|| {
                FieldError::new(format!("data.object.{name}"), format!("{name} is missing"))
            })
    };
    let currency = || {
        object
            .get("currency")
            .and_then(|v| v.as_str())
            .map(str::to_string)
            .ok_or_else(|| FieldError::new("data.object.currency", "currency is missing"))
    };
    let kind = match event.event_type.as_str() {
        "payment_intent.succeeded" => PaymentEventKind::Received {
            amount: int("amount_received")?,
            currency: currency()?,
        },
        "charge.refunded" => {
            let charge_id = object
                .get("id")
                .and_then(|v| v.as_str())
                .ok_or_else(|| FieldError::new("data.object.id", "charge id is missing"))?
                .to_string();
            PaymentEventKind::Refunded {
                charge_id,
                cumulative: int("amount_refunded")?,
                currency: currency()?,
            }
        }
        // A refund object, whose status may change later.
        "refund.created" | "refund.updated" | "charge.refund.updated" => PaymentEventKind::Refund {
            refund_id: text("id")?,
            charge_id: object
                .get("charge")
                .and_then(|v| v.as_str())
                .map(str::to_string),
            amount: int("amount")?,
            currency: currency()?,
            status: match object.get("status").and_then(|v| v.as_str()) {
                Some("succeeded") => RefundStatus::Succeeded,
                Some("failed" | "canceled") => RefundStatus::Failed,
                _ => RefundStatus::Pending,
            },
        },
        "charge.dispute.funds_withdrawn" | "charge.dispute.funds_reinstated" => {
            PaymentEventKind::Dispute {
                dispute_id: text("id")?,
                withdrawn: event.event_type.ends_with("withdrawn"),
                amount: int("amount")?,
                currency: currency()?,
            }
        }
        other => PaymentEventKind::Ignored {
            event_type: other.to_string(),
        },
    };
    // The payment intent: the object itself, or the one it belongs to.
    let payment_intent = if event.event_type.starts_with("payment_intent.") {
        object.get("id")
    } else {
        object.get("payment_intent")
    }
    .and_then(|v| v.as_str())
    .filter(|s| !s.is_empty())
    .map(str::to_string);
    Ok(PaymentEvent {
        provider: "stripe".into(),
        event_id: event.id,
        order_id,
        payment_intent,
        kind,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_payment_intent_succeeded() {
        let body = br#"{"id":"evt_1","type":"payment_intent.succeeded","data":{"object":{"id":"pi_1","amount_received":3093,"currency":"eur","metadata":{"order_id":"ord_1"}}}}"#;
        let e = parse_event(body).unwrap();
        assert_eq!(e.event_id, "evt_1");
        assert_eq!(e.order_id.as_deref(), Some("ord_1"));
        assert_eq!(
            e.kind,
            PaymentEventKind::Received {
                amount: 3093,
                currency: "eur".into()
            }
        );
    }

    #[test]
    fn reads_charge_refunded_and_ignores_others() {
        let body = br#"{"id":"evt_2","type":"charge.refunded","data":{"object":{"id":"ch_1","amount_refunded":500,"currency":"eur","metadata":{"order_id":"ord_1"}}}}"#;
        assert_eq!(
            parse_event(body).unwrap().kind,
            PaymentEventKind::Refunded {
                charge_id: "ch_1".into(),
                cumulative: 500,
                currency: "eur".into()
            }
        );
        let other = br#"{"id":"evt_3","type":"customer.created","data":{"object":{}}}"#;
        assert!(matches!(
            parse_event(other).unwrap().kind,
            PaymentEventKind::Ignored { .. }
        ));
    }

    #[test]
    fn reads_refunds_and_disputes_with_their_payment_intent() {
        let refund = br#"{"id":"evt_5","type":"refund.updated","data":{"object":{"id":"re_1","object":"refund","amount":500,"currency":"eur","status":"failed","charge":"ch_1","payment_intent":"pi_1"}}}"#;
        let e = parse_event(refund).unwrap();
        assert_eq!(e.payment_intent.as_deref(), Some("pi_1"));
        assert_eq!(
            e.kind,
            PaymentEventKind::Refund {
                refund_id: "re_1".into(),
                charge_id: Some("ch_1".into()),
                amount: 500,
                currency: "eur".into(),
                status: RefundStatus::Failed
            }
        );
        let dispute = br#"{"id":"evt_6","type":"charge.dispute.funds_withdrawn","data":{"object":{"id":"dp_1","amount":3093,"currency":"eur","charge":"ch_1","payment_intent":"pi_1"}}}"#;
        assert_eq!(
            parse_event(dispute).unwrap().kind,
            PaymentEventKind::Dispute {
                dispute_id: "dp_1".into(),
                withdrawn: true,
                amount: 3093,
                currency: "eur".into()
            }
        );
        let paid = br#"{"id":"evt_7","type":"payment_intent.succeeded","data":{"object":{"id":"pi_9","amount_received":1,"currency":"eur"}}}"#;
        assert_eq!(
            parse_event(paid).unwrap().payment_intent.as_deref(),
            Some("pi_9")
        );
    }

    #[test]
    fn refuses_malformed_events() {
        assert!(parse_event(b"{").is_err());
        let neg = br#"{"id":"evt_4","type":"payment_intent.succeeded","data":{"object":{"amount_received":-1,"currency":"eur"}}}"#;
        assert_eq!(
            parse_event(neg).unwrap_err().field.as_deref(),
            Some("data.object.amount_received")
        );
    }
}
