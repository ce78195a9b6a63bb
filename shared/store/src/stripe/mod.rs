//! Stripe, the payment provider: the HTTP client (`client`), a stand-in that
//! behaves like it for running without keys (`mock`), webhook signatures
//! (`signature`) and the wire shapes both read.

pub mod client;
pub mod form;
pub mod mock;
pub mod signature;
mod wire;

pub use client::{StripeClient, StripeConfig};
pub use mock::{MockGateway, TestCard};

use crate::{
    CheckoutSession, CheckoutSessionRequest, GatewayError, Intent, IntentRequest, PaymentGateway,
    ProviderRefund, RefundRequest,
};
use async_trait::async_trait;

/// The provider a function talks to: Stripe itself, or the mock when no key
/// is configured (never in production; see lambda-kit's `payments`).
#[derive(Debug, Clone)]
pub enum Gateway {
    Stripe(StripeClient),
    Mock(MockGateway),
}

impl Gateway {
    pub fn is_mock(&self) -> bool {
        matches!(self, Self::Mock(_))
    }
}

macro_rules! delegate {
    ($self:ident, $gateway:ident => $call:expr) => {
        match $self {
            Gateway::Stripe($gateway) => $call.await,
            Gateway::Mock($gateway) => $call.await,
        }
    };
}

#[async_trait]
impl PaymentGateway for Gateway {
    async fn create_intent(&self, request: &IntentRequest) -> Result<Intent, GatewayError> {
        delegate!(self, gateway => gateway.create_intent(request))
    }

    async fn intent(&self, intent_id: &str) -> Result<Intent, GatewayError> {
        delegate!(self, gateway => gateway.intent(intent_id))
    }

    async fn capture(
        &self,
        intent_id: &str,
        amount_minor: i64,
        idempotency_key: &str,
    ) -> Result<Intent, GatewayError> {
        delegate!(self, gateway => gateway.capture(intent_id, amount_minor, idempotency_key))
    }

    async fn cancel(&self, intent_id: &str, idempotency_key: &str) -> Result<Intent, GatewayError> {
        delegate!(self, gateway => gateway.cancel(intent_id, idempotency_key))
    }

    async fn refund(&self, request: &RefundRequest) -> Result<ProviderRefund, GatewayError> {
        delegate!(self, gateway => gateway.refund(request))
    }

    async fn create_checkout_session(
        &self,
        request: &CheckoutSessionRequest,
    ) -> Result<CheckoutSession, GatewayError> {
        delegate!(self, gateway => gateway.create_checkout_session(request))
    }

    async fn expire_checkout_session(&self, session_id: &str) -> Result<(), GatewayError> {
        delegate!(self, gateway => gateway.expire_checkout_session(session_id))
    }
}
