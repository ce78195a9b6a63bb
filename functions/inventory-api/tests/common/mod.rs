//! The inventory handler over an in-memory store the test can still look
//! into, requests shaped as API Gateway sends them, and readers for the
//! answers.
#![allow(clippy::unwrap_used, clippy::expect_used, dead_code)]

use async_trait::async_trait;
use inventory_api::App;
use serde_json::Value;
use shopflow_domain::events::{DomainEvent, InventoryRestocked, OrderCreated};
use shopflow_domain::{
    Currency, CustomerId, Email, Money, Order, OrderId, OrderLine, OrderStatus, OrderTotals,
    Product, Quantity, ShippingAddress, Sku, StockLevel, Timestamp, WarehouseId,
};
use shopflow_lambda_kit::apigw::HttpEvent;
use shopflow_store::memory::MemoryStore;
use shopflow_store::{
    CheckoutReceipt, CheckoutStore, IdempotencyKey, InventoryStore, OutboxEvent, RestockError,
    StoreError,
};
use std::collections::BTreeMap;
use std::sync::Arc;
use ulid::Ulid;

pub const CUSTOMER: &str = "cust-ada";
pub const STAFF: &str = "staff-1";

pub type Claims = Option<BTreeMap<String, String>>;

/// A customer's claims: signed in, no admin scope.
pub fn customer() -> Claims {
    Some(BTreeMap::from([("sub".into(), CUSTOMER.into())]))
}

pub fn admin() -> Claims {
    Some(BTreeMap::from([
        ("sub".into(), STAFF.into()),
        ("scope".into(), "admin".into()),
    ]))
}

pub fn anonymous() -> Claims {
    None
}

pub fn sku(code: &str) -> Sku {
    Sku::parse(code).unwrap()
}

pub fn wh(code: &str) -> WarehouseId {
    WarehouseId::parse(code).unwrap()
}

/// The handler's store, shared so tests can read what it wrote.
#[derive(Clone, Default)]
struct SharedStore(Arc<MemoryStore>);

#[async_trait]
impl InventoryStore for SharedStore {
    async fn upsert_product(&self, product: &Product) -> Result<(), StoreError> {
        self.0.upsert_product(product).await
    }

    async fn product(&self, sku: &Sku) -> Result<Option<Product>, StoreError> {
        self.0.product(sku).await
    }

    async fn stock_levels(&self, sku: &Sku) -> Result<Vec<(WarehouseId, StockLevel)>, StoreError> {
        self.0.stock_levels(sku).await
    }

    async fn restock(
        &self,
        sku: &Sku,
        warehouse: &WarehouseId,
        received: u32,
        event: &OutboxEvent,
    ) -> Result<StockLevel, RestockError> {
        self.0.restock(sku, warehouse, received, event).await
    }
}

pub struct InventoryApi {
    app: App<SharedStore>,
    store: SharedStore,
}

impl InventoryApi {
    pub fn new() -> Self {
        let store = SharedStore::default();
        Self {
            app: App::new(store.clone()),
            store,
        }
    }

    pub fn store(&self) -> &MemoryStore {
        &self.store.0
    }

    /// A product in the catalog, put there without the API.
    pub async fn catalogued(&self, code: &str) {
        let product = Product {
            sku: sku(code),
            name: format!("Product {code}"),
            price: Money::new(1_250, Currency::parse("EUR").unwrap()).unwrap(),
            active: true,
        };
        self.store().upsert_product(&product).await.unwrap();
    }

    /// Units received into a warehouse without the API.
    pub async fn received(&self, code: &str, warehouse: &str, units: u32) {
        let event = OutboxEvent {
            id: Ulid::generate(),
            occurred_at: Timestamp::from_millis(0),
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

    /// Holds `units` for an order, as checkout would.
    pub async fn reserved(&self, code: &str, warehouse: &str, units: u32) {
        let order = order_for(code, warehouse, units);
        let event = OutboxEvent {
            id: Ulid::generate(),
            occurred_at: order.created_at,
            event: DomainEvent::OrderCreated(OrderCreated::from(&order)),
        };
        let key = IdempotencyKey {
            scope: format!("checkout#{CUSTOMER}"),
            key: order.id.to_string(),
        };
        let response = CheckoutReceipt {
            request_fingerprint: order.id.to_string(),
            order_id: order.id,
        };
        self.store()
            .place_order(&order, &event, &key, &response)
            .await
            .unwrap();
    }

    pub fn stock_of(&self, code: &str, warehouse: &str) -> StockLevel {
        self.store().stock(&sku(code), &wh(warehouse))
    }

    pub async fn product(&self, code: &str) -> Option<Product> {
        self.store().product(&sku(code)).await.unwrap()
    }

    /// The `inventory.restocked` events recorded so far.
    pub fn restocked_events(&self) -> Vec<InventoryRestocked> {
        self.store()
            .outbox()
            .into_iter()
            .filter_map(|event| match event.event {
                DomainEvent::InventoryRestocked(restocked) => Some(restocked),
                _ => None,
            })
            .collect()
    }

    /// `PUT /v1/products/{sku}`.
    pub async fn put_product(&self, code: &str, body: impl ToString, claims: Claims) -> Reply {
        self.send(HttpEvent {
            method: "PUT".into(),
            route: "/v1/products/{sku}".into(),
            path: format!("/v1/products/{}", path_segment(code)),
            path_parameters: BTreeMap::from([("sku".into(), code.into())]),
            headers: json_content(),
            body: Some(body.to_string()),
            claims,
            ..HttpEvent::default()
        })
        .await
    }

    /// `POST /v1/inventory/{sku}/{warehouse}/restock`.
    pub async fn restock(
        &self,
        code: &str,
        warehouse: &str,
        body: impl ToString,
        claims: Claims,
    ) -> Reply {
        self.send(HttpEvent {
            method: "POST".into(),
            route: "/v1/inventory/{sku}/{warehouse}/restock".into(),
            path: format!(
                "/v1/inventory/{}/{}/restock",
                path_segment(code),
                path_segment(warehouse)
            ),
            path_parameters: BTreeMap::from([
                ("sku".into(), code.into()),
                ("warehouse".into(), warehouse.into()),
            ]),
            headers: json_content(),
            body: Some(body.to_string()),
            claims,
            ..HttpEvent::default()
        })
        .await
    }

    /// `GET /v1/inventory/{sku}`.
    pub async fn stock(&self, code: &str, claims: Claims) -> Reply {
        self.send(HttpEvent {
            method: "GET".into(),
            route: "/v1/inventory/{sku}".into(),
            path: format!("/v1/inventory/{}", path_segment(code)),
            path_parameters: BTreeMap::from([("sku".into(), code.into())]),
            claims,
            ..HttpEvent::default()
        })
        .await
    }

    pub async fn send(&self, event: HttpEvent) -> Reply {
        let request = event.into_request().unwrap();
        let _logging = logging();
        let response = self.app.handle(request).await.unwrap();
        Reply {
            status: response.status().as_u16(),
            body: String::from_utf8(response.body().as_ref().to_vec()).unwrap(),
        }
    }
}

fn json_content() -> BTreeMap<String, String> {
    BTreeMap::from([("content-type".into(), "application/json".into())])
}

/// A path parameter as it appears, percent-encoded, in the raw path.
fn path_segment(raw: &str) -> String {
    raw.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.') {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

fn order_for(code: &str, warehouse: &str, units: u32) -> Order {
    let eur = Currency::parse("EUR").unwrap();
    let money = |minor| Money::new(minor, eur.clone()).unwrap();
    let created_at = Timestamp::from_millis(1_704_067_200_000);
    Order {
        id: OrderId::from_ulid(Ulid::generate()),
        customer_id: CustomerId::parse(CUSTOMER).unwrap(),
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
        email: Email::parse("ada@example.com").unwrap(),
        shipping_address: ShippingAddress {
            name: "Ada Lovelace".into(),
            line1: "1 Analytical Way".into(),
            line2: None,
            city: "Berlin".into(),
            region: None,
            postal_code: "10115".into(),
            country: "DE".into(),
        },
        created_at,
        reservation_expires_at: created_at.plus_secs(900),
        version: 1,
    }
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
