//! VAT rates. Prices are gross (tax included); net and tax are derived.

use serde::{Deserialize, Serialize};
use std::fmt;

use crate::money::div_round;

/// A VAT rate in hundredths of a percent: `19` % is 1900, `5.5` % is 550.
/// Written and read as a decimal string in percent (`"19"`, `"5.5"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct TaxRate(u32);

impl TaxRate {
    pub fn from_basis_points(bp: u32) -> Self {
        TaxRate(bp)
    }

    pub fn basis_points(&self) -> u32 {
        self.0
    }

    /// Parses `"19"`, `"7.0"` or `"5.5"`: at most two decimals, 0 to 100.
    pub fn parse(s: &str) -> Result<Self, String> {
        let err =
            || format!("`{s}` is not a percentage between 0 and 100 with at most two decimals");
        let (int, frac) = match s.split_once('.') {
            Some((i, f)) => (i, f),
            None => (s, ""),
        };
        if int.is_empty()
            || int.len() > 3
            || frac.len() > 2
            || !int.bytes().all(|b| b.is_ascii_digit())
            || !frac.bytes().all(|b| b.is_ascii_digit())
            || (s.contains('.') && frac.is_empty())
        {
            return Err(err());
        }
        let whole: u32 = int.parse().map_err(|_| err())?;
        let hundredths: u32 = match frac.len() {
            0 => 0,
            1 => frac.parse::<u32>().map_err(|_| err())? * 10,
            _ => frac.parse().map_err(|_| err())?,
        };
        let bp = whole * 100 + hundredths;
        if bp > 10_000 {
            return Err(err());
        }
        Ok(TaxRate(bp))
    }

    /// Splits a gross amount into (net, tax): tax = gross − round(gross / (1 + rate)).
    pub fn split_gross(&self, gross: i64) -> (i64, i64) {
        let net = div_round(gross as i128 * 10_000, 10_000 + self.0 as i128) as i64;
        (net, gross - net)
    }
}

impl TryFrom<String> for TaxRate {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        TaxRate::parse(&s)
    }
}

impl From<TaxRate> for String {
    fn from(r: TaxRate) -> String {
        r.to_string()
    }
}

impl fmt::Display for TaxRate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (whole, frac) = (self.0 / 100, self.0 % 100);
        match frac {
            0 => write!(f, "{whole}"),
            f10 if f10 % 10 == 0 => write!(f, "{whole}.{}", f10 / 10),
            _ => write!(f, "{whole}.{frac:02}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_prints_percentages() {
        for (input, bp, shown) in [
            ("19", 1900, "19"),
            ("7", 700, "7"),
            ("5.5", 550, "5.5"),
            ("19.00", 1900, "19"),
            ("0", 0, "0"),
            ("2.15", 215, "2.15"),
        ] {
            let r = TaxRate::parse(input).unwrap();
            assert_eq!(r.basis_points(), bp, "{input}");
            assert_eq!(r.to_string(), shown, "{input}");
        }
        for bad in ["", "-1", "19%", "101", "1.234", "abc", "19.", ".5", " 19"] {
            assert!(TaxRate::parse(bad).is_err(), "{bad:?} must be refused");
        }
    }

    #[test]
    fn splits_gross_into_net_and_tax() {
        let r19 = TaxRate::parse("19").unwrap();
        assert_eq!(r19.split_gross(119), (100, 19));
        assert_eq!(r19.split_gross(2598), (2183, 415));
        assert_eq!(r19.split_gross(1), (1, 0));
        let r7 = TaxRate::parse("7").unwrap();
        assert_eq!(r7.split_gross(1070), (1000, 70));
        let zero = TaxRate::parse("0").unwrap();
        assert_eq!(zero.split_gross(999), (999, 0));
        let (net, tax) = r19.split_gross(-200);
        assert_eq!(net + tax, -200);
        assert_eq!((net, tax), (-168, -32));
    }
}

/// The EU member states (ISO 3166-1 alpha-2) for intra-community supplies.
const EU: [&str; 27] = [
    "AT", "BE", "BG", "CY", "CZ", "DE", "DK", "EE", "ES", "FI", "FR", "GR", "HR", "HU", "IE", "IT",
    "LT", "LU", "LV", "MT", "NL", "PL", "PT", "RO", "SE", "SI", "SK",
];

pub fn is_eu_member(country: &str) -> bool {
    EU.contains(&country)
}

/// Whether a sale is a tax-free intra-community supply (§ 4 Nr. 1b, § 6a
/// UStG; Art. 138 VAT Directive): the seller in an EU country `home`, the
/// buyer a business with a VAT id of another member state, the goods going
/// to another member state. Such a sale carries 0 % VAT (category K).
pub fn is_intra_community_supply(home: &str, buyer_vat_id: Option<&str>, ship_to: &str) -> bool {
    let Some(vat_id) = buyer_vat_id else {
        return false;
    };
    // Greece writes EL in VAT ids.
    let issued_by = match vat_id.get(..2) {
        Some("EL") => "GR",
        Some(prefix) => prefix,
        None => return false,
    };
    is_eu_member(home)
        && is_eu_member(issued_by)
        && issued_by != home
        && is_eu_member(ship_to)
        && ship_to != home
}

#[cfg(test)]
mod intra_community_tests {
    use super::*;

    #[test]
    fn only_a_business_of_another_member_state_receiving_there_buys_tax_free() {
        assert!(is_intra_community_supply("DE", Some("FR40303265045"), "FR"));
        assert!(is_intra_community_supply("DE", Some("EL123456789"), "GR"));
        assert!(!is_intra_community_supply("DE", None, "FR"), "a consumer");
        assert!(
            !is_intra_community_supply("DE", Some("DE123456788"), "FR"),
            "a German VAT id"
        );
        assert!(
            !is_intra_community_supply("DE", Some("FR40303265045"), "DE"),
            "goods stay in Germany"
        );
        assert!(
            !is_intra_community_supply("DE", Some("FR40303265045"), "CH"),
            "goods leave the EU"
        );
        assert!(
            !is_intra_community_supply("CH", Some("FR40303265045"), "FR"),
            "seller outside the EU"
        );
    }
}
