//! The outbox of an item: the events a write carried, as JSON in the item's
//! `outbox` attribute. The relay (a Lambda on the table's stream in AWS,
//! [`crate::StreamRelay`] locally) sends them on.

use oms_domain::event::Envelope;
use oms_domain::StoreError;

/// The attribute that carries a write's events.
pub const OUTBOX: &str = "outbox";

/// The events to relay for one stream record, given the outbox attribute of
/// its new and old images. A body that is not a list of envelopes is an
/// error: it can only come from a bug, and must not be dropped silently.
pub fn outbox_of_images(new: Option<&str>, old: Option<&str>) -> Result<Vec<Envelope>, StoreError> {
    match new {
        Some(new) if Some(new) != old => serde_json::from_str(new)
            .map_err(|e| StoreError::corrupt(format!("unreadable outbox: {e}"))),
        _ => Ok(Vec::new()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_new_outbox_is_relayed() {
        let e = Envelope::new(
            oms_domain::event::EventType::OrderCaptured,
            None,
            "c",
            jiff::Timestamp::UNIX_EPOCH,
        );
        let body = format!("[{}]", e.to_json());
        assert_eq!(
            outbox_of_images(Some(&body), None).unwrap(),
            vec![e.clone()]
        );
        assert!(outbox_of_images(Some(&body), Some(&body))
            .unwrap()
            .is_empty());
        assert!(outbox_of_images(None, Some(&body)).unwrap().is_empty());
        assert!(outbox_of_images(Some("{not a list"), None).is_err());
    }
}
