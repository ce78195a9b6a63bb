//! Idempotency keys: parsing the header, fingerprinting the request, and
//! deciding what a retry gets back.

use crate::{ApiError, Caller};
use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use sha2::{Digest, Sha256};
use shopflow_ports::IdempotencyKey;

pub const HEADER: &str = "idempotency-key";

/// The caller's key for `operation`, scoped to them.
pub fn key(
    request: &Request,
    operation: &str,
    caller: &Caller,
) -> Result<IdempotencyKey, ApiError> {
    let raw = request
        .headers()
        .get(HEADER)
        .ok_or_else(|| ApiError::invalid_field("Idempotency-Key", "header is required"))?
        .to_str()
        .map_err(|_| ApiError::invalid_field("Idempotency-Key", "must be visible ASCII"))?;
    if raw.is_empty() || raw.len() > 255 || !raw.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(ApiError::invalid_field(
            "Idempotency-Key",
            "must be 1 to 255 visible ASCII characters",
        ));
    }
    // The customer id is length-prefixed: ids and keys may both contain '#',
    // and ("a", "b#c") must never share a record with ("a#b", "c").
    let customer = caller.customer_id.as_str();
    Ok(IdempotencyKey {
        scope: format!("{operation}#{}:{customer}", customer.len()),
        key: raw.to_owned(),
    })
}

/// A digest of the request body that ignores whitespace and key order.
pub fn fingerprint(body: &[u8]) -> String {
    let canonical = serde_json::from_slice::<serde_json::Value>(body)
        .and_then(|value| serde_json::to_vec(&value))
        .unwrap_or_else(|_| body.to_vec());
    sha256_hex(canonical)
}

/// The SHA-256 digest of `bytes`, in lower-case hex (64 characters).
pub fn sha256_hex(bytes: impl AsRef<[u8]>) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A retry under a used key must repeat the first request: another body is `422`.
pub fn ensure_same_request(first_fingerprint: &str, fingerprint: &str) -> Result<(), ApiError> {
    if first_fingerprint == fingerprint {
        Ok(())
    } else {
        Err(key_reused())
    }
}

/// The answer to a used key under another request.
pub fn key_reused() -> ApiError {
    ApiError::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        "idempotency_key_reused",
        "this Idempotency-Key was used with a different request",
    )
}

/// Marks an answer as the replay of an earlier one.
pub fn replayed(mut response: Response<Body>) -> Response<Body> {
    response.headers_mut().insert(
        "idempotent-replayed",
        lambda_http::http::HeaderValue::from_static("true"),
    );
    response
}

/// The answer while another request with the same key is being processed.
pub fn in_progress() -> ApiError {
    ApiError::new(
        StatusCode::CONFLICT,
        "idempotency_key_in_use",
        "a request with this Idempotency-Key is in progress; retry to get its result",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprint_ignores_whitespace_and_key_order() {
        assert_eq!(
            fingerprint(br#"{"a":1,"b":[2]}"#),
            fingerprint(b"{ \"b\": [2],\n \"a\": 1 }")
        );
        assert_ne!(fingerprint(br#"{"a":1}"#), fingerprint(br#"{"a":2}"#));
    }

    #[test]
    fn keys_of_different_customers_never_share_a_record() {
        let request = |key: &str| {
            let mut request = lambda_http::Request::default();
            request.headers_mut().insert(HEADER, key.parse().unwrap());
            request
        };
        let caller = |id: &str| Caller {
            customer_id: shopflow_domain::CustomerId::parse(id).unwrap(),
            is_admin: false,
        };
        let first = key(&request("b#c"), "checkout", &caller("a")).unwrap();
        let second = key(&request("c"), "checkout", &caller("a#b")).unwrap();
        assert_ne!(
            format!("{}#{}", first.scope, first.key),
            format!("{}#{}", second.scope, second.key)
        );
    }

    #[test]
    fn a_different_body_under_the_same_key_is_refused() {
        assert_eq!(
            ensure_same_request("x", "y").unwrap_err().status,
            StatusCode::UNPROCESSABLE_ENTITY
        );
        assert!(ensure_same_request("x", "x").is_ok());
    }
}
