//! Inventory on the local stack, end to end: every stock write names its
//! cause, stock-ledger records it from the table's stream, and the ledger
//! replayed from zero gives the level the inventory API shows.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use serde_json::{Value, json};
use shopflow_tests::{Api, cart, fulfil, paid_order, stack, tracking_number, unique, warehouses};
use std::time::Duration;

/// The level's counters as the ledger keeps them.
const COUNTERS: [&str; 4] = ["on_hand", "reserved", "set_aside", "backordered"];

/// Every movement of `sku` in `warehouse`, oldest first, every page.
async fn ledger(api: &Api, sku: &str, warehouse: &str) -> Vec<Value> {
    let mut movements = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let query = match &cursor {
            Some(cursor) => format!("warehouse={warehouse}&limit=3&cursor={cursor}"),
            None => format!("warehouse={warehouse}&limit=3"),
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
async fn ledger_once(api: &Api, sku: &str, warehouse: &str) -> (Vec<Value>, Value) {
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        let level = api.level(&stack().admin(), sku, warehouse).await;
        let movements = ledger(api, sku, warehouse).await;
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
    let settings = json!({ "allow_backorder": true, "max_backorder_quantity": 10 });
    let reply = api
        .send(
            "PUT",
            &format!("/v1/inventory/{sku}/{warehouse}/backorder-settings"),
            Some(&admin),
            &[],
            Some(settings.to_string()),
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);

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

    let (movements, level) = ledger_once(&api, &sku, &warehouse).await;

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
