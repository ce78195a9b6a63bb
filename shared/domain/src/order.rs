//! Products as the catalog sells them, and orders as checkout places them.

use crate::backorder::{Backorder, BackorderId, BackorderStatus};
use crate::ids::{CustomerId, Email, OrderId, Quantity, ShippingAddress, Sku, WarehouseId};
use crate::money::{Currency, Money};
use crate::payment::{CapturePolicy, Payment};
use crate::status::{FulfillmentStatus, OrderState, OrderStatus, OrderTrigger};
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
/// whose stock is reserved for it; units it was short there wait in that
/// warehouse's backorder queue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderLine {
    pub sku: Sku,
    pub name: String,
    pub quantity: Quantity,
    pub unit_price: Money,
    pub line_total: Money,
    pub warehouse: WarehouseId,
    #[serde(default)]
    pub backorder: Option<LineBackorder>,
    /// Units that left the warehouse in its shipments.
    #[serde(default)]
    pub shipped: u32,
}

impl OrderLine {
    /// Units waiting for stock.
    pub fn backordered(&self) -> u32 {
        self.backorder
            .as_ref()
            .map_or(0, |backorder| backorder.waiting)
    }

    /// Units of its backorder taken out of the queue: never delivered.
    pub fn cancelled(&self) -> u32 {
        self.backorder
            .as_ref()
            .map_or(0, |backorder| backorder.cancelled)
    }

    /// Units the order still delivers: bought and not cancelled.
    pub fn kept(&self) -> u32 {
        self.quantity.get() - self.cancelled()
    }

    /// Units reserved for the order in its warehouse: kept, not waiting
    /// for stock, not shipped yet.
    pub fn reserved(&self) -> u32 {
        self.kept()
            .saturating_sub(self.backordered())
            .saturating_sub(self.shipped)
    }
}

/// The backorder of a line: its place in the queue and what still waits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct LineBackorder {
    pub id: BackorderId,
    pub priority: u8,
    /// Units backordered at checkout.
    pub quantity: u32,
    /// Units not allocated yet.
    pub waiting: u32,
    /// Units taken out of the queue before they were allocated.
    #[serde(default)]
    pub cancelled: u32,
    pub estimated_restock: Timestamp,
}

/// How much of an order waits for stock.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BackorderState {
    /// Every unit is reserved (or nothing was ever backordered).
    None,
    /// Some units wait, some are reserved.
    Partial,
    /// Every unit waits.
    Full,
}

impl BackorderState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Partial => "partial",
            Self::Full => "full",
        }
    }
}

/// What cancelled units give back, in minor units of the order's currency:
/// the shares the rule computed, and the amount refunded (the shares,
/// capped by what is still refundable).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct CancelRefund {
    pub goods_minor: i64,
    pub tax_minor: i64,
    pub shipping_minor: i64,
    pub amount_minor: i64,
}

/// `part / whole` of `total`, rounded half up, in integers.
fn share(total: i64, part: i64, whole: i64) -> i64 {
    if whole <= 0 {
        return 0;
    }
    let exact = i128::from(total) * i128::from(part);
    let whole = i128::from(whole);
    i64::try_from((2 * exact + whole) / (2 * whole)).unwrap_or(i64::MAX)
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

    /// How much of it waits for stock.
    pub fn backorder_state(&self) -> BackorderState {
        let waiting: u64 = self.lines.iter().map(|l| u64::from(l.backordered())).sum();
        let units: u64 = self.lines.iter().map(|l| u64::from(l.kept())).sum();
        match waiting {
            0 => BackorderState::None,
            w if w == units => BackorderState::Full,
            _ => BackorderState::Partial,
        }
    }

    /// Whether its checkout put any of it in a backorder queue.
    pub fn was_backordered(&self) -> bool {
        self.lines.iter().any(|line| line.backorder.is_some())
    }

    /// When its last waiting unit is expected, while any waits.
    pub fn estimated_fulfillment(&self) -> Option<Timestamp> {
        self.lines
            .iter()
            .filter(|line| line.backordered() > 0)
            .filter_map(|line| line.backorder.map(|b| b.estimated_restock))
            .max()
    }

    /// Its backorders as its lines know them, still waiting or not.
    pub fn backorders(&self) -> Vec<Backorder> {
        self.lines
            .iter()
            .filter_map(|line| {
                line.backorder
                    .map(|backorder| self.backorder_of(line, backorder))
            })
            .collect()
    }

    fn backorder_of(&self, line: &OrderLine, backorder: LineBackorder) -> Backorder {
        let allocated = backorder.quantity - backorder.waiting - backorder.cancelled;
        Backorder {
            id: backorder.id,
            order_id: self.id,
            customer_id: self.customer_id.clone(),
            sku: line.sku.clone(),
            warehouse: line.warehouse.clone(),
            quantity: backorder.quantity,
            allocated,
            status: match (backorder.waiting, allocated) {
                _ if backorder.cancelled > 0 => BackorderStatus::Cancelled,
                (0, _) => BackorderStatus::Fulfilled,
                (_, 0) => BackorderStatus::Pending,
                _ => BackorderStatus::Partial,
            },
            priority: backorder.priority,
            created_at: self.created_at,
            estimated_restock: backorder.estimated_restock,
            unit_price: line.unit_price.clone(),
        }
    }

    /// The order after `units` set aside for its backorder `id` became its
    /// reservation: that line waits for `units` fewer. `None` when no line
    /// of it waits that many units for that backorder.
    pub fn with_allocation(&self, id: BackorderId, units: u32) -> Option<Order> {
        let mut after = self.clone();
        let backorder = after.line_backorder(id)?;
        backorder.waiting = backorder.waiting.checked_sub(units)?;
        Some(after)
    }

    /// The line whose units wait in backorder `id`.
    pub fn line_with_backorder(&self, id: BackorderId) -> Option<&OrderLine> {
        self.lines
            .iter()
            .find(|line| line.backorder.is_some_and(|b| b.id == id))
    }

    /// The backorder `id` of one of its lines, to change.
    fn line_backorder(&mut self, id: BackorderId) -> Option<&mut LineBackorder> {
        self.lines
            .iter_mut()
            .find_map(|line| line.backorder.as_mut().filter(|b| b.id == id))
    }

    /// The order once the units its backorder `id` still waits for are
    /// cancelled, with how many they are; `None` when no line of it waits
    /// for that backorder.
    pub fn with_backorder_cancelled(&self, id: BackorderId) -> Option<(Order, u32)> {
        let mut after = self.clone();
        let backorder = after.line_backorder(id)?;
        let units = backorder.waiting;
        if units == 0 {
            return None;
        }
        backorder.cancelled += units;
        backorder.waiting = 0;
        Some((after, units))
    }

    /// The order with its backorder `id` served at `priority`; `None` when
    /// no line of it has that backorder.
    pub fn with_backorder_priority(&self, id: BackorderId, priority: u8) -> Option<Order> {
        let mut after = self.clone();
        after.line_backorder(id)?.priority = priority;
        Some(after)
    }

    /// Whether it still delivers anything: a unit reserved, allocated or
    /// waiting on some line.
    pub fn keeps_units(&self) -> bool {
        self.lines.iter().any(|line| line.kept() > 0)
    }

    /// The money `units` cancelled units of `line` give back, by the one
    /// rule: their price, the tax share of that price (tax × goods ÷
    /// subtotal, rounded half up), and the shipping only when the order
    /// keeps nothing, in which case everything still refundable goes back
    /// (so rounding leaves nothing behind). Never more than is refundable.
    pub fn refund_for_cancelled(
        &self,
        line: &OrderLine,
        units: u32,
        keeps_units: bool,
    ) -> CancelRefund {
        let goods = line.unit_price.minor * i64::from(units);
        let tax = share(self.totals.tax.minor, goods, self.totals.subtotal.minor);
        let shipping = if keeps_units {
            0
        } else {
            self.totals.shipping.minor
        };
        let refundable = self.payment.refundable_minor();
        let amount = if keeps_units {
            (goods + tax).min(refundable)
        } else {
            refundable
        };
        CancelRefund {
            goods_minor: goods,
            tax_minor: tax,
            shipping_minor: shipping,
            amount_minor: amount,
        }
    }

    /// Whether every unit it waited for has stock now, so its goods move
    /// on from `awaiting_stock`.
    pub fn stock_arrived(&self) -> bool {
        self.fulfillment_status == FulfillmentStatus::AwaitingStock
            && self.backorder_state() == BackorderState::None
    }

    /// Whether a change made by `trigger` is when its authorized payment is
    /// captured under `policy`: its authorization, or a shipment (the first
    /// one captures; later ones find nothing left to capture). An order that
    /// backordered units is captured at authorization whatever the policy:
    /// a card authorization lapses after about 7 days, a backorder waits
    /// weeks, and its units are charged upfront.
    pub fn is_captured_after(&self, trigger: OrderTrigger, policy: CapturePolicy) -> bool {
        match trigger {
            OrderTrigger::PaymentAuthorized => {
                policy == CapturePolicy::OnAuthorization || self.was_backordered()
            }
            OrderTrigger::PartlyShipped | OrderTrigger::Shipped => {
                policy == CapturePolicy::OnShipment
            }
            _ => false,
        }
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

    /// A line of `quantity` euro-cent units in BER, `waiting` of them
    /// backordered.
    pub(crate) fn backordered_line(quantity: u32, waiting: u32) -> OrderLine {
        let eur = Currency::parse("EUR").unwrap();
        OrderLine {
            sku: Sku::parse("POSTER-A2").unwrap(),
            name: "Poster".into(),
            quantity: Quantity::parse(quantity).unwrap(),
            unit_price: Money::new(100, eur.clone()).unwrap(),
            line_total: Money::new(100 * i64::from(quantity), eur).unwrap(),
            warehouse: WarehouseId::parse("BER").unwrap(),
            backorder: Some(LineBackorder {
                id: BackorderId::from_ulid(ulid::Ulid::generate()),
                priority: 0,
                quantity: waiting,
                waiting,
                cancelled: 0,
                estimated_restock: Timestamp::from_millis(0),
            }),
            shipped: 0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::test_support::{backordered_line, order_in};
    use super::*;
    use crate::payment::CaptureState;

    /// A paid order: 2 units reserved at 1.00, then `waiting` backordered
    /// units of 1.00 on a second line; 20% tax and 4.95 shipping on top.
    fn paid_with_backorder(waiting: u32) -> Order {
        let mut reserved = backordered_line(2, 0);
        reserved.backorder = None;
        let lines = vec![reserved, backordered_line(waiting, waiting)];
        let eur = Currency::parse("EUR").unwrap();
        let subtotal = 100 * i64::from(2 + waiting);
        let tax = subtotal / 5;
        let grand = subtotal + tax + 495;
        Order {
            lines,
            totals: OrderTotals {
                subtotal: Money::new(subtotal, eur.clone()).unwrap(),
                tax: Money::new(tax, eur.clone()).unwrap(),
                shipping: Money::new(495, eur.clone()).unwrap(),
                grand_total: Money::new(grand, eur).unwrap(),
            },
            payment: Payment {
                intent_id: Some("pi_1".into()),
                status: CaptureState::Captured,
                authorized_minor: grand,
                captured_minor: grand,
                ..Payment::default()
            },
            ..order_in(OrderStatus::Confirmed)
        }
    }

    #[test]
    fn cancelling_a_backorder_keeps_the_rest_and_refunds_its_goods_and_tax_share() {
        let order = paid_with_backorder(3);
        let id = order.lines[1].backorder.unwrap().id;
        let (after, units) = order.with_backorder_cancelled(id).unwrap();
        assert_eq!(units, 3);
        assert_eq!(after.backorder_state(), BackorderState::None);
        assert_eq!((after.lines[1].kept(), after.lines[1].reserved()), (0, 0));
        assert_eq!(after.backorders()[0].status, BackorderStatus::Cancelled);
        assert!(after.keeps_units());
        assert_eq!(
            order.refund_for_cancelled(&order.lines[1], units, true),
            CancelRefund {
                goods_minor: 300,
                tax_minor: 60,
                shipping_minor: 0,
                amount_minor: 360
            }
        );
        // Nothing waits any more: a second cancellation has nothing to take.
        assert!(after.with_backorder_cancelled(id).is_none());
    }

    #[test]
    fn the_tax_share_rounds_half_up_and_the_refund_never_exceeds_what_is_refundable() {
        let mut order = paid_with_backorder(1);
        order.totals.tax.minor = 333;
        order.totals.subtotal.minor = 1_000;
        let line = OrderLine {
            unit_price: Money::new(500, order.currency.clone()).unwrap(),
            ..order.lines[1].clone()
        };
        // 333 × 500 / 1000 = 166.5
        assert_eq!(order.refund_for_cancelled(&line, 1, true).tax_minor, 167);
        order.payment.refunded_minor = order.payment.captured_minor - 100;
        assert_eq!(order.refund_for_cancelled(&line, 1, true).amount_minor, 100);
    }

    #[test]
    fn an_order_keeping_nothing_gets_everything_refundable_back_with_its_shipping() {
        let mut order = paid_with_backorder(2);
        order.lines.remove(0);
        order.payment.refunded_minor = 40;
        let id = order.lines[0].backorder.unwrap().id;
        let (after, units) = order.with_backorder_cancelled(id).unwrap();
        assert!(!after.keeps_units());
        let refund = order.refund_for_cancelled(&order.lines[0], units, false);
        assert_eq!(refund.shipping_minor, 495);
        assert_eq!(refund.amount_minor, order.payment.captured_minor - 40);
    }

    #[test]
    fn capture_happens_at_authorization_or_at_the_first_shipment() {
        use OrderTrigger as T;
        let order = order_in(OrderStatus::Confirmed);
        let (now, ship) = (CapturePolicy::OnAuthorization, CapturePolicy::OnShipment);
        assert!(order.is_captured_after(T::PaymentAuthorized, now));
        assert!(!order.is_captured_after(T::Shipped, now));
        assert!(order.is_captured_after(T::PartlyShipped, ship));
        assert!(order.is_captured_after(T::Shipped, ship));
        assert!(!order.is_captured_after(T::PaymentAuthorized, ship));
        assert!(!order.is_captured_after(T::Cancelled, ship));
    }

    #[test]
    fn a_backordered_order_is_captured_at_authorization_even_when_capture_waits_for_shipment() {
        let mut order = order_in(OrderStatus::Confirmed);
        order.lines.push(backordered_line(2, 1));

        for policy in [CapturePolicy::OnShipment, CapturePolicy::OnAuthorization] {
            assert!(order.is_captured_after(OrderTrigger::PaymentAuthorized, policy));
        }
    }
}
