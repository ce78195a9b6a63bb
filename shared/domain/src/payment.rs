//! An order's money: what the payment provider holds for it, merged from
//! reports that may arrive late, twice or out of order; when to capture; what
//! to give back; and how much may still be refunded. What a report means for
//! an order is decided in [`crate::reports`].
//!
//! The provider is Stripe in practice, but nothing here knows it: a payment
//! is "the provider's payment" (a PaymentIntent) by its id.

use crate::status::{OrderTrigger, PaymentStatus};
use crate::time::Timestamp;
use serde::{Deserialize, Serialize};

/// Where the provider's payment behind an order stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CaptureState {
    /// Nothing held yet: the customer has not paid.
    #[default]
    Awaiting,
    /// The last attempt was declined; the customer may try again.
    Failed,
    /// The provider holds the amount (manual capture); nothing taken yet.
    Authorized,
    /// The money is ours (less any refunds).
    Captured,
    /// The hold was released without taking anything.
    Voided,
}

impl CaptureState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Awaiting => "awaiting",
            Self::Failed => "failed",
            Self::Authorized => "authorized",
            Self::Captured => "captured",
            Self::Voided => "voided",
        }
    }
}

/// What the provider holds for an order, as far as shopflow has heard. Every
/// amount is in minor units of the order's currency and only ever grows, so
/// reports merge in any order.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Payment {
    /// The provider's payment that holds the order's money, once one does.
    pub intent_id: Option<String>,
    pub status: CaptureState,
    pub authorized_minor: i64,
    pub captured_minor: i64,
    pub refunded_minor: i64,
    /// Refunds asked of the provider and not answered yet: held back from
    /// what may still be refunded, so two refunds can never both pass.
    pub refund_pending_minor: i64,
    /// The provider's code for the last decline.
    pub failure_code: Option<String>,
}

impl Payment {
    pub fn holds_money(&self) -> bool {
        matches!(
            self.status,
            CaptureState::Authorized | CaptureState::Captured
        )
    }

    /// Authorized and not captured: what a capture would take.
    pub fn capturable_minor(&self) -> i64 {
        match self.status {
            CaptureState::Authorized => self.authorized_minor,
            _ => 0,
        }
    }

    /// Captured, less what was refunded or is being refunded.
    pub fn refundable_minor(&self) -> i64 {
        (self.captured_minor - self.refunded_minor - self.refund_pending_minor).max(0)
    }

    pub fn is_fully_refunded(&self) -> bool {
        self.captured_minor > 0 && self.refunded_minor >= self.captured_minor
    }

    /// The order's payment status this money makes.
    pub fn payment_status(&self) -> PaymentStatus {
        match self.status {
            CaptureState::Awaiting => PaymentStatus::Awaiting,
            CaptureState::Failed => PaymentStatus::Failed,
            CaptureState::Authorized => PaymentStatus::Authorized,
            CaptureState::Voided => PaymentStatus::Voided,
            CaptureState::Captured if self.is_fully_refunded() => PaymentStatus::Refunded,
            CaptureState::Captured if self.refunded_minor > 0 => PaymentStatus::PartiallyRefunded,
            CaptureState::Captured => PaymentStatus::Paid,
        }
    }
}

/// What the provider reported about a payment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PaymentOutcome {
    /// The amount is held for capture.
    Authorized,
    /// The amount was taken.
    Captured,
    /// The customer's attempt was declined.
    Failed,
    /// Some or all of the captured amount went back; the report carries the
    /// total refunded so far.
    Refunded,
    /// The payment was cancelled: any hold is released.
    Voided,
    /// A hosted checkout page lapsed unpaid.
    CheckoutExpired,
}

impl PaymentOutcome {
    pub const ALL: [PaymentOutcome; 6] = [
        Self::Authorized,
        Self::Captured,
        Self::Failed,
        Self::Refunded,
        Self::Voided,
        Self::CheckoutExpired,
    ];

    /// The EventBridge detail-type announcing this outcome.
    pub fn detail_type(self) -> &'static str {
        match self {
            Self::Authorized => "payment.authorized",
            Self::Captured => "payment.captured",
            Self::Failed => "payment.failed",
            Self::Refunded => "payment.refunded",
            Self::Voided => "payment.voided",
            Self::CheckoutExpired => "payment.checkout_expired",
        }
    }

    /// The outcome a payment event's detail-type names, if it names one.
    pub fn from_detail_type(detail_type: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|outcome| outcome.detail_type() == detail_type)
    }
}

/// One report from the provider about one of its payments for an order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentReport {
    pub outcome: PaymentOutcome,
    /// The provider's payment (PaymentIntent) the report is about.
    pub payment_id: String,
    /// Authorized, captured, or refunded in total, as the outcome says.
    pub amount_minor: i64,
    /// The provider says nothing captured is left (refunds only).
    pub fully_refunded: bool,
    pub failure_code: Option<String>,
    /// The hosted checkout page the report concerns, when there is one.
    pub checkout_session_id: Option<String>,
}

/// When an authorized payment is captured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CapturePolicy {
    /// Take the money when the first goods leave the warehouse.
    OnShipment,
    /// Take the money as soon as it is authorized.
    OnAuthorization,
}

impl CapturePolicy {
    /// `ship` or `authorize`, as configuration names them.
    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "ship" => Some(Self::OnShipment),
            "authorize" => Some(Self::OnAuthorization),
            _ => None,
        }
    }

    /// Whether a change made by `trigger` can be when some order is
    /// captured, before its order is read.
    pub fn may_capture_after(trigger: OrderTrigger) -> bool {
        matches!(
            trigger,
            OrderTrigger::PaymentAuthorized | OrderTrigger::PartlyShipped | OrderTrigger::Shipped
        )
    }
}

/// What happens to an order's money when the order is cancelled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Settlement {
    /// Release the hold: nothing was taken.
    Void { intent_id: String },
    /// Give back what was taken and not refunded yet (by the provider's
    /// count: a refund still in flight is not given twice).
    Refund { intent_id: String },
    /// No money stands behind the order.
    Nothing,
}

impl Payment {
    pub fn settlement_on_cancel(&self) -> Settlement {
        match (&self.intent_id, self.status) {
            (Some(intent_id), CaptureState::Authorized) => Settlement::Void {
                intent_id: intent_id.clone(),
            },
            (Some(intent_id), CaptureState::Captured)
                if self.captured_minor > self.refunded_minor =>
            {
                Settlement::Refund {
                    intent_id: intent_id.clone(),
                }
            }
            _ => Settlement::Nothing,
        }
    }
}

/// Why a refund cannot be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RefundError {
    #[error("the order has no captured payment to refund")]
    NothingCaptured,
    #[error("a refund must be at least 1 minor unit")]
    NotPositive,
    #[error(
        "the refund of {requested} exceeds what may still be refunded ({refundable}: captured {captured}, refunded {refunded}, pending {pending})"
    )]
    ExceedsRefundable {
        requested: i64,
        refundable: i64,
        captured: i64,
        refunded: i64,
        pending: i64,
    },
}

impl Payment {
    /// The amount a refund of `requested` (all that is left when `None`)
    /// would give back, if it may be made.
    pub fn check_refund(&self, requested: Option<i64>) -> Result<i64, RefundError> {
        if self.intent_id.is_none() || self.captured_minor == 0 {
            return Err(RefundError::NothingCaptured);
        }
        let refundable = self.refundable_minor();
        let amount = requested.unwrap_or(refundable);
        if amount < 1 {
            return Err(if requested.is_none() {
                RefundError::ExceedsRefundable {
                    requested: amount,
                    refundable,
                    captured: self.captured_minor,
                    refunded: self.refunded_minor,
                    pending: self.refund_pending_minor,
                }
            } else {
                RefundError::NotPositive
            });
        }
        if amount > refundable {
            return Err(RefundError::ExceedsRefundable {
                requested: amount,
                refundable,
                captured: self.captured_minor,
                refunded: self.refunded_minor,
                pending: self.refund_pending_minor,
            });
        }
        Ok(amount)
    }

    /// The payment with `amount` held back for a refund being made.
    pub fn with_refund_pending(&self, amount: i64) -> Payment {
        Payment {
            refund_pending_minor: self.refund_pending_minor + amount,
            ..self.clone()
        }
    }

    /// The payment once a pending refund of `amount` is answered: given back
    /// when `refunded_in_total` says how much the provider has refunded in
    /// all, or released when the refund failed (`None`).
    pub fn with_refund_settled(&self, amount: i64, refunded_in_total: Option<i64>) -> Payment {
        let mut next = self.clone();
        next.refund_pending_minor = (next.refund_pending_minor - amount).max(0);
        if let Some(total) = refunded_in_total {
            next.refunded_minor = next.refunded_minor.max(total);
        }
        next
    }
}

/// A way the customer was offered to pay: a payment created at checkout, or
/// a hosted checkout page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum PaymentAttempt {
    Intent {
        intent_id: String,
        created_at: Timestamp,
    },
    CheckoutSession {
        session_id: String,
        url: String,
        expires_at: Timestamp,
        created_at: Timestamp,
    },
}

impl PaymentAttempt {
    pub fn created_at(&self) -> Timestamp {
        match self {
            Self::Intent { created_at, .. } | Self::CheckoutSession { created_at, .. } => {
                *created_at
            }
        }
    }
}

/// Where a refund asked of the provider stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RefundStatus {
    /// Asked of the provider; no answer yet (or the answer was lost).
    Pending,
    Succeeded,
    /// The provider refused; nothing went back.
    Failed,
}

impl RefundStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Succeeded => "succeeded",
            Self::Failed => "failed",
        }
    }
}

/// A refund staff asked for, recorded on the order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Refund {
    /// shopflow's id of the refund; also the provider's idempotency key.
    pub id: String,
    pub amount_minor: i64,
    pub reason: String,
    pub status: RefundStatus,
    /// The provider's id, once it answered.
    pub provider_refund_id: Option<String>,
    /// Why the provider refused, when it did.
    pub failure: Option<String>,
    pub requested_by: String,
    pub requested_at: Timestamp,
    /// Digest of the request, so a retry with another body under the same
    /// key is told apart.
    pub request_fingerprint: String,
}

#[cfg(test)]
pub(crate) mod test_support {
    use super::*;

    /// `amount` taken by the provider's payment `intent`, none of it refunded.
    pub(crate) fn captured(intent: &str, amount: i64) -> Payment {
        Payment {
            intent_id: Some(intent.into()),
            status: CaptureState::Captured,
            authorized_minor: amount,
            captured_minor: amount,
            ..Payment::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::test_support::captured;
    use super::*;

    #[test]
    fn refunds_never_exceed_what_was_captured_less_refunded_and_pending() {
        let payment = Payment {
            refunded_minor: 1000,
            refund_pending_minor: 500,
            ..captured("pi_1", 5000)
        };
        assert_eq!(payment.check_refund(Some(3500)), Ok(3500));
        assert_eq!(payment.check_refund(None), Ok(3500));
        assert_eq!(
            payment.check_refund(Some(3501)),
            Err(RefundError::ExceedsRefundable {
                requested: 3501,
                refundable: 3500,
                captured: 5000,
                refunded: 1000,
                pending: 500
            })
        );
        assert_eq!(payment.check_refund(Some(0)), Err(RefundError::NotPositive));
        assert_eq!(
            Payment::default().check_refund(Some(1)),
            Err(RefundError::NothingCaptured)
        );
        let spent = Payment {
            refunded_minor: 5000,
            ..captured("pi_1", 5000)
        };
        assert!(matches!(
            spent.check_refund(None),
            Err(RefundError::ExceedsRefundable { refundable: 0, .. })
        ));
    }

    #[test]
    fn a_settled_refund_releases_its_hold_and_a_failed_one_gives_it_back() {
        let pending = captured("pi_1", 5000).with_refund_pending(2000);
        assert_eq!(pending.refundable_minor(), 3000);
        let done = pending.with_refund_settled(2000, Some(2000));
        assert_eq!((done.refunded_minor, done.refund_pending_minor), (2000, 0));
        let failed = pending.with_refund_settled(2000, None);
        assert_eq!(
            (failed.refunded_minor, failed.refundable_minor()),
            (0, 5000)
        );
    }

    #[test]
    fn cancelling_voids_a_hold_and_refunds_what_was_taken() {
        let held = Payment {
            intent_id: Some("pi_1".into()),
            status: CaptureState::Authorized,
            authorized_minor: 100,
            ..Payment::default()
        };
        assert_eq!(
            held.settlement_on_cancel(),
            Settlement::Void {
                intent_id: "pi_1".into()
            }
        );
        let taken = Payment {
            refunded_minor: 30,
            ..captured("pi_1", 100)
        };
        assert_eq!(
            taken.settlement_on_cancel(),
            Settlement::Refund {
                intent_id: "pi_1".into()
            }
        );
        let spent = Payment {
            refunded_minor: 100,
            ..captured("pi_1", 100)
        };
        assert_eq!(spent.settlement_on_cancel(), Settlement::Nothing);
        assert_eq!(
            Payment::default().settlement_on_cancel(),
            Settlement::Nothing
        );
    }

    #[test]
    fn capture_policies_are_named_as_configuration_names_them() {
        assert!(CapturePolicy::may_capture_after(
            OrderTrigger::PaymentAuthorized
        ));
        assert!(!CapturePolicy::may_capture_after(OrderTrigger::Delivered));
        assert_eq!(
            CapturePolicy::parse("ship"),
            Some(CapturePolicy::OnShipment)
        );
        assert_eq!(CapturePolicy::parse("never"), None);
    }

    #[test]
    fn every_outcome_round_trips_through_its_detail_type() {
        for outcome in PaymentOutcome::ALL {
            assert_eq!(
                PaymentOutcome::from_detail_type(outcome.detail_type()),
                Some(outcome)
            );
        }
        assert_eq!(PaymentOutcome::from_detail_type("payment.disputed"), None);
    }

    /// Reports one payment of `captured` minor units may produce: held,
    /// taken, declined on an earlier try, refunded up to some total.

    #[test]
    fn the_payment_status_follows_the_money() {
        let paid = captured("pi_1", 100);
        assert_eq!(paid.payment_status(), PaymentStatus::Paid);
        let partly = Payment {
            refunded_minor: 30,
            ..paid.clone()
        };
        assert_eq!(partly.payment_status(), PaymentStatus::PartiallyRefunded);
        let fully = Payment {
            refunded_minor: 100,
            ..paid
        };
        assert_eq!(fully.payment_status(), PaymentStatus::Refunded);
        assert_eq!(Payment::default().payment_status(), PaymentStatus::Awaiting);
        let held = Payment {
            status: CaptureState::Authorized,
            ..Payment::default()
        };
        assert_eq!(held.payment_status(), PaymentStatus::Authorized);
    }
}
