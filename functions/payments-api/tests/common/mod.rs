//! The shop the payments API serves: Ada's orders in the in-memory store,
//! their money at the mock Stripe, requests as API Gateway delivers them,
//! and readers for what the handler left behind.
#![allow(clippy::unwrap_used, clippy::expect_used, dead_code)]

use payments_api::App;
use serde_json::Value;
use shopflow_domain::{OrderId, Refund};
use shopflow_stripe_mock::MockGateway;
use shopflow_testkit::stripe::PaymentsShop;
use shopflow_testkit::{ADA, Claims, Reply, SharedStore, json_request};

pub use shopflow_testkit::{GRACE, admin, customer};

/// The payments shop, behind the payments API.
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
    /// The shop; its hosted pages are served under checkout.stripe.test.
    pub async fn new() -> Self {
        let shop = PaymentsShop::new(MockGateway::new("https://checkout.stripe.test/pay")).await;
        Self {
            app: App::new(shop.store.clone(), shop.stripe.clone()),
            shop,
        }
    }

    pub async fn refunds(&self, id: OrderId) -> Vec<Refund> {
        self.payment_records(id).await.refunds
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
}

/// Ada's shop URLs for a hosted page.
pub fn return_urls() -> Value {
    serde_json::json!({ "success_url": "https://shop.example/thanks", "cancel_url": "https://shop.example/cart" })
}

pub fn ada() -> Claims {
    customer(ADA)
}
