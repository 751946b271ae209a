//! Stripe events reduced to [`PaymentEvent`]s.

use serde::Deserialize;

use crate::payment::{PaymentEvent, PaymentEventKind};
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
        other => PaymentEventKind::Ignored {
            event_type: other.to_string(),
        },
    };
    Ok(PaymentEvent {
        provider: "stripe".into(),
        event_id: event.id,
        order_id,
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
    fn refuses_malformed_events() {
        assert!(parse_event(b"{").is_err());
        let neg = br#"{"id":"evt_4","type":"payment_intent.succeeded","data":{"object":{"amount_received":-1,"currency":"eur"}}}"#;
        assert_eq!(
            parse_event(neg).unwrap_err().field.as_deref(),
            Some("data.object.amount_received")
        );
    }
}
