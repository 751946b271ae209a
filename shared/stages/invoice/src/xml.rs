//! A minimal writer of indented XML for the e-invoices (UBL and CII), and
//! amounts as the norms write them.

use oms_domain::Currency;
use quick_xml::escape::escape;

/// A minimal writer of indented XML; text and attribute values are escaped.
pub(crate) struct Xml {
    pub out: String,
    pub depth: usize,
}

impl Xml {
    fn indent(&mut self) {
        for _ in 0..self.depth {
            self.out.push_str("  ");
        }
    }

    pub fn open(&mut self, tag: &str) {
        self.indent();
        self.out.push_str(&format!("<{tag}>\n"));
        self.depth += 1;
    }

    pub fn close(&mut self, tag: &str) {
        self.depth -= 1;
        self.indent();
        self.out.push_str(&format!("</{tag}>\n"));
    }

    pub fn leaf(&mut self, tag: &str, attribute: Option<(&str, &str)>, text: &str) {
        self.indent();
        let attribute = attribute
            .map(|(k, v)| format!(" {k}=\"{}\"", escape(v)))
            .unwrap_or_default();
        self.out
            .push_str(&format!("<{tag}{attribute}>{}</{tag}>\n", escape(text)));
    }

    pub fn amount(&mut self, tag: &str, minor: i64, currency: Currency) {
        self.leaf(
            tag,
            Some(("currencyID", currency.as_str())),
            &decimal(minor, currency),
        );
    }
}

/// Minor units as a decimal with the currency's places: 2893 EUR → `28.93`.
pub(crate) fn decimal(minor: i64, currency: Currency) -> String {
    let exp = currency.exponent() as u32;
    if exp == 0 {
        return minor.to_string();
    }
    let unit = 10i64.pow(exp);
    let sign = if minor < 0 { "-" } else { "" };
    let abs = minor.unsigned_abs() as i64;
    format!(
        "{sign}{}.{:0width$}",
        abs / unit,
        abs % unit,
        width = exp as usize
    )
}
