//! Local dev tokens. In AWS, API Gateway's JWT authorizer verifies tokens
//! from the real issuer; locally, the stack verifies HS256 tokens signed with
//! a dev key and passes the same claims on. The key is for local use only.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;
use std::collections::BTreeMap;

/// Overridable with SHOPFLOW_DEV_JWT_KEY; never used outside the local stack.
pub const DEFAULT_DEV_KEY: &str = "shopflow-local-dev-key";

#[derive(Debug, Clone)]
pub struct DevTokens {
    key: Vec<u8>,
    issuer: String,
    audience: String,
}

#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("malformed token")]
    Malformed,
    #[error("bad signature")]
    BadSignature,
    #[error("token expired")]
    Expired,
    #[error("wrong issuer or audience")]
    WrongAudience,
}

impl DevTokens {
    pub fn new(key: &[u8], issuer: &str, audience: &str) -> Self {
        Self {
            key: key.to_vec(),
            issuer: issuer.to_owned(),
            audience: audience.to_owned(),
        }
    }

    fn sign(&self, data: &str) -> Vec<u8> {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.key)
            .unwrap_or_else(|_| unreachable!("HMAC takes any key"));
        mac.update(data.as_bytes());
        mac.finalize().into_bytes().to_vec()
    }

    /// A token for `customer`, valid for `ttl_secs`; admins get the `admin` scope.
    pub fn mint(&self, customer: &str, admin: bool, now_secs: u64, ttl_secs: u64) -> String {
        let header = URL_SAFE_NO_PAD.encode(json!({ "alg": "HS256", "typ": "JWT" }).to_string());
        let mut claims = json!({
            "iss": self.issuer,
            "aud": self.audience,
            "sub": customer,
            "iat": now_secs,
            "exp": now_secs + ttl_secs,
        });
        if admin {
            claims["scope"] = json!("admin");
        }
        let payload = URL_SAFE_NO_PAD.encode(claims.to_string());
        let signature = URL_SAFE_NO_PAD.encode(self.sign(&format!("{header}.{payload}")));
        format!("{header}.{payload}.{signature}")
    }

    /// The claims as API Gateway hands them to functions (every value a string).
    pub fn verify(
        &self,
        token: &str,
        now_secs: u64,
    ) -> Result<BTreeMap<String, String>, TokenError> {
        let mut parts = token.split('.');
        let (Some(header), Some(payload), Some(signature), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(TokenError::Malformed);
        };
        let signature = URL_SAFE_NO_PAD
            .decode(signature)
            .map_err(|_| TokenError::Malformed)?;
        let mut mac =
            Hmac::<Sha256>::new_from_slice(&self.key).map_err(|_| TokenError::Malformed)?;
        mac.update(format!("{header}.{payload}").as_bytes());
        mac.verify_slice(&signature)
            .map_err(|_| TokenError::BadSignature)?;
        let claims: Value = URL_SAFE_NO_PAD
            .decode(payload)
            .ok()
            .and_then(|bytes| serde_json::from_slice(&bytes).ok())
            .ok_or(TokenError::Malformed)?;
        if claims["exp"].as_u64().is_none_or(|exp| exp <= now_secs) {
            return Err(TokenError::Expired);
        }
        if claims["iss"] != self.issuer.as_str() || claims["aud"] != self.audience.as_str() {
            return Err(TokenError::WrongAudience);
        }
        let claims = claims.as_object().ok_or(TokenError::Malformed)?;
        Ok(claims
            .iter()
            .map(|(name, value)| {
                let text = value
                    .as_str()
                    .map(str::to_owned)
                    .unwrap_or_else(|| value.to_string());
                (name.clone(), text)
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tokens() -> DevTokens {
        DevTokens::new(b"key", "https://issuer", "aud")
    }

    #[test]
    fn a_minted_token_verifies_to_its_claims() {
        let claims = tokens()
            .verify(&tokens().mint("cust-1", true, 100, 60), 120)
            .unwrap();
        assert_eq!(claims["sub"], "cust-1");
        assert_eq!(claims["scope"], "admin");
    }

    #[test]
    fn expired_tampered_and_foreign_tokens_are_refused() {
        let token = tokens().mint("cust-1", false, 100, 60);
        assert_eq!(tokens().verify(&token, 160), Err(TokenError::Expired));
        let other_key = DevTokens::new(b"other", "https://issuer", "aud");
        assert_eq!(other_key.verify(&token, 120), Err(TokenError::BadSignature));
        let other_audience = DevTokens::new(b"key", "https://issuer", "other");
        assert_eq!(
            other_audience.verify(&token, 120),
            Err(TokenError::WrongAudience)
        );
        assert_eq!(tokens().verify("a.b", 120), Err(TokenError::Malformed));
    }
}
