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
async fn metrics_count_open_orders_reservations_and_recent_cancellations() {
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
    assert_eq!(after.body["backorders_outstanding"], Value::Null);
    assert_eq!(api.get("/v1/orders/metrics", &token).await.status, 403);
}
