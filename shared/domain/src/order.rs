//! Products as the catalog sells them, and orders as checkout places them.

use crate::ids::{CustomerId, Email, OrderId, Quantity, ShippingAddress, Sku, WarehouseId};
use crate::money::{Currency, Money};
use crate::payment::Payment;
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

/// Where an order is in its life. Checkout creates orders in `PendingPayment`;
/// `lifecycle` says which status may follow which.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrderStatus {
    Draft,
    PendingPayment,
    PaymentAuthorized,
    Paid,
    Processing,
    PartiallyShipped,
    Shipped,
    Delivered,
    Cancelled,
    Expired,
    PaymentFailed,
    Refunded,
    PartiallyRefunded,
}

impl OrderStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Draft => "draft",
            Self::PendingPayment => "pending_payment",
            Self::PaymentAuthorized => "payment_authorized",
            Self::Paid => "paid",
            Self::Processing => "processing",
            Self::PartiallyShipped => "partially_shipped",
            Self::Shipped => "shipped",
            Self::Delivered => "delivered",
            Self::Cancelled => "cancelled",
            Self::Expired => "expired",
            Self::PaymentFailed => "payment_failed",
            Self::Refunded => "refunded",
            Self::PartiallyRefunded => "partially_refunded",
        }
    }

    /// The EventBridge detail-type announcing that an order reached this status.
    pub fn event_name(self) -> &'static str {
        match self {
            Self::Draft => "order.drafted",
            Self::PendingPayment => "order.submitted",
            Self::PaymentAuthorized => "order.payment_authorized",
            Self::Paid => "order.paid",
            Self::Processing => "order.processing",
            Self::PartiallyShipped => "order.partially_shipped",
            Self::Shipped => "order.shipped",
            Self::Delivered => "order.delivered",
            Self::Cancelled => "order.cancelled",
            Self::Expired => "order.expired",
            Self::PaymentFailed => "order.payment_failed",
            Self::Refunded => "order.refunded",
            Self::PartiallyRefunded => "order.partially_refunded",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|status| status.as_str() == raw)
    }

    pub const ALL: [OrderStatus; 13] = [
        Self::Draft,
        Self::PendingPayment,
        Self::PaymentAuthorized,
        Self::Paid,
        Self::Processing,
        Self::PartiallyShipped,
        Self::Shipped,
        Self::Delivered,
        Self::Cancelled,
        Self::Expired,
        Self::PaymentFailed,
        Self::Refunded,
        Self::PartiallyRefunded,
    ];
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
    pub status: OrderStatus,
    pub currency: Currency,
    pub lines: Vec<OrderLine>,
    pub totals: OrderTotals,
    pub email: Email,
    pub shipping_address: ShippingAddress,
    pub created_at: Timestamp,
    pub reservation_expires_at: Timestamp,
    /// The money behind the order, as the payment provider reported it.
    pub payment: Payment,
    /// Optimistic-locking counter: every update is conditional on it.
    pub version: u64,
}

impl Order {
    pub fn is_owned_by(&self, customer: &CustomerId) -> bool {
        &self.customer_id == customer
    }
}

#[cfg(test)]
pub(crate) mod test_support {
    use super::*;
    use crate::ids::{CustomerId, Email, OrderId, ShippingAddress};

    /// An empty euro order by `ada` in `status`, for rules that look at
    /// little else.
    pub(crate) fn order_in(status: OrderStatus) -> Order {
        let eur = Currency::parse("EUR").unwrap();
        let zero = Money::zero(eur.clone());
        Order {
            id: OrderId::from_ulid(ulid::Ulid::generate()),
            customer_id: CustomerId::parse("ada").unwrap(),
            status,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_status_round_trips_through_its_name() {
        for status in OrderStatus::ALL {
            assert_eq!(OrderStatus::parse(status.as_str()), Some(status));
            let json = serde_json::to_string(&status).unwrap();
            assert_eq!(json, format!("\"{}\"", status.as_str()));
        }
        assert_eq!(OrderStatus::parse("lost"), None);
    }
}
