//! Order histories for the orders API tests: orders placed straight into the
//! in-memory store and moved along their lifecycle, requests shaped as API
//! Gateway sends them, and readers for the answers and for what the store
//! holds afterwards.
#![allow(clippy::unwrap_used, clippy::expect_used, dead_code)]

use async_trait::async_trait;
use orders_api::App;
use serde_json::Value;
use shopflow_domain::events::OrderStatusChanged;
use shopflow_domain::{
    Actor, Email, Order, OrderId, OrderLine, OrderTotals, OrderTrigger, Product, Sku, StockLevel,
    Timestamp, WarehouseId,
};
use shopflow_lambda_kit::apigw::HttpEvent;
use shopflow_ports::{
    ChangeError, HistoryEntry, InventoryStore, OrderLifecycle, OrderReader, StatusChange,
};
use shopflow_testkit::memory::MemoryStore;
use shopflow_testkit::{
    Claims, Reply, SharedStore, StoreHooks, apply, eur, json_request, order_line, request,
};
use std::collections::VecDeque;
use std::sync::{Mutex, MutexGuard};
use ulid::Ulid;

// Shared helpers under the names these tests use; like the rest of this
// module, each test file uses only some of them.
#[allow(unused_imports)]
pub use shopflow_testkit::{ADA, GRACE, STAFF as ADMIN, admin, anonymous, customer, payments};

const SKU: &str = "TEE-RED";
const WAREHOUSE: &str = "MAIN";
/// Units on hand before any order reserves some.
pub const ON_HAND: u32 = 1_000_000;
/// 2024-01-01T00:00:00Z; each order is placed, and each change made, a minute
/// after the one before.
const FIRST_ORDER_AT: u64 = shopflow_testkit::OPENING_DAY.as_millis();

/// Orders placed one after another, oldest first, and moved along their
/// lifecycle, before the API opens.
pub struct History {
    store: RacingStore,
    minutes: u64,
}

impl History {
    pub async fn new() -> Self {
        let store = RacingStore::default();
        let product = Product {
            sku: sku(),
            name: "Red tee".into(),
            price: eur(1_250),
            active: true,
        };
        store.memory().upsert_product(&product).await.unwrap();
        shopflow_testkit::receive_stock(
            store.memory(),
            SKU,
            WAREHOUSE,
            ON_HAND,
            Ulid::from_parts(FIRST_ORDER_AT, 0),
            Timestamp::from_millis(FIRST_ORDER_AT),
        )
        .await;
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
        shopflow_testkit::place_order(
            self.store.memory(),
            &order,
            Ulid::from_parts(created_at.as_millis(), 0),
        )
        .await;
        id
    }

    /// Moves the order on by `trigger` as the payments or fulfilment service
    /// would, a minute after the last thing that happened.
    pub async fn apply(&mut self, id: OrderId, trigger: OrderTrigger, actor: Actor) {
        let at = self.tick();
        apply(self.store.memory(), id, trigger, &actor, None, at)
            .await
            .unwrap();
    }

    /// Records, a minute after the last thing that happened, a way the order
    /// was offered to be paid, as checkout or the payments API would.
    pub async fn offer_payment(&mut self, id: OrderId, intent_id: &str) {
        let attempt = shopflow_domain::PaymentAttempt::Intent {
            intent_id: intent_id.into(),
            created_at: self.tick(),
        };
        shopflow_ports::PaymentRecords::record_attempt(self.store.memory(), id, &attempt)
            .await
            .unwrap();
    }

    /// Records a staff refund of `amount_minor`, settled a minute after the
    /// last thing that happened.
    pub async fn refunded_by_staff(&mut self, id: OrderId, amount_minor: i64, reason: &str) {
        let order = self.store.memory().order(id).await.unwrap().unwrap();
        let refund = shopflow_domain::Refund {
            id: format!("rf_{}", self.minutes),
            amount_minor,
            reason: reason.into(),
            status: shopflow_domain::RefundStatus::Succeeded,
            provider_refund_id: Some("re_1".into()),
            failure: None,
            requested_by: shopflow_testkit::STAFF.into(),
            requested_at: self.tick(),
            request_fingerprint: String::new(),
        };
        let change = shopflow_ports::PaymentChange {
            order_id: id,
            expected_version: order.version,
            payment: order.payment.clone(),
            refund: Some(shopflow_ports::RefundWrite::New(refund)),
            event: None,
            applies: None,
            at: order.created_at,
        };
        shopflow_ports::PaymentRecords::change_payment(self.store.memory(), &change)
            .await
            .unwrap();
    }

    /// Pays for the order and ships it.
    pub async fn ship(&mut self, id: OrderId) {
        for trigger in [OrderTrigger::PaymentCaptured, OrderTrigger::Shipped] {
            self.apply(id, trigger, payments()).await;
        }
    }

    /// Ships the paid order's units from its warehouse with USPS a minute
    /// after the last thing that happened, then has the carrier report
    /// `reports` (code and status), a minute apart.
    pub async fn ship_tracked(
        &mut self,
        id: OrderId,
        number: &str,
        reports: &[(&str, shopflow_domain::TrackingStatus)],
    ) {
        use shopflow_domain::Carrier;
        let order = self.store.memory().order(id).await.unwrap().unwrap();
        let at = self.tick();
        let shipment =
            shopflow_testkit::ship_all(self.store.memory(), &order, Carrier::Usps, number, at)
                .await;
        for (code, status) in reports {
            let report = shopflow_domain::TrackingEvent {
                carrier_event_id: None,
                code: (*code).into(),
                description: status.as_str().replace('_', " "),
                location: Some("Berlin".into()),
                occurred_at: self.tick(),
                status: *status,
                raw_ref: None,
            };
            let at = self.tick();
            shopflow_ports::take_in_reports(
                self.store.memory(),
                Carrier::Usps,
                &shipment.tracking_number,
                vec![report],
                &Actor::System("courier-webhook"),
                at,
            )
            .await
            .unwrap();
        }
    }

    /// Issues the paid order's invoice a minute after the last thing that
    /// happened, as invoice-issuer does on `order.paid`.
    pub async fn invoice(&mut self, id: OrderId) {
        let order = self.store.memory().order(id).await.unwrap().unwrap();
        let at = self.tick();
        let terms = shopflow_testkit::invoice_terms();
        shopflow_ports::issue_order_invoice(self.store.memory(), &order, &terms, at)
            .await
            .unwrap();
    }

    /// The next write the handler makes finds its read stale: just before it,
    /// `actor` moves the order on by `trigger`.
    pub fn overtaken_by(self, trigger: OrderTrigger, actor: Actor, reason: Option<&str>) -> Self {
        self.store.hooks().races().push_back(Race::Overtaken {
            trigger,
            actor,
            reason: reason.map(str::to_owned),
        });
        self
    }

    /// Every write the handler makes finds its read stale, as if the order
    /// never stopped changing.
    pub fn forever_changing(self) -> Self {
        self.store.hooks().races().push_back(Race::Forever);
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

/// The memory store as the handler sees it. The test keeps a clone to look
/// at stock, outbox and history afterwards, and can make the handler lose
/// the race for its next write.
type RacingStore = SharedStore<Races>;

/// The races the handler's next writes lose, and every write it attempted.
#[derive(Default)]
struct Races {
    races: Mutex<VecDeque<Race>>,
    writes: Mutex<Vec<StatusChange>>,
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

impl Races {
    fn races(&self) -> MutexGuard<'_, VecDeque<Race>> {
        self.races.lock().unwrap()
    }
}

#[async_trait]
impl StoreHooks for Races {
    async fn change_status(
        &self,
        memory: &MemoryStore,
        change: &StatusChange,
    ) -> Result<(), ChangeError> {
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
            apply(memory, change.order_id, trigger, &actor, reason, at).await?;
            // The write now finds the order changed, as it would in DynamoDB.
            let outcome = memory.change_status(change).await;
            assert!(matches!(outcome, Err(ChangeError::Stale)), "{outcome:?}");
            return outcome;
        }
        memory.change_status(change).await
    }
}

fn order(id: OrderId, customer: &str, created_at: Timestamp, tees: u32) -> Order {
    let subtotal = 1_250 * i64::from(tees);
    // 19 % tax rounded half up, 5.00 shipping.
    let tax = (subtotal * 19 + 50) / 100;
    let line = OrderLine {
        name: "Red tee".into(),
        ..order_line(SKU, WAREHOUSE, tees, 1_250)
    };
    Order {
        totals: OrderTotals {
            subtotal: eur(subtotal),
            tax: eur(tax),
            shipping: eur(500),
            grand_total: eur(subtotal + tax + 500),
        },
        email: Email::parse("buyer@example.com").unwrap(),
        ..shopflow_testkit::unpaid_order(id, customer, vec![line], created_at)
    }
}

pub fn sku() -> Sku {
    shopflow_testkit::sku(SKU)
}

pub fn warehouse() -> WarehouseId {
    shopflow_testkit::wh(WAREHOUSE)
}

/// The orders handler over a finished history.
pub struct OrdersApi {
    app: App<RacingStore>,
    store: RacingStore,
}

impl OrdersApi {
    /// `POST /v1/orders/{id}/cancel` with `body`, if any.
    pub async fn cancel(&self, id: &str, body: Option<&str>, claims: Claims) -> Reply {
        self.send(json_request(
            "POST",
            "/v1/orders/{id}/cancel",
            &[("id", id)],
            body.map(str::to_owned),
            claims,
        ))
        .await
    }

    /// `GET /v1/orders/{id}/timeline`.
    pub async fn timeline(&self, id: &str, claims: Claims) -> Reply {
        self.send(request(
            "GET",
            "/v1/orders/{id}/timeline",
            &[("id", id)],
            claims,
        ))
        .await
    }

    /// Red tees in the warehouse: on hand, and reserved by orders.
    pub fn stock(&self) -> StockLevel {
        self.store.memory().stock(&sku(), &warehouse())
    }

    /// The order as stored now.
    pub async fn stored(&self, id: OrderId) -> Order {
        self.store.memory().order(id).await.unwrap().unwrap()
    }

    /// The order's applied status changes, oldest first.
    pub async fn history(&self, id: OrderId) -> Vec<HistoryEntry> {
        self.store.memory().history(id).await.unwrap()
    }

    /// Status-change events recorded in the outbox for the order, oldest
    /// first, each with its detail-type.
    pub fn status_events(&self, id: OrderId) -> Vec<(&'static str, OrderStatusChanged)> {
        shopflow_testkit::status_events(self.store.memory())
            .into_iter()
            .filter(|(_, change)| change.order_id == id)
            .collect()
    }

    /// How many status writes the handler attempted, including stale ones.
    pub fn write_attempts(&self) -> usize {
        self.store.hooks().writes.lock().unwrap().len()
    }

    /// `GET /v1/orders/{id}`.
    pub async fn get(&self, id: &str, claims: Claims) -> Reply {
        self.send(request("GET", "/v1/orders/{id}", &[("id", id)], claims))
            .await
    }

    /// `GET /v1/orders?{query}`.
    pub async fn list(&self, query: &str, claims: Claims) -> Reply {
        self.send(HttpEvent {
            raw_query: query.into(),
            ..request("GET", "/v1/orders", &[], claims)
        })
        .await
    }

    pub async fn send(&self, event: HttpEvent) -> Reply {
        shopflow_testkit::call(|request| self.app.handle(request), event).await
    }

    /// Every order `claims` can list, following cursors `limit` at a time,
    /// as (ids, pages fetched).
    pub async fn list_all(&self, limit: u16, claims: Claims) -> (Vec<String>, Vec<Vec<String>>) {
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
