//! `POST /v1/orders`: parsing and validating what a storefront sends, and
//! turning it into a captured [`Order`].

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use utoipa::ToSchema;

use crate::catalog::SkuItem;
use crate::codes::is_country;
use crate::order::{
    order_total, Address, Customer, Discount, Dunning, Locale, Order, OrderLine, OrderStatus,
    PaymentMethod, TimelineEntry,
};
use crate::payment::PaymentLedger;
use crate::{Currency, FieldError, OrderId, Sku};

pub const MAX_LINES: usize = 100;
pub const MAX_QUANTITY: i64 = 10_000;
pub const MAX_UNIT_PRICE: i64 = 10_000_000_000;

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OrderRequest {
    #[serde(default)]
    #[schema(max_length = 255)]
    pub external_ref: Option<String>,
    /// ISO 4217, upper case.
    #[schema(example = "EUR", pattern = "^[A-Z]{3}$")]
    pub currency: String,
    pub customer: Customer,
    pub billing_address: Address,
    #[serde(default)]
    pub shipping_address: Option<Address>,
    #[schema(min_items = 1, max_items = 100)]
    pub lines: Vec<LineRequest>,
    /// Gross, in minor units.
    #[serde(default)]
    #[schema(minimum = 0, maximum = 10_000_000_000_i64)]
    pub shipping_price: Option<i64>,
    #[serde(default)]
    pub discount: Option<Discount>,
    #[serde(default)]
    pub payment_method: Option<PaymentMethod>,
    /// Language of the customer's documents and emails (default `de`).
    #[serde(default)]
    pub locale: Option<Locale>,
    /// The buyer's reference (Leitweg-ID for public buyers), 1..255 chars.
    #[serde(default)]
    #[schema(min_length = 1, max_length = 255)]
    pub buyer_reference: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LineRequest {
    #[schema(pattern = "^[A-Za-z0-9._-]{1,64}$")]
    pub sku: String,
    #[schema(minimum = 1, maximum = 10_000)]
    pub quantity: i64,
    /// Gross price of one unit, in minor units.
    #[schema(minimum = 0, maximum = 10_000_000_000_i64)]
    pub unit_price: i64,
}

/// Parses a JSON body, naming the field at fault in any error.
pub fn parse_json<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, FieldError> {
    let de = &mut serde_json::Deserializer::from_slice(body);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        let message = inner.to_string();
        if inner.is_syntax() || inner.is_eof() {
            return FieldError::general(format!("malformed JSON: {message}"));
        }
        // serde names a missing or unknown field in the message, the path
        // points at its parent: join the two so `field` is exact.
        let named = ["missing field `", "unknown field `"].iter().find_map(|p| {
            message
                .strip_prefix(p)
                .and_then(|rest| rest.split('`').next())
        });
        let field = match (named, path.as_str()) {
            (Some(name), ".") => name.to_string(),
            (Some(name), p) if !p.ends_with(name) => format!("{p}.{name}"),
            (_, ".") => return FieldError::general(message),
            _ => path,
        };
        let message = message
            .split(" at line ")
            .next()
            .unwrap_or(&message)
            .to_string();
        FieldError::new(field, message)
    })
}

fn required_text(field: &str, value: &str, max: usize) -> Result<(), FieldError> {
    let n = value.trim().chars().count();
    if n == 0 {
        return Err(FieldError::new(field, format!("{field} must not be empty")));
    }
    if n > max {
        return Err(FieldError::new(
            field,
            format!("{field} must be at most {max} characters"),
        ));
    }
    Ok(())
}

fn validate_address(prefix: &str, a: &Address) -> Result<(), FieldError> {
    required_text(&format!("{prefix}.name"), &a.name, 200)?;
    required_text(&format!("{prefix}.line1"), &a.line1, 200)?;
    if let Some(l2) = &a.line2 {
        if l2.chars().count() > 200 {
            return Err(FieldError::new(
                format!("{prefix}.line2"),
                "line2 must be at most 200 characters",
            ));
        }
    }
    required_text(&format!("{prefix}.postal_code"), &a.postal_code, 20)?;
    required_text(&format!("{prefix}.city"), &a.city, 100)?;
    if !is_country(&a.country) {
        return Err(FieldError::new(
            format!("{prefix}.country"),
            format!(
                "`{}` is not an ISO 3166-1 alpha-2 country code in upper case",
                a.country
            ),
        ));
    }
    Ok(())
}

/// An order request that passed every check that needs no stored data.
#[derive(Debug, Clone)]
pub struct ValidOrder {
    pub request: OrderRequest,
    pub currency: Currency,
    pub skus: Vec<Sku>,
}

impl OrderRequest {
    /// Checks every field rule of the API contract (400 on failure).
    pub fn validate(self) -> Result<ValidOrder, FieldError> {
        let currency =
            Currency::parse(&self.currency).map_err(|m| FieldError::new("currency", m))?;
        if let Some(r) = &self.external_ref {
            if r.chars().count() > 255 {
                return Err(FieldError::new(
                    "external_ref",
                    "external_ref must be at most 255 characters",
                ));
            }
        }
        if self.payment_method == Some(PaymentMethod::Exchange) {
            return Err(FieldError::new(
                "payment_method",
                "`exchange` is for replacement orders, which a return with `exchange` creates",
            ));
        }
        required_text("customer.name", &self.customer.name, 200)?;
        let email = self.customer.email.trim();
        if email.len() > 254
            || !email_address::EmailAddress::is_valid(email)
            || !email.contains('.')
        {
            return Err(FieldError::new(
                "customer.email",
                format!("`{email}` is not a valid email address"),
            ));
        }
        if let Some(c) = &self.customer.company {
            required_text("customer.company", c, 200)?;
        }
        if let Some(v) = &self.customer.vat_id {
            if !is_vat_id(v) {
                return Err(FieldError::new(
                    "customer.vat_id",
                    format!("`{v}` is not an EU VAT id (two-letter country prefix, then 2 to 13 letters or digits)"),
                ));
            }
        }
        if let Some(r) = &self.buyer_reference {
            required_text("buyer_reference", r, 255)?;
        }
        validate_address("billing_address", &self.billing_address)?;
        if let Some(a) = &self.shipping_address {
            validate_address("shipping_address", a)?;
        }
        if self.lines.is_empty() || self.lines.len() > MAX_LINES {
            return Err(FieldError::new(
                "lines",
                format!("an order has 1 to {MAX_LINES} lines"),
            ));
        }
        let mut skus = Vec::with_capacity(self.lines.len());
        for (i, line) in self.lines.iter().enumerate() {
            let sku =
                Sku::parse(&line.sku).map_err(|m| FieldError::new(format!("lines[{i}].sku"), m))?;
            if !(1..=MAX_QUANTITY).contains(&line.quantity) {
                return Err(FieldError::new(
                    format!("lines[{i}].quantity"),
                    format!("quantity must be at least 1 and at most {MAX_QUANTITY}"),
                ));
            }
            if !(0..=MAX_UNIT_PRICE).contains(&line.unit_price) {
                return Err(FieldError::new(
                    format!("lines[{i}].unit_price"),
                    format!(
                        "unit_price must be an integer from 0 to {MAX_UNIT_PRICE} (minor units)"
                    ),
                ));
            }
            skus.push(sku);
        }
        let shipping = self.shipping_price.unwrap_or(0);
        if !(0..=MAX_UNIT_PRICE).contains(&shipping) {
            return Err(FieldError::new(
                "shipping_price",
                "shipping_price must be a non-negative integer (minor units)",
            ));
        }
        if let Some(d) = &self.discount {
            if d.amount < 0 {
                return Err(FieldError::new(
                    "discount.amount",
                    "discount.amount must not be negative",
                ));
            }
            let goods: i64 = self.lines.iter().map(|l| l.quantity * l.unit_price).sum();
            if d.amount > goods {
                return Err(FieldError::new(
                    "discount.amount",
                    "discount.amount exceeds the value of the goods",
                ));
            }
        }
        Ok(ValidOrder {
            request: self,
            currency,
            skus,
        })
    }
}

impl ValidOrder {
    /// Builds the captured order, taking names and tax rates from the
    /// catalogue. An unknown SKU is an error naming its line (422). A
    /// business buyer of another EU member state whose goods go there from
    /// a seller in `home_country` buys tax-free: every line at 0 %, the
    /// prices as the storefront sent them (net, as it shows them to such a
    /// buyer).
    pub fn capture(
        self,
        catalogue: &HashMap<Sku, SkuItem>,
        id: OrderId,
        correlation_id: String,
        now: Timestamp,
        home_country: &str,
    ) -> Result<Order, FieldError> {
        let ValidOrder {
            request,
            currency,
            skus,
        } = self;
        let mut lines = Vec::with_capacity(skus.len());
        for (i, (sku, line)) in skus.into_iter().zip(&request.lines).enumerate() {
            let item = catalogue.get(&sku).ok_or_else(|| {
                FieldError::new(format!("lines[{i}].sku"), format!("unknown SKU `{sku}`"))
            })?;
            lines.push(OrderLine {
                sku,
                name: item.name.clone(),
                quantity: line.quantity,
                unit_price: line.unit_price,
                tax_rate: item.tax_rate,
            });
        }
        let shipping_price = request.shipping_price.unwrap_or(0);
        let total = order_total(&lines, shipping_price, request.discount.as_ref());
        let trim = |mut a: Address| {
            a.name = a.name.trim().to_string();
            a.line1 = a.line1.trim().to_string();
            a.city = a.city.trim().to_string();
            a.postal_code = a.postal_code.trim().to_string();
            a
        };
        let billing = trim(request.billing_address);
        let shipping = request
            .shipping_address
            .map(trim)
            .unwrap_or_else(|| billing.clone());
        let intra_community_supply = crate::tax::is_intra_community_supply(
            home_country,
            request.customer.vat_id.as_deref(),
            &shipping.country,
        );
        if intra_community_supply {
            for line in &mut lines {
                line.tax_rate = crate::TaxRate::from_basis_points(0);
            }
        }
        Ok(Order {
            id,
            version: 1,
            external_ref: request.external_ref,
            status: OrderStatus::Captured,
            currency,
            customer: Customer {
                email: request.customer.email.trim().to_string(),
                name: request.customer.name.trim().to_string(),
                company: request.customer.company.map(|c| c.trim().to_string()),
                vat_id: request.customer.vat_id,
            },
            billing_address: billing,
            shipping_address: shipping,
            lines,
            shipping_price,
            discount: request.discount,
            payment_method: request.payment_method.unwrap_or(PaymentMethod::Card),
            total,
            ledger: PaymentLedger::default(),
            credited: 0,
            invoice_number: None,
            fulfillment: None,
            shipments: Vec::new(),
            exchange_for: None,
            correlation_id,
            captured_at: now,
            timeline: vec![TimelineEntry {
                at: now,
                event: "captured".into(),
            }],
            returns: Vec::new(),
            short_picks: Vec::new(),
            locale: request.locale.unwrap_or_default(),
            buyer_reference: request.buyer_reference.map(|r| r.trim().to_string()),
            due_date: None,
            dunning: Dunning::default(),
            intra_community_supply,
        })
    }
}

/// An EU VAT id as written: country prefix (`EL` for Greece, `XI` for
/// Northern Ireland) and 2 to 13 letters, digits, `+` or `*`. Only the shape
/// is checked; VIES knows whether it exists.
pub fn is_vat_id(v: &str) -> bool {
    let b = v.as_bytes();
    b.len() >= 4
        && b.len() <= 15
        && b[..2].iter().all(u8::is_ascii_uppercase)
        && b[2..]
            .iter()
            .all(|c| c.is_ascii_alphanumeric() || *c == b'+' || *c == b'*')
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::TaxRate;

    const GOOD: &str = r#"{
      "external_ref": "shop-10023", "currency": "EUR",
      "customer": {"email": "erika@example.com", "name": "Erika Mustermann"},
      "billing_address": {"name": "Erika Mustermann", "line1": "Heidestr. 17", "postal_code": "51147", "city": "Köln", "country": "DE"},
      "shipping_address": null,
      "lines": [{"sku": "MUG-BLUE", "quantity": 2, "unit_price": 1299}],
      "shipping_price": 495, "discount": {"code": "WELCOME10", "amount": 200}, "payment_method": "card"
    }"#;

    fn field_of(body: &str) -> Option<String> {
        match parse_json::<OrderRequest>(body.as_bytes()).and_then(OrderRequest::validate) {
            Ok(_) => None,
            Err(e) => Some(e.field.unwrap_or_else(|| "<none>".into())),
        }
    }

    fn with(from: &str, to: &str) -> String {
        assert!(GOOD.contains(from), "{from}");
        GOOD.replace(from, to)
    }

    #[test]
    fn the_api_example_is_valid_and_totals_2893() {
        let valid = parse_json::<OrderRequest>(GOOD.as_bytes())
            .unwrap()
            .validate()
            .unwrap();
        let mut cat = HashMap::new();
        let sku = Sku::from("MUG-BLUE");
        cat.insert(
            sku.clone(),
            SkuItem::new(
                sku,
                "Tasse Blau".into(),
                TaxRate::parse("19").unwrap(),
                25,
                0,
            ),
        );
        let order = valid
            .capture(
                &cat,
                OrderId::from("ord_1"),
                "c".into(),
                Timestamp::UNIX_EPOCH,
                "DE",
            )
            .unwrap();
        // 2 × 1299 + 495 shipping − 200 discount (the formula of API.md).
        assert_eq!(order.total, 2893);
        assert_eq!(order.shipping_address, order.billing_address);
        assert_eq!(order.lines[0].tax_rate.to_string(), "19");
        assert!(!order.intra_community_supply);

        // The same order from a French business, shipped to France: tax-free.
        let french = GOOD
            .replace(r#""country": "DE""#, r#""country": "FR""#)
            .replace(
                r#""customer": {"#,
                r#""customer": {"company": "SARL Exemple", "vat_id": "FR40303265045", "#,
            );
        let order = parse_json::<OrderRequest>(french.as_bytes())
            .unwrap()
            .validate()
            .unwrap()
            .capture(
                &cat,
                OrderId::from("ord_2"),
                "c".into(),
                Timestamp::UNIX_EPOCH,
                "DE",
            )
            .unwrap();
        assert!(order.intra_community_supply);
        assert_eq!(order.lines[0].tax_rate.to_string(), "0");
        assert_eq!(order.total, 2893, "the prices as sent");
    }

    #[test]
    fn every_bad_field_is_named() {
        assert_eq!(
            field_of(&with(r#""quantity": 2"#, r#""quantity": 0"#)).as_deref(),
            Some("lines[0].quantity")
        );
        assert_eq!(
            field_of(&with(r#""quantity": 2"#, r#""quantity": "2""#)).as_deref(),
            Some("lines[0].quantity")
        );
        assert_eq!(
            field_of(&with(r#""unit_price": 1299"#, r#""unit_price": 12.99"#)).as_deref(),
            Some("lines[0].unit_price")
        );
        assert_eq!(
            field_of(&with(r#""unit_price": 1299"#, r#""unit_price": -1"#)).as_deref(),
            Some("lines[0].unit_price")
        );
        assert_eq!(
            field_of(&with(r#""currency": "EUR""#, r#""currency": "eur""#)).as_deref(),
            Some("currency")
        );
        assert_eq!(
            field_of(&with("erika@example.com", "erika-at-example")).as_deref(),
            Some("customer.email")
        );
        assert_eq!(
            field_of(&with(r#""country": "DE""#, r#""country": "Germany""#)).as_deref(),
            Some("billing_address.country")
        );
        assert_eq!(
            field_of(&with(r#""currency": "EUR","#, "")).as_deref(),
            Some("currency")
        );
        assert_eq!(
            field_of(&with(
                r#""name": "Erika Mustermann"}"#,
                r#""name": "Erika", "phone": "1"}"#
            ))
            .as_deref(),
            Some("customer.phone")
        );
        assert_eq!(
            field_of(&with(
                r#""payment_method": "card""#,
                r#""payment_method": "cash""#
            ))
            .as_deref(),
            Some("payment_method")
        );
        assert_eq!(
            field_of(&with(r#""amount": 200"#, r#""amount": 999999"#)).as_deref(),
            Some("discount.amount")
        );
        assert_eq!(
            field_of(&with(
                r#""external_ref": "shop-10023","#,
                r#""colour": "red","#
            ))
            .as_deref(),
            Some("colour")
        );
        let no_lines = with(
            r#"[{"sku": "MUG-BLUE", "quantity": 2, "unit_price": 1299}]"#,
            "[]",
        );
        assert_eq!(field_of(&no_lines).as_deref(), Some("lines"));
    }

    #[test]
    fn malformed_json_names_no_field() {
        let e = parse_json::<OrderRequest>(b"{\"currency\": ").unwrap_err();
        assert_eq!(e.field, None);
        assert!(e.message.starts_with("malformed JSON"));
    }

    #[test]
    fn unknown_sku_names_the_line() {
        let valid = parse_json::<OrderRequest>(GOOD.as_bytes())
            .unwrap()
            .validate()
            .unwrap();
        let err = valid
            .capture(
                &HashMap::new(),
                OrderId::from("ord_1"),
                "c".into(),
                Timestamp::UNIX_EPOCH,
                "DE",
            )
            .unwrap_err();
        assert_eq!(err.field.as_deref(), Some("lines[0].sku"));
    }
}
