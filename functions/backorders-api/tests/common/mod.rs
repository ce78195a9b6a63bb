//! The backorders handler over an in-memory store holding a shop that
//! backorders posters in Berlin, with helpers to queue orders, restock and
//! allocate, and to send requests shaped as API Gateway sends them.
#![allow(clippy::unwrap_used, clippy::expect_used, dead_code)]

use backorders_api::App;
use shopflow_domain::{
    Backorder, BackorderId, CaptureState, Order, OrderId, OrderStatus, Payment, Product, StockLevel,
};
use shopflow_lambda_kit::apigw::HttpEvent;
use shopflow_ports::InventoryStore;
use shopflow_testkit::memory::MemoryStore;
use shopflow_testkit::{
    ADA, SharedStore, backordered_line, eur, json_request, order_line, request, sku, unpaid_order,
    wh,
};
use ulid::Ulid;

#[allow(unused_imports)]
pub use shopflow_testkit::{Claims, GRACE, Reply, admin, anonymous, customer};

pub const POSTER: &str = "POSTER-A2";
pub const PRINT: &str = "PRINT-A4";
pub const BERLIN: &str = "BER";
pub const PARIS: &str = "PAR";

pub struct BackordersApi {
    app: App<SharedStore>,
    store: SharedStore,
}

impl BackordersApi {
    pub async fn new() -> Self {
        let store = SharedStore::default();
        let poster = Product {
            sku: sku(POSTER),
            name: "Poster A2".into(),
            price: eur(1_500),
            active: true,
        };
        store.memory().upsert_product(&poster).await.unwrap();
        let print = Product {
            sku: sku(PRINT),
            name: "Print A4".into(),
            price: eur(1_000),
            active: true,
        };
        store.memory().upsert_product(&print).await.unwrap();
        for warehouse in [BERLIN, PARIS] {
            for code in [POSTER, PRINT] {
                shopflow_testkit::allow_backorders(store.memory(), code, warehouse, 10_000).await;
            }
        }
        Self {
            app: App::new(store.clone()),
            store,
        }
    }

    pub fn store(&self) -> &MemoryStore {
        self.store.memory()
    }

    /// An order of `customer` for `units` posters from `warehouse`, the
    /// last `waiting` of them backordered; answers its backorder. Each is
    /// created in a millisecond of its own, so ids sort as they were made.
    pub async fn backorder(
        &self,
        customer: &str,
        warehouse: &str,
        (units, waiting): (u32, u32),
    ) -> Backorder {
        tokio::time::sleep(std::time::Duration::from_millis(2)).await;
        let at = shopflow_lambda_kit::now();
        if units > waiting {
            self.restock(warehouse, units - waiting).await;
        }
        let line = backordered_line(POSTER, warehouse, (units, waiting), 1_500, at);
        let order = unpaid_order(
            OrderId::from_ulid(Ulid::generate()),
            customer,
            vec![line],
            at,
        );
        shopflow_testkit::place_order(self.store(), &order, Ulid::generate()).await;
        self.store()
            .queue(&sku(POSTER), &wh(warehouse))
            .into_iter()
            .find(|backorder| backorder.order_id == order.id)
            .unwrap()
    }

    /// A paid order of Ada's: `reserved` posters from stock in Berlin on
    /// one line, and `waiting` backordered on a second line of prints;
    /// 20% tax and 4.95 shipping. Answers the order and the backorder.
    pub async fn paid_order(&self, reserved: u32, waiting: u32) -> (Order, Backorder) {
        tokio::time::sleep(std::time::Duration::from_millis(2)).await;
        let at = shopflow_lambda_kit::now();
        let mut lines = Vec::new();
        if reserved > 0 {
            self.restock(BERLIN, reserved).await;
            lines.push(order_line(POSTER, BERLIN, reserved, 1_500));
        }
        lines.push(backordered_line(
            PRINT,
            BERLIN,
            (waiting, waiting),
            1_000,
            at,
        ));
        let mut order = unpaid_order(OrderId::from_ulid(Ulid::generate()), ADA, lines, at);
        let subtotal = order.totals.subtotal.minor;
        order.totals.tax = eur(subtotal / 5);
        order.totals.shipping = eur(495);
        order.totals.grand_total = eur(subtotal + subtotal / 5 + 495);
        order.status = OrderStatus::Confirmed;
        order.payment = Payment {
            intent_id: Some("pi_paid".into()),
            status: CaptureState::Captured,
            authorized_minor: order.totals.grand_total.minor,
            captured_minor: order.totals.grand_total.minor,
            ..Payment::default()
        };
        shopflow_testkit::place_order(self.store(), &order, Ulid::generate()).await;
        let backorder = self
            .store()
            .queue(&sku(PRINT), &wh(BERLIN))
            .into_iter()
            .find(|backorder| backorder.order_id == order.id)
            .unwrap();
        (order, backorder)
    }

    /// `POST /v1/backorders/{id}/cancel` with `reason`.
    pub async fn cancel(&self, id: BackorderId, reason: &str, claims: Claims) -> Reply {
        let body = serde_json::json!({ "reason": reason }).to_string();
        self.post("/v1/backorders/{id}/cancel", &id.to_string(), &body, claims)
            .await
    }

    /// Receives `units` posters, setting aside what the queue is owed.
    pub async fn restock(&self, warehouse: &str, units: u32) {
        shopflow_testkit::receive_stock(
            self.store(),
            POSTER,
            warehouse,
            units,
            Ulid::generate(),
            shopflow_lambda_kit::now(),
        )
        .await;
    }

    pub fn level(&self, warehouse: &str) -> StockLevel {
        self.store().stock(&sku(POSTER), &wh(warehouse))
    }

    pub fn queue(&self, warehouse: &str) -> Vec<Backorder> {
        self.store().queue(&sku(POSTER), &wh(warehouse))
    }

    pub async fn get(&self, id: &str, claims: Claims) -> Reply {
        self.send(request("GET", "/v1/backorders/{id}", &[("id", id)], claims))
            .await
    }

    pub async fn list(&self, query: &str, claims: Claims) -> Reply {
        self.send(HttpEvent {
            raw_query: query.into(),
            ..request("GET", "/v1/backorders", &[], claims)
        })
        .await
    }

    pub async fn search(&self, query: &str, claims: Claims) -> Reply {
        self.send(HttpEvent {
            raw_query: query.into(),
            ..request("GET", "/v1/admin/backorders", &[], claims)
        })
        .await
    }

    pub async fn post(&self, route: &str, id: &str, body: &str, claims: Claims) -> Reply {
        self.send(json_request(
            "POST",
            route,
            &[("id", id)],
            Some(body.into()),
            claims,
        ))
        .await
    }

    pub async fn send(&self, event: HttpEvent) -> Reply {
        shopflow_testkit::call(|request| self.app.handle(request), event).await
    }
}

pub fn ada() -> Claims {
    customer(ADA)
}

pub fn grace() -> Claims {
    customer(GRACE)
}

pub fn ids(listed: &serde_json::Value) -> Vec<String> {
    listed["backorders"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["id"].as_str().unwrap().to_owned())
        .collect()
}
