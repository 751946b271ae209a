//! HMAC-SHA256 signatures of the form `t=<unix seconds>,v1=<hex>` over
//! `"<t>.<raw body>"`: Stripe's webhook scheme, which we also use to sign
//! hand-offs to the warehouse.

use hmac::{Hmac, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// Stripe's default tolerance for the signed timestamp.
pub const TOLERANCE_SECONDS: i64 = 300;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("signature header is missing")]
    Missing,
    #[error("signature header is malformed")]
    Malformed,
    #[error("signature timestamp is outside the {TOLERANCE_SECONDS} s tolerance")]
    Stale,
    #[error("signature does not match")]
    Mismatch,
}

fn mac(secret: &[u8], timestamp: i64, body: &[u8]) -> HmacSha256 {
    let mut mac = HmacSha256::new_from_slice(secret).expect("HMAC takes keys of any length");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    mac
}

/// The header value for `body` signed at `timestamp`.
pub fn sign(secret: &[u8], timestamp: i64, body: &[u8]) -> String {
    let digest = mac(secret, timestamp, body).finalize().into_bytes();
    format!("t={timestamp},v1={}", hex::encode(digest))
}

/// Checks a `t=…,v1=…` header. Any of several `v1` values may match (Stripe
/// sends one per active secret while a secret is rolled). The comparison is
/// constant-time.
pub fn verify(
    header: Option<&str>,
    body: &[u8],
    secret: &[u8],
    now: i64,
) -> Result<(), SignatureError> {
    let header = header.ok_or(SignatureError::Missing)?;
    let mut timestamp = None;
    let mut candidates = Vec::new();
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", v)) => {
                timestamp = Some(v.parse::<i64>().map_err(|_| SignatureError::Malformed)?)
            }
            Some(("v1", v)) => {
                candidates.push(hex::decode(v).map_err(|_| SignatureError::Malformed)?)
            }
            Some(_) => {}
            None => return Err(SignatureError::Malformed),
        }
    }
    let timestamp = timestamp.ok_or(SignatureError::Malformed)?;
    if candidates.is_empty() {
        return Err(SignatureError::Malformed);
    }
    if now.abs_diff(timestamp) > TOLERANCE_SECONDS as u64 {
        return Err(SignatureError::Stale);
    }
    let expected = mac(secret, timestamp, body);
    if candidates
        .iter()
        .any(|c| expected.clone().verify_slice(c).is_ok())
    {
        Ok(())
    } else {
        Err(SignatureError::Mismatch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &[u8] = b"whsec_test";
    const BODY: &[u8] = br#"{"id":"evt_1"}"#;

    #[test]
    fn a_fresh_signature_verifies() {
        let h = sign(SECRET, 1_700_000_000, BODY);
        assert_eq!(verify(Some(&h), BODY, SECRET, 1_700_000_100), Ok(()));
    }

    #[test]
    fn tampering_staleness_and_wrong_secret_are_refused() {
        let h = sign(SECRET, 1_700_000_000, BODY);
        assert_eq!(
            verify(Some(&h), br#"{"id":"evt_2"}"#, SECRET, 1_700_000_000),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify(Some(&h), BODY, b"other", 1_700_000_000),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify(Some(&h), BODY, SECRET, 1_700_000_301),
            Err(SignatureError::Stale)
        );
        assert_eq!(
            verify(Some(&h), BODY, SECRET, 1_699_999_699),
            Err(SignatureError::Stale)
        );
        assert_eq!(verify(None, BODY, SECRET, 0), Err(SignatureError::Missing));
        assert_eq!(
            verify(Some("t=abc,v1=00"), BODY, SECRET, 0),
            Err(SignatureError::Malformed)
        );
        assert_eq!(
            verify(Some("v1=00"), BODY, SECRET, 0),
            Err(SignatureError::Malformed)
        );
    }

    #[test]
    fn any_of_several_v1_values_may_match() {
        let good = sign(SECRET, 1_700_000_000, BODY);
        let v1 = good.split("v1=").nth(1).unwrap();
        let header = format!("t=1700000000,v1={},v1={v1}", "ab".repeat(32));
        assert_eq!(verify(Some(&header), BODY, SECRET, 1_700_000_000), Ok(()));
    }
}
