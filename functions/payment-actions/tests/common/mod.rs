//! The shop payment-actions runs in: orders in the in-memory store whose
//! money sits in the mock Stripe (created, confirmed and recorded as
//! checkout and order-status would), the events that ask for actions, and
//! readers for what the consumer published.
#![allow(clippy::unwrap_used, clippy::expect_used, dead_code)]

use payment_actions::App;
use serde_json::json;
use shopflow_domain::{
    CapturePolicy, CustomerId, FulfillmentStatus, OrderId, OrderState, OrderTrigger,
};
use shopflow_lambda_kit::consumer::{BusEvent, ConsumeError, Handled};
use shopflow_ports::IntentStatus;
use shopflow_stripe_mock::MockGateway;
use shopflow_testkit::stripe::PaymentsShop;
use shopflow_testkit::{ADA, SharedStore, logging};
use ulid::Ulid;

pub const ORDERS: &str = "shopflow.orders";

/// The payments shop, with payment-actions capturing by its policy.
pub struct Shop {
    shop: PaymentsShop,
    app: App<SharedStore, MockGateway>,
}

impl std::ops::Deref for Shop {
    type Target = PaymentsShop;
    fn deref(&self) -> &PaymentsShop {
        &self.shop
    }
}

impl std::ops::DerefMut for Shop {
    fn deref_mut(&mut self) -> &mut PaymentsShop {
        &mut self.shop
    }
}

impl Shop {
    /// The shop, capturing by `capture`.
    pub async fn new(capture: CapturePolicy) -> Self {
        let shop = PaymentsShop::new(MockGateway::default()).await;
        Self {
            app: App::new(shop.store.clone(), shop.stripe.clone(), capture),
            shop,
        }
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
        status_event(id, OrderTrigger::Cancelled)
    }

    pub async fn apply(&self, event: BusEvent) -> Result<Handled, ConsumeError> {
        let _logging = logging();
        self.app.apply(event).await
    }

    pub fn intent_status(&self, intent: &str) -> Option<IntentStatus> {
        self.stripe.intent_status(intent)
    }
}

/// The `order.*` event a change by `trigger` publishes for `order`, as
/// order-status or the cancel publish it.
pub fn status_event(order: OrderId, trigger: OrderTrigger) -> BusEvent {
    let from = OrderState::placed(FulfillmentStatus::Unfulfilled);
    BusEvent {
        id: Ulid::generate().to_string(),
        detail_type: trigger.event_name().into(),
        source: ORDERS.into(),
        occurred_at: shopflow_testkit::OPENING_DAY.to_rfc3339(),
        data: json!({
            "order_id": order.to_string(),
            "customer_id": ADA,
            "from": from,
            "to": from.apply(trigger).unwrap_or(from),
            "trigger": trigger,
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
