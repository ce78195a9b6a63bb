//! The payment ports: the provider that holds the money (`PaymentGateway`,
//! implemented by the Stripe client and the mock in `stripe`), and the
//! payment records kept on each order (`PaymentRecords`).

use crate::{ChangeError, OrderReader, OutboxEvent, StoreError};
use async_trait::async_trait;
use shopflow_domain::events::{DomainEvent, PaymentReported};
use shopflow_domain::{
    Currency, CustomerId, Email, Order, OrderId, Payment, PaymentAttempt, Refund, RefundStatus,
    Timestamp,
};

/// Why the provider did not do what was asked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GatewayError {
    /// Network failure, timeout, rate limit or provider error, after retries:
    /// the same request may succeed later.
    #[error("payment provider unavailable: {0}")]
    Unavailable(String),
    /// The provider refused the request; sending it again will not help.
    #[error("payment provider refused the request ({status} {code:?}): {message}")]
    Rejected {
        status: u16,
        code: Option<String>,
        message: String,
    },
}

impl GatewayError {
    /// The provider's error code, when it refused.
    pub fn code(&self) -> Option<&str> {
        match self {
            Self::Rejected { code, .. } => code.as_deref(),
            Self::Unavailable(_) => None,
        }
    }
}

/// Where a provider's payment stands (Stripe's PaymentIntent statuses).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IntentStatus {
    RequiresPaymentMethod,
    RequiresConfirmation,
    RequiresAction,
    Processing,
    /// Authorized: the amount is held until captured or cancelled.
    RequiresCapture,
    Canceled,
    Succeeded,
}

impl IntentStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::RequiresPaymentMethod => "requires_payment_method",
            Self::RequiresConfirmation => "requires_confirmation",
            Self::RequiresAction => "requires_action",
            Self::Processing => "processing",
            Self::RequiresCapture => "requires_capture",
            Self::Canceled => "canceled",
            Self::Succeeded => "succeeded",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        [
            Self::RequiresPaymentMethod,
            Self::RequiresConfirmation,
            Self::RequiresAction,
            Self::Processing,
            Self::RequiresCapture,
            Self::Canceled,
            Self::Succeeded,
        ]
        .into_iter()
        .find(|status| status.as_str() == raw)
    }

    /// The customer can still pay with it.
    pub fn is_open(self) -> bool {
        matches!(
            self,
            Self::RequiresPaymentMethod | Self::RequiresConfirmation | Self::RequiresAction
        )
    }
}

/// What checkout asks the provider to hold for an order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IntentRequest {
    pub order_id: OrderId,
    pub customer_id: CustomerId,
    pub amount_minor: i64,
    pub currency: Currency,
    /// The same key for every retry of the same order: one payment, ever.
    pub idempotency_key: String,
}

impl IntentRequest {
    /// The payment for `order`'s grand total, held for manual capture.
    pub fn for_order(order: &Order) -> Self {
        Self {
            order_id: order.id,
            customer_id: order.customer_id.clone(),
            amount_minor: order.totals.grand_total.minor,
            currency: order.currency.clone(),
            idempotency_key: format!("intent-{}", order.id),
        }
    }
}

/// A provider's payment, as much of it as shopflow reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Intent {
    pub id: String,
    pub status: IntentStatus,
    /// What the customer's browser confirms the payment with. Handed to the
    /// order's owner only, never logged or stored.
    pub client_secret: Option<String>,
    pub amount_minor: i64,
    pub amount_received_minor: i64,
    /// The order named in the payment's metadata.
    pub order_id: Option<OrderId>,
}

/// A refund asked of the provider.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefundRequest {
    pub intent_id: String,
    /// What to give back; `None`: everything not refunded yet.
    pub amount_minor: Option<i64>,
    pub order_id: OrderId,
    /// shopflow's refund id: the idempotency key and the provider's
    /// metadata. One refund id is one refund, however late it is asked again.
    pub refund_id: String,
    pub reason: String,
}

/// What the provider made of a refund.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderRefund {
    pub id: String,
    /// `succeeded`, `pending`, `failed`, `canceled` or `requires_action`.
    pub status: String,
    pub amount_minor: i64,
    /// Refunded on the payment in all, this refund included.
    pub refunded_in_total_minor: i64,
    pub fully_refunded: bool,
}

impl ProviderRefund {
    /// The money went back, or will without anyone acting (`pending`).
    pub fn went_through(&self) -> bool {
        matches!(self.status.as_str(), "succeeded" | "pending")
    }
}

/// A hosted checkout page asked of the provider for an order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckoutSessionRequest {
    pub order_id: OrderId,
    pub amount_minor: i64,
    pub currency: Currency,
    pub email: Email,
    /// What the page calls the purchase.
    pub description: String,
    pub success_url: String,
    pub cancel_url: String,
    pub expires_at: Timestamp,
    pub idempotency_key: String,
}

/// A hosted checkout page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckoutSession {
    pub id: String,
    pub url: String,
    pub expires_at: Timestamp,
}

/// The provider that holds, takes and gives back the money. Every call that
/// changes something carries an idempotency key, so a retry never acts twice.
#[async_trait]
pub trait PaymentGateway: Send + Sync {
    /// Creates (or, for a key seen before, returns) a payment held for
    /// manual capture.
    async fn create_intent(&self, request: &IntentRequest) -> Result<Intent, GatewayError>;

    async fn intent(&self, intent_id: &str) -> Result<Intent, GatewayError>;

    /// Takes `amount_minor` of an authorized payment.
    async fn capture(
        &self,
        intent_id: &str,
        amount_minor: i64,
        idempotency_key: &str,
    ) -> Result<Intent, GatewayError>;

    /// Cancels a payment that holds nothing taken: releases any hold.
    async fn cancel(&self, intent_id: &str, idempotency_key: &str) -> Result<Intent, GatewayError>;

    /// Refunds the payment, once per `refund_id`: asked again (even after
    /// the provider forgot the idempotency key), it answers the refund made.
    async fn refund(&self, request: &RefundRequest) -> Result<ProviderRefund, GatewayError>;

    async fn create_checkout_session(
        &self,
        request: &CheckoutSessionRequest,
    ) -> Result<CheckoutSession, GatewayError>;

    /// Closes a hosted checkout page so it can no longer be paid.
    async fn expire_checkout_session(&self, session_id: &str) -> Result<(), GatewayError>;
}

/// The provider a deployed function talks to, chosen once at start-up:
/// Stripe, or (on the local stack only) the mock every function shares.
pub type Payments = std::sync::Arc<dyn PaymentGateway>;

/// A shared provider is the provider.
#[async_trait]
impl<T: PaymentGateway + ?Sized> PaymentGateway for std::sync::Arc<T> {
    async fn create_intent(&self, request: &IntentRequest) -> Result<Intent, GatewayError> {
        (**self).create_intent(request).await
    }

    async fn intent(&self, intent_id: &str) -> Result<Intent, GatewayError> {
        (**self).intent(intent_id).await
    }

    async fn capture(
        &self,
        intent_id: &str,
        amount_minor: i64,
        idempotency_key: &str,
    ) -> Result<Intent, GatewayError> {
        (**self)
            .capture(intent_id, amount_minor, idempotency_key)
            .await
    }

    async fn cancel(&self, intent_id: &str, idempotency_key: &str) -> Result<Intent, GatewayError> {
        (**self).cancel(intent_id, idempotency_key).await
    }

    async fn refund(&self, request: &RefundRequest) -> Result<ProviderRefund, GatewayError> {
        (**self).refund(request).await
    }

    async fn create_checkout_session(
        &self,
        request: &CheckoutSessionRequest,
    ) -> Result<CheckoutSession, GatewayError> {
        (**self).create_checkout_session(request).await
    }

    async fn expire_checkout_session(&self, session_id: &str) -> Result<(), GatewayError> {
        (**self).expire_checkout_session(session_id).await
    }
}

/// An order with the payment records kept under it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderPayments {
    pub order: Order,
    /// Every way the customer was offered to pay, oldest first.
    pub attempts: Vec<PaymentAttempt>,
    /// Refunds staff asked for, oldest first.
    pub refunds: Vec<Refund>,
}

impl OrderPayments {
    /// The most recent hosted checkout page, if the order has one.
    pub fn newest_checkout_session(&self) -> Option<&str> {
        self.attempts
            .iter()
            .rev()
            .find_map(|attempt| match attempt {
                PaymentAttempt::CheckoutSession { session_id, .. } => Some(session_id.as_str()),
                PaymentAttempt::Intent { .. } => None,
            })
    }

    /// The payments checkout created for the order, oldest first.
    pub fn intents(&self) -> impl Iterator<Item = &str> {
        self.attempts.iter().filter_map(|attempt| match attempt {
            PaymentAttempt::Intent { intent_id, .. } => Some(intent_id.as_str()),
            PaymentAttempt::CheckoutSession { .. } => None,
        })
    }

    pub fn refund(&self, id: &str) -> Option<&Refund> {
        self.refunds.iter().find(|refund| refund.id == id)
    }
}

/// A refund record a payment change writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RefundWrite {
    /// A new refund: refused (as `AlreadyApplied`) when its id exists.
    New(Refund),
    /// The answer to a pending refund: refused (as `AlreadyApplied`) when it
    /// was answered already.
    Settled(Refund),
}

/// A change to an order's money that moves no status: checked against the
/// order's version, with the refund record and the event it causes, atomically.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentChange {
    pub order_id: OrderId,
    pub expected_version: u64,
    pub payment: Payment,
    pub refund: Option<RefundWrite>,
    pub event: Option<OutboxEvent>,
    /// The consumed event this change applies: (consumer, event id).
    pub applies: Option<(String, String)>,
    pub at: Timestamp,
}

/// A pending refund as the provider answered it: succeeded (its amount now
/// refunded, and `payment.refunded` announced) or failed (its amount
/// refundable again).
pub fn answered_refund(
    mut refund: Refund,
    answer: &Result<ProviderRefund, GatewayError>,
) -> (Refund, Option<ProviderRefund>) {
    let given = match answer {
        Ok(given) if given.went_through() => {
            refund.status = RefundStatus::Succeeded;
            refund.provider_refund_id = Some(given.id.clone());
            Some(given.clone())
        }
        Ok(given) => {
            refund.status = RefundStatus::Failed;
            refund.failure = Some(format!("Stripe answered {}", given.status));
            None
        }
        Err(error) => {
            refund.status = RefundStatus::Failed;
            refund.failure = Some(error.to_string());
            None
        }
    };
    (refund, given)
}

impl PaymentChange {
    /// Records on `order` (as read) the answer to its pending `refund` of
    /// payment `intent_id`: what the provider gave back in all (`given`,
    /// `None` when it failed), and `payment.refunded` when it went through.
    pub fn settling(
        order: &Order,
        refund: &Refund,
        intent_id: &str,
        given: Option<&ProviderRefund>,
        at: Timestamp,
    ) -> Self {
        let event = given.map(|given| OutboxEvent {
            id: ulid::Ulid::generate(),
            occurred_at: at,
            event: DomainEvent::PaymentReported(PaymentReported::refunded(
                order.id,
                intent_id,
                order.currency.as_str(),
                given.refunded_in_total_minor,
                given.fully_refunded,
            )),
        });
        Self {
            order_id: order.id,
            expected_version: order.version,
            payment: order.payment.with_refund_settled(
                refund.amount_minor,
                given.map(|given| given.refunded_in_total_minor),
            ),
            refund: Some(RefundWrite::Settled(refund.clone())),
            event,
            applies: None,
            at,
        }
    }
}

#[async_trait]
pub trait PaymentRecords: OrderReader {
    /// The order with its payment attempts and refunds, in one read.
    async fn order_payments(&self, id: OrderId) -> Result<Option<OrderPayments>, StoreError>;

    /// Records a way the customer was offered to pay. Recording the same
    /// attempt again changes nothing.
    async fn record_attempt(
        &self,
        order_id: OrderId,
        attempt: &PaymentAttempt,
    ) -> Result<(), StoreError>;

    async fn change_payment(&self, change: &PaymentChange) -> Result<(), ChangeError>;
}
