//! Order histories for the orders API tests: orders placed straight into the
//! in-memory store and moved along their lifecycle, requests shaped as API
//! Gateway sends them, and readers for the answers and for what the store
//! holds afterwards.
#![allow(clippy::unwrap_used, clippy::expect_used, dead_code)]

use async_trait::async_trait;
use orders_api::App;
use serde_json::Value;
use shopflow_domain::events::{DomainEvent, InventoryRestocked, OrderCreated, OrderStatusChanged};
use shopflow_domain::{
    Actor, Currency, CustomerId, Email, Money, Order, OrderId, OrderLine, OrderStatus, OrderTotals,
    OrderTrigger, Product, Quantity, ShippingAddress, Sku, StockLevel, Timestamp, WarehouseId,
};
use shopflow_lambda_kit::apigw::HttpEvent;
use shopflow_store::memory::MemoryStore;
use shopflow_store::{
    ChangeError, CheckoutReceipt, CheckoutStore, HistoryEntry, IdempotencyKey, InventoryStore,
    OrderLifecycle, OrderReader, OutboxEvent, Page, StatusChange, StoreError,
};
use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use ulid::Ulid;

pub const ADA: &str = "cust-ada";
pub const GRACE: &str = "cust-grace";
pub const ADMIN: &str = "staff-1";

const SKU: &str = "TEE-RED";
const WAREHOUSE: &str = "MAIN";
/// Units on hand before any order reserves some.
pub const ON_HAND: u32 = 1_000_000;
/// 2024-01-01T00:00:00Z; each order is placed, and each change made, a minute
/// after the one before.
const FIRST_ORDER_AT: u64 = 1_704_067_200_000;

/// Orders placed one after another, oldest first, and moved along their
/// lifecycle, before the API opens.
pub struct History {
    store: SharedStore,
    minutes: u64,
}

impl History {
    pub async fn new() -> Self {
        let store = SharedStore::default();
        let product = Product {
            sku: sku(),
            name: "Red tee".into(),
            price: eur(1_250),
            active: true,
        };
        store.memory.upsert_product(&product).await.unwrap();
        let restock = OutboxEvent {
            id: Ulid::from_parts(FIRST_ORDER_AT, 0),
            occurred_at: Timestamp::from_millis(FIRST_ORDER_AT),
            event: DomainEvent::InventoryRestocked(InventoryRestocked {
                sku: sku(),
                warehouse: warehouse(),
                received: ON_HAND,
            }),
        };
        store
            .memory
            .restock(&sku(), &warehouse(), ON_HAND, &restock)
            .await
            .unwrap();
        Self { store, minutes: 0 }
    }

    /// Places an order for one red tee as `customer`, newer than every order so far.
    pub async fn order_for(&mut self, customer: &str) -> OrderId {
        self.order_of(customer, 1).await
    }

    /// Places an order for `tees` red tees as `customer`, newer than every order so far.
    pub async fn order_of(&mut self, customer: &str, tees: u32) -> OrderId {
        let created_at = self.tick();
        let id = OrderId::from_ulid(Ulid::from_parts(
            created_at.as_millis(),
            u128::from(self.minutes),
        ));
        let order = order(id, customer, created_at, tees);
        let event = OutboxEvent {
            id: Ulid::from_parts(created_at.as_millis(), 0),
            occurred_at: created_at,
            event: DomainEvent::OrderCreated(OrderCreated::from(&order)),
        };
        let key = IdempotencyKey {
            scope: format!("checkout#{customer}"),
            key: id.to_string(),
        };
        let response = CheckoutReceipt {
            request_fingerprint: id.to_string(),
            order_id: id,
        };
        self.store
            .memory
            .place_order(&order, &event, &key, &response)
            .await
            .unwrap();
        id
    }

    /// Moves the order on by `trigger` as the payments or fulfilment service
    /// would, a minute after the last thing that happened.
    pub async fn apply(&mut self, id: OrderId, trigger: OrderTrigger, actor: Actor) {
        let at = self.tick();
        apply(&self.store.memory, id, trigger, &actor, None, at)
            .await
            .unwrap();
    }

    /// Pays for the order and ships it.
    pub async fn ship(&mut self, id: OrderId) {
        for trigger in [
            OrderTrigger::PaymentCaptured,
            OrderTrigger::FulfillmentStarted,
            OrderTrigger::Shipped,
        ] {
            self.apply(id, trigger, payments()).await;
        }
    }

    /// The next write the handler makes finds its read stale: just before it,
    /// `actor` moves the order on by `trigger`.
    pub fn overtaken_by(self, trigger: OrderTrigger, actor: Actor, reason: Option<&str>) -> Self {
        self.store.races().push_back(Race::Overtaken {
            trigger,
            actor,
            reason: reason.map(str::to_owned),
        });
        self
    }

    /// Every write the handler makes finds its read stale, as if the order
    /// never stopped changing.
    pub fn forever_changing(self) -> Self {
        self.store.races().push_back(Race::Forever);
        self
    }

    pub fn open(self) -> OrdersApi {
        OrdersApi {
            app: App::new(self.store.clone()),
            store: self.store,
        }
    }

    fn tick(&mut self) -> Timestamp {
        self.minutes += 1;
        Timestamp::from_millis(FIRST_ORDER_AT + self.minutes * 60_000)
    }
}

/// Who moves orders on in these histories besides customers and staff.
pub fn payments() -> Actor {
    Actor::System("payments")
}

/// Moves the order on by `trigger` as the domain allows, through the store.
async fn apply(
    store: &MemoryStore,
    id: OrderId,
    trigger: OrderTrigger,
    actor: &Actor,
    reason: Option<String>,
    at: Timestamp,
) -> Result<(), ChangeError> {
    let order = store.order(id).await?.expect("the order exists");
    let to = order.status.transition(trigger).unwrap();
    let change = StatusChange::new(&order, to, trigger, actor, reason, at);
    store.change_status(&change).await
}

/// The memory store as the handler sees it. The test keeps a clone to look
/// at stock, outbox and history afterwards, and can make the handler lose
/// the race for its next write.
#[derive(Clone, Default)]
pub struct SharedStore {
    memory: Arc<MemoryStore>,
    races: Arc<Mutex<VecDeque<Race>>>,
    writes: Arc<Mutex<Vec<StatusChange>>>,
}

enum Race {
    /// Another writer changes the order first, once.
    Overtaken {
        trigger: OrderTrigger,
        actor: Actor,
        reason: Option<String>,
    },
    /// Every write is stale.
    Forever,
}

impl SharedStore {
    fn races(&self) -> MutexGuard<'_, VecDeque<Race>> {
        self.races.lock().unwrap()
    }
}

#[async_trait]
impl OrderReader for SharedStore {
    async fn order(&self, id: OrderId) -> Result<Option<Order>, StoreError> {
        self.memory.order(id).await
    }

    async fn customer_orders(
        &self,
        customer: &CustomerId,
        after: Option<OrderId>,
        limit: u16,
    ) -> Result<Page<Order, OrderId>, StoreError> {
        self.memory.customer_orders(customer, after, limit).await
    }
}

#[async_trait]
impl OrderLifecycle for SharedStore {
    async fn change_status(&self, change: &StatusChange) -> Result<(), ChangeError> {
        self.writes.lock().unwrap().push(change.clone());
        let race = {
            let mut races = self.races();
            match races.front() {
                Some(Race::Forever) => return Err(ChangeError::Stale),
                Some(Race::Overtaken { .. }) => races.pop_front(),
                None => None,
            }
        };
        if let Some(Race::Overtaken {
            trigger,
            actor,
            reason,
        }) = race
        {
            let at = Timestamp::from_millis(change.at.as_millis().saturating_sub(1));
            apply(&self.memory, change.order_id, trigger, &actor, reason, at).await?;
            // The write now finds the order changed, as it would in DynamoDB.
            let outcome = self.memory.change_status(change).await;
            assert!(matches!(outcome, Err(ChangeError::Stale)), "{outcome:?}");
            return outcome;
        }
        self.memory.change_status(change).await
    }

    async fn history(&self, id: OrderId) -> Result<Vec<HistoryEntry>, StoreError> {
        self.memory.history(id).await
    }

    async fn lapsed_reservations(
        &self,
        now: Timestamp,
        shard: u8,
        after: Option<String>,
        limit: u16,
    ) -> Result<Page<Order, String>, StoreError> {
        self.memory
            .lapsed_reservations(now, shard, after, limit)
            .await
    }
}

fn order(id: OrderId, customer: &str, created_at: Timestamp, tees: u32) -> Order {
    let subtotal = 1_250 * i64::from(tees);
    // 19 % tax rounded half up, 5.00 shipping.
    let tax = (subtotal * 19 + 50) / 100;
    Order {
        id,
        customer_id: CustomerId::parse(customer).unwrap(),
        status: OrderStatus::PendingPayment,
        currency: Currency::parse("EUR").unwrap(),
        lines: vec![OrderLine {
            sku: sku(),
            name: "Red tee".into(),
            quantity: Quantity::parse(tees).unwrap(),
            unit_price: eur(1_250),
            line_total: eur(subtotal),
            warehouse: warehouse(),
        }],
        totals: OrderTotals {
            subtotal: eur(subtotal),
            tax: eur(tax),
            shipping: eur(500),
            grand_total: eur(subtotal + tax + 500),
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

pub fn sku() -> Sku {
    Sku::parse(SKU).unwrap()
}

pub fn warehouse() -> WarehouseId {
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
    app: App<SharedStore>,
    store: SharedStore,
}

impl OrdersApi {
    /// `POST /v1/orders/{id}/cancel` with `body`, if any.
    pub async fn cancel(
        &self,
        id: &str,
        body: Option<&str>,
        claims: Option<BTreeMap<String, String>>,
    ) -> Reply {
        self.send(HttpEvent {
            method: "POST".into(),
            route: "/v1/orders/{id}/cancel".into(),
            path: format!("/v1/orders/{id}/cancel"),
            path_parameters: BTreeMap::from([("id".into(), id.into())]),
            headers: BTreeMap::from([("content-type".into(), "application/json".into())]),
            body: body.map(str::to_owned),
            claims,
            ..HttpEvent::default()
        })
        .await
    }

    /// `GET /v1/orders/{id}/timeline`.
    pub async fn timeline(&self, id: &str, claims: Option<BTreeMap<String, String>>) -> Reply {
        self.send(HttpEvent {
            method: "GET".into(),
            route: "/v1/orders/{id}/timeline".into(),
            path: format!("/v1/orders/{id}/timeline"),
            path_parameters: BTreeMap::from([("id".into(), id.into())]),
            claims,
            ..HttpEvent::default()
        })
        .await
    }

    /// Red tees in the warehouse: on hand, and reserved by orders.
    pub fn stock(&self) -> StockLevel {
        self.store.memory.stock(&sku(), &warehouse())
    }

    /// The order as stored now.
    pub async fn stored(&self, id: OrderId) -> Order {
        self.store.memory.order(id).await.unwrap().unwrap()
    }

    /// The order's applied status changes, oldest first.
    pub async fn history(&self, id: OrderId) -> Vec<HistoryEntry> {
        self.store.memory.history(id).await.unwrap()
    }

    /// Status-change events recorded in the outbox for the order, oldest
    /// first, each with its detail-type.
    pub fn status_events(&self, id: OrderId) -> Vec<(&'static str, OrderStatusChanged)> {
        self.store
            .memory
            .outbox()
            .into_iter()
            .filter_map(|recorded| match &recorded.event {
                DomainEvent::OrderStatusChanged(change) if change.order_id == id => {
                    Some((recorded.event.detail_type(), change.clone()))
                }
                _ => None,
            })
            .collect()
    }

    /// How many status writes the handler attempted, including stale ones.
    pub fn write_attempts(&self) -> usize {
        self.store.writes.lock().unwrap().len()
    }

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
