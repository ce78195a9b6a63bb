//! Products as the catalog sells them, and orders as checkout places them.

use crate::ids::{CustomerId, Email, OrderId, Quantity, ShippingAddress, Sku, WarehouseId};
use crate::money::{Currency, Money};
use crate::payment::Payment;
use crate::status::{FulfillmentStatus, OrderState, OrderStatus};
use crate::time::Timestamp;
use serde::{Deserialize, Serialize};

/// A catalog entry: what a SKU is called and what one unit costs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Product {
    pub sku: Sku,
    pub name: String,
    pub price: Money,
    pub active: bool,
}

impl Product {
    pub const MAX_NAME_CHARS: usize = 200;
}

/// One SKU on an order, priced when the order was placed, and the warehouse
/// whose stock is reserved for it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderLine {
    pub sku: Sku,
    pub name: String,
    pub quantity: Quantity,
    pub unit_price: Money,
    pub line_total: Money,
    pub warehouse: WarehouseId,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderTotals {
    pub subtotal: Money,
    pub tax: Money,
    pub shipping: Money,
    pub grand_total: Money,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Order {
    pub id: OrderId,
    pub customer_id: CustomerId,
    /// Its lifecycle; its money and goods have states of their own.
    pub status: OrderStatus,
    pub fulfillment_status: FulfillmentStatus,
    pub currency: Currency,
    pub lines: Vec<OrderLine>,
    pub totals: OrderTotals,
    pub email: Email,
    pub shipping_address: ShippingAddress,
    pub created_at: Timestamp,
    pub reservation_expires_at: Timestamp,
    /// The money behind the order, as the payment provider reported it; the
    /// order's payment status is derived from it.
    pub payment: Payment,
    /// Optimistic-locking counter: every update is conditional on it.
    pub version: u64,
}

impl Order {
    pub fn is_owned_by(&self, customer: &CustomerId) -> bool {
        &self.customer_id == customer
    }

    /// Whether `payment_id` is the payment this order keeps: bound to it,
    /// holding money, and the order not cancelled.
    pub fn holds_payment(&self, payment_id: &str) -> bool {
        self.status != OrderStatus::Cancelled
            && self.payment.holds_money()
            && self.payment.intent_id.as_deref() == Some(payment_id)
    }

    /// Its lifecycle, money and goods as they stand.
    pub fn state(&self) -> OrderState {
        OrderState {
            status: self.status,
            payment_status: self.payment.payment_status(),
            fulfillment_status: self.fulfillment_status,
        }
    }
}

#[cfg(test)]
pub(crate) mod test_support {
    use super::*;
    use crate::ids::{CustomerId, Email, OrderId, ShippingAddress};

    /// An empty euro order by `ada` in `status`, nothing shipped and no
    /// money reported, for rules that look at little else.
    pub(crate) fn order_in(status: OrderStatus) -> Order {
        let eur = Currency::parse("EUR").unwrap();
        let zero = Money::zero(eur.clone());
        Order {
            id: OrderId::from_ulid(ulid::Ulid::generate()),
            customer_id: CustomerId::parse("ada").unwrap(),
            status,
            fulfillment_status: FulfillmentStatus::Unfulfilled,
            currency: eur,
            lines: Vec::new(),
            totals: OrderTotals {
                subtotal: zero.clone(),
                tax: zero.clone(),
                shipping: zero.clone(),
                grand_total: zero,
            },
            email: Email::parse("ada@example.com").unwrap(),
            shipping_address: ShippingAddress {
                name: "Ada".into(),
                line1: "1 Way".into(),
                line2: None,
                city: "London".into(),
                region: None,
                postal_code: "N1".into(),
                country: "GB".into(),
            },
            created_at: Timestamp::from_millis(0),
            reservation_expires_at: Timestamp::from_millis(0),
            payment: Payment::default(),
            version: 1,
        }
    }
}
