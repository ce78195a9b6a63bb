//! The shop a checkout test runs against: the handler over an in-memory store
//! with a small catalog, requests shaped as API Gateway sends them, and
//! readers for the answers.
#![allow(clippy::unwrap_used, clippy::expect_used, dead_code)]

use async_trait::async_trait;
use checkout_api::App;
use serde_json::{Value, json};
use shopflow_domain::events::{DomainEvent, InventoryRestocked, OrderCreated};
use shopflow_domain::{
    CheckoutPolicy, Currency, CustomerId, Email, Money, Order, OrderId, OrderLine, OrderStatus,
    OrderTotals, Product, Quantity, ShippingAddress, Sku, StockLevel, Timestamp, WarehouseId,
};
use shopflow_lambda_kit::apigw::HttpEvent;
use shopflow_store::memory::MemoryStore;
use shopflow_store::{
    CheckoutReceipt, CheckoutSnapshot, CheckoutStore, IdempotencyKey, InventoryStore, OrderReader,
    OutboxEvent, Page, PlaceOrderError, StoreError,
};
use std::collections::BTreeMap;
use std::sync::Mutex;
use ulid::Ulid;

pub const CUSTOMER: &str = "cust-ada";
pub const OTHER_CUSTOMER: &str = "cust-grace";
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

pub fn sku(code: &str) -> Sku {
    Sku::parse(code).unwrap()
}

pub fn wh(code: &str) -> WarehouseId {
    WarehouseId::parse(code).unwrap()
}

/// The checkout handler over an empty in-memory store.
pub struct Shop {
    app: App<RacedStore>,
}

impl Shop {
    pub fn new() -> Self {
        Self::with_policy(policy())
    }

    pub fn with_policy(policy: CheckoutPolicy) -> Self {
        Self {
            app: App::new(RacedStore::default(), policy),
        }
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
        &self.app.store().inner
    }

    /// Has another customer's order reserve `units` of a SKU in a warehouse
    /// after checkout has read stock but before it writes, as a concurrent
    /// checkout would.
    pub fn rival_reserves_before_next_write(&self, code: &str, warehouse: &str, units: u32) {
        let rival = rival_order(code, warehouse, units);
        *self.app.store().rival.lock().unwrap() = Some(rival);
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
        let event = OutboxEvent {
            id: Ulid::generate(),
            occurred_at: shopflow_lambda_kit::now(),
            event: DomainEvent::InventoryRestocked(InventoryRestocked {
                sku: sku(code),
                warehouse: wh(warehouse),
                received: units,
            }),
        };
        self.store()
            .restock(&sku(code), &wh(warehouse), units, &event)
            .await
            .unwrap();
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

    pub async fn send(&self, event: HttpEvent) -> Reply {
        let request = event.into_request().unwrap();
        let _logging = logging();
        let response = self.app.handle(request).await.unwrap();
        Reply {
            status: response.status().as_u16(),
            replayed: response.headers().contains_key("idempotent-replayed"),
            body: String::from_utf8(response.body().as_ref().to_vec()).unwrap(),
        }
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
#[derive(Default)]
pub struct RacedStore {
    inner: MemoryStore,
    rival: Mutex<Option<Order>>,
}

#[async_trait]
impl OrderReader for RacedStore {
    async fn order(&self, id: OrderId) -> Result<Option<Order>, StoreError> {
        self.inner.order(id).await
    }

    async fn customer_orders(
        &self,
        customer: &CustomerId,
        after: Option<OrderId>,
        limit: u16,
    ) -> Result<Page<Order, OrderId>, StoreError> {
        self.inner.customer_orders(customer, after, limit).await
    }
}

#[async_trait]
impl CheckoutStore for RacedStore {
    async fn checkout_snapshot(
        &self,
        key: &IdempotencyKey,
        skus: &[Sku],
        warehouses: &[WarehouseId],
    ) -> Result<CheckoutSnapshot, StoreError> {
        self.inner.checkout_snapshot(key, skus, warehouses).await
    }

    async fn place_order(
        &self,
        order: &Order,
        event: &OutboxEvent,
        key: &IdempotencyKey,
        response: &CheckoutReceipt,
    ) -> Result<(), PlaceOrderError> {
        let rival = self.rival.lock().unwrap().take();
        if let Some(rival) = rival {
            let rival_event = OutboxEvent {
                id: Ulid::generate(),
                occurred_at: rival.created_at,
                event: DomainEvent::OrderCreated(OrderCreated::from(&rival)),
            };
            let rival_key = IdempotencyKey {
                scope: format!("checkout#{}", rival.customer_id),
                key: rival.id.to_string(),
            };
            let rival_response = CheckoutReceipt {
                request_fingerprint: rival.id.to_string(),
                order_id: rival.id,
            };
            self.inner
                .place_order(&rival, &rival_event, &rival_key, &rival_response)
                .await
                .unwrap();
        }
        self.inner.place_order(order, event, key, response).await
    }
}

fn rival_order(code: &str, warehouse: &str, units: u32) -> Order {
    let eur = Currency::parse("EUR").unwrap();
    let money = |minor: i64| Money::new(minor, eur.clone()).unwrap();
    let created_at = Timestamp::from_millis(1_704_067_200_000);
    Order {
        id: OrderId::from_ulid(Ulid::generate()),
        customer_id: CustomerId::parse("cust-rival").unwrap(),
        status: OrderStatus::PendingPayment,
        currency: eur.clone(),
        lines: vec![OrderLine {
            sku: sku(code),
            name: format!("Product {code}"),
            quantity: Quantity::parse(units).unwrap(),
            unit_price: money(100),
            line_total: money(100 * i64::from(units)),
            warehouse: wh(warehouse),
        }],
        totals: OrderTotals {
            subtotal: money(100 * i64::from(units)),
            tax: money(0),
            shipping: money(0),
            grand_total: money(100 * i64::from(units)),
        },
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
        created_at,
        reservation_expires_at: created_at.plus_secs(900),
        version: 1,
    }
}

/// `POST /v1/checkout` with `body`, as `CUSTOMER` under `KEY`.
pub fn checkout_event(body: impl Into<String>) -> HttpEvent {
    HttpEvent {
        method: "POST".into(),
        route: "/v1/checkout".into(),
        path: "/v1/checkout".into(),
        headers: BTreeMap::from([
            ("content-type".into(), "application/json".into()),
            ("idempotency-key".into(), KEY.into()),
        ]),
        body: Some(body.into()),
        claims: Some(claims(CUSTOMER)),
        request_id: "req-checkout".into(),
        ..HttpEvent::default()
    }
}

pub fn claims(customer: &str) -> BTreeMap<String, String> {
    BTreeMap::from([("sub".into(), customer.into())])
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

/// A subscriber that takes every span and event, as Lambda's JSON logs do,
/// so the values the handler logs are computed (and can fail) in tests too.
/// The lines themselves are thrown away.
pub fn logging() -> tracing::subscriber::DefaultGuard {
    tracing::subscriber::set_default(
        tracing_subscriber::fmt()
            .json()
            .with_max_level(tracing::Level::TRACE)
            .with_writer(std::io::sink)
            .finish(),
    )
}

/// What the handler answered.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    /// Whether the answer is a replay of an earlier one for the same key.
    pub replayed: bool,
    pub body: String,
}

impl Reply {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap()
    }

    /// Asserts a problem body `{"error": {"code", "message", "details"}}` with
    /// this status and code, and returns its details.
    pub fn problem(&self, status: u16, code: &str) -> Value {
        assert_eq!(
            self.status, status,
            "unexpected status; body: {}",
            self.body
        );
        let body = self.json();
        let fields: Vec<&String> = body.as_object().unwrap().keys().collect();
        assert_eq!(fields, ["error"], "problem body: {}", self.body);
        let error = body["error"].as_object().unwrap();
        let mut keys: Vec<&String> = error.keys().collect();
        keys.sort();
        assert_eq!(
            keys,
            ["code", "details", "message"],
            "problem: {}",
            self.body
        );
        assert_eq!(error["code"], code, "problem: {}", self.body);
        assert!(
            !error["message"].as_str().unwrap().is_empty(),
            "problem without a message"
        );
        error["details"].clone()
    }

    /// Asserts a `400 invalid_request` naming `field`.
    pub fn invalid(&self, field: &str) -> Value {
        let details = self.problem(400, "invalid_request");
        assert_eq!(details["field"], field, "problem: {}", self.body);
        details
    }
}
