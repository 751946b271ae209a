//! Identifiers as newtypes, so an order id can never be passed where a SKU is meant.

use serde::{Deserialize, Serialize};
use std::fmt;

macro_rules! string_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub String);

        impl $name {
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl From<&str> for $name {
            fn from(s: &str) -> Self {
                $name(s.to_string())
            }
        }
    };
}

string_id!(
    /// `ord_` followed by a ULID, so ids sort by creation time.
    OrderId
);
string_id!(
    /// `ful_` followed by the ULID part of its order id: one fulfillment per
    /// order, and the id can be derived again when a message is redelivered.
    FulfillmentId
);
string_id!(
    /// A stock-keeping unit: 1 to 64 characters of `A-Z a-z 0-9 - _ .`.
    Sku
);
string_id!(
    /// `INV-<year>-<6 digits>`.
    InvoiceNumber
);

impl OrderId {
    pub fn generate() -> Self {
        OrderId(format!("ord_{}", ulid::Ulid::new()))
    }
}

impl FulfillmentId {
    pub fn for_order(order: &OrderId) -> Self {
        let tail = order.0.strip_prefix("ord_").unwrap_or(&order.0);
        FulfillmentId(format!("ful_{tail}"))
    }
}

impl Sku {
    pub fn parse(s: &str) -> Result<Self, String> {
        let ok = !s.is_empty()
            && s.len() <= 64
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b));
        if ok {
            Ok(Sku(s.to_string()))
        } else {
            Err(format!(
                "`{s}` is not a SKU: use 1 to 64 characters of A-Z, a-z, 0-9, '-', '_' or '.'"
            ))
        }
    }
}

impl InvoiceNumber {
    /// Invoice numbers run gap-free per calendar year: `INV-2026-000042`.
    pub fn new(year: i16, sequence: u64) -> Self {
        InvoiceNumber(format!("INV-{year}-{sequence:06}"))
    }

    pub fn series(year: i16) -> String {
        format!("INV-{year}")
    }

    /// Credit notes have their own gap-free series: `CN-2026-000007`.
    pub fn credit_note(year: i16, sequence: u64) -> Self {
        InvoiceNumber(format!("CN-{year}-{sequence:06}"))
    }

    pub fn credit_note_series(year: i16) -> String {
        format!("CN-{year}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fulfillment_id_is_derived_from_the_order() {
        let o = OrderId::generate();
        assert!(o.0.starts_with("ord_"));
        let f = FulfillmentId::for_order(&o);
        assert_eq!(&f.0[4..], &o.0[4..]);
        assert_eq!(f, FulfillmentId::for_order(&o));
    }

    #[test]
    fn invoice_numbers_have_six_digits() {
        assert_eq!(InvoiceNumber::new(2026, 1).0, "INV-2026-000001");
        assert_eq!(InvoiceNumber::new(2026, 123456).0, "INV-2026-123456");
    }

    #[test]
    fn skus_are_restricted() {
        assert!(Sku::parse("MUG-BLUE").is_ok());
        assert!(Sku::parse("").is_err());
        assert!(Sku::parse("a b").is_err());
        assert!(Sku::parse(&"x".repeat(65)).is_err());
    }
}
