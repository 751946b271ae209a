//! Money as integer minor units plus an ISO 4217 currency. No floats.

use serde::{Deserialize, Serialize};
use std::fmt;

use crate::codes::currency_exponent;

/// An ISO 4217 currency code in upper case, e.g. `EUR`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Currency([u8; 3]);

impl Currency {
    pub fn parse(code: &str) -> Result<Self, String> {
        if currency_exponent(code).is_none() {
            return Err(format!(
                "`{code}` is not an ISO 4217 currency code in upper case"
            ));
        }
        let b = code.as_bytes();
        Ok(Currency([b[0], b[1], b[2]]))
    }

    pub fn as_str(&self) -> &str {
        // Only ever built from validated ASCII.
        std::str::from_utf8(&self.0).expect("currency is ASCII")
    }

    /// Number of decimal places of the minor unit (2 for EUR, 0 for JPY).
    pub fn exponent(&self) -> u8 {
        currency_exponent(self.as_str()).unwrap_or(2)
    }
}

impl TryFrom<String> for Currency {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        Currency::parse(&s)
    }
}

impl From<Currency> for String {
    fn from(c: Currency) -> String {
        c.as_str().to_string()
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Money {
    pub minor: i64,
    pub currency: Currency,
}

impl Money {
    pub fn new(minor: i64, currency: Currency) -> Self {
        Money { minor, currency }
    }

    /// Human-readable amount, e.g. `12.99 EUR`, for documents and emails.
    pub fn display(&self) -> String {
        format_minor(self.minor, self.currency)
    }
}

/// Formats minor units with the currency's decimals: `-1299` EUR → `-12.99 EUR`.
pub fn format_minor(minor: i64, currency: Currency) -> String {
    let exp = currency.exponent() as u32;
    let sign = if minor < 0 { "-" } else { "" };
    let abs = minor.unsigned_abs();
    if exp == 0 {
        return format!("{sign}{abs} {currency}");
    }
    let unit = 10u64.pow(exp);
    format!(
        "{sign}{}.{:0width$} {currency}",
        abs / unit,
        abs % unit,
        width = exp as usize
    )
}

/// `n / d` rounded half away from zero, computed without overflow.
pub fn div_round(n: i128, d: i128) -> i128 {
    assert!(d > 0, "divisor must be positive");
    let q = n / d;
    let r = n % d;
    if 2 * r.abs() >= d {
        q + n.signum()
    } else {
        q
    }
}

/// Splits `amount` over `weights` in proportion, so that the parts add up to
/// `amount` exactly (largest-remainder method). Used to spread a discount or
/// a shipping charge over the VAT rates of the goods it belongs to.
pub fn allocate(amount: i64, weights: &[i64]) -> Vec<i64> {
    let total: i128 = weights.iter().map(|w| *w as i128).sum();
    if weights.is_empty() {
        return Vec::new();
    }
    if total <= 0 {
        // Nothing to weigh by: put everything on the first part.
        let mut parts = vec![0; weights.len()];
        parts[0] = amount;
        return parts;
    }
    let mut parts: Vec<i64> = Vec::with_capacity(weights.len());
    let mut remainders: Vec<(i128, usize)> = Vec::with_capacity(weights.len());
    for (i, w) in weights.iter().enumerate() {
        let exact = amount as i128 * *w as i128;
        parts.push((exact / total) as i64);
        remainders.push((exact % total, i));
    }
    let mut left = amount - parts.iter().sum::<i64>();
    // Largest remainder first; ties go to the earlier part, so the result is deterministic.
    remainders.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    let step = left.signum();
    for (_, i) in remainders.iter().cycle() {
        if left == 0 {
            break;
        }
        parts[*i] += step;
        left -= step;
    }
    parts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_minor_units_with_the_currency_exponent() {
        let eur = Currency::parse("EUR").unwrap();
        let jpy = Currency::parse("JPY").unwrap();
        assert_eq!(format_minor(1299, eur), "12.99 EUR");
        assert_eq!(format_minor(5, eur), "0.05 EUR");
        assert_eq!(format_minor(-1299, eur), "-12.99 EUR");
        assert_eq!(format_minor(1299, jpy), "1299 JPY");
    }

    #[test]
    fn currency_must_be_upper_case_iso() {
        assert!(Currency::parse("EUR").is_ok());
        assert!(Currency::parse("eur").is_err());
        assert!(Currency::parse("EURO").is_err());
        let parsed: Result<Currency, _> = serde_json::from_str("\"XXX\"");
        assert!(parsed.is_err());
    }

    #[test]
    fn rounding_is_half_away_from_zero() {
        assert_eq!(div_round(5, 2), 3);
        assert_eq!(div_round(-5, 2), -3);
        assert_eq!(div_round(4, 3), 1);
        assert_eq!(div_round(-4, 3), -1);
    }

    #[test]
    fn allocation_adds_up_exactly() {
        assert_eq!(allocate(100, &[1, 1, 1]), vec![34, 33, 33]);
        assert_eq!(allocate(200, &[2598, 1000]), vec![144, 56]);
        assert_eq!(allocate(0, &[5, 5]), vec![0, 0]);
        assert_eq!(allocate(7, &[0, 0]), vec![7, 0]);
        for amount in [1, 99, 1001, 123_457] {
            let parts = allocate(amount, &[333, 333, 334, 1]);
            assert_eq!(parts.iter().sum::<i64>(), amount);
        }
    }
}
