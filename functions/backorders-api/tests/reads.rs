//! Reading backorders: one by id with its allocations, queue position and
//! date; a customer's and an order's; staff's filtered, sorted, paged list.
//! Another customer's backorder is 404.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use shopflow_domain::{Actor, Backorder};
use shopflow_ports::{AllocationBatch, BackorderAllocation, BackorderStore, OrderReader};
use shopflow_testkit::{ADA, GRACE, sku, wh};

/// Gives `units` set aside in Berlin to `backorder`, as the allocator does.
async fn allocate(api: &BackordersApi, backorder: &Backorder, units: u32) {
    let order = api
        .store()
        .order(backorder.order_id)
        .await
        .unwrap()
        .unwrap();
    let allocation = BackorderAllocation::new(
        backorder,
        units,
        &order,
        &Actor::System("backorder-allocator"),
        "restock",
        shopflow_lambda_kit::now(),
    )
    .unwrap();
    api.store()
        .allocate(&AllocationBatch {
            sku: sku(POSTER),
            warehouse: wh(BERLIN),
            allocations: vec![allocation],
        })
        .await
        .unwrap();
}

#[tokio::test]
async fn a_backorder_shows_its_allocations_place_in_the_queue_and_date() {
    let api = BackordersApi::new().await;
    let first = api.backorder(GRACE, BERLIN, (3, 3)).await;
    let ours = api.backorder(ADA, BERLIN, (4, 4)).await;
    api.restock(BERLIN, 4).await;
    allocate(&api, &first, 3).await;
    let ours_now = api.queue(BERLIN)[1].clone();
    allocate(&api, &ours_now, 1).await;

    let reply = api.get(&ours.id.to_string(), ada()).await;

    assert_eq!(reply.status, 200, "{}", reply.body);
    let shown = &reply.json()["backorder"];
    assert_eq!(shown["id"], ours.id.to_string());
    assert_eq!(shown["order_id"], ours.order_id.to_string());
    assert_eq!(
        (&shown["quantity"], &shown["allocated"], &shown["waiting"]),
        (&4.into(), &1.into(), &3.into())
    );
    assert_eq!(shown["status"], "partial");
    // Grace's backorder was served whole: Ada's is at the head now.
    assert_eq!(shown["queue_position"], 1);
    assert_eq!(shown["units_ahead"], 0);
    assert_eq!(
        shown["estimated_restock_date"],
        ours.estimated_restock.to_rfc3339()
    );
    let allocations = shown["allocations"].as_array().unwrap();
    assert_eq!(allocations.len(), 1);
    assert_eq!(allocations[0]["units"], 1);
    assert_eq!(allocations[0]["by"], "system:backorder-allocator");
    assert_eq!(allocations[0]["reason"], "restock");

    let grace_served = api.get(&first.id.to_string(), grace()).await.json();
    assert_eq!(grace_served["backorder"]["status"], "fulfilled");
    assert_eq!(
        grace_served["backorder"]["queue_position"],
        serde_json::Value::Null
    );
    assert_eq!(
        grace_served["backorder"]["estimated_restock_date"],
        serde_json::Value::Null
    );
}

#[tokio::test]
async fn a_waiting_backorder_counts_the_units_ahead_of_it() {
    let api = BackordersApi::new().await;
    api.backorder(GRACE, BERLIN, (3, 3)).await;
    api.backorder(GRACE, BERLIN, (2, 2)).await;
    let ours = api.backorder(ADA, BERLIN, (1, 1)).await;

    let shown = api.get(&ours.id.to_string(), ada()).await.json();

    assert_eq!(shown["backorder"]["queue_position"], 3);
    assert_eq!(shown["backorder"]["units_ahead"], 5);
}

#[tokio::test]
async fn another_customers_backorder_is_not_found_and_staff_see_any() {
    let api = BackordersApi::new().await;
    let graces = api.backorder(GRACE, BERLIN, (1, 1)).await;

    api.get(&graces.id.to_string(), ada())
        .await
        .problem(404, "not_found");
    api.get("01J00000000000000000000000", ada())
        .await
        .problem(404, "not_found");
    assert_eq!(api.get(&graces.id.to_string(), admin()).await.status, 200);
    api.get("not-a-ulid", ada()).await.problem(404, "not_found");
    api.get(&graces.id.to_string(), anonymous())
        .await
        .problem(401, "unauthenticated");
}

#[tokio::test]
async fn a_customer_lists_their_backorders_and_an_orders_newest_first() {
    let api = BackordersApi::new().await;
    let older = api.backorder(ADA, BERLIN, (1, 1)).await;
    let newer = api.backorder(ADA, PARIS, (2, 2)).await;
    let graces = api.backorder(GRACE, BERLIN, (1, 1)).await;

    let mine = api.list("", ada()).await;
    assert_eq!(mine.status, 200, "{}", mine.body);
    assert_eq!(
        ids(&mine.json()),
        [newer.id.to_string(), older.id.to_string()]
    );

    let of_order = api.list(&format!("order={}", older.order_id), ada()).await;
    assert_eq!(ids(&of_order.json()), [older.id.to_string()]);

    // Grace's order is not Ada's to see; another customer's list is staff's.
    api.list(&format!("order={}", graces.order_id), ada())
        .await
        .problem(404, "not_found");
    api.list(&format!("customer={GRACE}"), ada())
        .await
        .problem(403, "forbidden");
    let for_staff = api.list(&format!("customer={GRACE}"), admin()).await;
    assert_eq!(ids(&for_staff.json()), [graces.id.to_string()]);
    let by_order = api
        .list(&format!("order={}", graces.order_id), admin())
        .await;
    assert_eq!(ids(&by_order.json()), [graces.id.to_string()]);
    api.list("order=nope", ada()).await.invalid("order");
}

#[tokio::test]
async fn staff_list_a_queue_in_priority_or_creation_order_a_page_at_a_time() {
    let api = BackordersApi::new().await;
    let mut made = Vec::new();
    for customer in [ADA, GRACE, ADA, GRACE, ADA] {
        made.push(api.backorder(customer, BERLIN, (1, 1)).await);
    }
    let in_queue: Vec<String> = api.queue(BERLIN).iter().map(|b| b.id.to_string()).collect();

    let first = api
        .search(&format!("sku={POSTER}&warehouse={BERLIN}&limit=2"), admin())
        .await;
    assert_eq!(first.status, 200, "{}", first.body);
    let first = first.json();
    assert_eq!(ids(&first), in_queue[..2]);
    let cursor = first["next_cursor"].as_str().unwrap();
    let rest = api
        .search(
            &format!("sku={POSTER}&warehouse={BERLIN}&limit=10&cursor={cursor}"),
            admin(),
        )
        .await
        .json();
    assert_eq!(ids(&rest), in_queue[2..]);
    assert_eq!(rest["next_cursor"], serde_json::Value::Null);

    // Filters: a customer's backorders in the queue, oldest first.
    let adas = api
        .search(
            &format!("sku={POSTER}&customer={ADA}&sort=created"),
            admin(),
        )
        .await
        .json();
    let mut expected: Vec<String> = made
        .iter()
        .filter(|b| b.customer_id.as_str() == ADA)
        .map(|b| b.id.to_string())
        .collect();
    expected.sort();
    assert_eq!(ids(&adas), expected);
    let none_fulfilled = api
        .search(&format!("sku={POSTER}&status=fulfilled"), admin())
        .await
        .json();
    assert!(ids(&none_fulfilled).is_empty());

    // A priority cursor is not a creation cursor.
    api.search(
        &format!("sku={POSTER}&sort=created&cursor={cursor}"),
        admin(),
    )
    .await
    .problem(422, "invalid_cursor");
}

#[tokio::test]
async fn a_sku_without_a_warehouse_lists_every_warehouses_queue() {
    let api = BackordersApi::new().await;
    let berlin = api.backorder(ADA, BERLIN, (1, 1)).await;
    let paris = api.backorder(ADA, PARIS, (1, 1)).await;

    let listed = api
        .search(&format!("sku={POSTER}&sort=created"), admin())
        .await
        .json();

    assert_eq!(ids(&listed), [berlin.id.to_string(), paris.id.to_string()]);
}

#[tokio::test]
async fn staff_search_refuses_bad_filters_and_customers() {
    let api = BackordersApi::new().await;
    api.search(&format!("sku={POSTER}"), ada())
        .await
        .problem(403, "forbidden");
    api.search("status=pending", admin())
        .await
        .problem(422, "search_criteria_required");
    api.search(&format!("sku={POSTER}&status=open"), admin())
        .await
        .invalid("status");
    api.search(&format!("sku={POSTER}&sort=oldest"), admin())
        .await
        .invalid("sort");
    api.search(&format!("sku={POSTER}&limit=0"), admin())
        .await
        .invalid("limit");
    api.search(&format!("sku={POSTER}&from=yesterday"), admin())
        .await
        .invalid("from");
    api.search(
        &format!("sku={POSTER}&from=2026-12-02T00:00:00Z&to=2026-12-01T00:00:00Z"),
        admin(),
    )
    .await
    .problem(422, "empty_window");
    api.search(&format!("sku={POSTER}&cursor=%%%"), admin())
        .await
        .problem(422, "invalid_cursor");
}
