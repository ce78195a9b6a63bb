//! Checkout with backorders: a short line reserves what is there and
//! backorders the rest when the customer accepts, within the queue's limit;
//! the queue keeps what it is owed; a cancelled order hands its units and
//! its place back.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{FIRST_WAREHOUSE, SECOND_WAREHOUSE, Shop, cart};
use serde_json::{Value, json};
use shopflow_domain::{Actor, BackorderStatus, CustomerId, OrderId, OrderTrigger, StockLevel};
use shopflow_testkit::{ADA, sku, wh};

const POSTER: &str = "POSTER-A2";

/// A shop selling posters at 15.00, `in_stock` of them in the first
/// warehouse, which backorders up to `max` more.
async fn poster_shop(in_stock: u32, max: u32) -> Shop {
    let shop = Shop::new();
    shop.sells(POSTER, 1_500).await;
    if in_stock > 0 {
        shop.stocks(POSTER, FIRST_WAREHOUSE, in_stock).await;
    }
    shopflow_testkit::allow_backorders(shop.store(), POSTER, FIRST_WAREHOUSE, max).await;
    shop
}

/// A cart of `units` posters, accepting backorders or not.
fn posters(units: i64, accept_backorder: bool) -> Value {
    let mut body = cart(&[(POSTER, units)]);
    body["accept_backorder"] = json!(accept_backorder);
    body
}

fn level(shop: &Shop) -> StockLevel {
    shop.stock(POSTER, FIRST_WAREHOUSE)
}

fn backorder_events(shop: &Shop, detail_type: &str) -> usize {
    shop.store()
        .outbox()
        .iter()
        .filter(|event| event.event.detail_type() == detail_type)
        .count()
}

async fn cancel(shop: &Shop, order: OrderId) {
    shopflow_testkit::apply(
        shop.store(),
        order,
        OrderTrigger::Cancelled,
        &Actor::Customer(CustomerId::parse(ADA).unwrap()),
        Some("changed my mind".into()),
        shopflow_lambda_kit::now(),
    )
    .await
    .unwrap();
}

#[tokio::test]
async fn an_accepted_backorder_reserves_what_is_there_and_queues_the_rest() {
    let shop = poster_shop(2, 10).await;

    let reply = shop.checkout(&posters(5, true)).await;

    assert_eq!(reply.status, 201, "{}", reply.body);
    let order = &reply.json()["order"];
    assert_eq!(order["status"], "pending_payment");
    assert_eq!(order["fulfillment_status"], "awaiting_stock");
    assert_eq!(order["backorder_status"], "partial");
    let line = &order["lines"][0];
    assert_eq!(
        (&line["reserved"], &line["backordered"]),
        (&json!(2), &json!(3))
    );
    assert_eq!(
        line["line_total_minor"], 7_500,
        "backordered units are charged"
    );
    assert!(order["estimated_fulfillment_date"].is_string(), "{order}");

    assert_eq!(
        level(&shop),
        StockLevel {
            on_hand: 2,
            reserved: 2,
            set_aside: 0,
            backordered: 3
        }
    );
    let queue = shop.store().queue(&sku(POSTER), &wh(FIRST_WAREHOUSE));
    assert_eq!(queue.len(), 1);
    assert_eq!(
        queue[0].id.to_string(),
        line["backorder_id"].as_str().unwrap()
    );
    assert_eq!(
        (queue[0].quantity, queue[0].allocated, queue[0].status),
        (3, 0, BackorderStatus::Pending)
    );
    assert_eq!(backorder_events(&shop, "backorder.created"), 1);
    assert_eq!(shop.order_events().len(), 1);
}

#[tokio::test]
async fn a_line_with_nothing_in_stock_is_backordered_whole() {
    let shop = poster_shop(0, 10).await;

    let reply = shop.checkout(&posters(4, true)).await;

    assert_eq!(reply.status, 201, "{}", reply.body);
    let order = &reply.json()["order"];
    assert_eq!(order["backorder_status"], "full");
    assert_eq!(order["lines"][0]["reserved"], 0);
    assert_eq!(order["lines"][0]["backordered"], 4);
    assert_eq!(level(&shop).backordered, 4);
}

#[tokio::test]
async fn without_consent_a_short_line_is_refused_with_the_offer() {
    let shop = poster_shop(2, 10).await;

    let reply = shop.checkout(&posters(5, false)).await;

    assert_eq!(reply.status, 409, "{}", reply.body);
    let problem = &reply.json()["error"];
    assert_eq!(problem["code"], "insufficient_stock");
    let line = &problem["details"]["lines"][0];
    assert_eq!(
        (&line["requested"], &line["available"]),
        (&json!(5), &json!(2))
    );
    let offer = &line["backorder"];
    assert_eq!(offer["allowed"], true);
    assert_eq!(offer["warehouse"], FIRST_WAREHOUSE);
    assert_eq!(offer["remaining_capacity"], 10);
    assert!(offer["estimated_restock_date"].is_string(), "{offer}");
    shop.assert_nothing_placed(&[POSTER]);
    assert_eq!(level(&shop).backordered, 0);
}

#[tokio::test]
async fn over_the_queue_limit_is_refused_naming_the_line() {
    let shop = poster_shop(2, 2).await;

    let reply = shop.checkout(&posters(5, true)).await;

    assert_eq!(reply.status, 409, "{}", reply.body);
    let problem = &reply.json()["error"];
    assert_eq!(problem["code"], "backorder_limit_exceeded");
    let line = &problem["details"]["lines"][0];
    assert_eq!(line["sku"], POSTER);
    assert_eq!(line["backorder"]["remaining_capacity"], 2);
    shop.assert_nothing_placed(&[POSTER]);
    assert!(
        shop.store()
            .queue(&sku(POSTER), &wh(FIRST_WAREHOUSE))
            .is_empty()
    );
}

#[tokio::test]
async fn a_line_another_warehouse_fills_whole_is_not_backordered() {
    let shop = poster_shop(1, 10).await;
    shop.stocks(POSTER, SECOND_WAREHOUSE, 5).await;

    let reply = shop.checkout(&posters(5, true)).await;

    assert_eq!(reply.status, 201, "{}", reply.body);
    let order = &reply.json()["order"];
    assert_eq!(order["backorder_status"], "none");
    assert_eq!(order["fulfillment_status"], "unfulfilled");
    assert_eq!(order["lines"][0]["warehouse"], SECOND_WAREHOUSE);
    assert_eq!(order["estimated_fulfillment_date"], Value::Null);
}

#[tokio::test]
async fn units_the_queue_is_owed_are_not_sold_to_a_later_checkout() {
    let shop = poster_shop(0, 10).await;
    assert_eq!(shop.checkout(&posters(3, true)).await.status, 201);

    shop.stocks(POSTER, FIRST_WAREHOUSE, 5).await;
    let after_restock = level(&shop);
    assert_eq!(
        (
            after_restock.on_hand,
            after_restock.set_aside,
            after_restock.available()
        ),
        (5, 3, 2)
    );

    let reply = shop.checkout_keyed(&posters(3, false), "later-1").await;
    assert_eq!(reply.status, 409, "{}", reply.body);
    assert_eq!(reply.json()["error"]["details"]["lines"][0]["available"], 2);
    let reply = shop.checkout_keyed(&posters(2, false), "later-2").await;
    assert_eq!(reply.status, 201, "{}", reply.body);
    assert_eq!(level(&shop).set_aside, 3, "the queue keeps what it is owed");
}

#[tokio::test]
async fn units_a_cancelled_order_releases_go_to_the_queue_first() {
    let shop = poster_shop(2, 10).await;
    let first = shop.checkout(&posters(2, false)).await;
    assert_eq!(first.status, 201, "{}", first.body);
    let later = shop.checkout_keyed(&posters(3, true), "later").await;
    assert_eq!(later.status, 201, "{}", later.body);

    cancel(&shop, order_id(&first)).await;

    let level = level(&shop);
    assert_eq!(
        (
            level.reserved,
            level.set_aside,
            level.backordered,
            level.available()
        ),
        (0, 2, 3, 0),
        "the 2 released units are set aside for the backorder"
    );
}

#[tokio::test]
async fn a_cancelled_backordered_order_leaves_the_queue_and_hands_back_its_units() {
    let shop = poster_shop(2, 10).await;
    let reply = shop.checkout(&posters(5, true)).await;
    assert_eq!(reply.status, 201, "{}", reply.body);
    let order = order_id(&reply);

    cancel(&shop, order).await;

    assert_eq!(
        level(&shop),
        StockLevel {
            on_hand: 2,
            reserved: 0,
            set_aside: 0,
            backordered: 0
        }
    );
    let queue = shop.store().queue(&sku(POSTER), &wh(FIRST_WAREHOUSE));
    assert_eq!(queue.len(), 1);
    assert_eq!(queue[0].status, BackorderStatus::Cancelled);
    assert_eq!(backorder_events(&shop, "backorder.cancelled"), 1);
}

fn order_id(reply: &shopflow_testkit::Reply) -> OrderId {
    reply.json()["order"]["id"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap()
}
