//! Backorders on the local stack, end to end: checkouts racing a restock
//! and a queue limit, the allocator fed by the bus, the counters read back
//! through the inventory API.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use aws_sdk_dynamodb::types::AttributeValue;
use futures::StreamExt;
use futures::future::join_all;
use serde_json::{Value, json};
use shopflow_tests::{Api, Reply, cart, stack, unique, warehouses};
use std::time::Duration;

/// A new SKU at 2.50 with nothing in stock, backordered in the first
/// warehouse up to `max` units.
async fn backordered_sku(api: &Api, admin: &str, max: u32) -> (String, String) {
    let sku = unique("BO");
    let warehouse = warehouses()[0].clone();
    api.product_with_stock(admin, &sku, 250, &[]).await;
    api.allow_backorders(admin, &sku, &warehouse, max).await;
    (sku, warehouse)
}

/// One unit of `sku`, accepting a backorder, as a new customer; retried
/// with the same key while the stack answers "contended, retry shortly",
/// as a client does.
async fn checkout_one(api: &Api, sku: &str) -> (String, Reply) {
    let buyer = stack().customer(&unique("buyer"));
    let key = unique("key");
    let mut body = cart(&[(sku, 1)]);
    body["accept_backorder"] = json!(true);
    for _ in 0..40 {
        let reply = api.checkout(&buyer, &key, &body).await;
        if reply.status != 503 {
            return (buyer, reply);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("checkout stayed contended");
}

fn order_id(reply: &Reply) -> String {
    reply.body["order"]["id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn a_restock_racing_fifty_checkouts_serves_the_queue_first() {
    let (api, admin) = (stack().api(), stack().admin());
    let (sku, warehouse) = backordered_sku(&api, &admin, 1_000).await;
    let mut queued = Vec::new();
    for _ in 0..10 {
        let (buyer, reply) = checkout_one(&api, &sku).await;
        assert_eq!(reply.status, 201, "{:?}", reply.body);
        assert_eq!(reply.body["order"]["backorder_status"], "full");
        queued.push((buyer, order_id(&reply)));
    }

    let racing = join_all((0..50).map(|_| checkout_one(&api, &sku)));
    let (racers, ()) = tokio::join!(racing, api.restock(&admin, &sku, &warehouse, 20));

    let settled = api
        .level_once(&admin, &sku, &warehouse, |l| l["set_aside"] == 0)
        .await;
    assert_eq!(
        (
            &settled["on_hand"],
            &settled["reserved"],
            &settled["set_aside"],
            &settled["backordered"],
            &settled["available"]
        ),
        (&json!(20), &json!(20), &json!(0), &json!(40), &json!(0)),
        "{settled}"
    );
    for (buyer, id) in &queued {
        let order = api
            .order_once(id, buyer, |o| o["backorder_status"] == "none")
            .await;
        assert_eq!(order["backorder_status"], "none", "{order}");
        assert_eq!(order["fulfillment_status"], "unfulfilled", "{order}");
    }
    let mut reserved = 0;
    for (buyer, reply) in &racers {
        assert_eq!(reply.status, 201, "{:?}", reply.body);
        let order = api
            .get(&format!("/v1/orders/{}", order_id(reply)), buyer)
            .await;
        reserved += order.body["order"]["lines"][0]["reserved"]
            .as_u64()
            .unwrap();
    }
    assert_eq!(reserved, 10, "the racers got what the queue was not owed");
}

#[tokio::test]
async fn a_hundred_concurrent_backorders_fill_a_limit_of_sixty_exactly() {
    let (api, admin) = (stack().api(), stack().admin());
    let (sku, warehouse) = backordered_sku(&api, &admin, 60).await;

    let replies = join_all((0..100).map(|_| checkout_one(&api, &sku))).await;

    let placed: Vec<&(String, Reply)> = replies.iter().filter(|(_, r)| r.status == 201).collect();
    let refused = replies
        .iter()
        .filter(|(_, r)| r.status == 409 && r.error_code() == "backorder_limit_exceeded")
        .count();
    assert_eq!((placed.len(), refused), (60, 40));
    let level = api.level(&admin, &sku, &warehouse).await;
    assert_eq!(level["backordered"], 60, "{level}");
    let mut queued = 0;
    for (buyer, reply) in placed {
        let order = api
            .get(&format!("/v1/orders/{}", order_id(reply)), buyer)
            .await;
        queued += order.body["order"]["lines"][0]["backordered"]
            .as_u64()
            .unwrap();
    }
    assert_eq!(queued, 60, "the counter is the sum of the queue");
}

#[tokio::test]
async fn a_cancelled_backordered_order_gives_its_place_to_the_next() {
    let (api, admin) = (stack().api(), stack().admin());
    let (sku, warehouse) = backordered_sku(&api, &admin, 10).await;
    let (first_buyer, first) = checkout_one(&api, &sku).await;
    let (second_buyer, second) = checkout_one(&api, &sku).await;
    assert_eq!((first.status, second.status), (201, 201));

    let reply = api
        .cancel(
            order_id(&first),
            &first_buyer,
            &json!({ "reason": "changed my mind" }),
        )
        .await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    api.restock(&admin, &sku, &warehouse, 1).await;

    let order = api
        .order_once(&order_id(&second), &second_buyer, |o| {
            o["backorder_status"] == "none"
        })
        .await;
    assert_eq!(order["lines"][0]["reserved"], 1, "{order}");
    let settled = api
        .level_once(&admin, &sku, &warehouse, |l| l["set_aside"] == 0)
        .await;
    assert_eq!(
        (&settled["reserved"], &settled["backordered"]),
        (&json!(1), &json!(0))
    );
}

/// Ada's order of one unit, backordered whole, written straight to the
/// table as checkout writes it (1,000 of them over HTTP would take longer
/// than the allocation under test).
async fn place_backorders(sku: &str, warehouse: &str, count: usize) {
    let clients = stack().clients().await;
    let store =
        shopflow_dynamo::DynamoStore::new(clients.dynamodb.clone(), &stack().spec.table.name);
    futures::stream::iter(0..count)
        .map(|_| {
            let store = &store;
            async move {
                let at = shopflow_lambda_kit::now();
                let line = shopflow_testkit::backordered_line(sku, warehouse, (1, 1), 250, at);
                let id = shopflow_domain::OrderId::from_ulid(ulid::Ulid::generate());
                let order =
                    shopflow_testkit::unpaid_order(id, shopflow_testkit::ADA, vec![line], at);
                shopflow_testkit::try_place_order(store, &order, ulid::Ulid::generate())
                    .await
                    .unwrap();
            }
        })
        .buffer_unordered(16)
        .collect::<Vec<()>>()
        .await;
}

/// The status of every backorder of the queue, in queue order.
async fn queue_statuses(sku: &str, warehouse: &str) -> Vec<String> {
    let clients = stack().clients().await;
    let mut statuses = Vec::new();
    let mut start = None;
    loop {
        let page = clients
            .dynamodb
            .query()
            .table_name(&stack().spec.table.name)
            .key_condition_expression("pk = :pk")
            .expression_attribute_values(":pk", AttributeValue::S(format!("BO#{sku}#{warehouse}")))
            .consistent_read(true)
            .set_exclusive_start_key(start)
            .send()
            .await
            .unwrap();
        for item in page.items.unwrap_or_default() {
            if let Some(AttributeValue::S(status)) = item.get("st") {
                statuses.push(status.clone());
            }
        }
        start = page.last_evaluated_key;
        if start.is_none() {
            return statuses;
        }
    }
}

#[tokio::test]
async fn a_queue_of_a_thousand_is_served_in_fifo_order_with_exact_counters() {
    let (api, admin) = (stack().api(), stack().admin());
    let (sku, warehouse) = backordered_sku(&api, &admin, 1_000).await;
    place_backorders(&sku, &warehouse, 1_000).await;

    api.restock(&admin, &sku, &warehouse, 250).await;
    let settled = api
        .level_once(&admin, &sku, &warehouse, |l| l["set_aside"] == 0)
        .await;

    assert_eq!(
        (&settled["reserved"], &settled["backordered"]),
        (&json!(250), &json!(750)),
        "{settled}"
    );
    let statuses = queue_statuses(&sku, &warehouse).await;
    assert_eq!(statuses.len(), 1_000);
    assert!(
        statuses[..250].iter().all(|s| s == "fulfilled"),
        "the first 250 in queue order"
    );
    assert!(
        statuses[250..].iter().all(|s| s == "pending"),
        "the rest untouched"
    );

    api.restock(&admin, &sku, &warehouse, 750).await;
    let settled = api
        .level_once(&admin, &sku, &warehouse, |l| l["set_aside"] == 0)
        .await;

    assert_eq!(
        (
            &settled["on_hand"],
            &settled["reserved"],
            &settled["set_aside"],
            &settled["backordered"]
        ),
        (&json!(1_000), &json!(1_000), &json!(0), &json!(0)),
        "{settled}"
    );
    let statuses = queue_statuses(&sku, &warehouse).await;
    assert!(statuses.iter().all(|s| s == "fulfilled"));
}

#[tokio::test]
async fn staff_asking_for_an_allocation_serve_units_set_aside_without_a_nudge() {
    let (api, admin) = (stack().api(), stack().admin());
    let (sku, warehouse) = backordered_sku(&api, &admin, 10).await;
    place_backorders(&sku, &warehouse, 2).await;
    // Units set aside whose restock event never came (lost, or dead-lettered).
    let clients = stack().clients().await;
    clients
        .dynamodb
        .update_item()
        .table_name(&stack().spec.table.name)
        .key("pk", AttributeValue::S(format!("SKU#{sku}")))
        .key("sk", AttributeValue::S(format!("STOCK#{warehouse}")))
        .update_expression("ADD on_hand :u, set_aside :u")
        .expression_attribute_values(":u", AttributeValue::N("2".into()))
        .send()
        .await
        .unwrap();

    let body = json!({ "sku": sku, "warehouse": warehouse }).to_string();
    let reply = api
        .send(
            "POST",
            "/v1/admin/backorders/allocate",
            Some(&admin),
            &[],
            Some(body),
        )
        .await;

    assert_eq!(reply.status, 202, "{:?}", reply.body);
    let settled = api
        .level_once(&admin, &sku, &warehouse, |l| l["set_aside"] == 0)
        .await;
    assert_eq!(
        (&settled["reserved"], &settled["backordered"]),
        (&json!(2), &json!(0)),
        "{settled}"
    );
    assert!(
        queue_statuses(&sku, &warehouse)
            .await
            .iter()
            .all(|s| s == "fulfilled")
    );
}

/// What one backorder reads as on the stack, waiting up to a minute for
/// `done` (the allocator runs off the bus).
async fn backorder_once(api: &Api, token: &str, id: &str, done: impl Fn(&Value) -> bool) -> Value {
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        let reply = api.get(&format!("/v1/backorders/{id}"), token).await;
        assert_eq!(reply.status, 200, "{:?}", reply.body);
        if done(&reply.body["backorder"]) || std::time::Instant::now() > deadline {
            return reply.body["backorder"].clone();
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

#[tokio::test]
async fn backorders_read_back_by_id_by_order_and_for_staff() {
    let (api, admin) = (stack().api(), stack().admin());
    let (sku, warehouse) = backordered_sku(&api, &admin, 100).await;
    let mut placed = Vec::new();
    for _ in 0..3 {
        let (buyer, reply) = checkout_one(&api, &sku).await;
        assert_eq!(reply.status, 201, "{:?}", reply.body);
        let id = reply.body["order"]["lines"][0]["backorder_id"]
            .as_str()
            .unwrap()
            .to_owned();
        placed.push((buyer, order_id(&reply), id));
    }
    let (buyer, order, last) = placed[2].clone();

    let waiting = backorder_once(&api, &buyer, &last, |_| true).await;
    assert_eq!(waiting["status"], "pending");
    assert_eq!(waiting["queue_position"], 3);
    assert_eq!(waiting["units_ahead"], 2);

    let of_order = api
        .get(&format!("/v1/backorders?order={order}"), &buyer)
        .await;
    assert_eq!(of_order.status, 200, "{:?}", of_order.body);
    assert_eq!(of_order.body["backorders"][0]["id"], last.as_str());
    let stranger = stack().customer(&unique("stranger"));
    let hidden = api.get(&format!("/v1/backorders/{last}"), &stranger).await;
    assert_eq!(hidden.status, 404);

    let queue = api
        .get(
            &format!("/v1/admin/backorders?sku={sku}&warehouse={warehouse}&limit=2"),
            &admin,
        )
        .await;
    assert_eq!(queue.status, 200, "{:?}", queue.body);
    let first_page: Vec<&str> = queue.body["backorders"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["id"].as_str().unwrap())
        .collect();
    assert_eq!(first_page, [placed[0].2.as_str(), placed[1].2.as_str()]);
    let cursor = queue.body["next_cursor"].as_str().unwrap().to_owned();
    let rest = api
        .get(
            &format!("/v1/admin/backorders?sku={sku}&cursor={cursor}"),
            &admin,
        )
        .await;
    assert_eq!(rest.body["backorders"][0]["id"], last.as_str());

    // One restock serves the head; its allocation is on record.
    api.restock(&admin, &sku, &warehouse, 1).await;
    let head = &placed[0];
    let served = backorder_once(&api, &head.0, &head.2, |b| b["status"] == "fulfilled").await;
    assert_eq!(served["status"], "fulfilled", "{served}");
    assert_eq!(served["allocations"][0]["units"], 1);
    assert_eq!(served["allocations"][0]["by"], "system:backorder-allocator");
    let moved_up = backorder_once(&api, &buyer, &last, |b| b["queue_position"] == 2).await;
    assert_eq!(moved_up["queue_position"], 2);
}
