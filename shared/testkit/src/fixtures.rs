//! The shop the tests run in: who shops there, what it sells and where, and
//! orders and stock put straight into the store as checkout and receiving
//! would, so a test starts from the state it describes.

use crate::memory::MemoryStore;
use shopflow_domain::events::{DomainEvent, OrderCreated, OrderStatusChanged, PaymentReported};
use shopflow_domain::{
    Actor, BackorderId, BackorderSettings, CaptureState, Carrier, Currency, CustomerId, Email,
    FulfillmentStatus, Journey, LineBackorder, Money, Order, OrderId, OrderLine, OrderStatus,
    OrderTotals, OrderTrigger, Payment, Product, Quantity, Shipment, ShipmentId, ShippedLine,
    ShippingAddress, Sku, StockMove, Timestamp, TrackingNumber, WarehouseId,
};
use shopflow_ports::{
    ChangeError, CheckoutReceipt, CheckoutStore, Fulfilment, IdempotencyKey, InventoryStore,
    OrderLifecycle, OrderReader, OutboxEvent, PlaceOrderError, SettingsRow, ShipmentStore,
    StaffMove, StatusChange,
};
use ulid::Ulid;

/// The customer most tests shop as.
pub const ADA: &str = "cust-ada";
/// Another customer, who must not see Ada's orders.
pub const GRACE: &str = "cust-grace";
/// The member of staff behind [`crate::admin`].
pub const STAFF: &str = "staff-1";

/// 2024-01-01T00:00:00Z: the shop opens; fixtures date from here on.
pub const OPENING_DAY: Timestamp = Timestamp::from_millis(1_704_067_200_000);

pub fn sku(code: &str) -> Sku {
    Sku::parse(code).unwrap()
}

pub fn wh(code: &str) -> WarehouseId {
    WarehouseId::parse(code).unwrap()
}

pub fn eur(minor: i64) -> Money {
    Money::new(minor, Currency::parse("EUR").unwrap()).unwrap()
}

/// Who moves orders on besides customers, staff and the function under test.
pub fn payments() -> Actor {
    Actor::System("payments")
}

/// Where Ada's orders go.
pub fn ada_address() -> ShippingAddress {
    ShippingAddress {
        name: "Ada Lovelace".into(),
        line1: "1 Analytical Way".into(),
        line2: None,
        city: "Berlin".into(),
        region: None,
        postal_code: "10115".into(),
        country: "DE".into(),
    }
}

/// `units` of `code` at `unit_minor` euro cents each, from `warehouse`,
/// named `Product {code}`.
pub fn order_line(code: &str, warehouse: &str, units: u32, unit_minor: i64) -> OrderLine {
    OrderLine {
        sku: sku(code),
        name: format!("Product {code}"),
        quantity: Quantity::parse(units).unwrap(),
        unit_price: eur(unit_minor),
        line_total: eur(unit_minor * i64::from(units)),
        warehouse: wh(warehouse),
        backorder: None,
        shipped: 0,
    }
}

/// An order in euros by `customer` for `lines`, placed at `created_at` and
/// not paid yet (awaiting stock when a line is backordered): no tax or
/// shipping, to Ada's address from `ada@example.com`, its stock reserved
/// for 15 minutes. Tests that care about other values set them over this
/// one.
pub fn unpaid_order(
    id: OrderId,
    customer: &str,
    lines: Vec<OrderLine>,
    created_at: Timestamp,
) -> Order {
    let subtotal = eur(lines.iter().map(|line| line.line_total.minor).sum());
    let fulfillment_status = if lines.iter().any(|line| line.backordered() > 0) {
        FulfillmentStatus::AwaitingStock
    } else {
        FulfillmentStatus::Unfulfilled
    };
    Order {
        id,
        customer_id: CustomerId::parse(customer).unwrap(),
        status: OrderStatus::PendingPayment,
        fulfillment_status,
        currency: Currency::parse("EUR").unwrap(),
        lines,
        totals: OrderTotals {
            subtotal: subtotal.clone(),
            tax: eur(0),
            shipping: eur(0),
            grand_total: subtotal,
        },
        email: Email::parse("ada@example.com").unwrap(),
        shipping_address: ada_address(),
        created_at,
        reservation_expires_at: created_at.plus_secs(900),
        payment: Payment::default(),
        version: 1,
    }
}

/// Writes `order` as checkout does, on the stock and backorder settings
/// the store holds: the order, its reservations and backorders, its
/// `order.created` event (with id `event_id`) and an idempotency receipt
/// keyed by the order's id.
pub async fn place_order(store: &impl CheckoutStore, order: &Order, event_id: Ulid) {
    try_place_order(store, order, event_id).await.unwrap();
}

/// [`place_order`], answering what the store said.
pub async fn try_place_order(
    store: &impl CheckoutStore,
    order: &Order,
    event_id: Ulid,
) -> Result<(), PlaceOrderError> {
    let event = OutboxEvent {
        id: event_id,
        occurred_at: order.created_at,
        event: DomainEvent::OrderCreated(OrderCreated::from(order)),
    };
    let key = IdempotencyKey {
        scope: format!("checkout#{}", order.customer_id),
        key: order.id.to_string(),
    };
    let receipt = CheckoutReceipt {
        request_fingerprint: order.id.to_string(),
        order_id: order.id,
    };
    let skus: Vec<Sku> = order.lines.iter().map(|line| line.sku.clone()).collect();
    let mut warehouses: Vec<WarehouseId> = order
        .lines
        .iter()
        .map(|line| line.warehouse.clone())
        .collect();
    // Lines from one warehouse name it once: a batch read takes each key once.
    warehouses.sort();
    warehouses.dedup();
    let snapshot = store
        .checkout_snapshot(&key, &skus, &warehouses)
        .await
        .unwrap();
    store
        .place_order(order, &event, &key, &receipt, &snapshot.stock)
        .await
}

/// `units` of `code` from `warehouse` at `unit_minor` euro cents, the last
/// `waiting` of them in a backorder expected at `estimated_restock`.
pub fn backordered_line(
    code: &str,
    warehouse: &str,
    (units, waiting): (u32, u32),
    unit_minor: i64,
    estimated_restock: Timestamp,
) -> OrderLine {
    OrderLine {
        backorder: Some(LineBackorder {
            id: BackorderId::from_ulid(Ulid::generate()),
            priority: 0,
            quantity: waiting,
            waiting,
            cancelled: 0,
            estimated_restock,
        }),
        ..order_line(code, warehouse, units, unit_minor)
    }
}

/// Lets `code` be backordered in `warehouse`, up to `max` units.
pub async fn allow_backorders(store: &impl InventoryStore, code: &str, warehouse: &str, max: u32) {
    let row = SettingsRow {
        sku: sku(code),
        warehouse: wh(warehouse),
        settings: BackorderSettings {
            allow_backorder: true,
            max_backorder_quantity: max,
            ..BackorderSettings::default()
        },
    };
    store.save_backorder_settings(&[row]).await.unwrap();
}

/// Receives `units` of `code` into `warehouse` at `at`, as the restock
/// endpoint does, recording an `inventory.restocked` event with id `event_id`.
pub async fn receive_stock(
    store: &impl InventoryStore,
    code: &str,
    warehouse: &str,
    units: u32,
    event_id: Ulid,
    at: Timestamp,
) {
    let restock = StaffMove {
        sku: sku(code),
        change: StockMove::Restock {
            warehouse: wh(warehouse),
            received: units,
        },
        note: None,
        by: CustomerId::parse("staff").unwrap(),
        key: IdempotencyKey {
            scope: "restock#fixture".into(),
            key: event_id.to_string(),
        },
        fingerprint: event_id.to_string(),
        event_id,
        at,
    };
    store.staff_move(&restock).await.unwrap();
}

/// Ada's order for `units` of `code` (a product the store knows) from
/// `warehouse`, its stock received first, placed and paid at `at`: as the
/// store holds it then.
pub async fn paid_order(
    store: &MemoryStore,
    code: &str,
    warehouse: &str,
    units: u32,
    at: Timestamp,
) -> Order {
    receive_stock(store, code, warehouse, units, Ulid::generate(), at).await;
    let id = OrderId::from_ulid(Ulid::from_parts(at.as_millis(), Ulid::generate().random()));
    let order = unpaid_order(id, ADA, vec![order_line(code, warehouse, units, 1_000)], at);
    place_order(store, &order, Ulid::generate()).await;
    apply(
        store,
        id,
        OrderTrigger::PaymentCaptured,
        &payments(),
        None,
        at,
    )
    .await
    .unwrap();
    store.order(id).await.unwrap().unwrap()
}

/// Ships every unit reserved for `order` (paid; its lines in one
/// warehouse) in one shipment by `carrier` under `number`, made by staff
/// at `at`, as the fulfilment API does. Answers the shipment.
pub async fn ship_all(
    store: &impl ShipmentStore,
    order: &Order,
    carrier: Carrier,
    number: &str,
    at: Timestamp,
) -> Shipment {
    let lines: Vec<ShippedLine> = order
        .lines
        .iter()
        .filter(|line| line.reserved() > 0)
        .map(|line| ShippedLine {
            sku: line.sku.clone(),
            quantity: Quantity::parse(line.reserved()).unwrap(),
        })
        .collect();
    let warehouse = order.lines[0].warehouse.clone();
    let shipping = order.ship(&warehouse, &lines).unwrap();
    let staff = Actor::Admin(CustomerId::parse(STAFF).unwrap());
    let shipment = Shipment {
        id: ShipmentId::made_at(at),
        order_id: order.id,
        customer_id: order.customer_id.clone(),
        warehouse,
        carrier,
        tracking_number: TrackingNumber::parse(number).unwrap(),
        lines,
        journey: Journey::default(),
        created_at: at,
        created_by: staff.label(),
        version: 1,
    };
    let key = IdempotencyKey {
        scope: "fulfil#fixture".into(),
        key: number.into(),
    };
    let fulfilment = Fulfilment::new(order, shipping, shipment, &staff, key, number.into());
    store.fulfil(&fulfilment).await.unwrap();
    fulfilment.shipment
}

/// The provider's payment the fixtures' orders are paid with.
pub const TEST_PAYMENT: &str = "pi_3Q";

/// Moves the order on by `trigger` at `at`, as the domain allows, through
/// the store. Payment triggers record the money the provider would have
/// reported: [`TEST_PAYMENT`] holding the grand total, a tenth of it
/// refunded for a partial refund, all of it for a full one.
pub async fn apply(
    store: &MemoryStore,
    id: OrderId,
    trigger: OrderTrigger,
    actor: &Actor,
    reason: Option<String>,
    at: Timestamp,
) -> Result<(), ChangeError> {
    let order = store.order(id).await?.expect("the order exists");
    let to = order.state().apply(trigger).unwrap();
    let mut change = StatusChange::new(&order, to, trigger, actor, reason, at);
    if let Some(payment) = payment_after(&order, trigger) {
        change = change.with_payment(payment);
    }
    store.change_status(&change).await
}

/// The order's money after a payment `trigger`, as the provider reports it.
fn payment_after(order: &Order, trigger: OrderTrigger) -> Option<Payment> {
    let total = order.totals.grand_total.minor;
    let mut payment = Payment {
        intent_id: Some(TEST_PAYMENT.into()),
        ..order.payment.clone()
    };
    match trigger {
        OrderTrigger::PaymentAuthorized => {
            payment.status = CaptureState::Authorized;
            payment.authorized_minor = total;
        }
        OrderTrigger::PaymentCaptured => {
            payment.status = CaptureState::Captured;
            payment.authorized_minor = total;
            payment.captured_minor = total;
        }
        OrderTrigger::PaymentFailed => {
            payment.intent_id = order.payment.intent_id.clone();
            payment.status = CaptureState::Failed;
            payment.failure_code = Some("card_declined".into());
        }
        OrderTrigger::PaymentVoided => payment.status = CaptureState::Voided,
        OrderTrigger::PartlyRefunded => payment.refunded_minor = total / 10,
        OrderTrigger::Refunded => payment.refunded_minor = payment.captured_minor,
        _ => return None,
    }
    Some(payment)
}

/// The `payment.*` reports in the outbox, oldest first.
pub fn payment_reports(store: &MemoryStore) -> Vec<PaymentReported> {
    store
        .outbox()
        .into_iter()
        .filter_map(|recorded| match recorded.event {
            DomainEvent::PaymentReported(report) => Some(report),
            _ => None,
        })
        .collect()
}

/// Status-change events in the outbox, oldest first, each with its
/// detail-type.
pub fn status_events(store: &MemoryStore) -> Vec<(&'static str, OrderStatusChanged)> {
    store
        .outbox()
        .into_iter()
        .filter_map(|recorded| match &recorded.event {
            DomainEvent::OrderStatusChanged(change) => {
                Some((recorded.event.detail_type(), change.clone()))
            }
            _ => None,
        })
        .collect()
}

/// The shop's red tee, at 10.00 EUR.
pub fn red_tee() -> Product {
    Product {
        sku: sku("TEE-RED"),
        name: "Red tee".into(),
        price: eur(1_000),
        active: true,
    }
}

/// A seller in Berlin whose invoices are due 14 days after issue.
pub fn invoice_terms() -> shopflow_domain::invoice::Terms {
    shopflow_domain::invoice::Terms {
        seller: shopflow_domain::invoice::Party {
            name: "Shopflow Demo GmbH".into(),
            address: vec!["Torstrasse 1".into(), "10119 Berlin".into(), "DE".into()],
            tax_id: Some("DE123456789".into()),
            email: None,
        },
        due_days: 14,
    }
}

/// The invoice of Ada's order for `units` red tees (a product the store
/// knows) from Berlin, issued at `at` with nothing paid on it: the order's
/// money was never taken.
pub async fn unpaid_invoice(
    store: &MemoryStore,
    units: u32,
    at: Timestamp,
) -> shopflow_domain::invoice::Invoice {
    let order = paid_order(store, "TEE-RED", "BER", units, at).await;
    let unpaid = Order {
        payment: Payment::default(),
        ..order
    };
    match shopflow_ports::issue_order_invoice(store, &unpaid, &invoice_terms(), at).await {
        Ok(shopflow_ports::Invoiced::Issued(invoice)) => *invoice,
        other => panic!("the invoice is issued once: {other:?}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unpaid_order_totals_its_lines_without_tax_or_shipping() {
        let order = unpaid_order(
            OrderId::from_ulid(Ulid::from_parts(OPENING_DAY.as_millis(), 1)),
            ADA,
            vec![
                order_line("TEE-RED", "BER", 3, 1_250),
                order_line("MUG", "HAM", 1, 999),
            ],
            OPENING_DAY,
        );

        assert_eq!(order.totals.subtotal, eur(4_749));
        assert_eq!(order.totals.grand_total, eur(4_749));
        assert_eq!(order.totals.tax, eur(0));
        assert_eq!(order.totals.shipping, eur(0));
        assert_eq!(order.lines[0].line_total, eur(3_750));
        assert_eq!(order.lines[0].name, "Product TEE-RED");
        assert_eq!(order.status, OrderStatus::PendingPayment);
        assert_eq!(order.reservation_expires_at, OPENING_DAY.plus_secs(900));
    }
}
