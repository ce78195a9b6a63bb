//! Checkout over HTTP against the local stack: stock never oversells,
//! idempotency keys hold under retries and races, and customers only see
//! their own orders.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use aws_sdk_dynamodb::types::AttributeValue;
use futures::future::join_all;
use serde_json::Value;
use shopflow_tests::{cart, stack, unique, warehouses};
use std::collections::HashSet;

/// Every order item in the table that has a line for `sku`, as (order id, units).
async fn orders_holding(sku: &str) -> Vec<(String, u64)> {
    let clients = stack().clients().await;
    let mut found = Vec::new();
    let mut start = None;
    loop {
        let page = clients
            .dynamodb
            .scan()
            .table_name(&stack().spec.table.name)
            .filter_expression("#type = :order")
            .expression_attribute_names("#type", "type")
            .expression_attribute_values(":order", AttributeValue::S("order".into()))
            .set_exclusive_start_key(start)
            .send()
            .await
            .unwrap();
        for item in page.items() {
            let id = item["id"].as_s().unwrap().clone();
            for line in item["lines"].as_l().unwrap() {
                let line = line.as_m().unwrap();
                if line["sku"].as_s().unwrap() == sku {
                    found.push((id.clone(), line["qty"].as_n().unwrap().parse().unwrap()));
                }
            }
        }
        start = page.last_evaluated_key;
        if start.is_none() {
            return found;
        }
    }
}

#[tokio::test]
async fn checkout_reserves_stock_and_the_order_reads_back() {
    let (api, admin) = (stack().api(), stack().admin());
    let sku = unique("TEE");
    let [first, second] = [&warehouses()[0], &warehouses()[1]];
    api.product_with_stock(&admin, &sku, 1_999, &[(first, 1), (second, 5)])
        .await;
    let alice = stack().customer(&unique("alice"));

    let reply = api
        .checkout(&alice, &unique("key"), &cart(&[(&sku, 2)]))
        .await;
    assert_eq!(reply.status, 201, "{}", reply.body);
    let order = &reply.body["order"];
    assert_eq!(order["status"], "pending_payment");
    // The first warehouse cannot fill 2 units, so the line is reserved in the second.
    assert_eq!(order["lines"][0]["warehouse"], second.as_str());
    assert_eq!(order["totals"]["subtotal_minor"], 3_998);
    assert_eq!(api.stock(&admin, &sku, second).await, (5, 2, 3));
    assert_eq!(api.stock(&admin, &sku, first).await, (1, 0, 1));

    let read = api
        .get(
            &format!("/v1/orders/{}", order["id"].as_str().unwrap()),
            &alice,
        )
        .await;
    assert_eq!(read.status, 200);
    assert_eq!(read.body["order"], *order);
}

#[tokio::test]
async fn two_hundred_racing_checkouts_sell_exactly_the_fifty_units_in_stock() {
    let (api, admin) = (stack().api(), stack().admin());
    let sku = unique("RACE");
    let warehouse = warehouses()[0].clone();
    api.product_with_stock(&admin, &sku, 500, &[(&warehouse, 50)])
        .await;

    let attempts = (0..200).map(|i| {
        let api = api.clone();
        let sku = sku.clone();
        async move {
            let token = stack().customer(&format!("racer-{i}"));
            api.checkout(&token, &unique("race"), &cart(&[(&sku, 1)]))
                .await
        }
    });
    let replies = join_all(attempts).await;

    let created: Vec<&Value> = replies
        .iter()
        .filter(|r| r.status == 201)
        .map(|r| &r.body)
        .collect();
    let refused = replies
        .iter()
        .filter(|r| r.status == 409 && r.error_code() == "insufficient_stock")
        .count();
    let other: Vec<_> = replies
        .iter()
        .filter(|r| r.status != 201 && r.status != 409)
        .map(|r| (r.status, &r.body))
        .collect();
    assert!(other.is_empty(), "unexpected answers: {other:?}");
    assert_eq!(created.len(), 50);
    assert_eq!(refused, 150);
    assert_eq!(api.stock(&admin, &sku, &warehouse).await, (50, 50, 0));

    // The table holds exactly the 50 orders answered, one unit each, and nothing else for this SKU.
    let stored = orders_holding(&sku).await;
    let answered: HashSet<&str> = created
        .iter()
        .map(|b| b["order"]["id"].as_str().unwrap())
        .collect();
    let in_table: HashSet<&str> = stored.iter().map(|(id, _)| id.as_str()).collect();
    assert_eq!(in_table, answered);
    assert_eq!(stored.iter().map(|(_, units)| units).sum::<u64>(), 50);
}

#[tokio::test]
async fn a_short_line_rolls_back_the_whole_cart() {
    let (api, admin) = (stack().api(), stack().admin());
    let (plenty, scarce) = (unique("PLENTY"), unique("SCARCE"));
    let warehouse = warehouses()[0].clone();
    api.product_with_stock(&admin, &plenty, 100, &[(&warehouse, 10)])
        .await;
    api.product_with_stock(&admin, &scarce, 100, &[(&warehouse, 1)])
        .await;
    let buyer = stack().customer(&unique("buyer"));

    let reply = api
        .checkout(&buyer, &unique("key"), &cart(&[(&plenty, 3), (&scarce, 2)]))
        .await;
    assert_eq!(reply.status, 409);
    assert_eq!(reply.error_code(), "insufficient_stock");
    let lines = reply.body["error"]["details"]["lines"].as_array().unwrap();
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0]["sku"], scarce.as_str());
    assert_eq!(lines[0]["requested"], 2);
    assert_eq!(lines[0]["available"], 1);
    assert_eq!(api.stock(&admin, &plenty, &warehouse).await, (10, 0, 10));
    assert!(orders_holding(&plenty).await.is_empty());
}

#[tokio::test]
async fn a_retry_with_the_same_key_and_body_replays_the_first_answer() {
    let (api, admin) = (stack().api(), stack().admin());
    let sku = unique("REPLAY");
    let warehouse = warehouses()[0].clone();
    api.product_with_stock(&admin, &sku, 100, &[(&warehouse, 10)])
        .await;
    let buyer = stack().customer(&unique("buyer"));
    let key = unique("key");

    let first = api.checkout(&buyer, &key, &cart(&[(&sku, 1)])).await;
    let second = api.checkout(&buyer, &key, &cart(&[(&sku, 1)])).await;
    assert_eq!(first.status, 201);
    assert_eq!(second.status, 201);
    assert_eq!(second.body, first.body);
    assert_eq!(second.headers["idempotent-replayed"], "true");
    assert_eq!(orders_holding(&sku).await.len(), 1);
    assert_eq!(api.stock(&admin, &sku, &warehouse).await, (10, 1, 9));

    let changed = api.checkout(&buyer, &key, &cart(&[(&sku, 2)])).await;
    assert_eq!(changed.status, 422);
    assert_eq!(changed.error_code(), "idempotency_key_reused");
    assert_eq!(orders_holding(&sku).await.len(), 1);
}

#[tokio::test]
async fn concurrent_duplicates_place_one_order() {
    let (api, admin) = (stack().api(), stack().admin());
    let sku = unique("DUPE");
    let warehouse = warehouses()[0].clone();
    api.product_with_stock(&admin, &sku, 100, &[(&warehouse, 100)])
        .await;
    let buyer = stack().customer(&unique("buyer"));
    let key = unique("key");

    let body = cart(&[(&sku, 1)]);
    let replies = join_all((0..10).map(|_| api.checkout(&buyer, &key, &body))).await;
    let placed: HashSet<&str> = replies
        .iter()
        .filter(|r| r.status == 201)
        .map(|r| r.body["order"]["id"].as_str().unwrap())
        .collect();
    assert_eq!(placed.len(), 1, "every success names the same order");
    for reply in &replies {
        assert!(
            reply.status == 201
                || (reply.status == 409 && reply.error_code() == "idempotency_key_in_use"),
            "{} {}",
            reply.status,
            reply.body
        );
    }
    assert_eq!(orders_holding(&sku).await.len(), 1);
    assert_eq!(api.stock(&admin, &sku, &warehouse).await, (100, 1, 99));
}

#[tokio::test]
async fn another_customers_order_is_not_found_and_lists_stay_private() {
    let (api, admin) = (stack().api(), stack().admin());
    let sku = unique("OWN");
    api.product_with_stock(&admin, &sku, 100, &[(&warehouses()[0], 10)])
        .await;
    let (alice, bob) = (
        stack().customer(&unique("alice")),
        stack().customer(&unique("bob")),
    );

    let placed = api
        .checkout(&alice, &unique("key"), &cart(&[(&sku, 1)]))
        .await;
    let id = placed.body["order"]["id"].as_str().unwrap().to_owned();

    let as_bob = api.get(&format!("/v1/orders/{id}"), &bob).await;
    assert_eq!(as_bob.status, 404);
    assert_eq!(as_bob.error_code(), "not_found");
    assert_eq!(
        api.get(&format!("/v1/orders/{id}"), &admin).await.status,
        200
    );
    assert_eq!(
        api.get("/v1/orders", &bob).await.body["orders"],
        serde_json::json!([])
    );
    let alices = api.get("/v1/orders", &alice).await;
    assert_eq!(alices.body["orders"][0]["id"], id.as_str());
}

#[tokio::test]
async fn order_lists_page_newest_first_with_an_opaque_cursor() {
    let (api, admin) = (stack().api(), stack().admin());
    let sku = unique("PAGE");
    api.product_with_stock(&admin, &sku, 100, &[(&warehouses()[0], 10)])
        .await;
    let buyer = stack().customer(&unique("buyer"));
    let mut placed = Vec::new();
    for _ in 0..5 {
        let reply = api
            .checkout(&buyer, &unique("key"), &cart(&[(&sku, 1)]))
            .await;
        placed.push(reply.body["order"]["id"].as_str().unwrap().to_owned());
    }
    placed.reverse();

    let mut seen = Vec::new();
    let mut path = "/v1/orders?limit=2".to_owned();
    loop {
        let page = api.get(&path, &buyer).await;
        assert_eq!(page.status, 200, "{}", page.body);
        assert!(
            !page.body["orders"].as_array().unwrap().is_empty(),
            "a cursor never leads to an empty page"
        );
        seen.extend(
            page.body["orders"]
                .as_array()
                .unwrap()
                .iter()
                .map(|o| o["id"].as_str().unwrap().to_owned()),
        );
        match page.body["next_cursor"].as_str() {
            Some(cursor) => path = format!("/v1/orders?limit=2&cursor={cursor}"),
            None => break,
        }
    }
    assert_eq!(seen, placed);
    assert_eq!(
        api.get("/v1/orders?cursor=not-ours", &buyer).await.status,
        422
    );
}

#[tokio::test]
async fn requests_without_a_valid_token_are_unauthorized() {
    let api = stack().api();
    assert_eq!(
        api.send("GET", "/v1/orders", None, &[], None).await.status,
        401
    );
    assert_eq!(
        api.send("GET", "/v1/orders", Some("not.a.token"), &[], None)
            .await
            .status,
        401
    );
    assert_eq!(
        api.send("GET", "/v1/nowhere", None, &[], None).await.status,
        404
    );
}

#[tokio::test]
async fn the_local_stack_runs_the_reservation_sweeper_on_its_schedule() {
    let (api, admin) = (stack().api(), stack().admin());
    let sku = unique("SCHEDULED");
    let warehouse = warehouses()[0].clone();
    api.product_with_stock(&admin, &sku, 100, &[(&warehouse, 2)])
        .await;
    let id = shopflow_tests::place_lapsed_orders(&sku, &warehouse, 1).await[0];

    // No sweep is invoked here: the stack's scheduler (every 2 s in tests) does it.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(90);
    let mut status = Value::Null;
    while std::time::Instant::now() < deadline {
        status = api.get(&format!("/v1/orders/{id}"), &admin).await.body["order"]["status"].clone();
        if status == "expired" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    }
    assert_eq!(status, "expired");
    assert_eq!(api.stock(&admin, &sku, &warehouse).await, (2, 0, 2));
}
