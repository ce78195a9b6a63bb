//! An order's money: what the payment provider holds for it, merged from
//! reports that may arrive late, twice or out of order; when to capture; what
//! to give back; and how much may still be refunded.
//!
//! The provider is Stripe in practice, but nothing here knows it: a payment
//! is "the provider's payment" (a PaymentIntent) by its id.

use crate::lifecycle::OrderTrigger;
use crate::order::{Order, OrderStatus};
use crate::time::Timestamp;
use serde::{Deserialize, Serialize};

/// Where an order's money stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PaymentStatus {
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

impl PaymentStatus {
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
    pub status: PaymentStatus,
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
            PaymentStatus::Authorized | PaymentStatus::Captured
        )
    }

    /// Authorized and not captured: what a capture would take.
    pub fn capturable_minor(&self) -> i64 {
        match self.status {
            PaymentStatus::Authorized => self.authorized_minor,
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

/// Why money that reached an order has to go back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GiveBackReason {
    /// The order was cancelled, or fully refunded, before the money came.
    OrderClosed(OrderStatus),
    /// Another payment already holds the order's money.
    AlreadyPaidBy(String),
    /// Paid after the reservation lapsed, and the stock is gone.
    StockGone,
}

impl GiveBackReason {
    pub fn describe(&self) -> String {
        match self {
            Self::OrderClosed(status) => {
                format!(
                    "the order was already {} when the money came",
                    status.as_str()
                )
            }
            Self::AlreadyPaidBy(payment) => {
                format!("the order is already paid by {payment}: this is a second payment")
            }
            Self::StockGone => "paid after the reservation lapsed, and the stock is gone".into(),
        }
    }
}

/// What a report means for the order it is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PaymentDecision {
    /// Store `payment` as the order's money and, when given, move the order
    /// with `trigger` (the transition is legal from its current status).
    Record {
        payment: Payment,
        trigger: Option<OrderTrigger>,
    },
    /// Money the order cannot keep: release the hold or refund it, and
    /// record `record` as the order's money when given (the order's own
    /// payment, or the first to reach it, so a repeat report is known).
    GiveBack {
        reason: GiveBackReason,
        record: Option<Payment>,
    },
    /// Nothing new for this order.
    Ignore(&'static str),
    /// The report depends on one not received yet (a refund before its
    /// capture): try again later.
    NotYet(&'static str),
}

impl Order {
    /// How a provider's report changes this order. `newest_checkout_session`
    /// is the order's most recent hosted checkout page, if it has one.
    pub fn decide_payment(
        &self,
        report: &PaymentReport,
        newest_checkout_session: Option<&str>,
    ) -> PaymentDecision {
        let current = &self.payment;
        let ours = current.intent_id.as_deref() == Some(report.payment_id.as_str());
        let (payment, trigger) = match report.outcome {
            PaymentOutcome::Authorized | PaymentOutcome::Captured => {
                return self.decide_money(report, ours);
            }
            PaymentOutcome::Failed => {
                if current.holds_money() || self.status.is_final() {
                    return PaymentDecision::Ignore(
                        "a payment already holds the order's money, or the order is closed",
                    );
                }
                let mut next = current.clone();
                next.status = PaymentStatus::Failed;
                next.failure_code.clone_from(&report.failure_code);
                (next, OrderTrigger::PaymentFailed)
            }
            PaymentOutcome::Voided => {
                if !ours || current.status != PaymentStatus::Authorized {
                    return PaymentDecision::Ignore("not a hold this order relies on");
                }
                let mut next = current.clone();
                next.status = PaymentStatus::Voided;
                (next, OrderTrigger::PaymentVoided)
            }
            PaymentOutcome::Refunded => {
                let gave_back = !ours
                    && (current.holds_money()
                        || self.status.is_final()
                        || self.status == OrderStatus::Expired);
                if gave_back {
                    return PaymentDecision::Ignore("a refund of a payment this order gave back");
                }
                if !ours || current.captured_minor == 0 {
                    // Refunds follow a capture: its report is still on its way.
                    return PaymentDecision::NotYet("the refunded payment's capture");
                }
                let mut next = current.clone();
                next.refunded_minor = next.refunded_minor.max(report.amount_minor);
                let trigger = if report.fully_refunded || next.is_fully_refunded() {
                    OrderTrigger::Refunded
                } else {
                    OrderTrigger::PartlyRefunded
                };
                (next, trigger)
            }
            PaymentOutcome::CheckoutExpired => {
                let newest = newest_checkout_session.is_some()
                    && report.checkout_session_id.as_deref() == newest_checkout_session;
                if !newest || current.holds_money() {
                    return PaymentDecision::Ignore(
                        "the order is paid, or has a newer way to be paid",
                    );
                }
                (current.clone(), OrderTrigger::ReservationExpired)
            }
        };
        self.record(payment, trigger)
    }

    /// An authorization or a capture: money the order takes, unless it is a
    /// repeat of what is recorded, or the order can no longer take it.
    fn decide_money(&self, report: &PaymentReport, ours: bool) -> PaymentDecision {
        let current = &self.payment;
        let captured = report.outcome == PaymentOutcome::Captured;
        if ours && !captured && current.status == PaymentStatus::Voided {
            // An authorization overtaken by its own release: the hold is gone.
            return PaymentDecision::Ignore("the hold was released already");
        }
        let already_known = ours
            && if captured {
                current.status == PaymentStatus::Captured
                    && current.captured_minor >= report.amount_minor
            } else {
                current.holds_money() && current.authorized_minor >= report.amount_minor
            };
        if already_known && self.status.is_final() {
            return PaymentDecision::Ignore("nothing new: already recorded");
        }
        if !already_known && !ours && current.holds_money() {
            let kept = current.intent_id.clone().unwrap_or_default();
            return PaymentDecision::GiveBack {
                reason: GiveBackReason::AlreadyPaidBy(kept),
                record: None,
            };
        }
        let mut next = if ours {
            current.clone()
        } else {
            Payment {
                intent_id: Some(report.payment_id.clone()),
                ..Payment::default()
            }
        };
        next.failure_code = None;
        next.authorized_minor = next.authorized_minor.max(report.amount_minor);
        let trigger = if captured {
            next.captured_minor = next.captured_minor.max(report.amount_minor);
            next.status = PaymentStatus::Captured;
            OrderTrigger::PaymentCaptured
        } else {
            if next.status != PaymentStatus::Captured {
                next.status = PaymentStatus::Authorized;
            }
            OrderTrigger::PaymentAuthorized
        };
        if self.status.is_final() {
            // Recorded as it stands, so the same money reported again is
            // known; and given back.
            return PaymentDecision::GiveBack {
                reason: GiveBackReason::OrderClosed(self.status),
                record: Some(next),
            };
        }
        self.record(next, trigger)
    }

    /// `payment` recorded, with the order moved by `trigger` when it may
    /// move. A report that changes neither the money nor the status (a
    /// repeat of a refund already recorded, say) is nothing new.
    fn record(&self, payment: Payment, trigger: OrderTrigger) -> PaymentDecision {
        let moves_to = self.status.transition(trigger).ok();
        let changes_status = moves_to.is_some_and(|to| to != self.status);
        if payment == self.payment && !changes_status {
            return PaymentDecision::Ignore("nothing new: already recorded");
        }
        PaymentDecision::Record {
            payment,
            trigger: moves_to.map(|_| trigger),
        }
    }
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

    /// Whether an order that just reached `status` should have its
    /// authorized payment captured now.
    pub fn captures_on_reaching(self, status: OrderStatus) -> bool {
        match self {
            Self::OnAuthorization => status == OrderStatus::PaymentAuthorized,
            Self::OnShipment => {
                matches!(status, OrderStatus::PartiallyShipped | OrderStatus::Shipped)
            }
        }
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
            (Some(intent_id), PaymentStatus::Authorized) => Settlement::Void {
                intent_id: intent_id.clone(),
            },
            (Some(intent_id), PaymentStatus::Captured)
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
mod tests {
    use super::*;
    use crate::order::test_support::order_in;
    use OrderStatus as S;
    use proptest::prelude::*;

    fn report(outcome: PaymentOutcome, payment: &str, amount: i64) -> PaymentReport {
        PaymentReport {
            outcome,
            payment_id: payment.into(),
            amount_minor: amount,
            fully_refunded: false,
            failure_code: None,
            checkout_session_id: None,
        }
    }

    fn with_payment(status: OrderStatus, payment: Payment) -> Order {
        Order {
            payment,
            ..order_in(status)
        }
    }

    fn captured(intent: &str, amount: i64) -> Payment {
        Payment {
            intent_id: Some(intent.into()),
            status: PaymentStatus::Captured,
            authorized_minor: amount,
            captured_minor: amount,
            ..Payment::default()
        }
    }

    fn recorded(decision: PaymentDecision) -> (Payment, Option<OrderTrigger>) {
        match decision {
            PaymentDecision::Record { payment, trigger } => (payment, trigger),
            other => panic!("expected a record, got {other:?}"),
        }
    }

    #[test]
    fn an_authorization_binds_the_payment_and_moves_an_unpaid_order() {
        let order = order_in(S::PendingPayment);
        let (payment, trigger) =
            recorded(order.decide_payment(&report(PaymentOutcome::Authorized, "pi_1", 4495), None));
        assert_eq!(payment.intent_id.as_deref(), Some("pi_1"));
        assert_eq!(payment.status, PaymentStatus::Authorized);
        assert_eq!(payment.authorized_minor, 4495);
        assert_eq!(trigger, Some(OrderTrigger::PaymentAuthorized));
    }

    #[test]
    fn a_capture_after_shipment_is_recorded_without_moving_the_order() {
        let order = with_payment(
            S::Shipped,
            Payment {
                intent_id: Some("pi_1".into()),
                status: PaymentStatus::Authorized,
                authorized_minor: 4495,
                ..Payment::default()
            },
        );
        let (payment, trigger) =
            recorded(order.decide_payment(&report(PaymentOutcome::Captured, "pi_1", 4495), None));
        assert_eq!(payment.status, PaymentStatus::Captured);
        assert_eq!(payment.captured_minor, 4495);
        assert_eq!(trigger, None);
    }

    #[test]
    fn a_late_authorization_after_the_capture_changes_nothing() {
        let order = with_payment(S::Paid, captured("pi_1", 4495));
        assert_eq!(
            order.decide_payment(&report(PaymentOutcome::Authorized, "pi_1", 4495), None),
            PaymentDecision::Ignore("nothing new: already recorded")
        );
    }

    #[test]
    fn a_second_payment_for_a_paid_order_goes_back() {
        let order = with_payment(S::Paid, captured("pi_1", 4495));
        assert_eq!(
            order.decide_payment(&report(PaymentOutcome::Captured, "pi_2", 4495), None),
            PaymentDecision::GiveBack {
                reason: GiveBackReason::AlreadyPaidBy("pi_1".into()),
                record: None
            }
        );
    }

    #[test]
    fn money_for_a_cancelled_order_goes_back_and_is_recorded_once() {
        for status in [S::Cancelled, S::Refunded] {
            let order = order_in(status);
            let decision =
                order.decide_payment(&report(PaymentOutcome::Captured, "pi_1", 10), None);
            let PaymentDecision::GiveBack {
                reason,
                record: Some(recorded),
            } = decision
            else {
                panic!("{status:?}: {decision:?}");
            };
            assert_eq!(reason, GiveBackReason::OrderClosed(status));
            assert_eq!(recorded.captured_minor, 10);
            // Reported again, the same money is known, not given back twice.
            let known = with_payment(status, recorded);
            assert_eq!(
                known.decide_payment(&report(PaymentOutcome::Captured, "pi_1", 10), None),
                PaymentDecision::Ignore("nothing new: already recorded")
            );
            // Its refund then records on the payment.
            assert!(matches!(
                known.decide_payment(&report(PaymentOutcome::Refunded, "pi_1", 10), None),
                PaymentDecision::Record { trigger: None, .. }
            ));
        }
    }

    #[test]
    fn an_authorization_after_its_hold_was_released_changes_nothing() {
        let order = with_payment(
            S::PaymentFailed,
            Payment {
                intent_id: Some("pi_1".into()),
                status: PaymentStatus::Voided,
                authorized_minor: 100,
                ..Payment::default()
            },
        );
        assert!(matches!(
            order.decide_payment(&report(PaymentOutcome::Authorized, "pi_1", 100), None),
            PaymentDecision::Ignore(_)
        ));
    }

    #[test]
    fn a_refund_of_money_the_order_gave_back_never_waits() {
        for status in [S::Expired, S::Cancelled] {
            assert!(matches!(
                order_in(status)
                    .decide_payment(&report(PaymentOutcome::Refunded, "pi_late", 100), None),
                PaymentDecision::Ignore(_)
            ));
        }
        // An open order's refund before its capture still waits for it.
        assert!(matches!(
            order_in(S::PendingPayment)
                .decide_payment(&report(PaymentOutcome::Refunded, "pi_1", 100), None),
            PaymentDecision::NotYet(_)
        ));
    }

    #[test]
    fn a_decline_moves_an_unpaid_order_but_never_a_paid_one() {
        let declined = PaymentReport {
            failure_code: Some("card_declined".into()),
            ..report(PaymentOutcome::Failed, "pi_1", 4495)
        };
        let (payment, trigger) =
            recorded(order_in(S::PendingPayment).decide_payment(&declined, None));
        assert_eq!(payment.status, PaymentStatus::Failed);
        assert_eq!(payment.failure_code.as_deref(), Some("card_declined"));
        assert_eq!(trigger, Some(OrderTrigger::PaymentFailed));
        assert!(matches!(
            with_payment(S::Paid, captured("pi_1", 4495)).decide_payment(&declined, None),
            PaymentDecision::Ignore(_)
        ));
    }

    #[test]
    fn a_voided_hold_sends_an_authorized_order_back_to_payment_failed() {
        let order = with_payment(
            S::PaymentAuthorized,
            Payment {
                intent_id: Some("pi_1".into()),
                status: PaymentStatus::Authorized,
                authorized_minor: 100,
                ..Payment::default()
            },
        );
        let (payment, trigger) =
            recorded(order.decide_payment(&report(PaymentOutcome::Voided, "pi_1", 0), None));
        assert_eq!(payment.status, PaymentStatus::Voided);
        assert_eq!(trigger, Some(OrderTrigger::PaymentVoided));
        // A superseded payment being cancelled is nothing to this order.
        assert!(matches!(
            order.decide_payment(&report(PaymentOutcome::Voided, "pi_old", 0), None),
            PaymentDecision::Ignore(_)
        ));
    }

    #[test]
    fn refunds_report_the_total_and_move_the_order_partly_then_fully() {
        let order = with_payment(S::Paid, captured("pi_1", 5000));
        let (partly, trigger) =
            recorded(order.decide_payment(&report(PaymentOutcome::Refunded, "pi_1", 2000), None));
        assert_eq!(partly.refunded_minor, 2000);
        assert_eq!(trigger, Some(OrderTrigger::PartlyRefunded));
        let order = with_payment(S::PartiallyRefunded, partly);
        let (fully, trigger) =
            recorded(order.decide_payment(&report(PaymentOutcome::Refunded, "pi_1", 5000), None));
        assert_eq!(fully.refunded_minor, 5000);
        assert_eq!(trigger, Some(OrderTrigger::Refunded));
        // An older total arriving late lowers nothing.
        assert!(matches!(
            with_payment(S::Refunded, fully)
                .decide_payment(&report(PaymentOutcome::Refunded, "pi_1", 2000), None),
            PaymentDecision::Ignore(_)
        ));
    }

    #[test]
    fn an_expired_checkout_page_expires_the_order_only_if_it_was_the_newest() {
        let expired = PaymentReport {
            checkout_session_id: Some("cs_1".into()),
            ..report(PaymentOutcome::CheckoutExpired, "", 0)
        };
        let order = order_in(S::PendingPayment);
        assert_eq!(
            recorded(order.decide_payment(&expired, Some("cs_1"))).1,
            Some(OrderTrigger::ReservationExpired)
        );
        assert!(matches!(
            order.decide_payment(&expired, Some("cs_2")),
            PaymentDecision::Ignore(_)
        ));
        assert!(matches!(
            order.decide_payment(&expired, None),
            PaymentDecision::Ignore(_)
        ));
    }

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
            status: PaymentStatus::Authorized,
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
    fn capture_happens_at_authorization_or_at_the_first_shipment() {
        assert!(CapturePolicy::OnAuthorization.captures_on_reaching(S::PaymentAuthorized));
        assert!(!CapturePolicy::OnAuthorization.captures_on_reaching(S::Shipped));
        assert!(CapturePolicy::OnShipment.captures_on_reaching(S::PartiallyShipped));
        assert!(CapturePolicy::OnShipment.captures_on_reaching(S::Shipped));
        assert!(!CapturePolicy::OnShipment.captures_on_reaching(S::PaymentAuthorized));
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
    fn reports_of_one_payment(captured: i64) -> impl Strategy<Value = Vec<PaymentReport>> {
        let one = prop_oneof![
            Just(report(PaymentOutcome::Authorized, "pi_1", captured)),
            Just(report(PaymentOutcome::Captured, "pi_1", captured)),
            Just(report(PaymentOutcome::Failed, "pi_1", captured)),
            (1..=captured).prop_map(move |total| PaymentReport {
                fully_refunded: total == captured,
                ..report(PaymentOutcome::Refunded, "pi_1", total)
            }),
        ];
        proptest::collection::vec(one, 1..10)
    }

    /// Applies reports as order-status does: a report that must wait is
    /// delivered again after the others, until nothing changes.
    fn apply_all(reports: &[PaymentReport]) -> Order {
        let mut order = order_in(S::PendingPayment);
        let mut pending: Vec<PaymentReport> = reports.to_vec();
        loop {
            let mut waiting = Vec::new();
            for report in &pending {
                match order.decide_payment(report, None) {
                    PaymentDecision::Record { payment, trigger } => {
                        if let Some(trigger) = trigger {
                            order.status = order.status.transition(trigger).unwrap();
                        }
                        order.payment = payment;
                    }
                    PaymentDecision::NotYet(_) => waiting.push(report.clone()),
                    PaymentDecision::Ignore(_) | PaymentDecision::GiveBack { .. } => {}
                }
            }
            if waiting.is_empty() || waiting.len() == pending.len() {
                return order;
            }
            pending = waiting;
        }
    }

    proptest! {
        /// Whatever order one payment's reports arrive in, and however often,
        /// the order ends in the same status with the same money: captured
        /// once any capture came, refunded as the largest total reported.
        #[test]
        fn reports_for_one_payment_converge_in_any_order(
            (reports, shuffled) in (1i64..10_000).prop_flat_map(reports_of_one_payment)
                .prop_flat_map(|reports| (Just(reports.clone()), Just(reports).prop_shuffle()))
        ) {
            let first = apply_all(&reports);
            let second = apply_all(&shuffled);
            prop_assert_eq!(&first.payment, &second.payment);
            prop_assert_eq!(first.status, second.status);
            let largest = |outcome: PaymentOutcome| {
                reports.iter().filter(|r| r.outcome == outcome).map(|r| r.amount_minor).max()
            };
            match largest(PaymentOutcome::Captured) {
                Some(captured) => {
                    prop_assert_eq!(first.payment.captured_minor, captured);
                    prop_assert_eq!(first.payment.refunded_minor, largest(PaymentOutcome::Refunded).unwrap_or(0));
                }
                None => prop_assert_eq!(first.payment.refunded_minor, 0),
            }
            prop_assert!(first.payment.refundable_minor() >= 0);
        }
    }
}
