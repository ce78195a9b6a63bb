//! Links a function hands out and later trusts without storing them (an
//! unsubscribe link in an email): claims and an expiry, signed with
//! HMAC-SHA256 under a key from configuration and checked in constant
//! time. The token is `<payload>.<signature>`, both base64url without
//! padding; the payload is `{"c": claims, "x": expiry in epoch seconds}`.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use shopflow_domain::Timestamp;

/// Why a token is not trusted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum LinkError {
    #[error("the link is not one we issued")]
    Forged,
    #[error("the link has expired")]
    Expired,
}

#[derive(Serialize, Deserialize)]
struct Payload<T> {
    c: T,
    x: u64,
}

/// A token carrying `claims` until `expires_at`.
pub fn sign<T: Serialize>(key: &[u8], claims: &T, expires_at: Timestamp) -> String {
    let payload = Payload {
        c: claims,
        x: expires_at.as_millis() / 1_000,
    };
    let payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&payload).unwrap_or_default());
    let signature = URL_SAFE_NO_PAD.encode(mac(key, &payload).finalize().into_bytes());
    format!("{payload}.{signature}")
}

/// The claims of a token signed under `key` that has not expired at `now`.
/// Anything else, malformed or tampered with, is [`LinkError::Forged`].
pub fn verify<T: DeserializeOwned>(
    key: &[u8],
    token: &str,
    now: Timestamp,
) -> Result<T, LinkError> {
    let (payload, signature) = token.split_once('.').ok_or(LinkError::Forged)?;
    let signature = URL_SAFE_NO_PAD
        .decode(signature)
        .map_err(|_| LinkError::Forged)?;
    mac(key, payload)
        .verify_slice(&signature)
        .map_err(|_| LinkError::Forged)?;
    let bytes = URL_SAFE_NO_PAD
        .decode(payload)
        .map_err(|_| LinkError::Forged)?;
    let payload: Payload<T> = serde_json::from_slice(&bytes).map_err(|_| LinkError::Forged)?;
    if payload.x <= now.as_millis() / 1_000 {
        return Err(LinkError::Expired);
    }
    Ok(payload.c)
}

fn mac(key: &[u8], payload: &str) -> Hmac<Sha256> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key)
        .unwrap_or_else(|_| unreachable!("HMAC takes a key of any length"));
    mac.update(payload.as_bytes());
    mac
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &[u8] = b"test signing key";
    const NOW: Timestamp = Timestamp::from_millis(1_800_000_000_000);

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Claims {
        sku: String,
        email: String,
    }

    fn claims() -> Claims {
        Claims {
            sku: "TEE".into(),
            email: "ada@example.com".into(),
        }
    }

    #[test]
    fn a_signed_link_is_trusted_until_it_expires() {
        let token = sign(KEY, &claims(), NOW.plus_secs(60));
        assert_eq!(verify::<Claims>(KEY, &token, NOW), Ok(claims()));
        assert_eq!(
            verify::<Claims>(KEY, &token, NOW.plus_secs(60)),
            Err(LinkError::Expired)
        );
    }

    #[test]
    fn another_key_a_changed_payload_or_garbage_is_forged() {
        let token = sign(KEY, &claims(), NOW.plus_secs(60));
        assert_eq!(
            verify::<Claims>(b"another key", &token, NOW),
            Err(LinkError::Forged)
        );
        let (_, signature) = token.split_once('.').unwrap();
        let other = Claims {
            email: "eve@example.com".into(),
            ..claims()
        };
        let (payload, _) = sign(b"eve's key", &other, NOW.plus_secs(60))
            .split_once('.')
            .map(|(p, s)| (p.to_owned(), s.to_owned()))
            .unwrap();
        let spliced = format!("{payload}.{signature}");
        assert_eq!(verify::<Claims>(KEY, &spliced, NOW), Err(LinkError::Forged));
        for garbage in ["", ".", "abc", "abc.def", "!!.??"] {
            assert_eq!(
                verify::<Claims>(KEY, garbage, NOW),
                Err(LinkError::Forged),
                "{garbage}"
            );
        }
    }
}
