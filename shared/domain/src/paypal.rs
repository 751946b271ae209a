//! PayPal webhooks, verified the way PayPal documents for verifying them
//! yourself: the `PAYPAL-TRANSMISSION-SIG` header is SHA256withRSA over
//! `<transmission id>|<transmission time>|<webhook id>|<CRC32 of the raw
//! body, decimal>`, checked with the certificate at `PAYPAL-CERT-URL`, which
//! is fetched only from allow-listed hosts. Pure: fetching the certificate is
//! the caller's (a port), so is the clock.

use serde::Deserialize;

use crate::payment::{PaymentEvent, PaymentEventKind};
use crate::{Currency, FieldError};

/// How far the transmission time may be from now.
pub const TOLERANCE_SECONDS: i64 = 300;

/// The hosts PayPal serves its certificates from, unless configured.
pub const DEFAULT_CERT_HOSTS: &[&str] = &[
    "api.paypal.com",
    "api-m.paypal.com",
    "api.sandbox.paypal.com",
    "api-m.sandbox.paypal.com",
];

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PaypalSignatureError {
    #[error("PayPal transmission header {0} is missing")]
    Missing(&'static str),
    #[error("the certificate URL is not from an allowed host: {0}")]
    CertHost(String),
    #[error("the transmission time is not RFC 3339 or more than {TOLERANCE_SECONDS} s off")]
    Stale,
    #[error("the certificate cannot be read: {0}")]
    Certificate(String),
    #[error("the signature does not match")]
    Mismatch,
}

/// The `PAYPAL-*` headers of one webhook call.
#[derive(Debug, Clone, Default)]
pub struct Transmission<'a> {
    pub id: Option<&'a str>,
    pub time: Option<&'a str>,
    pub cert_url: Option<&'a str>,
    pub signature: Option<&'a str>,
}

/// The headers that must be there, in order: id, time, cert URL, signature.
pub fn required<'a>(
    t: &Transmission<'a>,
) -> Result<(&'a str, &'a str, &'a str, &'a str), PaypalSignatureError> {
    use PaypalSignatureError::Missing;
    Ok((
        t.id.ok_or(Missing("PAYPAL-TRANSMISSION-ID"))?,
        t.time.ok_or(Missing("PAYPAL-TRANSMISSION-TIME"))?,
        t.cert_url.ok_or(Missing("PAYPAL-CERT-URL"))?,
        t.signature.ok_or(Missing("PAYPAL-TRANSMISSION-SIG"))?,
    ))
}

/// What PayPal signs.
pub fn signed_message(id: &str, time: &str, webhook_id: &str, body: &[u8]) -> String {
    format!("{id}|{time}|{webhook_id}|{}", crc32fast::hash(body))
}

/// Checks that `url` is HTTPS on an allowed host (`host` or `host:port`
/// entries; a port, when given, must match). Plain HTTP only for a loopback
/// host that is listed, which is how tests serve their own certificate.
pub fn check_cert_url(url: &str, allowed: &[String]) -> Result<(), PaypalSignatureError> {
    let refuse = || PaypalSignatureError::CertHost(url.chars().take(200).collect());
    let (https, rest) = if let Some(rest) = url.strip_prefix("https://") {
        (true, rest)
    } else if let Some(rest) = url.strip_prefix("http://") {
        (false, rest)
    } else {
        return Err(refuse());
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if authority.is_empty() || authority.contains('@') {
        return Err(refuse());
    }
    let host = match authority.rsplit_once(':') {
        Some((h, port)) if !h.ends_with(']') || authority.starts_with('[') => {
            if port.chars().all(|c| c.is_ascii_digit()) {
                h
            } else {
                authority
            }
        }
        _ => authority,
    };
    let listed = allowed
        .iter()
        .any(|a| a.eq_ignore_ascii_case(authority) || a.eq_ignore_ascii_case(host));
    let loopback = host == "localhost" || host.starts_with("127.") || host == "[::1]";
    if listed && (https || loopback) {
        Ok(())
    } else {
        Err(refuse())
    }
}

/// Checks the transmission time against `now` (unix seconds).
pub fn check_time(time: &str, now: i64) -> Result<(), PaypalSignatureError> {
    let at: jiff::Timestamp = time.parse().map_err(|_| PaypalSignatureError::Stale)?;
    if now.abs_diff(at.as_second()) > TOLERANCE_SECONDS as u64 {
        return Err(PaypalSignatureError::Stale);
    }
    Ok(())
}

/// Verifies `signature_b64` over `message` with the RSA key of the PEM
/// certificate `cert_pem`.
pub fn verify_signature(
    cert_pem: &[u8],
    message: &[u8],
    signature_b64: &str,
) -> Result<(), PaypalSignatureError> {
    use base64::Engine;
    use rustls_pki_types::pem::PemObject;
    let der = rustls_pki_types::CertificateDer::from_pem_slice(cert_pem)
        .map_err(|e| PaypalSignatureError::Certificate(e.to_string()))?;
    let cert = webpki::EndEntityCert::try_from(&der)
        .map_err(|e| PaypalSignatureError::Certificate(e.to_string()))?;
    let signature = base64::engine::general_purpose::STANDARD
        .decode(signature_b64.trim())
        .map_err(|_| PaypalSignatureError::Mismatch)?;
    cert.verify_signature(
        webpki::ring::RSA_PKCS1_2048_8192_SHA256,
        message,
        &signature,
    )
    .map_err(|_| PaypalSignatureError::Mismatch)
}

#[derive(Deserialize)]
struct Event {
    id: String,
    event_type: String,
    #[serde(default)]
    resource: serde_json::Value,
}

#[derive(Deserialize)]
struct Amount {
    value: String,
    currency_code: String,
}

/// `"12.34"` in `currency` as minor units (1234 for EUR, 12 for JPY "12").
pub fn minor_units(value: &str, currency: &str) -> Result<i64, String> {
    let currency = Currency::parse(currency)?;
    let exponent = currency.exponent() as usize;
    let (whole, fraction) = match value.split_once('.') {
        Some((whole, fraction)) => (whole, Some(fraction)),
        None => (value, None),
    };
    let digits = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_digit());
    let fraction_ok = fraction.is_none_or(|f| digits(f) && f.len() <= exponent);
    if !digits(whole) || !fraction_ok {
        return Err(format!("`{value}` is not an amount in {currency}"));
    }
    let fraction = fraction.unwrap_or_default();
    let padded = format!("{whole}{fraction:0<exponent$}");
    padded
        .parse::<i64>()
        .ok()
        .filter(|v| *v <= 1_000_000_000_000)
        .ok_or_else(|| format!("`{value}` is out of range"))
}

/// A PayPal webhook event as what reconciliation books: captures completed
/// (money in), refunds and reversals (money back). The order is the
/// resource's `custom_id`, else its `invoice_id`. Other event types are
/// kept as `Ignored`.
pub fn parse_event(body: &[u8]) -> Result<PaymentEvent, FieldError> {
    let event: Event = serde_json::from_slice(body)
        .map_err(|e| FieldError::general(format!("not a PayPal event: {e}")))?;
    if event.id.is_empty() {
        return Err(FieldError::new("id", "event id is empty"));
    }
    let resource = &event.resource;
    let text = |name: &str| {
        resource
            .get(name)
            .and_then(|v| v.as_str())
            .filter(|s| !s.is_empty())
            .map(str::to_string)
    };
    let order_id = text("custom_id").or_else(|| text("invoice_id"));
    let amount = || -> Result<(i64, String), FieldError> {
        let a: Amount = serde_json::from_value(resource.get("amount").cloned().unwrap_or_default())
            .map_err(|e| FieldError::new("resource.amount", e.to_string()))?;
        let minor = minor_units(&a.value, &a.currency_code)
            .map_err(|m| FieldError::new("resource.amount.value", m))?;
        Ok((minor, a.currency_code.to_uppercase()))
    };
    let resource_id = || text("id").ok_or_else(|| FieldError::new("resource.id", "missing"));
    let kind = match event.event_type.as_str() {
        "PAYMENT.CAPTURE.COMPLETED" => {
            let (amount, currency) = amount()?;
            PaymentEventKind::Received { amount, currency }
        }
        // One refund, of its own amount: booked as a refund of its own id.
        "PAYMENT.CAPTURE.REFUNDED" => {
            let (amount, currency) = amount()?;
            PaymentEventKind::Refunded {
                charge_id: format!("paypal-refund-{}", resource_id()?),
                cumulative: amount,
                currency,
            }
        }
        // The capture was taken back (a chargeback): all of it.
        "PAYMENT.CAPTURE.REVERSED" => {
            let (amount, currency) = amount()?;
            PaymentEventKind::Refunded {
                charge_id: format!("paypal-capture-{}", resource_id()?),
                cumulative: amount,
                currency,
            }
        }
        other => PaymentEventKind::Ignored {
            event_type: other.to_string(),
        },
    };
    Ok(PaymentEvent {
        provider: "paypal".into(),
        event_id: event.id,
        order_id,
        payment_intent: None,
        kind,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hosts(h: &[&str]) -> Vec<String> {
        h.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn certificates_come_only_from_allowed_hosts_over_https() {
        let allowed = hosts(DEFAULT_CERT_HOSTS);
        assert!(check_cert_url(
            "https://api.paypal.com/v1/notifications/certs/CERT-1",
            &allowed
        )
        .is_ok());
        for bad in [
            "http://api.paypal.com/certs/1",
            "https://api.paypal.com.evil.example/certs/1",
            "https://evil.example/api.paypal.com",
            "https://user@api.paypal.com/x",
            "ftp://api.paypal.com/x",
            "",
        ] {
            assert!(check_cert_url(bad, &allowed).is_err(), "{bad}");
        }
        let local = hosts(&["127.0.0.1:8443"]);
        assert!(check_cert_url("http://127.0.0.1:8443/cert.pem", &local).is_ok());
        assert!(
            check_cert_url("http://127.0.0.1:9999/cert.pem", &local).is_err(),
            "port must match"
        );
        assert!(
            check_cert_url("http://example.com:8443/cert.pem", &hosts(&["example.com"])).is_err(),
            "http only on loopback"
        );
    }

    #[test]
    fn amounts_are_exact_minor_units() {
        assert_eq!(minor_units("12.34", "EUR"), Ok(1234));
        assert_eq!(minor_units("12.3", "EUR"), Ok(1230));
        assert_eq!(minor_units("12", "EUR"), Ok(1200));
        assert_eq!(minor_units("1200", "JPY"), Ok(1200));
        for bad in [
            "12.345",
            "-1.00",
            "1e3",
            "",
            ".5",
            "12.",
            "12.3.4",
            "99999999999999999999",
        ] {
            assert!(minor_units(bad, "EUR").is_err(), "{bad}");
        }
    }

    #[test]
    fn captures_refunds_and_reversals_are_read() {
        let capture = br#"{"id":"WH-1","event_type":"PAYMENT.CAPTURE.COMPLETED","resource":{"id":"CAP-1","amount":{"value":"28.93","currency_code":"EUR"},"custom_id":"ord_1"}}"#;
        let e = parse_event(capture).unwrap();
        assert_eq!(e.order_id.as_deref(), Some("ord_1"));
        assert_eq!(
            e.kind,
            PaymentEventKind::Received {
                amount: 2893,
                currency: "EUR".into()
            }
        );
        let refund = br#"{"id":"WH-2","event_type":"PAYMENT.CAPTURE.REFUNDED","resource":{"id":"REF-1","amount":{"value":"5.00","currency_code":"EUR"},"invoice_id":"ord_1"}}"#;
        assert_eq!(
            parse_event(refund).unwrap().kind,
            PaymentEventKind::Refunded {
                charge_id: "paypal-refund-REF-1".into(),
                cumulative: 500,
                currency: "EUR".into()
            }
        );
        let other = br#"{"id":"WH-3","event_type":"CHECKOUT.ORDER.APPROVED","resource":{}}"#;
        assert!(matches!(
            parse_event(other).unwrap().kind,
            PaymentEventKind::Ignored { .. }
        ));
    }
}
