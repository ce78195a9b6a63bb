//! The daily expiry on an injected clock: backorders past 60 days are
//! cancelled with their refunds (or with their orders), younger ones are
//! left, a rerun changes nothing, and every run is recorded.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use backorder_expirer::{App, MaxAge};
use shopflow_domain::{
    BackorderStatus, CaptureState, Order, OrderId, OrderStatus, Payment, Product, Timestamp,
};
use shopflow_lambda_kit::config::vars;
use shopflow_ports::{InventoryStore, JobRuns, OrderReader, PaymentRecords};
use shopflow_testkit::{
    ADA, OPENING_DAY, SharedStore, backordered_line, eur, order_line, place_order, receive_stock,
    sku, unpaid_order, wh,
};
use ulid::Ulid;

const PRINT: &str = "PRINT-A4";
const WAREHOUSE: &str = "BER";
const DAY: u64 = 86_400;

struct Shop {
    store: SharedStore,
    app: App<SharedStore>,
}

impl Shop {
    async fn new() -> Self {
        let store = SharedStore::default();
        let print = Product {
            sku: sku(PRINT),
            name: "Print A4".into(),
            price: eur(1_000),
            active: true,
        };
        store.memory().upsert_product(&print).await.unwrap();
        let mug = Product {
            sku: sku("MUG"),
            name: "Mug".into(),
            price: eur(1_000),
            active: true,
        };
        store.memory().upsert_product(&mug).await.unwrap();
        shopflow_testkit::allow_backorders(store.memory(), PRINT, WAREHOUSE, 1_000).await;
        Self {
            app: App::new(store.clone(), MaxAge::from(&vars(&[])).unwrap()),
            store,
        }
    }

    /// A paid order placed at `at`: `reserved` prints from stock and
    /// `waiting` backordered, at 10.00 with no tax or shipping.
    async fn paid_order(&self, at: Timestamp, reserved: u32, waiting: u32) -> Order {
        let mut lines = Vec::new();
        if reserved > 0 {
            receive_stock(
                self.store.memory(),
                "MUG",
                WAREHOUSE,
                reserved,
                Ulid::generate(),
                at,
            )
            .await;
            lines.push(order_line("MUG", WAREHOUSE, reserved, 1_000));
        }
        lines.push(backordered_line(
            PRINT,
            WAREHOUSE,
            (waiting, waiting),
            1_000,
            at,
        ));
        let mut order = unpaid_order(
            OrderId::from_ulid(Ulid::from_parts(at.as_millis(), rand())),
            ADA,
            lines,
            at,
        );
        order.status = OrderStatus::Confirmed;
        let total = order.totals.grand_total.minor;
        order.payment = Payment {
            intent_id: Some(format!("pi_{}", order.id)),
            status: CaptureState::Captured,
            authorized_minor: total,
            captured_minor: total,
            ..Payment::default()
        };
        place_order(self.store.memory(), &order, Ulid::generate()).await;
        order
    }

    async fn order(&self, id: OrderId) -> Order {
        self.store.memory().order(id).await.unwrap().unwrap()
    }
}

fn rand() -> u128 {
    Ulid::generate().random()
}

#[tokio::test]
async fn backorders_past_sixty_days_are_cancelled_with_their_refunds_and_the_run_recorded() {
    let shop = Shop::new().await;
    let old = OPENING_DAY;
    let keeps_a_mug = shop.paid_order(old, 1, 2).await;
    let only_prints = shop.paid_order(old.plus_secs(DAY), 0, 3).await;
    let young = shop.paid_order(old.plus_secs(30 * DAY), 0, 1).await;
    let now = old.plus_secs(61 * DAY + 3_600);

    let report = shop.app.expire(now).await.unwrap();

    assert_eq!(report.examined, 2, "{report:?}");
    assert_eq!(report.cancelled, 1, "{report:?}");
    assert_eq!(report.orders_cancelled, 1, "{report:?}");
    assert_eq!(report.units_cancelled, 5);
    // The mug's order gets the two prints back (20.00); the prints-only
    // order everything it paid (30.00).
    assert_eq!(report.refunded_minor, 2_000 + 3_000);
    assert_eq!(report.failed, 0);

    let kept = shop
        .store
        .memory()
        .order_payments(keeps_a_mug.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(kept.order.status, OrderStatus::Confirmed);
    assert_eq!(kept.order.payment.refund_pending_minor, 2_000);
    assert!(kept.refunds.iter().any(|r| r.amount_minor == 2_000));
    assert_eq!(
        shop.order(only_prints.id).await.status,
        OrderStatus::Cancelled
    );
    assert_eq!(shop.order(young.id).await.status, OrderStatus::Confirmed);
    let queue = shop.store.memory().queue(&sku(PRINT), &wh(WAREHOUSE));
    let open: Vec<OrderId> = queue
        .iter()
        .filter(|b| b.status.is_open())
        .map(|b| b.order_id)
        .collect();
    assert_eq!(open, [young.id]);
    assert!(
        queue
            .iter()
            .filter(|b| b.order_id != young.id)
            .all(|b| b.status == BackorderStatus::Cancelled)
    );
    let level = shop.store.memory().stock(&sku(PRINT), &wh(WAREHOUSE));
    assert_eq!(level.backordered, 1);
    let reasons: Vec<String> = shop
        .store
        .memory()
        .outbox()
        .iter()
        .filter(|e| e.event.detail_type() == "backorder.cancelled")
        .map(|e| serde_json::to_value(&e.event).unwrap()["reason"].to_string())
        .collect();
    assert_eq!(reasons.len(), 2);

    // Rerun: nothing is due any more; both runs are on record.
    let again = shop.app.expire(now).await.unwrap();
    assert_eq!(
        (again.examined, again.cancelled, again.orders_cancelled),
        (0, 0, 0)
    );
    let runs = shop
        .store
        .memory()
        .runs("backorder-expirer", 10)
        .await
        .unwrap();
    assert_eq!(runs.len(), 2);
    // Both started within the same millisecond or two: their order is not
    // what is checked.
    let first = runs
        .iter()
        .find(|run| run.report["cancelled"] == 1)
        .expect("the run that cancelled");
    assert_eq!(
        first.report["cutoff"],
        old.plus_secs(DAY + 3_600).to_rfc3339()
    );
    assert!(runs.iter().any(|run| run.report["cancelled"] == 0));
}

#[tokio::test]
async fn the_limit_is_configurable_and_checked() {
    assert_eq!(MaxAge::from(&vars(&[])).unwrap().days, 60);
    assert_eq!(
        MaxAge::from(&vars(&[("BACKORDER_MAX_AGE_DAYS", "90")]))
            .unwrap()
            .days,
        90
    );
    assert!(MaxAge::from(&vars(&[("BACKORDER_MAX_AGE_DAYS", "0")])).is_err());
    assert!(MaxAge::from(&vars(&[("BACKORDER_MAX_AGE_DAYS", "soon")])).is_err());
}
