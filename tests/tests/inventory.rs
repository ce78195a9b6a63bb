//! Inventory on the local stack, end to end: every stock write names its
//! cause, stock-ledger records it from the table's stream, and the ledger
//! replayed from zero gives the level the inventory API shows; staff's
//! adjustments and transfers racing checkouts never touch a reserved unit.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use futures::future::join_all;
use serde_json::{Value, json};
use shopflow_tests::{
    Api, Reply, cart, fulfil, paid_order, stack, tracking_number, unique, warehouses,
};
use std::time::Duration;

/// The level's counters as the ledger keeps them.
const COUNTERS: [&str; 4] = ["on_hand", "reserved", "set_aside", "backordered"];

/// Every movement of `sku` in `warehouse`, oldest first, every page of
/// `per_page`.
async fn ledger(api: &Api, sku: &str, warehouse: &str, per_page: u16) -> Vec<Value> {
    let mut movements = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let query = match &cursor {
            Some(cursor) => format!("warehouse={warehouse}&limit={per_page}&cursor={cursor}"),
            None => format!("warehouse={warehouse}&limit={per_page}"),
        };
        let reply = api
            .get(
                &format!("/v1/inventory/{sku}/movements?{query}"),
                &stack().admin(),
            )
            .await;
        assert_eq!(reply.status, 200, "{}", reply.body);
        movements.extend(reply.body["movements"].as_array().unwrap().iter().cloned());
        match reply.body["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => return movements,
        }
    }
}

/// The counters the movements add up to from zero.
fn replayed(movements: &[Value]) -> Vec<i64> {
    COUNTERS
        .iter()
        .map(|counter| {
            movements
                .iter()
                .map(|m| m["change"][counter].as_i64().unwrap())
                .sum()
        })
        .collect()
}

fn counters(level: &Value) -> Vec<i64> {
    COUNTERS
        .iter()
        .map(|counter| level[counter].as_i64().unwrap_or(0))
        .collect()
}

/// The ledger once it replays to the level the inventory API shows,
/// waiting up to a minute for stock-ledger; the last read when it never
/// does.
async fn ledger_once(api: &Api, sku: &str, warehouse: &str, per_page: u16) -> (Vec<Value>, Value) {
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        let level = api.level(&stack().admin(), sku, warehouse).await;
        let movements = ledger(api, sku, warehouse, per_page).await;
        if replayed(&movements) == counters(&level) || std::time::Instant::now() > deadline {
            return (movements, level);
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

fn causes(movements: &[Value]) -> Vec<&str> {
    movements
        .iter()
        .map(|m| m["cause"].as_str().unwrap())
        .collect()
}

#[tokio::test]
async fn sales_backorders_cancellations_and_shipments_replay_to_the_level() {
    let (api, admin) = (stack().api(), stack().admin());
    let warehouse = warehouses()[0].clone();
    let sku = unique("LEDGER");
    api.product_with_stock(&admin, &sku, 1_000, &[(&warehouse, 4)])
        .await;
    api.allow_backorders(&admin, &sku, &warehouse, 10).await;

    // Ada buys 3 and pays; Grace buys 3: 1 reserved, 2 backordered.
    let (paid, _) = paid_order(&api, &[(&sku, 3)]).await;
    let grace = stack().customer(&unique("grace"));
    let mut body = cart(&[(&sku, 3)]);
    body["accept_backorder"] = json!(true);
    let placed = api.checkout(&grace, &unique("key"), &body).await;
    assert_eq!(placed.status, 201, "{}", placed.body);
    let waiting = placed.body["order"]["id"].as_str().unwrap().to_owned();
    // 5 arrive: 2 set aside for Grace's backorder, then allocated to it.
    api.restock(&admin, &sku, &warehouse, 5).await;
    api.level_once(&admin, &sku, &warehouse, |l| l["backordered"] == 0)
        .await;
    // Grace cancels; Ada's 3 ship.
    let cancelled = api
        .cancel(&waiting, &grace, &json!({ "reason": "found it elsewhere" }))
        .await;
    assert_eq!(cancelled.status, 200, "{}", cancelled.body);
    let shipped = fulfil(
        &api,
        &paid,
        &warehouse,
        "usps",
        &tracking_number("LEDGER"),
        &[(&sku, 3)],
    )
    .await;
    assert_eq!(shipped.status, 201, "{}", shipped.body);

    let (movements, level) = ledger_once(&api, &sku, &warehouse, 3).await;

    assert_eq!(replayed(&movements), counters(&level), "{movements:#?}");
    assert_eq!(counters(&level), [6, 0, 0, 0]);
    assert_eq!(
        causes(&movements),
        [
            "restocked",
            "sale",
            "sale",
            "restocked",
            "backorder_allocated",
            "released",
            "shipped"
        ],
        "{movements:#?}"
    );
    let set_aside_on_restock = &movements[3]["change"];
    assert_eq!(set_aside_on_restock["on_hand"], 5);
    assert_eq!(set_aside_on_restock["set_aside"], 2);
    assert_eq!(movements[1]["reference"], paid);
    assert_eq!(movements[2]["reference"], waiting);
    assert_eq!(
        movements[6]["reference"],
        shipped.body["shipment"]["id"].as_str().unwrap()
    );
    // Each version of the level is in the ledger once, in order.
    let versions: Vec<u64> = movements
        .iter()
        .map(|m| m["version"].as_u64().unwrap())
        .collect();
    assert!(
        versions.windows(2).all(|pair| pair[0] < pair[1]),
        "{versions:?}"
    );
}

/// A staff move sent under one key until it is not refused for contention,
/// as a client retries `concurrent_update`.
async fn staff_sends(api: &Api, path: &str, body: Value) -> Reply {
    let key = unique("staff");
    for _ in 0..40 {
        let reply = api
            .send(
                "POST",
                path,
                Some(&stack().admin()),
                &[("idempotency-key", key.as_str())],
                Some(body.to_string()),
            )
            .await;
        if reply.error_code() != "concurrent_update" {
            return reply;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{path} stayed contended");
}

/// One unit bought by a customer of its own, retried while contended.
async fn checkout_one(api: &Api, sku: &str) -> Reply {
    let buyer = stack().customer(&unique("buyer"));
    let key = unique("key");
    for _ in 0..40 {
        let reply = api.checkout(&buyer, &key, &cart(&[(sku, 1)])).await;
        if reply.status != 503 {
            return reply;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("checkout stayed contended");
}

fn made(replies: &[Reply]) -> usize {
    for reply in replies {
        assert!(
            reply.status == 200
                || (reply.status == 409 && reply.error_code() == "insufficient_stock"),
            "{:?}",
            reply.body
        );
    }
    replies.iter().filter(|reply| reply.status == 200).count()
}

#[tokio::test]
async fn adjustments_and_transfers_racing_fifty_checkouts_never_touch_reserved_units() {
    let (api, admin) = (stack().api(), stack().admin());
    let all = warehouses();
    let (first, second) = (all[0].clone(), all[1].clone());
    let sku = unique("RACE");
    api.product_with_stock(&admin, &sku, 1_000, &[(&first, 60)])
        .await;
    let adjust = format!("/v1/inventory/{sku}/{first}/adjust");
    let transfer = format!("/v1/inventory/{sku}/transfer");

    let (adjusted, transferred, sales) = tokio::join!(
        join_all((0..10).map(|_| staff_sends(
            &api,
            &adjust,
            json!({ "delta": -2, "reason": "lost" })
        ))),
        join_all((0..10).map(|_| staff_sends(
            &api,
            &transfer,
            json!({ "from": first, "to": second, "quantity": 3 })
        ))),
        join_all((0..50).map(|_| checkout_one(&api, &sku))),
    );

    let sold = sales.iter().filter(|reply| reply.status == 201).count() as i64;
    for reply in &sales {
        assert!(
            reply.status == 201 || reply.error_code() == "insufficient_stock",
            "{:?}",
            reply.body
        );
    }
    let (lost, moved) = (made(&adjusted) as i64, made(&transferred) as i64);
    let (here, there) = tokio::join!(
        ledger_once(&api, &sku, &first, 100),
        ledger_once(&api, &sku, &second, 100)
    );
    let (here_level, there_level) = (counters(&here.1), counters(&there.1));
    assert_eq!(replayed(&here.0), here_level, "{:#?}", here.0);
    assert_eq!(replayed(&there.0), there_level, "{:#?}", there.0);
    // Units are conserved, and every unit sold is still reserved.
    assert_eq!(here_level[0], 60 - 2 * lost - 3 * moved, "{here:?}");
    assert_eq!(there_level[0], 3 * moved, "{there:?}");
    assert_eq!(here_level[1] + there_level[1], sold);
    for level in [&here_level, &there_level] {
        assert_eq!(level[2], 0, "nothing waits, nothing is set aside");
    }
    eprintln!("{sold} sold, {lost} adjustments, {moved} transfers");
    // A sale refused found no unit free anywhere, and none come back: then
    // every unit ends sold or written off.
    if sold < 50 {
        assert_eq!(sold + 2 * lost, 60, "{sold} sold, {lost} written off");
        assert_eq!(here_level[0] - here_level[1], 0, "{here:?}");
        assert_eq!(there_level[0] - there_level[1], 0, "{there:?}");
    }
    let causes_here = causes(&here.0);
    assert_eq!(
        causes_here.iter().filter(|c| **c == "transfer_out").count() as i64,
        moved
    );
    assert_eq!(
        causes_here.iter().filter(|c| **c == "adjusted").count() as i64,
        lost
    );
}

/// A storefront asks without a token: the answer, then `304` for the tag
/// it holds, a new tag once the stock moves, `404` for a SKU not sold.
#[tokio::test]
async fn storefronts_read_availability_without_a_token_and_revalidate_by_etag() {
    let (api, admin) = (stack().api(), stack().admin());
    let warehouse = warehouses()[0].clone();
    let sku = unique("AVAIL");
    api.product_with_stock(&admin, &sku, 1_000, &[(&warehouse, 3)])
        .await;
    let path = format!("/v1/products/{sku}/availability");

    let first = api.send("GET", &path, None, &[], None).await;
    let etag = first.headers["etag"].to_str().unwrap().to_owned();
    let again = api
        .send(
            "GET",
            &path,
            None,
            &[("if-none-match", etag.as_str())],
            None,
        )
        .await;
    api.restock(&admin, &sku, &warehouse, 20).await;
    let moved = api
        .send(
            "GET",
            &path,
            None,
            &[("if-none-match", etag.as_str())],
            None,
        )
        .await;
    let unknown = api
        .send(
            "GET",
            "/v1/products/NO-SUCH-SKU/availability",
            None,
            &[],
            None,
        )
        .await;

    assert_eq!(first.status, 200, "{}", first.body);
    assert_eq!(first.body["in_stock"], true);
    assert_eq!(first.body["available"]["display"], "3");
    assert_eq!(first.headers["cache-control"], "public, max-age=15");
    assert_eq!(again.status, 304);
    assert_eq!(again.headers["etag"], etag.as_str());
    assert_eq!(moved.status, 200);
    assert_eq!(moved.body["available"]["display"], "10+");
    assert_ne!(moved.headers["etag"], etag.as_str());
    assert_eq!(unknown.status, 404, "{}", unknown.body);
    assert_eq!(unknown.error_code(), "not_found");
}

/// 5 units against 2 in the first warehouse and 3 in the second: one line
/// per warehouse, each reserving there; cancelled, each warehouse gets
/// back exactly its own units, and the ledger says so.
#[tokio::test]
async fn a_line_split_across_two_warehouses_gives_each_its_units_back_on_cancel() {
    let (api, admin) = (stack().api(), stack().admin());
    let all = warehouses();
    let (first, second) = (all[0].clone(), all[1].clone());
    let sku = unique("SPLIT");
    api.product_with_stock(&admin, &sku, 1_000, &[(&first, 2), (&second, 3)])
        .await;
    let buyer = stack().customer(&unique("buyer"));

    let placed = api
        .checkout(&buyer, &unique("key"), &cart(&[(&sku, 5)]))
        .await;

    assert_eq!(placed.status, 201, "{}", placed.body);
    let lines: Vec<(String, u64)> = placed.body["order"]["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            (
                l["warehouse"].as_str().unwrap().to_owned(),
                l["quantity"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(lines, [(first.clone(), 2), (second.clone(), 3)]);
    assert_eq!(api.level(&admin, &sku, &first).await["reserved"], 2);
    assert_eq!(api.level(&admin, &sku, &second).await["reserved"], 3);

    let order = placed.body["order"]["id"].as_str().unwrap();
    let cancelled = api
        .cancel(order, &buyer, &json!({ "reason": "changed my mind" }))
        .await;
    assert_eq!(cancelled.status, 200, "{}", cancelled.body);

    for (warehouse, units) in [(&first, 2), (&second, 3)] {
        // The sale and the release cancel out: wait for all three.
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        let (mut movements, mut level) = ledger_once(&api, &sku, warehouse, 50).await;
        while movements.len() < 3 && std::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(250)).await;
            (movements, level) = ledger_once(&api, &sku, warehouse, 50).await;
        }
        assert_eq!(counters(&level), [units, 0, 0, 0], "{warehouse}");
        assert_eq!(replayed(&movements), counters(&level), "{movements:#?}");
        assert_eq!(causes(&movements), ["restocked", "sale", "released"]);
        assert_eq!(movements[1]["change"]["reserved"], units);
        assert_eq!(movements[2]["reference"], order);
    }
}
