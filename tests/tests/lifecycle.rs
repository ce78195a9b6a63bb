//! Order lifecycle on the local stack: cancellation hands stock back, the
//! reservation sweeper expires lapsed orders exactly once even when two run
//! at once, and a cancel racing the sweeper ends in one consistent state.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use futures::future::join_all;
use reservation_sweeper::{App, SweepLimits, SweepReport};
use serde_json::{Value, json};
use shopflow_dynamo::DynamoStore;
use shopflow_local::resources::Clients;
use shopflow_tests::{
    Api, cart, place_lapsed_orders, stack_without_schedules as stack, unique, warehouses,
};
use std::time::Duration;

fn sweeper(clients: &Clients) -> App<DynamoStore> {
    let limits = SweepLimits {
        concurrency: 16,
        page_size: 100,
        time_budget: Duration::from_secs(600),
    };
    App::new(
        DynamoStore::new(clients.dynamodb.clone(), &stack().spec.table.name),
        limits,
    )
}

/// The order's creation and status changes, oldest first (its payment
/// records left out).
async fn timeline(api: &Api, id: &str) -> Vec<Value> {
    let reply = api
        .get(&format!("/v1/orders/{id}/timeline"), &stack().admin())
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    reply.body["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|entry| entry["kind"].as_str().unwrap().starts_with("order."))
        .cloned()
        .collect()
}

fn status_changes(entries: &[Value]) -> Vec<&str> {
    entries
        .iter()
        .skip(1)
        .map(|e| e["kind"].as_str().unwrap())
        .collect()
}

#[tokio::test]
async fn cancelling_an_unpaid_order_hands_its_stock_back_once() {
    let (api, admin) = (stack().api(), stack().admin());
    let sku = unique("CANCEL");
    let warehouse = warehouses()[0].clone();
    api.product_with_stock(&admin, &sku, 100, &[(&warehouse, 5)])
        .await;
    let (alice, bob) = (
        stack().customer(&unique("alice")),
        stack().customer(&unique("bob")),
    );
    let placed = api
        .checkout(&alice, &unique("key"), &cart(&[(&sku, 3)]))
        .await;
    let id = placed.body["order"]["id"].as_str().unwrap().to_owned();
    assert_eq!(api.stock(&admin, &sku, &warehouse).await, (5, 3, 2));

    let cancel = |token: String, body: Value| {
        let api = api.clone();
        let id = id.clone();
        async move { api.cancel(&id, &token, &body).await }
    };
    assert_eq!(
        cancel(bob.clone(), json!({})).await.status,
        404,
        "another customer's order is not found"
    );
    let by_staff = cancel(admin.clone(), json!({})).await;
    assert_eq!(
        (
            by_staff.status,
            by_staff.body["error"]["details"]["field"].clone()
        ),
        (422, json!("reason"))
    );

    let first = cancel(alice.clone(), json!({ "reason": "ordered the wrong size" })).await;
    assert_eq!(first.status, 200, "{}", first.body);
    assert_eq!(first.body["order"]["status"], "cancelled");
    let again = cancel(alice.clone(), json!({})).await;
    assert_eq!(again.status, 200);
    assert_eq!(again.body["order"]["status"], "cancelled");
    assert_eq!(api.stock(&admin, &sku, &warehouse).await, (5, 0, 5));

    let entries = timeline(&api, &id).await;
    assert_eq!(entries[0]["kind"], "order.created");
    assert_eq!(status_changes(&entries), ["order.cancelled"]);
    assert_eq!(entries[1]["reason"], "ordered the wrong size");
    assert!(
        entries[1]["actor"]
            .as_str()
            .unwrap()
            .starts_with("customer:")
    );
}

#[tokio::test]
async fn two_sweepers_at_once_expire_each_order_exactly_once() {
    let (api, admin) = (stack().api(), stack().admin());
    let sku = unique("TWIN");
    let warehouse = warehouses()[1].clone();
    api.product_with_stock(&admin, &sku, 100, &[(&warehouse, 300)])
        .await;
    let ids = place_lapsed_orders(&sku, &warehouse, 300).await;

    let clients = stack().clients().await;
    let (one, two) = (sweeper(&clients), sweeper(&clients));
    let now = shopflow_lambda_kit::now();
    let reports: Vec<SweepReport> = join_all([one.sweep(now), two.sweep(now)]).await;
    // Other tests in this binary sweep too, so what each run did is judged by
    // the state it left: every order expired once, every unit back.
    assert_eq!(reports.iter().map(|r| r.failed).sum::<u64>(), 0);
    assert_eq!(api.stock(&admin, &sku, &warehouse).await, (300, 0, 300));
    for id in ids.iter().step_by(30) {
        assert_eq!(
            status_changes(&timeline(&api, &id.to_string()).await),
            ["order.expired"]
        );
    }
}

#[tokio::test]
async fn a_cancel_racing_the_sweeper_ends_in_one_state_with_stock_conserved() {
    let (api, admin) = (stack().api(), stack().admin());
    let sku = unique("RACE");
    let warehouse = warehouses()[0].clone();
    api.product_with_stock(&admin, &sku, 100, &[(&warehouse, 20)])
        .await;
    let ids = place_lapsed_orders(&sku, &warehouse, 20).await;
    let clients = stack().clients().await;
    let sweep = sweeper(&clients);

    let cancels = ids.iter().map(|id| {
        let api = api.clone();
        let admin = admin.clone();
        async move { api.cancel(id, &admin, &json!({ "reason": "race" })).await }
    });
    let (replies, _) = tokio::join!(join_all(cancels), sweep.sweep(shopflow_lambda_kit::now()));
    for reply in &replies {
        // Either the cancel won (200), or the sweeper expired the order first (409).
        assert!(
            reply.status == 200
                || (reply.status == 409 && reply.error_code() == "illegal_transition"),
            "{} {}",
            reply.status,
            reply.body
        );
    }
    for id in &ids {
        let changes = timeline(&api, &id.to_string()).await;
        let kinds = status_changes(&changes);
        assert!(
            kinds == ["order.cancelled"] || kinds == ["order.expired"],
            "{id}: {kinds:?}"
        );
    }
    assert_eq!(api.stock(&admin, &sku, &warehouse).await, (20, 0, 20));
}

#[tokio::test]
async fn staff_find_orders_by_status_or_by_customer_newest_first() {
    let (api, admin) = (stack().api(), stack().admin());
    let sku = unique("SEARCH");
    let warehouse = warehouses()[0].clone();
    api.product_with_stock(&admin, &sku, 100, &[(&warehouse, 10)])
        .await;
    let customer = unique("searcher");
    let token = stack().customer(&customer);
    let mut placed = Vec::new();
    for _ in 0..5 {
        let reply = api
            .checkout(&token, &unique("key"), &cart(&[(&sku, 1)]))
            .await;
        placed.push(reply.body["order"]["id"].as_str().unwrap().to_owned());
    }
    let cancelled = placed[0].clone();
    let reply = api.cancel(&cancelled, &token, &json!({})).await;
    assert_eq!(reply.status, 200);

    // By customer, newest first, two per page.
    let mut seen = Vec::new();
    let mut path = format!("/v1/admin/orders?customer={customer}&limit=2");
    loop {
        let page = api.get(&path, &admin).await;
        assert_eq!(page.status, 200, "{}", page.body);
        seen.extend(
            page.body["orders"]
                .as_array()
                .unwrap()
                .iter()
                .map(|o| o["id"].as_str().unwrap().to_owned()),
        );
        match page.body["next_cursor"].as_str() {
            Some(cursor) => {
                path = format!("/v1/admin/orders?customer={customer}&limit=2&cursor={cursor}")
            }
            None => break,
        }
    }
    let newest_first: Vec<String> = placed.iter().rev().cloned().collect();
    assert_eq!(seen, newest_first);

    // By customer and status; by status alone across every shard.
    let open = api
        .get(
            &format!("/v1/admin/orders?customer={customer}&status=pending_payment"),
            &admin,
        )
        .await;
    assert_eq!(open.body["orders"].as_array().unwrap().len(), 4);
    let by_status = api
        .get("/v1/admin/orders?status=cancelled&limit=100", &admin)
        .await;
    assert!(
        by_status.body["orders"]
            .as_array()
            .unwrap()
            .iter()
            .any(|o| o["id"] == cancelled.as_str())
    );

    // Well-formed searches that break a rule: no criteria, an empty window.
    let unindexed = api.get("/v1/admin/orders?limit=5", &admin).await;
    assert_eq!(unindexed.status, 422, "{}", unindexed.body);
    assert_eq!(unindexed.body["error"]["code"], "search_criteria_required");
    let empty = api
        .get(
            &format!("/v1/admin/orders?customer={customer}&from=2026-02-01T00:00:00Z&to=2026-01-01T00:00:00%2B01:00"),
            &admin,
        )
        .await;
    assert_eq!(empty.status, 422, "{}", empty.body);
    assert_eq!(empty.body["error"]["code"], "empty_window");
}
