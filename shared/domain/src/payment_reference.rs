//! The order's payment reference for bank transfers: an ISO 11649 creditor
//! reference (`RF` + two check digits + up to 21 letters and digits). It is
//! made from the order id (the last 21 letters and digits of its ULID: all
//! of its 80 random bits and the low bits of its time), so it needs no
//! counter and no extra write, and two orders share one only if their ids
//! share 80 random bits. Banks carry it through as a structured reference,
//! and its check digits catch every wrong digit and almost every other
//! typo.

use crate::OrderId;

/// ISO 11649 allows 21 characters after `RF` and the check digits.
const MAX_BODY: usize = 21;

/// `RF<check><body>` for `order`.
pub fn for_order(order: &OrderId) -> String {
    let id = order.as_str();
    let id = id.strip_prefix("ord_").unwrap_or(id);
    let alnum: Vec<char> = id
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_uppercase())
        .collect();
    let body: String = alnum[alnum.len().saturating_sub(MAX_BODY)..]
        .iter()
        .collect();
    let body = if body.is_empty() { "0".into() } else { body };
    format!("RF{:02}{body}", 98 - mod97(&format!("{body}RF00")))
}

/// Whether `reference` is a well-formed ISO 11649 reference (spaces, as
/// printed in groups of four, are ignored).
pub fn is_valid(reference: &str) -> bool {
    let compact: String = reference
        .chars()
        .filter(|c| *c != ' ')
        .map(|c| c.to_ascii_uppercase())
        .collect();
    let ok_shape = compact.len() >= 5
        && compact.len() <= 4 + MAX_BODY
        && compact.starts_with("RF")
        && compact[2..4].chars().all(|c| c.is_ascii_digit())
        && compact[4..].chars().all(|c| c.is_ascii_alphanumeric());
    ok_shape && mod97(&format!("{}{}", &compact[4..], &compact[..4])) == 1
}

/// The reference in groups of four, as printed on documents.
pub fn printed(reference: &str) -> String {
    reference
        .as_bytes()
        .chunks(4)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect::<Vec<_>>()
        .join(" ")
}

/// The text as a number (letters A=10 … Z=35), modulo 97.
fn mod97(text: &str) -> u32 {
    text.chars().fold(0, |acc, c| {
        let v = c.to_digit(36).unwrap_or(0);
        if v >= 10 {
            (acc * 100 + v) % 97
        } else {
            (acc * 10 + v) % 97
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_iso_example_is_valid() {
        // ISO 11649's own example.
        assert!(is_valid("RF18 5390 0754 7034"));
        assert!(is_valid("RF18539007547034"));
        assert!(!is_valid("RF19539007547034"));
        assert!(!is_valid("RF18 5390 0754 7035"));
        for bad in [
            "",
            "RF",
            "RF1",
            "XX18539007547034",
            "RF18-5390",
            "RF18539007547034539007547034",
        ] {
            assert!(!is_valid(bad), "{bad}");
        }
    }

    #[test]
    fn an_order_gets_a_valid_reference_from_its_id() {
        let id = OrderId("ord_01JD5XQ0E8Y3V4W8K9M2N6P7RS".into());
        let r = for_order(&id);
        assert!(r.starts_with("RF"), "{r}");
        assert_eq!(r.len(), 25);
        assert!(r.ends_with("XQ0E8Y3V4W8K9M2N6P7RS"), "{r}");
        assert!(is_valid(&r));
        assert!(is_valid(&printed(&r)));
        assert!(is_valid(&for_order(&OrderId("ord_1".into()))));
        assert_ne!(
            for_order(&OrderId::generate()),
            for_order(&OrderId::generate())
        );
    }
}

/// The payload of an EPC QR code ("GiroCode", EPC069-12 version 002) for a
/// SEPA credit transfer of `amount` euro cents to `iban`, quoting the
/// structured reference `reference`. `None` for amounts a transfer cannot
/// carry (zero, negative, above 999,999,999.99) or a non-euro currency.
pub fn epc_qr_payload(
    name: &str,
    iban: &str,
    amount: i64,
    currency: &str,
    reference: &str,
) -> Option<String> {
    if currency != "EUR" || !(1..=99_999_999_999).contains(&amount) {
        return None;
    }
    // The standard allows 70 characters of name; Latin-1 text is safest.
    let name: String = name.chars().take(70).collect();
    Some(format!(
        "BCD\n002\n1\nSCT\n\n{name}\n{iban}\nEUR{}.{:02}\n\n{reference}\n",
        amount / 100,
        amount % 100
    ))
}

#[cfg(test)]
mod epc_tests {
    use super::*;

    #[test]
    fn girocode_payload_follows_epc069_12() {
        let p = epc_qr_payload(
            "Example Shop GmbH",
            "DE02120300000000202051",
            2893,
            "EUR",
            "RF18539007547034",
        )
        .unwrap();
        let lines: Vec<&str> = p.lines().collect();
        assert_eq!(
            lines,
            [
                "BCD",
                "002",
                "1",
                "SCT",
                "",
                "Example Shop GmbH",
                "DE02120300000000202051",
                "EUR28.93",
                "",
                "RF18539007547034"
            ]
        );
        assert_eq!(epc_qr_payload("S", "DE02", 0, "EUR", "RF1"), None);
        assert_eq!(epc_qr_payload("S", "DE02", 100, "USD", "RF1"), None);
    }
}
