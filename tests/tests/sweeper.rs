//! The scheduled jobs at volume, alone in their own test binary so no other
//! run touches their orders: one sweep releases 2,000 lapsed reservations;
//! one expiry cancels 200 backorders past 60 days, half with their orders.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use reservation_sweeper::{App, SweepLimits};
use shopflow_dynamo::DynamoStore;
use shopflow_tests::{place_lapsed_orders, stack_without_schedules as stack, unique, warehouses};
use std::time::Duration;

#[tokio::test]
async fn one_sweep_releases_two_thousand_lapsed_reservations() {
    let (api, admin) = (stack().api(), stack().admin());
    let sku = unique("LAPSE");
    let warehouse = warehouses()[0].clone();
    api.product_with_stock(&admin, &sku, 100, &[(&warehouse, 2_000)])
        .await;
    let ids = place_lapsed_orders(&sku, &warehouse, 2_000).await;
    assert_eq!(api.stock(&admin, &sku, &warehouse).await, (2_000, 2_000, 0));

    let clients = stack().clients().await;
    let report = App::new(
        DynamoStore::new(clients.dynamodb.clone(), &stack().spec.table.name),
        SweepLimits {
            concurrency: 16,
            page_size: 100,
            time_budget: Duration::from_secs(600),
        },
    )
    .sweep(shopflow_lambda_kit::now())
    .await;
    assert_eq!(report.expired_orders, 2_000, "{report:?}");
    assert_eq!(report.released_units, 2_000);
    assert_eq!((report.failed, report.incomplete), (0, false));
    assert_eq!(api.stock(&admin, &sku, &warehouse).await, (2_000, 0, 2_000));
    for id in ids.iter().step_by(250) {
        let order = api.get(&format!("/v1/orders/{id}"), &admin).await;
        assert_eq!(order.body["order"]["status"], "expired");
    }
}

/// A paid order placed 61 days before `now` for `reserved` units of
/// `kept` (when any) and one backordered unit of `waiting`.
async fn paid_backorder(
    store: &DynamoStore,
    (kept, waiting): (&str, &str),
    reserved: u32,
    placed_at: shopflow_domain::Timestamp,
) -> shopflow_domain::Order {
    use shopflow_domain::{CaptureState, OrderId, OrderStatus, Payment};
    let warehouse = warehouses()[0].clone();
    let mut lines = Vec::new();
    if reserved > 0 {
        lines.push(shopflow_testkit::order_line(
            kept, &warehouse, reserved, 100,
        ));
    }
    lines.push(shopflow_testkit::backordered_line(
        waiting,
        &warehouse,
        (1, 1),
        250,
        placed_at,
    ));
    let id = OrderId::from_ulid(ulid::Ulid::generate());
    let mut order = shopflow_testkit::unpaid_order(id, "expiry-customer", lines, placed_at);
    order.status = OrderStatus::Confirmed;
    let total = order.totals.grand_total.minor;
    order.payment = Payment {
        intent_id: Some(format!("pi_expiry_{id}")),
        status: CaptureState::Captured,
        authorized_minor: total,
        captured_minor: total,
        ..Payment::default()
    };
    shopflow_testkit::place_order(store, &order, ulid::Ulid::generate()).await;
    order
}

#[tokio::test]
async fn one_expiry_cancels_two_hundred_backorders_past_sixty_days() {
    use shopflow_ports::{JobRuns, OrderReader, PaymentRecords};
    let (api, admin) = (stack().api(), stack().admin());
    let warehouse = warehouses()[0].clone();
    let (kept, waiting) = (unique("KEPT"), unique("LATE"));
    api.product_with_stock(&admin, &kept, 100, &[(&warehouse, 100)])
        .await;
    api.product_with_stock(&admin, &waiting, 250, &[]).await;
    let clients = stack().clients().await;
    let store = DynamoStore::new(clients.dynamodb.clone(), &stack().spec.table.name);
    shopflow_testkit::allow_backorders(&store, &waiting, &warehouse, 1_000).await;
    let now = shopflow_lambda_kit::now();
    let placed_at = now.minus_secs(61 * 86_400);
    let mut keeping = Vec::new();
    let mut only_waiting = Vec::new();
    for _ in 0..100 {
        keeping.push(paid_backorder(&store, (&kept, &waiting), 1, placed_at).await);
        only_waiting.push(paid_backorder(&store, (&kept, &waiting), 0, placed_at).await);
    }
    let expirer = backorder_expirer::App::new(
        DynamoStore::new(clients.dynamodb.clone(), &stack().spec.table.name),
        backorder_expirer::MaxAge { days: 60 },
    );

    let started = std::time::Instant::now();
    let report = expirer.expire(now).await.unwrap();
    println!(
        "expiry: {} backorders examined, {} cancelled alone, {} with their orders, in {:.2} s",
        report.examined,
        report.cancelled,
        report.orders_cancelled,
        started.elapsed().as_secs_f64()
    );

    // Other binaries' backorders are never 60 days old: these are all.
    assert_eq!(report.examined, 200, "{report:?}");
    assert_eq!((report.cancelled, report.orders_cancelled), (100, 100));
    assert_eq!(report.failed, 0);
    // Each kept order gets its backordered unit back (2.50); each order of
    // the backordered unit alone everything it paid (2.50 too).
    assert_eq!(report.refunded_minor, 200 * 250);
    let level = api.get(&format!("/v1/inventory/{waiting}"), &admin).await;
    assert_eq!(
        level.body["warehouses"][0]["backordered"], 0,
        "{:?}",
        level.body
    );
    // payment-actions then asks the (mock) provider for each held refund;
    // what stays is the refund record the expiry wrote.
    for order in keeping.iter().step_by(25) {
        let records = store.order_payments(order.id).await.unwrap().unwrap();
        assert_eq!(
            records.order.status,
            shopflow_domain::OrderStatus::Confirmed
        );
        let backorder = order.lines[1].backorder.unwrap().id;
        let refund = records.refund(&format!("rf_bo_{backorder}")).unwrap();
        assert_eq!(refund.amount_minor, 250);
    }
    for order in only_waiting.iter().step_by(25) {
        let now = store.order(order.id).await.unwrap().unwrap();
        assert_eq!(now.status, shopflow_domain::OrderStatus::Cancelled);
    }
    let again = expirer.expire(now).await.unwrap();
    assert_eq!(again.examined, 0, "{again:?}");
    let runs = store.runs("backorder-expirer", 2).await.unwrap();
    // Both may start within the same millisecond: their order is not
    // what is checked.
    let mut cancelled: Vec<u64> = runs
        .iter()
        .map(|run| run.report["cancelled"].as_u64().unwrap())
        .collect();
    cancelled.sort_unstable();
    assert_eq!(cancelled, [0, 100]);
}
