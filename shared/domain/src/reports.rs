//! What a payment provider's report means for an order: money it records
//! (moving the order's payment status, and its lifecycle where the rules in
//! [`crate::status`] say so), money it must give back, or nothing new.

use crate::order::Order;
use crate::payment::{CaptureState, Payment, PaymentOutcome, PaymentReport};
use crate::status::{OrderStatus, OrderTrigger};

/// Why money that reached an order has to go back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GiveBackReason {
    /// The order was cancelled before the money came.
    OrderClosed(OrderStatus),
    /// Another payment already holds the order's money.
    AlreadyPaidBy(String),
    /// Paid after the reservation lapsed, and the stock is gone.
    StockGone,
    /// Paid after the reservation lapsed, and the order's backorders left
    /// the queue with it: their places went to the customers behind.
    BackordersLapsed,
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
            Self::BackordersLapsed => {
                "paid after the reservation lapsed, and its backorders left the queue".into()
            }
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
                if current.holds_money() || self.is_closed_to_money() {
                    return PaymentDecision::Ignore(
                        "a payment already holds the order's money, or the order is closed",
                    );
                }
                let mut next = current.clone();
                next.status = CaptureState::Failed;
                next.failure_code.clone_from(&report.failure_code);
                (next, OrderTrigger::PaymentFailed)
            }
            PaymentOutcome::Voided => {
                if !ours || current.status != CaptureState::Authorized {
                    return PaymentDecision::Ignore("not a hold this order relies on");
                }
                let mut next = current.clone();
                next.status = CaptureState::Voided;
                (next, OrderTrigger::PaymentVoided)
            }
            PaymentOutcome::Refunded => {
                let gave_back = !ours
                    && (current.holds_money()
                        || self.is_closed_to_money()
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
        if ours && !captured && current.status == CaptureState::Voided {
            // An authorization overtaken by its own release: the hold is gone.
            return PaymentDecision::Ignore("the hold was released already");
        }
        let already_known = ours
            && if captured {
                current.status == CaptureState::Captured
                    && current.captured_minor >= report.amount_minor
            } else {
                current.holds_money() && current.authorized_minor >= report.amount_minor
            };
        if already_known && self.is_closed_to_money() {
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
            next.status = CaptureState::Captured;
            OrderTrigger::PaymentCaptured
        } else {
            if next.status != CaptureState::Captured {
                next.status = CaptureState::Authorized;
            }
            OrderTrigger::PaymentAuthorized
        };
        if self.is_closed_to_money() {
            // Recorded as it stands, so the same money reported again is
            // known; and given back.
            return PaymentDecision::GiveBack {
                reason: GiveBackReason::OrderClosed(self.status),
                record: Some(next),
            };
        }
        if self.status == OrderStatus::Expired && self.was_backordered() {
            return PaymentDecision::GiveBack {
                reason: GiveBackReason::BackordersLapsed,
                record: Some(next),
            };
        }
        self.record(next, trigger)
    }

    /// `payment` recorded, announced as `trigger` when the trigger may
    /// happen to the order now (a second partial refund is announced even
    /// though the payment status stays the same). A report that changes
    /// neither the money nor the state (a repeat of a refund already
    /// recorded, say) is nothing new.
    fn record(&self, payment: Payment, trigger: OrderTrigger) -> PaymentDecision {
        let before = self.state();
        let after = before.apply(trigger).ok();
        if payment == self.payment && after.is_none_or(|after| after == before) {
            return PaymentDecision::Ignore("nothing new: already recorded");
        }
        PaymentDecision::Record {
            payment,
            trigger: after.map(|_| trigger),
        }
    }

    /// A cancelled order takes no new money: what reaches it goes back.
    fn is_closed_to_money(&self) -> bool {
        self.status == OrderStatus::Cancelled
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::order::test_support::order_in;
    use crate::payment::test_support::captured;
    use crate::status::{FulfillmentStatus, PaymentStatus};
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
        assert_eq!(payment.status, CaptureState::Authorized);
        assert_eq!(payment.authorized_minor, 4495);
        assert_eq!(trigger, Some(OrderTrigger::PaymentAuthorized));
    }

    #[test]
    fn a_capture_after_shipment_moves_only_the_money() {
        let mut order = with_payment(
            S::Confirmed,
            Payment {
                intent_id: Some("pi_1".into()),
                status: CaptureState::Authorized,
                authorized_minor: 4495,
                ..Payment::default()
            },
        );
        order.fulfillment_status = FulfillmentStatus::Shipped;
        let (payment, trigger) =
            recorded(order.decide_payment(&report(PaymentOutcome::Captured, "pi_1", 4495), None));
        assert_eq!(payment.status, CaptureState::Captured);
        assert_eq!(payment.captured_minor, 4495);
        assert_eq!(trigger, Some(OrderTrigger::PaymentCaptured));
        let after = order.state().apply(OrderTrigger::PaymentCaptured).unwrap();
        assert_eq!(after.status, S::Confirmed);
        assert_eq!(after.fulfillment_status, FulfillmentStatus::Shipped);
        assert_eq!(after.payment_status, PaymentStatus::Paid);
    }

    #[test]
    fn a_late_authorization_after_the_capture_changes_nothing() {
        let order = with_payment(S::Confirmed, captured("pi_1", 4495));
        assert_eq!(
            order.decide_payment(&report(PaymentOutcome::Authorized, "pi_1", 4495), None),
            PaymentDecision::Ignore("nothing new: already recorded")
        );
    }

    #[test]
    fn a_second_payment_for_a_paid_order_goes_back() {
        let order = with_payment(S::Confirmed, captured("pi_1", 4495));
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
        let status = S::Cancelled;
        let order = order_in(status);
        let decision = order.decide_payment(&report(PaymentOutcome::Captured, "pi_1", 10), None);
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
        // Its refund then moves the cancelled order's money.
        assert!(matches!(
            known.decide_payment(&report(PaymentOutcome::Refunded, "pi_1", 10), None),
            PaymentDecision::Record {
                trigger: Some(OrderTrigger::Refunded),
                ..
            }
        ));
    }

    #[test]
    fn a_late_payment_for_a_lapsed_backordered_order_goes_back() {
        let mut order = order_in(S::Expired);
        order
            .lines
            .push(crate::order::test_support::backordered_line(2, 1));

        let decision = order.decide_payment(&report(PaymentOutcome::Authorized, "pi_1", 200), None);

        let PaymentDecision::GiveBack {
            reason,
            record: Some(recorded),
        } = decision
        else {
            panic!("{decision:?}");
        };
        assert_eq!(reason, GiveBackReason::BackordersLapsed);
        assert_eq!(recorded.authorized_minor, 200);
        // Without backorders, the same late money revives the order.
        let plain = order_in(S::Expired);
        assert!(matches!(
            plain.decide_payment(&report(PaymentOutcome::Authorized, "pi_1", 200), None),
            PaymentDecision::Record { .. }
        ));
    }

    #[test]
    fn an_authorization_after_its_hold_was_released_changes_nothing() {
        let order = with_payment(
            S::PendingPayment,
            Payment {
                intent_id: Some("pi_1".into()),
                status: CaptureState::Voided,
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
        assert_eq!(payment.status, CaptureState::Failed);
        assert_eq!(payment.failure_code.as_deref(), Some("card_declined"));
        assert_eq!(trigger, Some(OrderTrigger::PaymentFailed));
        assert!(matches!(
            with_payment(S::Confirmed, captured("pi_1", 4495)).decide_payment(&declined, None),
            PaymentDecision::Ignore(_)
        ));
    }

    #[test]
    fn a_voided_hold_sends_a_confirmed_order_back_to_pending_payment() {
        let order = with_payment(
            S::Confirmed,
            Payment {
                intent_id: Some("pi_1".into()),
                status: CaptureState::Authorized,
                authorized_minor: 100,
                ..Payment::default()
            },
        );
        let (payment, trigger) =
            recorded(order.decide_payment(&report(PaymentOutcome::Voided, "pi_1", 0), None));
        assert_eq!(payment.status, CaptureState::Voided);
        assert_eq!(trigger, Some(OrderTrigger::PaymentVoided));
        let after = order.state().apply(OrderTrigger::PaymentVoided).unwrap();
        assert_eq!(after.status, S::PendingPayment);
        // A superseded payment being cancelled is nothing to this order.
        assert!(matches!(
            order.decide_payment(&report(PaymentOutcome::Voided, "pi_old", 0), None),
            PaymentDecision::Ignore(_)
        ));
    }

    #[test]
    fn refunds_report_the_total_and_move_the_order_partly_then_fully() {
        let order = with_payment(S::Confirmed, captured("pi_1", 5000));
        let (partly, trigger) =
            recorded(order.decide_payment(&report(PaymentOutcome::Refunded, "pi_1", 2000), None));
        assert_eq!(partly.refunded_minor, 2000);
        assert_eq!(trigger, Some(OrderTrigger::PartlyRefunded));
        let order = with_payment(S::Confirmed, partly);
        let (fully, trigger) =
            recorded(order.decide_payment(&report(PaymentOutcome::Refunded, "pi_1", 5000), None));
        assert_eq!(fully.refunded_minor, 5000);
        assert_eq!(trigger, Some(OrderTrigger::Refunded));
        // An older total arriving late lowers nothing.
        assert!(matches!(
            with_payment(S::Confirmed, fully)
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
                            let state = order.state().apply(trigger).unwrap();
                            order.status = state.status;
                            // The money machine and the money itself agree.
                            assert_eq!(state.payment_status, payment.payment_status());
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
