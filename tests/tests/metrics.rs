//! Order metrics for staff, alone in their own test binary so that the
//! counts move only by what this test does.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use serde_json::{Value, json};
use shopflow_tests::{cart, stack_without_schedules as stack, unique, warehouses};

fn count(metrics: &Value, pointer: &str) -> i64 {
    metrics
        .pointer(pointer)
        .and_then(Value::as_i64)
        .unwrap_or_else(|| panic!("{pointer} missing in {metrics}"))
}

#[tokio::test]
async fn metrics_count_open_orders_reservations_backorders_and_recent_cancellations() {
    let (api, admin) = (stack().api(), stack().admin());
    let sku = unique("METRIC");
    api.product_with_stock(&admin, &sku, 100, &[(&warehouses()[0], 10)])
        .await;
    let token = stack().customer(&unique("counted"));
    let before = api.get("/v1/orders/metrics", &admin).await.body;

    let mut placed = Vec::new();
    for _ in 0..3 {
        let reply = api
            .checkout(&token, &unique("key"), &cart(&[(&sku, 1)]))
            .await;
        placed.push(reply.body["order"]["id"].as_str().unwrap().to_owned());
    }
    assert_eq!(api.cancel(&placed[0], &token, &json!({})).await.status, 200);

    let after = api.get("/v1/orders/metrics", &admin).await;
    assert_eq!(after.status, 200, "{}", after.body);
    let delta = |pointer: &str| count(&after.body, pointer) - count(&before, pointer);
    assert_eq!(delta("/open_by_status/pending_payment"), 2);
    assert_eq!(delta("/finished_last_24h_by_status/cancelled"), 1);
    assert_eq!(delta("/reservations/active"), 2);
    assert_eq!(delta("/payments/in_flight"), 2);
    assert_eq!(delta("/reservations/expired_last_hour"), 0);
    assert_eq!(api.get("/v1/orders/metrics", &token).await.status, 403);

    // Then the backorders, after the order counts: one test, so each
    // part's counts move only by what it does.
    backorder_metrics_count_what_waits_and_the_fulfilled_ones_revenue().await;
    fulfillment_metrics_count_shipments_where_they_stand().await;
}

async fn backorder_metrics_count_what_waits_and_the_fulfilled_ones_revenue() {
    let (api, admin) = (stack().api(), stack().admin());
    let sku = unique("METRIC-BO");
    let warehouse = warehouses()[0].clone();
    api.product_with_stock(&admin, &sku, 400, &[]).await;
    api.allow_backorders(&admin, &sku, &warehouse, 10).await;
    let before = api.get("/v1/orders/metrics", &admin).await.body;
    let token = stack().customer(&unique("waiting"));
    let mut body = cart(&[(&sku, 2)]);
    body["accept_backorder"] = json!(true);
    let placed = api.checkout(&token, &unique("key"), &body).await;
    assert_eq!(placed.status, 201, "{}", placed.body);

    let waiting = api.get("/v1/orders/metrics", &admin).await.body;
    let delta = |now: &Value, pointer: &str| count(now, pointer) - count(&before, pointer);
    assert_eq!(delta(&waiting, "/backorders/open"), 1, "{waiting}");
    assert_eq!(delta(&waiting, "/backorders/open_units"), 2);
    assert_eq!(waiting["backorders"]["window_days"], 30);

    // Restocked, the allocator serves it: fulfilled, and its two units'
    // price counts as revenue.
    api.restock(&admin, &sku, &warehouse, 2).await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let served = loop {
        let now = api.get("/v1/orders/metrics", &admin).await.body;
        if delta(&now, "/backorders/fulfilled") == 1 || std::time::Instant::now() > deadline {
            break now;
        }
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    };
    assert_eq!(delta(&served, "/backorders/fulfilled"), 1, "{served}");
    assert_eq!(delta(&served, "/backorders/open"), 0);
    let revenue = |metrics: &Value| {
        metrics
            .pointer("/backorders/revenue_minor/EUR")
            .and_then(Value::as_i64)
            .unwrap_or(0)
    };
    assert_eq!(revenue(&served) - revenue(&before), 2 * 400);
    assert!(served["backorders"]["fulfillment_rate"].as_f64().unwrap() > 0.0);
    assert!(served["backorders"]["average_wait_days"].as_f64().unwrap() >= 0.0);
}

/// Three paid orders shipped by USPS: one parcel in transit, one whose
/// delivery failed, one sent back.
async fn fulfillment_metrics_count_shipments_where_they_stand() {
    use shopflow_domain::TrackingStatus as T;
    let (api, admin) = (stack().api(), stack().admin());
    let sku = unique("METRIC-SHIP");
    let warehouse = warehouses()[0].clone();
    api.product_with_stock(&admin, &sku, 900, &[(&warehouse, 3)])
        .await;
    let before = api.get("/v1/orders/metrics", &admin).await.body;
    for last in [T::InTransit, T::DeliveryFailed, T::ReturnedToSender] {
        let (id, _) = shopflow_tests::paid_order(&api, &[(&sku, 1)]).await;
        let number = shopflow_tests::tracking_number("MET");
        let shipped =
            shopflow_tests::fulfil(&api, &id, &warehouse, "usps", &number, &[(&sku, 1)]).await;
        assert_eq!(shipped.status, 201, "{}", shipped.body);
        let scan = shopflow_testkit::couriers::Scan {
            status: last,
            at: shopflow_lambda_kit::now(),
            city: "TOWN".into(),
        };
        let pushed = shopflow_tests::usps_pushes(&api, &number, &[scan]).await;
        assert_eq!(pushed.status, 200, "{}", pushed.body);
    }

    let after = api.get("/v1/orders/metrics", &admin).await.body;
    let delta = |pointer: &str| count(&after, pointer) - count(&before, pointer);
    assert_eq!(delta("/fulfillment/active_fulfillments"), 3, "{after}");
    assert_eq!(delta("/fulfillment/shipments_in_flight"), 2);
    assert_eq!(delta("/fulfillment/needing_attention"), 2);
    assert_eq!(delta("/fulfillment/returns_pending"), 1);
    assert_eq!(delta("/shipments_in_flight"), 2);
}
