//! The shop payment-actions runs in: orders in the in-memory store whose
//! money sits in the mock Stripe (created, confirmed and recorded as
//! checkout and order-status would), the events that ask for actions, and
//! readers for what the consumer published.
#![allow(clippy::unwrap_used, clippy::expect_used, dead_code)]

use payment_actions::App;
use serde_json::json;
use shopflow_domain::events::{DomainEvent, PaymentReported};
use shopflow_domain::{
    CapturePolicy, CustomerId, Order, OrderId, OrderStatus, OrderTrigger, Product, Timestamp,
};
use shopflow_lambda_kit::consumer::{BusEvent, ConsumeError, Handled};
use shopflow_store::stripe::MockGateway;
use shopflow_store::{IntentStatus, InventoryStore, OrderReader};
use shopflow_testkit::{ADA, SharedStore, logging, order_line, stripe};
use ulid::Ulid;

pub const ORDERS: &str = "shopflow.orders";

pub struct Shop {
    pub store: SharedStore,
    pub stripe: MockGateway,
    app: App<SharedStore, MockGateway>,
    placed: u64,
}

impl Shop {
    /// A shop with red tees in stock, capturing by `capture`.
    pub async fn new(capture: CapturePolicy) -> Self {
        let store = SharedStore::default();
        let stripe = MockGateway::default();
        let tee = Product {
            sku: shopflow_testkit::sku("TEE-RED"),
            name: "Red tee".into(),
            price: shopflow_testkit::eur(2_500),
            active: true,
        };
        store.memory().upsert_product(&tee).await.unwrap();
        shopflow_testkit::receive_stock(
            store.memory(),
            "TEE-RED",
            "BER",
            100,
            Ulid::generate(),
            shopflow_testkit::OPENING_DAY,
        )
        .await;
        Self {
            app: App::new(store.clone(), stripe.clone(), capture),
            store,
            stripe,
            placed: 0,
        }
    }

    /// An order of 50.00 placed by checkout, with its payment created at
    /// the mock and recorded on the order; not paid yet.
    pub async fn unpaid_order(&mut self) -> (OrderId, String) {
        self.placed += 1;
        let created_at =
            Timestamp::from_millis(shopflow_testkit::OPENING_DAY.as_millis() + self.placed);
        let id = OrderId::from_ulid(Ulid::from_parts(
            created_at.as_millis(),
            u128::from(self.placed),
        ));
        let order = shopflow_testkit::unpaid_order(
            id,
            ADA,
            vec![order_line("TEE-RED", "BER", 2, 2_500)],
            created_at,
        );
        shopflow_testkit::place_order(self.store.memory(), &order, Ulid::generate()).await;
        let intent = stripe::payment_created(self.store.memory(), &self.stripe, &order).await;
        (id, intent)
    }

    /// An order whose customer confirmed with a test card: authorized at
    /// the mock and on the order, as order-status records it.
    pub async fn authorized_order(&mut self) -> (OrderId, String) {
        let (id, intent) = self.unpaid_order().await;
        stripe::payment_authorized(self.store.memory(), &self.stripe, id, &intent).await;
        (id, intent)
    }

    /// An authorized order whose payment was then captured.
    pub async fn paid_order(&mut self) -> (OrderId, String) {
        let (id, intent) = self.authorized_order().await;
        stripe::payment_captured(self.store.memory(), &self.stripe, id, &intent).await;
        (id, intent)
    }

    /// Cancels the order as its customer would.
    pub async fn cancel(&self, id: OrderId) -> BusEvent {
        shopflow_testkit::apply(
            self.store.memory(),
            id,
            OrderTrigger::Cancelled,
            &shopflow_domain::Actor::Customer(CustomerId::parse(ADA).unwrap()),
            None,
            shopflow_lambda_kit::now(),
        )
        .await
        .unwrap();
        status_event(id, OrderStatus::Cancelled)
    }

    pub async fn order(&self, id: OrderId) -> Order {
        self.store.memory().order(id).await.unwrap().unwrap()
    }

    pub async fn apply(&self, event: BusEvent) -> Result<Handled, ConsumeError> {
        let _logging = logging();
        self.app.apply(event).await
    }

    /// The `payment.*` reports the consumer published, oldest first.
    pub fn reports(&self) -> Vec<PaymentReported> {
        self.store
            .memory()
            .outbox()
            .into_iter()
            .filter_map(|event| match event.event {
                DomainEvent::PaymentReported(report) => Some(report),
                _ => None,
            })
            .collect()
    }

    pub fn intent_status(&self, intent: &str) -> Option<IntentStatus> {
        self.stripe.intent_status(intent)
    }

    /// How many calls of `name` the mock Stripe answered.
    pub fn stripe_calls(&self, name: &str) -> usize {
        self.stripe
            .calls()
            .iter()
            .filter(|call| **call == name)
            .count()
    }
}

/// An `order.<to>` event for `order`, as order-status or the cancel publish it.
pub fn status_event(order: OrderId, to: OrderStatus) -> BusEvent {
    BusEvent {
        id: Ulid::generate().to_string(),
        detail_type: to.event_name().into(),
        source: ORDERS.into(),
        occurred_at: shopflow_testkit::OPENING_DAY.to_rfc3339(),
        data: json!({
            "order_id": order.to_string(),
            "customer_id": ADA,
            "from": "pending_payment",
            "to": to.as_str(),
            "trigger": "cancelled",
            "actor": "system:test",
            "released": [],
        }),
    }
}

/// A `payment.refund_required` event, as order-status records it.
pub fn refund_required(order: OrderId, payment: &str, amount: i64, settle: &str) -> BusEvent {
    BusEvent {
        id: Ulid::generate().to_string(),
        detail_type: "payment.refund_required".into(),
        source: ORDERS.into(),
        occurred_at: shopflow_testkit::OPENING_DAY.to_rfc3339(),
        data: json!({
            "order_id": order.to_string(),
            "payment_id": payment,
            "amount_minor": amount,
            "currency": "EUR",
            "settle": settle,
            "reason": "the order is already paid by pi_first: this is a second payment",
        }),
    }
}
