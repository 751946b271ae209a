//! Capture stage: a storefront's order becomes a stored, captured order and
//! an `OrderCaptured` event, exactly once per `Idempotency-Key`.

use jiff::Timestamp;
use oms_domain::event::{Envelope, EventType};
use oms_domain::new_order::{parse_json, OrderRequest};
use oms_domain::order::Order;
use oms_domain::ports::{ChangeSet, CommitError, Conflict, IdempotencyRecord, OrderWrite, Store};
use oms_domain::{FieldError, OrderId, StoreError};
use sha2::{Digest, Sha256};

#[derive(Debug, thiserror::Error)]
pub enum CaptureError {
    /// The request is malformed or breaks a field rule (400).
    #[error("{}", .0.message)]
    Invalid(FieldError),
    /// Well-formed, but refers to something that does not exist (422).
    #[error("{}", .0.message)]
    Unprocessable(FieldError),
    /// The key was used before with a different body (409).
    #[error("this Idempotency-Key was used with a different request body")]
    IdempotencyConflict,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The answer to give: the first answer again for a repeated request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Captured {
    pub status: u16,
    pub body: String,
    pub order_id: OrderId,
    pub replayed: bool,
}

/// 1 to 255 visible ASCII characters.
pub fn check_idempotency_key(key: Option<&str>) -> Result<&str, FieldError> {
    match key {
        Some(k)
            if !k.is_empty() && k.len() <= 255 && k.bytes().all(|b| (0x21..=0x7e).contains(&b)) =>
        {
            Ok(k)
        }
        Some(_) => Err(FieldError::new(
            "Idempotency-Key",
            "Idempotency-Key must be 1 to 255 visible ASCII characters",
        )),
        None => Err(FieldError::new(
            "Idempotency-Key",
            "the Idempotency-Key header is required",
        )),
    }
}

/// SHA-256 of the body's canonical JSON (keys sorted, no white space), so a
/// client that re-serialises the same order differently is not refused.
fn body_hash(body: &[u8]) -> Result<String, FieldError> {
    let value: serde_json::Value = serde_json::from_slice(body)
        .map_err(|e| FieldError::general(format!("malformed JSON: {e}")))?;
    Ok(hex::encode(Sha256::digest(value.to_string().as_bytes())))
}

fn replay(record: IdempotencyRecord, hash: &str) -> Result<Captured, CaptureError> {
    if record.body_hash != hash {
        return Err(CaptureError::IdempotencyConflict);
    }
    Ok(Captured {
        status: record.status,
        body: record.response,
        order_id: record.order_id,
        replayed: true,
    })
}

/// Captures an order. `render` turns the stored order into the response body,
/// which is kept with the key so that a repeat gets the very same answer.
/// `home_country` is the seller's (for intra-community supplies).
#[allow(clippy::too_many_arguments)]
pub async fn capture_order<S: Store + ?Sized>(
    store: &S,
    idempotency_key: &str,
    body: &[u8],
    correlation_id: &str,
    now: Timestamp,
    home_country: &str,
    render: impl Fn(&Order) -> String,
) -> Result<Captured, CaptureError> {
    let hash = body_hash(body).map_err(CaptureError::Invalid)?;
    if let Some(record) = store.idempotency(idempotency_key).await? {
        return replay(record, &hash);
    }
    let request: OrderRequest = parse_json(body).map_err(CaptureError::Invalid)?;
    let valid = request.validate().map_err(CaptureError::Invalid)?;
    let catalogue = store.skus(&valid.skus).await?;
    let order = valid
        .capture(
            &catalogue,
            OrderId::generate(),
            correlation_id.to_string(),
            now,
            home_country,
        )
        .map_err(CaptureError::Unprocessable)?;
    let response = render(&order);
    let record = IdempotencyRecord {
        key: idempotency_key.to_string(),
        body_hash: hash.clone(),
        status: 201,
        response: response.clone(),
        order_id: order.id.clone(),
        created_at: now,
    };
    let changes = ChangeSet {
        events: vec![Envelope::for_order(EventType::OrderCaptured, &order, now)],
        idempotency: Some(record),
        order: Some(OrderWrite {
            order: order.clone(),
            expected_version: None,
        }),
        ..ChangeSet::default()
    };
    match store.commit(changes).await {
        Ok(()) => Ok(Captured {
            status: 201,
            body: response,
            order_id: order.id,
            replayed: false,
        }),
        // A concurrent request with the same key won the race: answer as it did.
        Err(CommitError::Conflict(Conflict::IdempotencyKeyTaken)) => {
            match store.idempotency(idempotency_key).await? {
                Some(record) => replay(record, &hash),
                None => Err(StoreError::unavailable("idempotency record vanished").into()),
            }
        }
        Err(CommitError::Conflict(c)) => Err(StoreError::unavailable(c.to_string()).into()),
        Err(CommitError::Store(e)) => Err(e.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn idempotency_keys_are_checked() {
        assert!(check_idempotency_key(Some("abc-123")).is_ok());
        assert!(check_idempotency_key(None).is_err());
        assert!(check_idempotency_key(Some("")).is_err());
        assert!(check_idempotency_key(Some("has space")).is_err());
        assert!(check_idempotency_key(Some(&"k".repeat(256))).is_err());
    }

    #[test]
    fn body_hash_ignores_formatting_and_key_order() {
        let a = body_hash(br#"{"a": 1, "b": [1, 2]}"#).unwrap();
        let b = body_hash(br#"{"b":[1,2],"a":1}"#).unwrap();
        let c = body_hash(br#"{"b":[2,1],"a":1}"#).unwrap();
        assert_eq!(a, b);
        assert_ne!(a, c);
    }
}
