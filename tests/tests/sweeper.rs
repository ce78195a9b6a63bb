//! The reservation sweeper at volume, alone in its own test binary so no
//! other sweep touches its orders: one run releases 2,000 lapsed reservations.
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
