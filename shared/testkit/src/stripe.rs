//! An order's money at the mock Stripe, got there the way the shop gets it
//! there: checkout creates the payment, the customer confirms it with a test
//! card, it is captured; and order-status records each step on the order.

use crate::memory::MemoryStore;
use shopflow_domain::events::PaymentReported;
use shopflow_domain::{
    CaptureState, Order, OrderId, OrderTrigger, Payment, PaymentAttempt, Product, Timestamp,
};
use shopflow_ports::{
    IntentRequest, InventoryStore, OrderLifecycle, OrderPayments, OrderReader, PaymentGateway,
    PaymentRecords, StatusChange,
};
use shopflow_stripe_mock::{MockGateway, TestCard};
use ulid::Ulid;

use crate::SharedStore;
use crate::fixtures::{OPENING_DAY, payments};

/// Checkout's payment for `order`: created at the mock, recorded on the order.
pub async fn payment_created(store: &MemoryStore, stripe: &MockGateway, order: &Order) -> String {
    let intent = stripe
        .create_intent(&IntentRequest::for_order(order))
        .await
        .unwrap();
    let attempt = PaymentAttempt::Intent {
        intent_id: intent.id.clone(),
        created_at: order.created_at,
    };
    store.record_attempt(order.id, &attempt).await.unwrap();
    intent.id
}

/// The customer confirms `intent` with a card that authorizes: held at the
/// mock, and the order `payment_authorized` holding its grand total.
pub async fn payment_authorized(
    store: &MemoryStore,
    stripe: &MockGateway,
    id: OrderId,
    intent: &str,
) {
    stripe.confirm(intent, TestCard::Visa).unwrap();
    record(store, id, OrderTrigger::PaymentAuthorized, |order| {
        Payment {
            intent_id: Some(intent.to_owned()),
            status: CaptureState::Authorized,
            authorized_minor: order.totals.grand_total.minor,
            ..Payment::default()
        }
    })
    .await;
}

/// The authorized `intent` captured at the mock, and the order `paid`.
pub async fn payment_captured(
    store: &MemoryStore,
    stripe: &MockGateway,
    id: OrderId,
    intent: &str,
) {
    let order = store.order(id).await.unwrap().unwrap();
    let total = order.totals.grand_total.minor;
    stripe
        .capture(intent, total, &format!("fixture-capture-{intent}"))
        .await
        .unwrap();
    record(store, id, OrderTrigger::PaymentCaptured, |order| Payment {
        status: CaptureState::Captured,
        captured_minor: total,
        ..order.payment.clone()
    })
    .await;
}

/// Moves the order on by `trigger` with its money as `payment` makes it, as
/// order-status does.
async fn record(
    store: &MemoryStore,
    id: OrderId,
    trigger: OrderTrigger,
    payment: impl FnOnce(&Order) -> Payment,
) {
    let order = store.order(id).await.unwrap().unwrap();
    let to = order.state().apply(trigger).unwrap();
    let at = order.created_at.plus_secs(60);
    let change =
        StatusChange::new(&order, to, trigger, &payments(), None, at).with_payment(payment(&order));
    store.change_status(&change).await.unwrap();
}

/// A shop selling red tees (25.00 each, 100 in Berlin) whose orders are Ada's
/// two tees (50.00), paid through the mock Stripe the way the shop gets them
/// paid. The store and the mock are shared with the handler under test.
pub struct PaymentsShop {
    pub store: SharedStore,
    pub stripe: MockGateway,
    placed: u64,
}

impl PaymentsShop {
    pub async fn new(stripe: MockGateway) -> Self {
        let store = SharedStore::default();
        let tee = Product {
            sku: crate::sku("TEE-RED"),
            name: "Red tee".into(),
            price: crate::eur(2_500),
            active: true,
        };
        let poster = Product {
            sku: crate::sku("POSTER-A2"),
            name: "Poster A2".into(),
            price: crate::eur(1_500),
            active: true,
        };
        for product in [&tee, &poster] {
            store.memory().upsert_product(product).await.unwrap();
        }
        crate::receive_stock(
            store.memory(),
            "TEE-RED",
            "BER",
            100,
            Ulid::generate(),
            OPENING_DAY,
        )
        .await;
        Self {
            store,
            stripe,
            placed: 0,
        }
    }

    /// Ada's order placed now, with its payment created: not paid, its stock
    /// held 15 minutes. Answers the order and its payment.
    pub async fn unpaid_order(&mut self) -> (OrderId, String) {
        self.placed_at(shopflow_lambda_kit::now()).await
    }

    /// Ada's order placed at `created_at`, with its payment created.
    pub async fn placed_at(&mut self, created_at: Timestamp) -> (OrderId, String) {
        self.placed += 1;
        let id = OrderId::from_ulid(Ulid::from_parts(
            created_at.as_millis(),
            u128::from(self.placed),
        ));
        let lines = vec![crate::order_line("TEE-RED", "BER", 2, 2_500)];
        let order = crate::unpaid_order(id, crate::ADA, lines, created_at);
        crate::place_order(self.store.memory(), &order, Ulid::generate()).await;
        let intent = payment_created(self.store.memory(), &self.stripe, &order).await;
        (id, intent)
    }

    /// Ada's order, its payment authorized with a test card.
    pub async fn authorized_order(&mut self) -> (OrderId, String) {
        let (id, intent) = self.unpaid_order().await;
        payment_authorized(self.store.memory(), &self.stripe, id, &intent).await;
        (id, intent)
    }

    /// Ada's order of two tees and a poster that is out of stock and
    /// backordered, its payment authorized with a test card.
    pub async fn authorized_backordered_order(&mut self) -> (OrderId, String) {
        let now = shopflow_lambda_kit::now();
        crate::allow_backorders(self.store.memory(), "POSTER-A2", "BER", 10).await;
        let lines = vec![
            crate::order_line("TEE-RED", "BER", 2, 2_500),
            crate::backordered_line(
                "POSTER-A2",
                "BER",
                (1, 1),
                1_500,
                now.plus_secs(14 * 86_400),
            ),
        ];
        let order =
            crate::unpaid_order(OrderId::from_ulid(Ulid::generate()), crate::ADA, lines, now);
        crate::place_order(self.store.memory(), &order, Ulid::generate()).await;
        let intent = payment_created(self.store.memory(), &self.stripe, &order).await;
        payment_authorized(self.store.memory(), &self.stripe, order.id, &intent).await;
        (order.id, intent)
    }

    /// Ada's order, paid: authorized, then captured.
    pub async fn paid_order(&mut self) -> (OrderId, String) {
        let (id, intent) = self.authorized_order().await;
        payment_captured(self.store.memory(), &self.stripe, id, &intent).await;
        (id, intent)
    }

    pub async fn order(&self, id: OrderId) -> Order {
        self.store.memory().order(id).await.unwrap().unwrap()
    }

    /// Order `id` with its payments and refunds, as the store holds them.
    pub async fn payment_records(&self, id: OrderId) -> OrderPayments {
        self.store
            .memory()
            .order_payments(id)
            .await
            .unwrap()
            .unwrap()
    }

    /// The `payment.*` reports recorded, oldest first.
    pub fn reports(&self) -> Vec<PaymentReported> {
        crate::payment_reports(self.store.memory())
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
