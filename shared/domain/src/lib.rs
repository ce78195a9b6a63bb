//! shopflow's business language: money, catalog, stock, carts, orders and the
//! events they raise. Pure types and rules only: no AWS, no I/O, no clock.
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

pub mod availability;
pub mod backorder;
pub mod checkout;
pub mod country;
pub mod events;
pub mod ids;
pub mod inventory;
pub mod invoice;
pub mod lifecycle;
pub mod money;
pub mod movement;
pub mod notification;
pub mod order;
pub mod payment;
pub mod polling;
pub mod reports;
pub mod shipment;
pub mod status;
pub mod stock_move;
pub mod time;
pub mod tracking;
pub mod waitlist;

pub use backorder::{
    Allotment, Backorder, BackorderFigures, BackorderFilter, BackorderId, BackorderOffer,
    BackorderPage, BackorderSettings, BackorderSort, BackorderStatus, SettingsError, Standing,
    allot, page_of, standing,
};
pub use checkout::{
    Allocation, Backorders, CartLine, CheckoutError, CheckoutPolicy, PricedCart, Shortage, Stock,
    ValidatedCheckout,
};
pub use ids::{CustomerId, Email, OrderId, Quantity, ShippingAddress, Sku, WarehouseId};
pub use inventory::{AdjustReason, StockError, StockLevel};
pub use lifecycle::{Actor, CancelError};
pub use money::{Currency, Money, MoneyError};
pub use movement::{LevelChange, LowStock, Movement, MovementCause, MovementNote};
pub use order::{
    BackorderState, CancelRefund, LineBackorder, Order, OrderLine, OrderTotals, Product,
};
pub use payment::{
    CapturePolicy, CaptureState, Payment, PaymentAttempt, PaymentOutcome, PaymentReport, Refund,
    RefundError, RefundStatus, Settlement,
};
pub use polling::{Budget, RateLimit};
pub use reports::{GiveBackReason, PaymentDecision};
pub use shipment::{
    ShipError, Shipment, ShipmentFigures, ShipmentId, ShipmentStanding, ShippedLine, Shipping,
    Tracked,
};
pub use status::{
    FulfillmentStatus, IllegalTransition, Machine, OrderState, OrderStatus, OrderTrigger,
    PaymentStatus,
};
pub use stock_move::{MoveError, Moved, StockMove};
pub use time::Timestamp;
pub use tracking::{
    Carrier, Journey, JourneyUpdate, TrackedBy, TrackingEvent, TrackingNumber, TrackingStatus,
};
