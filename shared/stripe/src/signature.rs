//! Stripe's webhook signature: `Stripe-Signature: t=<unix secs>,v1=<hex>[,v1=…]`,
//! where each `v1` is HMAC-SHA256 of `<t>.<raw body>` under the endpoint's
//! signing secret. Checked on the raw bytes, before any parsing.

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// How far the signed timestamp may be from now: Stripe's default.
pub const TOLERANCE_SECS: u64 = 300;

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("no Stripe-Signature header")]
    Missing,
    #[error("the Stripe-Signature header is malformed")]
    Malformed,
    #[error("the signed timestamp is outside the tolerance")]
    Stale,
    #[error("no v1 signature matches")]
    Mismatch,
}

/// Checks `header` against `payload` signed with `secret` at most
/// `TOLERANCE_SECS` from `now_secs`. Any one of several `v1` values may match
/// (Stripe sends several while a secret is being rolled).
pub fn verify(
    header: Option<&str>,
    payload: &[u8],
    secret: &[u8],
    now_secs: u64,
) -> Result<(), SignatureError> {
    let header = header.ok_or(SignatureError::Missing)?;
    let mut timestamp = None;
    let mut signatures = Vec::new();
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", value)) => timestamp = value.parse::<u64>().ok(),
            Some(("v1", value)) => {
                signatures.push(decode_hex(value).ok_or(SignatureError::Malformed)?)
            }
            _ => {}
        }
    }
    let timestamp = timestamp.ok_or(SignatureError::Malformed)?;
    if signatures.is_empty() {
        return Err(SignatureError::Malformed);
    }
    if now_secs.abs_diff(timestamp) > TOLERANCE_SECS {
        return Err(SignatureError::Stale);
    }
    let matches = |signature: &Vec<u8>| {
        let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret) else {
            return false;
        };
        mac.update(timestamp.to_string().as_bytes());
        mac.update(b".");
        mac.update(payload);
        // verify_slice compares in constant time.
        mac.verify_slice(signature).is_ok()
    };
    if signatures.iter().any(matches) {
        Ok(())
    } else {
        Err(SignatureError::Mismatch)
    }
}

/// The header Stripe would send for `payload` at `timestamp` (also what the
/// mock gateway and the tests sign with).
pub fn sign(payload: &[u8], secret: &[u8], timestamp: u64) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret)
        .unwrap_or_else(|_| unreachable!("HMAC takes any key"));
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(payload);
    let hex: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("t={timestamp},v1={hex}")
}

fn decode_hex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &[u8] = b"whsec_test";
    const BODY: &[u8] = br#"{"id":"evt_1","type":"payment_intent.succeeded"}"#;
    const NOW: u64 = 1_795_874_400;

    #[test]
    fn a_signature_made_with_the_secret_over_the_raw_body_verifies() {
        assert_eq!(
            verify(Some(&sign(BODY, SECRET, NOW)), BODY, SECRET, NOW + 10),
            Ok(())
        );
    }

    #[test]
    fn a_tampered_body_does_not_verify() {
        let header = sign(BODY, SECRET, NOW);
        let tampered = br#"{"id":"evt_1","type":"payment_intent.canceled"}"#;
        assert_eq!(
            verify(Some(&header), tampered, SECRET, NOW),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn another_secret_does_not_verify() {
        let header = sign(BODY, b"whsec_other", NOW);
        assert_eq!(
            verify(Some(&header), BODY, SECRET, NOW),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn a_timestamp_outside_the_tolerance_is_refused_even_when_signed_correctly() {
        let header = sign(BODY, SECRET, NOW - TOLERANCE_SECS - 1);
        assert_eq!(
            verify(Some(&header), BODY, SECRET, NOW),
            Err(SignatureError::Stale)
        );
        let future = sign(BODY, SECRET, NOW + TOLERANCE_SECS + 1);
        assert_eq!(
            verify(Some(&future), BODY, SECRET, NOW),
            Err(SignatureError::Stale)
        );
        let edge = sign(BODY, SECRET, NOW - TOLERANCE_SECS);
        assert_eq!(verify(Some(&edge), BODY, SECRET, NOW), Ok(()));
    }

    #[test]
    fn any_one_of_several_v1_values_may_match() {
        let good = sign(BODY, SECRET, NOW);
        let good_v1 = good.split(",v1=").nth(1).unwrap();
        let header = format!("t={NOW},v1={},v1={good_v1},v0=ignored", "ab".repeat(32));
        assert_eq!(verify(Some(&header), BODY, SECRET, NOW), Ok(()));
    }

    #[test]
    fn missing_and_malformed_headers_are_refused() {
        assert_eq!(
            verify(None, BODY, SECRET, NOW),
            Err(SignatureError::Missing)
        );
        assert_eq!(
            verify(Some("v1=abcd"), BODY, SECRET, NOW),
            Err(SignatureError::Malformed)
        );
        assert_eq!(
            verify(Some(&format!("t={NOW}")), BODY, SECRET, NOW),
            Err(SignatureError::Malformed)
        );
        assert_eq!(
            verify(Some(&format!("t={NOW},v1=xyz")), BODY, SECRET, NOW),
            Err(SignatureError::Malformed)
        );
    }
}
