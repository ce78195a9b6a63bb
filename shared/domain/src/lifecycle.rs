//! Who may move an order, and the rules for cancelling it. Which state may
//! follow which is [`crate::status`]'s to say.

use crate::ids::CustomerId;
use crate::order::Order;
use crate::status::{FulfillmentStatus, IllegalTransition, OrderState, OrderTrigger};

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
    #[error("goods of this order are {}: its customer can no longer cancel it", .0.as_str())]
    TooLateForCustomer(FulfillmentStatus),
    #[error("staff must give a reason to cancel an order")]
    ReasonRequired,
    #[error(transparent)]
    Illegal(#[from] IllegalTransition),
}

impl Order {
    /// The state cancelling this order leads to, if `actor` may cancel it
    /// now: customers before anything ships, staff (with a reason) until it
    /// is delivered. Money behind the order is given back after the cancel
    /// (see [`crate::payment::Settlement`]).
    pub fn check_cancel(
        &self,
        actor: &Actor,
        reason: Option<&str>,
    ) -> Result<OrderState, CancelError> {
        let next = self.state().apply(OrderTrigger::Cancelled)?;
        match actor {
            Actor::Customer(_) if !self.fulfillment_status.is_before_shipment() => {
                return Err(CancelError::TooLateForCustomer(self.fulfillment_status));
            }
            Actor::Admin(_) if reason.is_none_or(|r| r.trim().is_empty()) => {
                return Err(CancelError::ReasonRequired);
            }
            _ => {}
        }
        Ok(next)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::order::test_support::order_in;
    use crate::payment::{CaptureState, Payment};
    use crate::status::OrderStatus as S;

    fn confirmed(fulfillment_status: FulfillmentStatus) -> Order {
        Order {
            fulfillment_status,
            payment: Payment {
                intent_id: Some("pi_1".into()),
                status: CaptureState::Captured,
                captured_minor: 100,
                authorized_minor: 100,
                ..Payment::default()
            },
            ..order_in(S::Confirmed)
        }
    }

    #[test]
    fn customers_cancel_until_goods_ship_and_staff_need_a_reason() {
        let customer = Actor::Customer(CustomerId::parse("ada").unwrap());
        let admin = Actor::Admin(CustomerId::parse("ops").unwrap());
        for order in [
            order_in(S::PendingPayment),
            order_in(S::Draft),
            confirmed(FulfillmentStatus::Unfulfilled),
            confirmed(FulfillmentStatus::AwaitingStock),
        ] {
            assert_eq!(
                order.check_cancel(&customer, None).map(|s| s.status),
                Ok(S::Cancelled)
            );
            assert_eq!(
                order.check_cancel(&admin, None),
                Err(CancelError::ReasonRequired)
            );
            assert_eq!(
                order.check_cancel(&admin, Some("fraud")).map(|s| s.status),
                Ok(S::Cancelled)
            );
        }
        let shipped = confirmed(FulfillmentStatus::Shipped);
        assert_eq!(
            shipped.check_cancel(&customer, None),
            Err(CancelError::TooLateForCustomer(FulfillmentStatus::Shipped))
        );
        // Staff may still call goods in transit back.
        assert_eq!(
            shipped
                .check_cancel(&admin, Some("lost in transit"))
                .map(|s| s.status),
            Ok(S::Cancelled)
        );
        for closed in [
            order_in(S::Completed),
            order_in(S::Cancelled),
            order_in(S::Expired),
        ] {
            assert!(matches!(
                closed.check_cancel(&admin, Some("x")),
                Err(CancelError::Illegal(_))
            ));
        }
    }

    #[test]
    fn cancelling_keeps_the_money_and_goods_as_they_are() {
        let admin = Actor::Admin(CustomerId::parse("ops").unwrap());
        let order = confirmed(FulfillmentStatus::PartiallyShipped);
        let next = order.check_cancel(&admin, Some("customer asked")).unwrap();
        assert_eq!(next.payment_status, order.state().payment_status);
        assert_eq!(next.fulfillment_status, FulfillmentStatus::PartiallyShipped);
    }
}
