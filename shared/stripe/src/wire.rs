//! The parts of Stripe's JSON objects shopflow reads, and how they become the
//! gateway port's types. Everything else in a response is ignored.

use serde::Deserialize;
use shopflow_domain::{OrderId, Timestamp};
use shopflow_ports::{CheckoutSession, GatewayError, Intent, IntentStatus, ProviderRefund};
use std::collections::HashMap;

fn malformed(what: &str, reason: impl std::fmt::Display) -> GatewayError {
    GatewayError::Unavailable(format!("unreadable {what} from Stripe: {reason}"))
}

#[derive(Debug, Deserialize)]
pub struct IntentWire {
    pub id: String,
    pub status: String,
    #[serde(default)]
    pub client_secret: Option<String>,
    #[serde(default)]
    pub amount: i64,
    #[serde(default)]
    pub amount_received: Option<i64>,
    #[serde(default)]
    pub metadata: HashMap<String, String>,
}

impl IntentWire {
    pub fn into_intent(self) -> Result<Intent, GatewayError> {
        let status = IntentStatus::parse(&self.status)
            .ok_or_else(|| malformed("payment intent", format!("status {}", self.status)))?;
        // Some Stripe emulators leave out amount_received; a succeeded
        // payment received its amount.
        let received = self.amount_received.unwrap_or(match status {
            IntentStatus::Succeeded => self.amount,
            _ => 0,
        });
        Ok(Intent {
            order_id: self
                .metadata
                .get("order_id")
                .and_then(|raw| raw.parse::<OrderId>().ok()),
            id: self.id,
            status,
            client_secret: self.client_secret,
            amount_minor: self.amount,
            amount_received_minor: received,
        })
    }
}

#[derive(Debug, Deserialize)]
pub struct RefundWire {
    pub id: String,
    pub status: String,
    pub amount: i64,
    pub charge: String,
    #[serde(default)]
    pub metadata: HashMap<String, String>,
}

/// A page of a list: `{"data": [...], "has_more"}`.
#[derive(Debug, Deserialize)]
pub struct ListWire<T> {
    pub data: Vec<T>,
    /// More items follow the last of `data`.
    #[serde(default)]
    pub has_more: bool,
}

#[derive(Debug, Deserialize)]
pub struct ChargeWire {
    pub amount_refunded: i64,
    pub refunded: bool,
}

impl RefundWire {
    pub fn into_refund(self, charge: ChargeWire) -> ProviderRefund {
        ProviderRefund {
            id: self.id,
            status: self.status,
            amount_minor: self.amount,
            refunded_in_total_minor: charge.amount_refunded,
            fully_refunded: charge.refunded,
        }
    }
}

#[derive(Debug, Deserialize)]
pub struct SessionWire {
    pub id: String,
    #[serde(default)]
    pub url: Option<String>,
    pub expires_at: u64,
}

impl SessionWire {
    pub fn into_session(self) -> Result<CheckoutSession, GatewayError> {
        Ok(CheckoutSession {
            url: self
                .url
                .ok_or_else(|| malformed("checkout session", "no url"))?,
            id: self.id,
            expires_at: Timestamp::from_millis(self.expires_at.saturating_mul(1_000)),
        })
    }
}

/// Stripe's error body: `{"error": {"type", "code", "message", …}}`.
#[derive(Debug, Default, Deserialize)]
pub struct ErrorWire {
    #[serde(default)]
    pub error: ErrorDetail,
}

#[derive(Debug, Default, Deserialize)]
pub struct ErrorDetail {
    #[serde(default)]
    pub code: Option<String>,
    #[serde(default)]
    pub message: Option<String>,
}

pub fn parse<T: serde::de::DeserializeOwned>(what: &str, body: &[u8]) -> Result<T, GatewayError> {
    serde_json::from_slice(body).map_err(|e| malformed(what, e))
}
