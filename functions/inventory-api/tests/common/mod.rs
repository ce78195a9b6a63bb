//! The inventory handler over an in-memory store the test can still look
//! into, requests shaped as API Gateway sends them, and readers for the
//! answers.
#![allow(clippy::unwrap_used, clippy::expect_used, dead_code)]

use inventory_api::App;
use shopflow_domain::events::{DomainEvent, InventoryRestocked};
use shopflow_domain::{OrderId, Product, StockLevel, Timestamp, WarehouseId};
use shopflow_lambda_kit::apigw::HttpEvent;
use shopflow_ports::InventoryStore;
use shopflow_testkit::memory::MemoryStore;
use shopflow_testkit::{OPENING_DAY, SharedStore, eur, json_request, order_line, request};
use ulid::Ulid;

// Shared helpers under the names these tests use; like the rest of this
// module, each test file uses only some of them.
#[allow(unused_imports)]
pub use shopflow_testkit::{ADA as CUSTOMER, Claims, Reply, STAFF, admin, anonymous, sku, wh};

/// A customer's claims: signed in, no admin scope.
pub fn customer() -> Claims {
    shopflow_testkit::customer(CUSTOMER)
}

/// The shop's warehouses: three cities, and W0 to W100 for the tests that
/// need a hundred rows.
pub fn warehouses() -> Vec<WarehouseId> {
    ["BER", "MUC", "HAM"]
        .into_iter()
        .map(str::to_owned)
        .chain((0..=100).map(|n| format!("W{n}")))
        .map(|code| WarehouseId::parse(&code).unwrap())
        .collect()
}

pub struct InventoryApi {
    app: App<SharedStore>,
    store: SharedStore,
}

impl InventoryApi {
    pub fn new() -> Self {
        let store = SharedStore::default();
        Self {
            app: App::new(store.clone(), warehouses()),
            store,
        }
    }

    pub fn store(&self) -> &MemoryStore {
        self.store.memory()
    }

    /// A product in the catalog, put there without the API.
    pub async fn catalogued(&self, code: &str) {
        let product = Product {
            sku: sku(code),
            name: format!("Product {code}"),
            price: eur(1_250),
            active: true,
        };
        self.store().upsert_product(&product).await.unwrap();
    }

    /// Units received into a warehouse without the API.
    pub async fn received(&self, code: &str, warehouse: &str, units: u32) {
        shopflow_testkit::receive_stock(
            self.store(),
            code,
            warehouse,
            units,
            Ulid::generate(),
            Timestamp::from_millis(0),
        )
        .await;
    }

    /// Holds `units` for an order, as checkout would.
    pub async fn reserved(&self, code: &str, warehouse: &str, units: u32) {
        let order = shopflow_testkit::unpaid_order(
            OrderId::from_ulid(Ulid::generate()),
            CUSTOMER,
            vec![order_line(code, warehouse, units, 100)],
            OPENING_DAY,
        );
        shopflow_testkit::place_order(self.store(), &order, Ulid::generate()).await;
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
        self.send(json_request(
            "PUT",
            "/v1/products/{sku}",
            &[("sku", code)],
            Some(body.to_string()),
            claims,
        ))
        .await
    }

    /// `POST /v1/inventory/{sku}/{warehouse}/restock` under a key of its own.
    pub async fn restock(
        &self,
        code: &str,
        warehouse: &str,
        body: impl ToString,
        claims: Claims,
    ) -> Reply {
        let key = ulid::Ulid::generate().to_string();
        self.restock_with_key(code, warehouse, body, claims, Some(&key))
            .await
    }

    /// `POST /v1/inventory/{sku}/{warehouse}/restock` under `key`, or none.
    pub async fn restock_with_key(
        &self,
        code: &str,
        warehouse: &str,
        body: impl ToString,
        claims: Claims,
        key: Option<&str>,
    ) -> Reply {
        let params = [("sku", code), ("warehouse", warehouse)];
        self.post_keyed(
            "/v1/inventory/{sku}/{warehouse}/restock",
            &params,
            body,
            claims,
            key,
        )
        .await
    }

    /// `POST route` with `body`, under the Idempotency-Key `key` (or none).
    async fn post_keyed(
        &self,
        route: &str,
        params: &[(&str, &str)],
        body: impl ToString,
        claims: Claims,
        key: Option<&str>,
    ) -> Reply {
        let mut event = json_request("POST", route, params, Some(body.to_string()), claims);
        if let Some(key) = key {
            event.headers.insert("idempotency-key".into(), key.into());
        }
        self.send(event).await
    }

    /// `POST /v1/inventory/{sku}/{warehouse}/adjust` under `key`.
    pub async fn adjust(
        &self,
        code: &str,
        warehouse: &str,
        body: impl ToString,
        claims: Claims,
        key: &str,
    ) -> Reply {
        let params = [("sku", code), ("warehouse", warehouse)];
        self.post_keyed(
            "/v1/inventory/{sku}/{warehouse}/adjust",
            &params,
            body,
            claims,
            Some(key),
        )
        .await
    }

    /// `POST /v1/inventory/{sku}/transfer` under `key`.
    pub async fn transfer(
        &self,
        code: &str,
        body: impl ToString,
        claims: Claims,
        key: &str,
    ) -> Reply {
        self.post_keyed(
            "/v1/inventory/{sku}/transfer",
            &[("sku", code)],
            body,
            claims,
            Some(key),
        )
        .await
    }

    /// `PUT /v1/inventory/{sku}/{warehouse}/low-stock`.
    pub async fn put_low_stock(
        &self,
        code: &str,
        warehouse: &str,
        body: impl ToString,
        claims: Claims,
    ) -> Reply {
        self.put_stock_setting("low-stock", code, warehouse, body, claims)
            .await
    }

    /// `GET /v1/products/{sku}/availability`, with no token, holding `etag`.
    pub async fn availability(&self, code: &str, etag: Option<&str>) -> Reply {
        let mut event = request(
            "GET",
            "/v1/products/{sku}/availability",
            &[("sku", code)],
            anonymous(),
        );
        if let Some(etag) = etag {
            event.headers.insert("if-none-match".into(), etag.into());
        }
        self.send(event).await
    }

    /// The events of `detail_type` recorded so far, as published.
    pub fn published(&self, detail_type: &str) -> Vec<serde_json::Value> {
        self.store()
            .outbox()
            .into_iter()
            .filter(|event| event.event.detail_type() == detail_type)
            .map(|event| serde_json::to_value(&event.event).unwrap())
            .collect()
    }

    /// `GET /v1/inventory/{sku}`.
    pub async fn stock(&self, code: &str, claims: Claims) -> Reply {
        self.send(request(
            "GET",
            "/v1/inventory/{sku}",
            &[("sku", code)],
            claims,
        ))
        .await
    }

    /// `GET /v1/inventory/{sku}/{warehouse}/backorder-settings`.
    pub async fn backorder_settings(&self, code: &str, warehouse: &str, claims: Claims) -> Reply {
        self.send(request(
            "GET",
            "/v1/inventory/{sku}/{warehouse}/backorder-settings",
            &[("sku", code), ("warehouse", warehouse)],
            claims,
        ))
        .await
    }

    /// `PUT /v1/inventory/{sku}/{warehouse}/backorder-settings`.
    pub async fn put_backorder_settings(
        &self,
        code: &str,
        warehouse: &str,
        body: impl ToString,
        claims: Claims,
    ) -> Reply {
        self.put_stock_setting("backorder-settings", code, warehouse, body, claims)
            .await
    }

    /// `PUT /v1/inventory/{sku}/{warehouse}/<setting>`.
    async fn put_stock_setting(
        &self,
        setting: &str,
        code: &str,
        warehouse: &str,
        body: impl ToString,
        claims: Claims,
    ) -> Reply {
        self.send(json_request(
            "PUT",
            &format!("/v1/inventory/{{sku}}/{{warehouse}}/{setting}"),
            &[("sku", code), ("warehouse", warehouse)],
            Some(body.to_string()),
            claims,
        ))
        .await
    }

    /// `PUT /v1/admin/backorder-settings`.
    pub async fn put_bulk_backorder_settings(&self, body: impl ToString, claims: Claims) -> Reply {
        self.send(json_request(
            "PUT",
            "/v1/admin/backorder-settings",
            &[],
            Some(body.to_string()),
            claims,
        ))
        .await
    }

    /// `GET /v1/inventory/{sku}/movements?<query>`.
    pub async fn movements(&self, code: &str, query: &str, claims: Claims) -> Reply {
        let mut event = request(
            "GET",
            "/v1/inventory/{sku}/movements",
            &[("sku", code)],
            claims,
        );
        event.raw_query = query.to_owned();
        self.send(event).await
    }

    /// `POST /v1/admin/backorders/allocate`.
    pub async fn request_allocation(&self, body: impl ToString, claims: Claims) -> Reply {
        self.send(json_request(
            "POST",
            "/v1/admin/backorders/allocate",
            &[],
            Some(body.to_string()),
            claims,
        ))
        .await
    }

    pub async fn send(&self, event: HttpEvent) -> Reply {
        shopflow_testkit::call(|request| self.app.handle(request), event).await
    }
}
