//! The shop a checkout test runs against: the handler over an in-memory store
//! with a small catalog, requests shaped as API Gateway sends them, and
//! readers for the answers.
#![allow(clippy::unwrap_used, clippy::expect_used, dead_code)]

use async_trait::async_trait;
use checkout_api::App;
use serde_json::{Value, json};
use shopflow_domain::{
    CheckoutPolicy, Currency, Email, Money, Order, OrderId, Product, ShippingAddress, StockLevel,
};
use shopflow_lambda_kit::apigw::HttpEvent;
use shopflow_ports::{
    CheckoutReceipt, CheckoutStore, IdempotencyKey, InventoryStore, OutboxEvent, PlaceOrderError,
};
use shopflow_stripe_mock::MockGateway;
use shopflow_testkit::memory::MemoryStore;
use shopflow_testkit::{OPENING_DAY, SharedStore, StoreHooks, customer, json_request};
use std::sync::Mutex;
use ulid::Ulid;

// Shared helpers under the names these tests use; like the rest of this
// module, each test file uses only some of them.
#[allow(unused_imports)]
pub use shopflow_testkit::{ADA as CUSTOMER, GRACE as OTHER_CUSTOMER, Reply, claims, sku, wh};

pub const KEY: &str = "checkout-key-1";

/// Berlin is tried before Hamburg for every line.
pub const FIRST_WAREHOUSE: &str = "BER";
pub const SECOND_WAREHOUSE: &str = "HAM";

/// 19 % tax, 5.00 flat shipping, totals between 1.00 and 10,000.00.
pub fn policy() -> CheckoutPolicy {
    CheckoutPolicy {
        tax_rate_bps: 1_900,
        shipping_flat_minor: 500,
        min_total_minor: 100,
        max_total_minor: 1_000_000,
        reservation_ttl_secs: 900,
        warehouses: vec![wh(FIRST_WAREHOUSE), wh(SECOND_WAREHOUSE)],
    }
}

/// The checkout handler over an empty in-memory store, taking payments
/// through the mock Stripe.
pub struct Shop {
    app: App<RacedStore, MockGateway>,
    stripe: MockGateway,
}

impl Shop {
    pub fn new() -> Self {
        Self::with_policy(policy())
    }

    pub fn with_policy(policy: CheckoutPolicy) -> Self {
        let stripe = MockGateway::default();
        Self {
            app: App::new(RacedStore::default(), stripe.clone(), policy),
            stripe,
        }
    }

    /// The payment provider checkout talks to.
    pub fn stripe(&self) -> &MockGateway {
        &self.stripe
    }

    /// A shop selling `TEE-RED` (12.50) and `MUG` (9.99), ten of each in
    /// the first warehouse.
    pub async fn stocked() -> Self {
        let shop = Self::new();
        shop.sells("TEE-RED", 1_250).await;
        shop.sells("MUG", 999).await;
        shop.stocks("TEE-RED", FIRST_WAREHOUSE, 10).await;
        shop.stocks("MUG", FIRST_WAREHOUSE, 10).await;
        shop
    }

    pub fn store(&self) -> &MemoryStore {
        self.app.store().memory()
    }

    /// Has another customer's order reserve `units` of a SKU in a warehouse
    /// after checkout has read stock but before it writes, as a concurrent
    /// checkout would.
    pub fn rival_reserves_before_next_write(&self, code: &str, warehouse: &str, units: u32) {
        let rival = rival_order(code, warehouse, units);
        *self.app.store().hooks().rival.lock().unwrap() = Some(rival);
    }

    /// An active product priced in EUR.
    pub async fn sells(&self, code: &str, price_minor: i64) {
        self.catalog(code, price_minor, "EUR", true).await;
    }

    pub async fn catalog(&self, code: &str, price_minor: i64, currency: &str, active: bool) {
        let product = Product {
            sku: sku(code),
            name: format!("Product {code}"),
            price: Money::new(price_minor, Currency::parse(currency).unwrap()).unwrap(),
            active,
        };
        self.store().upsert_product(&product).await.unwrap();
    }

    /// Receives `units` of a catalogued SKU into a warehouse.
    pub async fn stocks(&self, code: &str, warehouse: &str, units: u32) {
        shopflow_testkit::receive_stock(
            self.store(),
            code,
            warehouse,
            units,
            Ulid::generate(),
            shopflow_lambda_kit::now(),
        )
        .await;
    }

    pub fn stock(&self, code: &str, warehouse: &str) -> StockLevel {
        self.store().stock(&sku(code), &wh(warehouse))
    }

    pub fn orders(&self) -> Vec<Order> {
        self.store().orders()
    }

    /// The `order.created` events recorded so far (set-up restocks record
    /// their own events, which are not checkout's).
    pub fn order_events(&self) -> Vec<OutboxEvent> {
        self.store()
            .outbox()
            .into_iter()
            .filter(|event| event.event.detail_type() == "order.created")
            .collect()
    }

    /// Checks out `body` as `CUSTOMER` under `KEY`.
    pub async fn checkout(&self, body: &Value) -> Reply {
        self.send(checkout_event(body.to_string())).await
    }

    /// Checks out `body` as `CUSTOMER` under idempotency key `key`.
    pub async fn checkout_keyed(&self, body: &Value, key: &str) -> Reply {
        let mut event = checkout_event(body.to_string());
        event.headers.insert("idempotency-key".into(), key.into());
        self.send(event).await
    }

    pub async fn send(&self, event: HttpEvent) -> Reply {
        shopflow_testkit::call(|request| self.app.handle(request), event).await
    }

    /// Asserts that no order, no `order.created` event and no reservation exist.
    pub fn assert_nothing_placed(&self, skus: &[&str]) {
        assert!(self.orders().is_empty(), "orders were placed");
        assert!(self.order_events().is_empty(), "order events were recorded");
        for code in skus {
            for warehouse in [FIRST_WAREHOUSE, SECOND_WAREHOUSE] {
                assert_eq!(
                    self.stock(code, warehouse).reserved,
                    0,
                    "{code} is reserved in {warehouse}"
                );
            }
        }
    }
}

/// The in-memory store, with a hook to let a rival checkout in between
/// checkout's read and its write.
pub type RacedStore = SharedStore<Rival>;

/// The rival order, if any, placed just before checkout's next write.
#[derive(Default)]
pub struct Rival {
    rival: Mutex<Option<Order>>,
}

#[async_trait]
impl StoreHooks for Rival {
    async fn place_order(
        &self,
        memory: &MemoryStore,
        order: &Order,
        event: &OutboxEvent,
        key: &IdempotencyKey,
        response: &CheckoutReceipt,
        decided_on: &shopflow_domain::Stock,
    ) -> Result<(), PlaceOrderError> {
        let rival = self.rival.lock().unwrap().take();
        if let Some(rival) = rival {
            shopflow_testkit::place_order(memory, &rival, Ulid::generate()).await;
        }
        memory
            .place_order(order, event, key, response, decided_on)
            .await
    }
}

fn rival_order(code: &str, warehouse: &str, units: u32) -> Order {
    let order = shopflow_testkit::unpaid_order(
        OrderId::from_ulid(Ulid::generate()),
        "cust-rival",
        vec![shopflow_testkit::order_line(code, warehouse, units, 100)],
        OPENING_DAY,
    );
    Order {
        email: Email::parse("rival@example.com").unwrap(),
        shipping_address: ShippingAddress {
            name: "Rival".into(),
            line1: "2 Elsewhere St".into(),
            line2: None,
            city: "Hamburg".into(),
            region: None,
            postal_code: "20095".into(),
            country: "DE".into(),
        },
        ..order
    }
}

/// `POST /v1/checkout` with `body`, as `CUSTOMER` under `KEY`.
pub fn checkout_event(body: impl Into<String>) -> HttpEvent {
    let mut event = HttpEvent {
        request_id: "req-checkout".into(),
        ..json_request(
            "POST",
            "/v1/checkout",
            &[],
            Some(body.into()),
            customer(CUSTOMER),
        )
    };
    event.headers.insert("idempotency-key".into(), KEY.into());
    event
}

/// A valid checkout body in EUR for `(sku, quantity)` lines.
pub fn cart(lines: &[(&str, i64)]) -> Value {
    json!({
        "lines": lines
            .iter()
            .map(|(sku, quantity)| json!({ "sku": sku, "quantity": quantity }))
            .collect::<Vec<_>>(),
        "currency": "EUR",
        "email": "ada@example.com",
        "shipping_address": {
            "name": "Ada Lovelace",
            "line1": "1 Analytical Way",
            "city": "Berlin",
            "postal_code": "10115",
            "country": "DE"
        }
    })
}
