//! The shop the payments API serves: Ada's orders in the in-memory store,
//! their money at the mock Stripe, requests as API Gateway delivers them,
//! and readers for what the handler left behind.
#![allow(clippy::unwrap_used, clippy::expect_used, dead_code)]

use payments_api::App;
use serde_json::Value;
use shopflow_domain::events::{DomainEvent, PaymentReported};
use shopflow_domain::{Order, OrderId, Product, Refund, Timestamp};
use shopflow_store::stripe::MockGateway;
use shopflow_store::{InventoryStore, OrderReader, PaymentRecords};
use shopflow_testkit::{ADA, Claims, Reply, SharedStore, json_request, order_line, stripe};
use ulid::Ulid;

pub use shopflow_testkit::{GRACE, admin, customer};

pub struct Shop {
    pub store: SharedStore,
    pub stripe: MockGateway,
    app: App<SharedStore, MockGateway>,
    placed: u64,
}

impl Shop {
    /// Red tees at 25.00 in stock; Ada's orders are two of them: 50.00.
    pub async fn new() -> Self {
        let store = SharedStore::default();
        let stripe = MockGateway::new("https://checkout.stripe.test/pay");
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
            app: App::new(store.clone(), stripe.clone()),
            store,
            stripe,
            placed: 0,
        }
    }

    /// Ada's order, placed now with its payment created; its stock held 15 minutes.
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

    pub async fn authorized_order(&mut self) -> (OrderId, String) {
        let (id, intent) = self.unpaid_order().await;
        stripe::payment_authorized(self.store.memory(), &self.stripe, id, &intent).await;
        (id, intent)
    }

    /// Ada's order of 50.00, paid: captured at the mock and on the order.
    pub async fn paid_order(&mut self) -> (OrderId, String) {
        let (id, intent) = self.authorized_order().await;
        stripe::payment_captured(self.store.memory(), &self.stripe, id, &intent).await;
        (id, intent)
    }

    pub async fn order(&self, id: OrderId) -> Order {
        self.store.memory().order(id).await.unwrap().unwrap()
    }

    pub async fn refunds(&self, id: OrderId) -> Vec<Refund> {
        self.store
            .memory()
            .order_payments(id)
            .await
            .unwrap()
            .unwrap()
            .refunds
    }

    /// `POST /v1/orders/{id}/refunds` by staff under `key`.
    pub async fn refund(&self, id: OrderId, key: &str, body: Value) -> Reply {
        self.refund_as(id, key, body, admin()).await
    }

    pub async fn refund_as(&self, id: OrderId, key: &str, body: Value, claims: Claims) -> Reply {
        let mut event = json_request(
            "POST",
            "/v1/orders/{id}/refunds",
            &[("id", &id.to_string())],
            Some(body.to_string()),
            claims,
        );
        event.headers.insert("idempotency-key".into(), key.into());
        self.send(event).await
    }

    /// `POST /v1/orders/{id}/checkout-session` as `claims`.
    pub async fn checkout_session(&self, id: OrderId, body: Value, claims: Claims) -> Reply {
        self.send(json_request(
            "POST",
            "/v1/orders/{id}/checkout-session",
            &[("id", &id.to_string())],
            Some(body.to_string()),
            claims,
        ))
        .await
    }

    pub async fn payments(&self, id: OrderId, claims: Claims) -> Reply {
        self.send(json_request(
            "GET",
            "/v1/orders/{id}/payments",
            &[("id", &id.to_string())],
            None,
            claims,
        ))
        .await
    }

    pub async fn send(&self, event: shopflow_lambda_kit::apigw::HttpEvent) -> Reply {
        shopflow_testkit::call(|request| self.app.handle(request), event).await
    }

    /// The `payment.*` reports recorded, oldest first.
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

    pub fn stripe_calls(&self, name: &str) -> usize {
        self.stripe
            .calls()
            .iter()
            .filter(|call| **call == name)
            .count()
    }
}

/// Ada's shop URLs for a hosted page.
pub fn return_urls() -> Value {
    serde_json::json!({ "success_url": "https://shop.example/thanks", "cancel_url": "https://shop.example/cart" })
}

pub fn ada() -> Claims {
    customer(ADA)
}
