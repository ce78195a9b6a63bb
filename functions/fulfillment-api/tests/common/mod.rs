//! The fulfilment handler over an in-memory store holding a shop that sells
//! tees and mugs from Berlin and Hamburg, with helpers to place and pay
//! orders, and to send requests shaped as API Gateway sends them.
#![allow(clippy::unwrap_used, clippy::expect_used, dead_code)]

use fulfillment_api::App;
use serde_json::{Value, json};
use shopflow_domain::{Order, OrderId, OrderTrigger, Product, StockLevel};
use shopflow_lambda_kit::apigw::HttpEvent;
use shopflow_ports::{InventoryStore, OrderReader};
use shopflow_testkit::memory::MemoryStore;
use shopflow_testkit::{
    ADA, SharedStore, StoreHooks, backordered_line, eur, json_request, order_line, payments,
    request, sku, unpaid_order, wh,
};
use ulid::Ulid;

#[allow(unused_imports)]
pub use shopflow_testkit::{Claims, GRACE, Reply, admin, anonymous, customer};

pub const TEE: &str = "TEE-RED";
pub const MUG: &str = "MUG";
pub const BERLIN: &str = "BER";
pub const HAMBURG: &str = "HAM";

pub struct FulfilmentApi<H: StoreHooks = ()> {
    app: App<SharedStore<H>>,
    store: SharedStore<H>,
}

impl FulfilmentApi {
    pub async fn new() -> Self {
        Self::with_hooks(()).await
    }
}

impl<H: StoreHooks> FulfilmentApi<H> {
    pub async fn with_hooks(hooks: H) -> Self {
        let store = SharedStore::new(hooks);
        for (code, name) in [(TEE, "Red tee"), (MUG, "Mug")] {
            let product = Product {
                sku: sku(code),
                name: name.into(),
                price: eur(1_000),
                active: true,
            };
            store.memory().upsert_product(&product).await.unwrap();
        }
        Self {
            app: App::new(store.clone(), vec![wh(BERLIN), wh(HAMBURG)]),
            store,
        }
    }

    pub fn store(&self) -> &MemoryStore {
        self.store.memory()
    }

    /// An order of Ada's for `tees` tees and `mugs` mugs, reserved in
    /// Berlin, not paid.
    pub async fn unpaid_order(&self, tees: u32, mugs: u32) -> Order {
        let at = shopflow_lambda_kit::now();
        let mut lines = Vec::new();
        for (code, units) in [(TEE, tees), (MUG, mugs)] {
            if units > 0 {
                self.restock(code, BERLIN, units).await;
                lines.push(order_line(code, BERLIN, units, 1_000));
            }
        }
        let order = unpaid_order(OrderId::from_ulid(Ulid::generate()), ADA, lines, at);
        shopflow_testkit::place_order(self.store(), &order, Ulid::generate()).await;
        order
    }

    /// [`Self::unpaid_order`], its money taken.
    pub async fn paid_order(&self, tees: u32, mugs: u32) -> Order {
        let order = self.unpaid_order(tees, mugs).await;
        self.apply(order.id, OrderTrigger::PaymentCaptured).await;
        self.order(order.id).await
    }

    /// A paid order of Ada's: `reserved` tees from stock in Berlin, and
    /// `waiting` more on backorder there.
    pub async fn paid_backordered_order(&self, reserved: u32, waiting: u32) -> Order {
        let at = shopflow_lambda_kit::now();
        shopflow_testkit::allow_backorders(self.store(), TEE, BERLIN, 100).await;
        self.restock(TEE, BERLIN, reserved).await;
        let line = backordered_line(TEE, BERLIN, (reserved + waiting, waiting), 1_000, at);
        let order = unpaid_order(OrderId::from_ulid(Ulid::generate()), ADA, vec![line], at);
        shopflow_testkit::place_order(self.store(), &order, Ulid::generate()).await;
        self.apply(order.id, OrderTrigger::PaymentCaptured).await;
        self.order(order.id).await
    }

    pub async fn apply(&self, id: OrderId, trigger: OrderTrigger) {
        shopflow_testkit::apply(
            self.store(),
            id,
            trigger,
            &payments(),
            None,
            shopflow_lambda_kit::now(),
        )
        .await
        .unwrap();
    }

    pub async fn restock(&self, code: &str, warehouse: &str, units: u32) {
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

    pub async fn order(&self, id: OrderId) -> Order {
        self.store().order(id).await.unwrap().unwrap()
    }

    pub fn level(&self, code: &str, warehouse: &str) -> StockLevel {
        self.store().stock(&sku(code), &wh(warehouse))
    }

    /// `POST /v1/orders/{id}/fulfillments` under `key` with `body`.
    pub async fn fulfil_with(
        &self,
        order: OrderId,
        key: &str,
        body: &Value,
        claims: Claims,
    ) -> Reply {
        let mut event = json_request(
            "POST",
            "/v1/orders/{id}/fulfillments",
            &[("id", &order.to_string())],
            Some(body.to_string()),
            claims,
        );
        event.headers.insert("idempotency-key".into(), key.into());
        self.send(event).await
    }

    /// Staff ship `lines` of `order` from Berlin with USPS under a fresh
    /// key and tracking number.
    pub async fn fulfil(&self, order: OrderId, lines: &[(&str, u32)]) -> Reply {
        self.fulfil_with(
            order,
            &Ulid::generate().to_string(),
            &shipment(BERLIN, lines),
            admin(),
        )
        .await
    }

    pub async fn get(&self, route: &str, id: &str, claims: Claims) -> Reply {
        self.send(request("GET", route, &[("id", id)], claims))
            .await
    }

    pub async fn send(&self, event: HttpEvent) -> Reply {
        shopflow_testkit::call(|request| self.app.handle(request), event).await
    }
}

/// A fulfilment request body: `lines` from `warehouse`, by USPS under a
/// tracking number of its own.
pub fn shipment(warehouse: &str, lines: &[(&str, u32)]) -> Value {
    json!({
        "warehouse": warehouse,
        "carrier": "usps",
        "tracking_number": tracking_number(),
        "lines": lines
            .iter()
            .map(|(code, units)| json!({ "sku": code, "quantity": units }))
            .collect::<Vec<_>>(),
    })
}

/// A USPS-like tracking number no other test uses.
pub fn tracking_number() -> String {
    let digits: String = Ulid::generate()
        .to_string()
        .bytes()
        .map(|b| char::from(b'0' + b % 10))
        .collect();
    format!("94{digits}")
}

pub fn ada() -> Claims {
    customer(ADA)
}
