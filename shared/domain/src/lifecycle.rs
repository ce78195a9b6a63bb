//! The order state machine: the one place that says which status may follow
//! which, and why. Every status change anywhere goes through
//! [`OrderStatus::transition`].

use crate::ids::CustomerId;
use crate::order::{Order, OrderStatus};
use serde::{Deserialize, Serialize};

/// Something that happened to an order and may move its status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrderTrigger {
    /// A draft was submitted at checkout.
    Submitted,
    /// The payment provider holds the amount (manual capture).
    PaymentAuthorized,
    /// The money is ours: captured, or paid in one step.
    PaymentCaptured,
    PaymentFailed,
    /// The provider released an authorization before it was captured.
    PaymentVoided,
    /// Fulfilment began picking the order.
    FulfillmentStarted,
    /// Some, not all, lines left the warehouse.
    PartlyShipped,
    /// Every line left the warehouse.
    Shipped,
    Delivered,
    Cancelled,
    /// The stock reservation lapsed before payment.
    ReservationExpired,
    /// Part of the captured amount went back to the customer.
    PartlyRefunded,
    /// All of the captured amount went back to the customer.
    Refunded,
}

impl OrderTrigger {
    pub const ALL: [OrderTrigger; 13] = [
        Self::Submitted,
        Self::PaymentAuthorized,
        Self::PaymentCaptured,
        Self::PaymentFailed,
        Self::PaymentVoided,
        Self::FulfillmentStarted,
        Self::PartlyShipped,
        Self::Shipped,
        Self::Delivered,
        Self::Cancelled,
        Self::ReservationExpired,
        Self::PartlyRefunded,
        Self::Refunded,
    ];
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("an order that is {} cannot become {:?}", from.as_str(), trigger)]
pub struct IllegalTransition {
    pub from: OrderStatus,
    pub trigger: OrderTrigger,
}

impl OrderStatus {
    /// The status after `trigger`, or why it cannot happen now.
    pub fn transition(self, trigger: OrderTrigger) -> Result<OrderStatus, IllegalTransition> {
        use OrderStatus as S;
        use OrderTrigger as T;
        let next = match (self, trigger) {
            (S::Draft, T::Submitted) => S::PendingPayment,
            (S::Draft, T::Cancelled) => S::Cancelled,

            // Unpaid: the customer may pay (even after a failed attempt), give up, or run out of time.
            (S::PendingPayment | S::PaymentFailed, T::PaymentAuthorized) => S::PaymentAuthorized,
            (S::PendingPayment | S::PaymentFailed, T::PaymentCaptured) => S::Paid,
            (S::PendingPayment, T::PaymentFailed) => S::PaymentFailed,
            (S::PendingPayment | S::PaymentFailed, T::Cancelled) => S::Cancelled,
            (S::PendingPayment | S::PaymentFailed, T::ReservationExpired) => S::Expired,

            // A payment that arrives after the reservation lapsed revives the
            // order, if its stock can be reserved again (the store makes that
            // part of the same change and refuses it when the stock is gone).
            (S::Expired, T::PaymentAuthorized) => S::PaymentAuthorized,
            (S::Expired, T::PaymentCaptured) => S::Paid,

            // Authorized: capture now or at shipment; cancelling voids the hold.
            (S::PaymentAuthorized, T::PaymentCaptured) => S::Paid,
            // A hold released before capture (it lapsed, or was cancelled at the
            // provider): the customer has to pay again before the stock lapses.
            (S::PaymentAuthorized, T::PaymentVoided) => S::PaymentFailed,
            (S::PaymentAuthorized | S::Paid, T::FulfillmentStarted) => S::Processing,
            (S::PaymentAuthorized | S::Paid | S::Processing, T::Cancelled) => S::Cancelled,

            // Goods in transit can still be called back by staff.
            (S::PartiallyShipped | S::Shipped, T::Cancelled) => S::Cancelled,

            (S::Processing | S::PartiallyShipped, T::PartlyShipped) => S::PartiallyShipped,
            (S::Processing | S::PartiallyShipped, T::Shipped) => S::Shipped,
            (S::Shipped, T::Delivered) => S::Delivered,

            // Refunds follow money we hold.
            (S::Paid | S::Delivered | S::PartiallyRefunded, T::PartlyRefunded) => {
                S::PartiallyRefunded
            }
            (S::Paid | S::Delivered | S::PartiallyRefunded, T::Refunded) => S::Refunded,

            (from, trigger) => return Err(IllegalTransition { from, trigger }),
        };
        Ok(next)
    }

    /// No trigger moves an order out of these.
    pub fn is_final(self) -> bool {
        OrderTrigger::ALL
            .iter()
            .all(|trigger| self.transition(*trigger).is_err())
    }

    /// Whether the order still holds reserved stock awaiting payment.
    pub fn holds_unpaid_reservation(self) -> bool {
        matches!(self, Self::PendingPayment | Self::PaymentFailed)
    }
}

/// Who changed an order, as history records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Actor {
    Customer(CustomerId),
    Admin(CustomerId),
    /// A scheduled job or event consumer, by function name.
    System(&'static str),
}

impl Actor {
    pub fn label(&self) -> String {
        match self {
            Self::Customer(id) => format!("customer:{id}"),
            Self::Admin(id) => format!("admin:{id}"),
            Self::System(name) => format!("system:{name}"),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CancelError {
    #[error("a {} order can no longer be cancelled by its customer", .0.as_str())]
    TooLateForCustomer(OrderStatus),
    #[error("staff must give a reason to cancel an order")]
    ReasonRequired,
    #[error(transparent)]
    Illegal(#[from] IllegalTransition),
}

impl Order {
    /// Whether `actor` may cancel this order now: customers before fulfilment
    /// starts, staff (with a reason) until delivery. Money behind the order
    /// is given back after the cancel (see [`crate::payment::Settlement`]).
    pub fn check_cancel(
        &self,
        actor: &Actor,
        reason: Option<&str>,
    ) -> Result<OrderStatus, CancelError> {
        let next = self.status.transition(OrderTrigger::Cancelled)?;
        match actor {
            Actor::Customer(_) if !self.status.is_before_fulfilment() => {
                return Err(CancelError::TooLateForCustomer(self.status));
            }
            Actor::Admin(_) if reason.is_none_or(|r| r.trim().is_empty()) => {
                return Err(CancelError::ReasonRequired);
            }
            _ => {}
        }
        Ok(next)
    }
}

impl OrderStatus {
    fn is_before_fulfilment(self) -> bool {
        matches!(
            self,
            Self::Draft
                | Self::PendingPayment
                | Self::PaymentFailed
                | Self::PaymentAuthorized
                | Self::Paid
        )
    }

    /// Still moving: not delivered, cancelled, expired (a late payment can
    /// still revive it, but nothing else moves it) or refunded.
    pub fn is_open(self) -> bool {
        !self.is_final()
            && !matches!(
                self,
                Self::Delivered | Self::PartiallyRefunded | Self::Expired
            )
    }

    /// Reserved stock stands behind the order: from checkout until it ships,
    /// lapses or is cancelled.
    pub fn holds_reserved_stock(self) -> bool {
        matches!(
            self,
            Self::PendingPayment
                | Self::PaymentFailed
                | Self::PaymentAuthorized
                | Self::Paid
                | Self::Processing
        )
    }

    /// A late payment revives an expired order: its stock must be reserved again.
    pub fn reacquires_reservations(self, to: OrderStatus) -> bool {
        self == Self::Expired && to.holds_reserved_stock()
    }

    /// Cancelled and expired orders give their reserved stock back.
    pub fn releases_reservations(self) -> bool {
        matches!(self, Self::Cancelled | Self::Expired)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::order::test_support::order_in;
    use OrderStatus as S;
    use OrderTrigger as T;
    use proptest::prelude::*;

    /// The whole table, written out: every (status, trigger) pair not listed is illegal.
    const LEGAL: &[(OrderStatus, OrderTrigger, OrderStatus)] = &[
        (S::Draft, T::Submitted, S::PendingPayment),
        (S::Draft, T::Cancelled, S::Cancelled),
        (
            S::PendingPayment,
            T::PaymentAuthorized,
            S::PaymentAuthorized,
        ),
        (S::PendingPayment, T::PaymentCaptured, S::Paid),
        (S::PendingPayment, T::PaymentFailed, S::PaymentFailed),
        (S::PendingPayment, T::Cancelled, S::Cancelled),
        (S::PendingPayment, T::ReservationExpired, S::Expired),
        (S::PaymentFailed, T::PaymentAuthorized, S::PaymentAuthorized),
        (S::PaymentFailed, T::PaymentCaptured, S::Paid),
        (S::PaymentFailed, T::Cancelled, S::Cancelled),
        (S::PaymentFailed, T::ReservationExpired, S::Expired),
        (S::Expired, T::PaymentAuthorized, S::PaymentAuthorized),
        (S::Expired, T::PaymentCaptured, S::Paid),
        (S::PaymentAuthorized, T::PaymentCaptured, S::Paid),
        (S::PaymentAuthorized, T::PaymentVoided, S::PaymentFailed),
        (S::PaymentAuthorized, T::FulfillmentStarted, S::Processing),
        (S::PaymentAuthorized, T::Cancelled, S::Cancelled),
        (S::Paid, T::FulfillmentStarted, S::Processing),
        (S::Paid, T::Cancelled, S::Cancelled),
        (S::Paid, T::PartlyRefunded, S::PartiallyRefunded),
        (S::Paid, T::Refunded, S::Refunded),
        (S::Processing, T::Cancelled, S::Cancelled),
        (S::Processing, T::PartlyShipped, S::PartiallyShipped),
        (S::Processing, T::Shipped, S::Shipped),
        (S::PartiallyShipped, T::PartlyShipped, S::PartiallyShipped),
        (S::PartiallyShipped, T::Shipped, S::Shipped),
        (S::PartiallyShipped, T::Cancelled, S::Cancelled),
        (S::Shipped, T::Cancelled, S::Cancelled),
        (S::Shipped, T::Delivered, S::Delivered),
        (S::Delivered, T::PartlyRefunded, S::PartiallyRefunded),
        (S::Delivered, T::Refunded, S::Refunded),
        (
            S::PartiallyRefunded,
            T::PartlyRefunded,
            S::PartiallyRefunded,
        ),
        (S::PartiallyRefunded, T::Refunded, S::Refunded),
    ];

    #[test]
    fn every_status_and_trigger_pair_is_legal_exactly_as_the_table_says() {
        for from in OrderStatus::ALL {
            for trigger in OrderTrigger::ALL {
                let expected = LEGAL
                    .iter()
                    .find(|(f, t, _)| *f == from && *t == trigger)
                    .map(|(_, _, to)| *to);
                match (from.transition(trigger), expected) {
                    (Ok(to), Some(want)) => assert_eq!(to, want, "{from:?} + {trigger:?}"),
                    (Err(error), None) => assert_eq!(error, IllegalTransition { from, trigger }),
                    (got, want) => {
                        panic!("{from:?} + {trigger:?}: got {got:?}, table says {want:?}")
                    }
                }
            }
        }
    }

    #[test]
    fn cancelled_and_refunded_orders_are_final() {
        let finals: Vec<_> = OrderStatus::ALL
            .into_iter()
            .filter(|s| s.is_final())
            .collect();
        assert_eq!(finals, [S::Cancelled, S::Refunded]);
    }

    #[test]
    fn only_unpaid_orders_hold_reservations_that_can_lapse() {
        for status in OrderStatus::ALL {
            assert_eq!(
                status.holds_unpaid_reservation(),
                status.transition(T::ReservationExpired).is_ok()
            );
        }
    }

    #[test]
    fn customers_cancel_unpaid_orders_and_staff_need_a_reason() {
        let customer = Actor::Customer(CustomerId::parse("ada").unwrap());
        let admin = Actor::Admin(CustomerId::parse("ops").unwrap());
        for status in [S::PendingPayment, S::PaymentFailed, S::Draft] {
            assert_eq!(
                order_in(status).check_cancel(&customer, None),
                Ok(S::Cancelled)
            );
            assert_eq!(
                order_in(status).check_cancel(&admin, None),
                Err(CancelError::ReasonRequired)
            );
            assert_eq!(
                order_in(status).check_cancel(&admin, Some("fraud")),
                Ok(S::Cancelled)
            );
        }
        assert_eq!(
            order_in(S::Shipped).check_cancel(&customer, None),
            Err(CancelError::TooLateForCustomer(S::Shipped))
        );
        assert!(matches!(
            order_in(S::Delivered).check_cancel(&admin, Some("x")),
            Err(CancelError::Illegal(_))
        ));
        assert!(matches!(
            order_in(S::Cancelled).check_cancel(&customer, None),
            Err(CancelError::Illegal(_))
        ));
    }

    #[test]
    fn orders_holding_money_can_be_cancelled_and_their_money_goes_back_afterwards() {
        let admin = Actor::Admin(CustomerId::parse("ops").unwrap());
        for status in [S::PaymentAuthorized, S::Paid, S::Processing, S::Shipped] {
            assert_eq!(
                order_in(status).check_cancel(&admin, Some("customer asked")),
                Ok(S::Cancelled)
            );
        }
    }

    proptest! {
        #[test]
        fn random_triggers_only_ever_reach_legal_states(
            triggers in proptest::collection::vec(proptest::sample::select(OrderTrigger::ALL.to_vec()), 0..60)
        ) {
            let mut status = S::PendingPayment;
            let mut history = Vec::new();
            for trigger in triggers {
                if let Ok(next) = status.transition(trigger) {
                    prop_assert!(LEGAL.contains(&(status, trigger, next)));
                    history.push((status, trigger, next));
                    status = next;
                }
            }
            // History replays to the final status: each entry starts where the last ended.
            let mut replayed = S::PendingPayment;
            for (from, trigger, to) in &history {
                prop_assert_eq!(*from, replayed);
                replayed = from.transition(*trigger).unwrap();
                prop_assert_eq!(replayed, *to);
            }
            prop_assert_eq!(replayed, status);
        }
    }
}
