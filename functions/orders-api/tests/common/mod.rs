//! Order histories for the orders API tests: orders placed straight into the
//! in-memory store, requests shaped as API Gateway sends them, and readers
//! for the answers.
#![allow(clippy::unwrap_used, clippy::expect_used, dead_code)]

use orders_api::App;
use serde_json::Value;
use shopflow_domain::events::{DomainEvent, InventoryRestocked, OrderCreated};
use shopflow_domain::{
    Currency, CustomerId, Email, Money, Order, OrderId, OrderLine, OrderStatus, OrderTotals,
    Product, Quantity, ShippingAddress, Sku, Timestamp, WarehouseId,
};
use shopflow_lambda_kit::apigw::HttpEvent;
use shopflow_store::memory::MemoryStore;
use shopflow_store::{CheckoutStore, IdempotencyKey, InventoryStore, OutboxEvent, StoredResponse};
use std::collections::BTreeMap;
use ulid::Ulid;

pub const ADA: &str = "cust-ada";
pub const GRACE: &str = "cust-grace";
pub const ADMIN: &str = "staff-1";

const SKU: &str = "TEE-RED";
const WAREHOUSE: &str = "MAIN";
/// 2024-01-01T00:00:00Z; each order is placed a minute after the one before.
const FIRST_ORDER_AT: u64 = 1_704_067_200_000;

/// Orders placed one after another, oldest first, before the API opens.
pub struct History {
    store: MemoryStore,
    placed: u64,
}

impl History {
    pub async fn new() -> Self {
        let store = MemoryStore::new();
        let product = Product {
            sku: sku(),
            name: "Red tee".into(),
            price: eur(1_250),
            active: true,
        };
        store.upsert_product(&product).await.unwrap();
        let restock = OutboxEvent {
            id: Ulid::from_parts(FIRST_ORDER_AT, 0),
            occurred_at: Timestamp::from_millis(FIRST_ORDER_AT),
            event: DomainEvent::InventoryRestocked(InventoryRestocked {
                sku: sku(),
                warehouse: warehouse(),
                received: 1_000_000,
            }),
        };
        store
            .restock(&sku(), &warehouse(), 1_000_000, &restock)
            .await
            .unwrap();
        Self { store, placed: 0 }
    }

    /// Places an order for one red tee as `customer`, newer than every order so far.
    pub async fn order_for(&mut self, customer: &str) -> OrderId {
        self.placed += 1;
        let created_at = Timestamp::from_millis(FIRST_ORDER_AT + self.placed * 60_000);
        let id = OrderId::from_ulid(Ulid::from_parts(
            created_at.as_millis(),
            u128::from(self.placed),
        ));
        let order = order(id, customer, created_at);
        let event = OutboxEvent {
            id: Ulid::from_parts(created_at.as_millis(), 0),
            occurred_at: created_at,
            event: DomainEvent::OrderCreated(OrderCreated::from(&order)),
        };
        let key = IdempotencyKey {
            scope: format!("checkout#{customer}"),
            key: id.to_string(),
        };
        let response = StoredResponse {
            request_fingerprint: id.to_string(),
            status: 201,
            body: "{}".into(),
        };
        self.store
            .place_order(&order, &event, &key, &response)
            .await
            .unwrap();
        id
    }

    pub fn open(self) -> OrdersApi {
        OrdersApi {
            app: App::new(self.store),
        }
    }
}

fn order(id: OrderId, customer: &str, created_at: Timestamp) -> Order {
    Order {
        id,
        customer_id: CustomerId::parse(customer).unwrap(),
        status: OrderStatus::PendingPayment,
        currency: Currency::parse("EUR").unwrap(),
        lines: vec![OrderLine {
            sku: sku(),
            name: "Red tee".into(),
            quantity: Quantity::parse(1).unwrap(),
            unit_price: eur(1_250),
            line_total: eur(1_250),
            warehouse: warehouse(),
        }],
        totals: OrderTotals {
            subtotal: eur(1_250),
            tax: eur(238),
            shipping: eur(500),
            grand_total: eur(1_988),
        },
        email: Email::parse("buyer@example.com").unwrap(),
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

fn sku() -> Sku {
    Sku::parse(SKU).unwrap()
}

fn warehouse() -> WarehouseId {
    WarehouseId::parse(WAREHOUSE).unwrap()
}

fn eur(minor: i64) -> Money {
    Money::new(minor, Currency::parse("EUR").unwrap()).unwrap()
}

/// Who a request comes from, as the JWT authorizer's claims say.
pub fn customer(sub: &str) -> Option<BTreeMap<String, String>> {
    Some(BTreeMap::from([("sub".into(), sub.into())]))
}

pub fn admin() -> Option<BTreeMap<String, String>> {
    Some(BTreeMap::from([
        ("sub".into(), ADMIN.into()),
        ("scope".into(), "admin".into()),
    ]))
}

pub fn anonymous() -> Option<BTreeMap<String, String>> {
    None
}

/// The orders handler over a finished history.
pub struct OrdersApi {
    app: App<MemoryStore>,
}

impl OrdersApi {
    /// `GET /v1/orders/{id}`.
    pub async fn get(&self, id: &str, claims: Option<BTreeMap<String, String>>) -> Reply {
        self.send(HttpEvent {
            method: "GET".into(),
            route: "/v1/orders/{id}".into(),
            path: format!("/v1/orders/{id}"),
            path_parameters: BTreeMap::from([("id".into(), id.into())]),
            claims,
            ..HttpEvent::default()
        })
        .await
    }

    /// `GET /v1/orders?{query}`.
    pub async fn list(&self, query: &str, claims: Option<BTreeMap<String, String>>) -> Reply {
        self.send(HttpEvent {
            method: "GET".into(),
            route: "/v1/orders".into(),
            path: "/v1/orders".into(),
            raw_query: query.into(),
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

    /// Every order `claims` can list, following cursors `limit` at a time,
    /// as (ids, pages fetched).
    pub async fn list_all(
        &self,
        limit: u16,
        claims: Option<BTreeMap<String, String>>,
    ) -> (Vec<String>, Vec<Vec<String>>) {
        let mut pages = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let query = match &cursor {
                Some(cursor) => format!("limit={limit}&cursor={cursor}"),
                None => format!("limit={limit}"),
            };
            let reply = self.list(&query, claims.clone()).await;
            assert_eq!(reply.status, 200, "{}", reply.body);
            let body = reply.json();
            pages.push(order_ids(&body));
            assert!(pages.len() <= 100, "the cursor never runs out");
            match &body["next_cursor"] {
                Value::Null => break,
                Value::String(next) => cursor = Some(next.clone()),
                other => panic!("next_cursor is neither null nor a string: {other}"),
            }
        }
        (pages.concat(), pages)
    }
}

/// The ids of the orders in a listing, in the order listed.
pub fn order_ids(body: &Value) -> Vec<String> {
    body["orders"]
        .as_array()
        .unwrap()
        .iter()
        .map(|order| order["id"].as_str().unwrap().to_owned())
        .collect()
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
