//! Placing an order: pricing, reserving stock warehouse by warehouse, and
//! refusing the whole cart when any line is short.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{CUSTOMER, FIRST_WAREHOUSE, SECOND_WAREHOUSE, Shop, cart, checkout_event, policy};
use serde_json::json;
use shopflow_domain::OrderStatus;
use shopflow_domain::events::DomainEvent;
use shopflow_lambda_kit::apigw::HttpEvent;

/// A short line as the refusal reports it, where no warehouse backorders it.
fn short(sku: &str, requested: u32, available: u32) -> serde_json::Value {
    json!({
        "sku": sku, "requested": requested, "available": available,
        "backorder": {
            "allowed": false, "warehouse": FIRST_WAREHOUSE,
            "remaining_capacity": 0, "estimated_restock_date": null
        }
    })
}

#[tokio::test]
async fn checkout_places_a_pending_order_reserves_its_stock_and_records_one_event() {
    let shop = Shop::new();
    shop.sells("TEE-RED", 1_250).await;
    shop.sells("MUG", 999).await;
    shop.stocks("TEE-RED", FIRST_WAREHOUSE, 10).await;
    shop.stocks("MUG", FIRST_WAREHOUSE, 1).await;

    let reply = shop.checkout(&cart(&[("TEE-RED", 2), ("MUG", 1)])).await;

    assert_eq!(reply.status, 201, "{}", reply.body);
    let order = &reply.json()["order"];
    assert_eq!(order["status"], "pending_payment");
    assert_eq!(order["customer_id"], CUSTOMER);
    assert_eq!(order["currency"], "EUR");
    assert_eq!(order["email"], "ada@example.com");
    assert_eq!(order["shipping_address"]["city"], "Berlin");
    assert_eq!(
        order["lines"],
        json!([
            {
                "sku": "TEE-RED", "name": "Product TEE-RED", "quantity": 2,
                "unit_price_minor": 1_250, "line_total_minor": 2_500, "warehouse": FIRST_WAREHOUSE,
                "reserved": 2, "backordered": 0, "backorder_id": null
            },
            {
                "sku": "MUG", "name": "Product MUG", "quantity": 1,
                "unit_price_minor": 999, "line_total_minor": 999, "warehouse": FIRST_WAREHOUSE,
                "reserved": 1, "backordered": 0, "backorder_id": null
            }
        ])
    );
    // 19 % of 34.99 is 6.6481, rounded to 6.65; shipping is a flat 5.00.
    assert_eq!(
        order["totals"],
        json!({
            "subtotal_minor": 3_499,
            "tax_minor": 665,
            "shipping_minor": 500,
            "grand_total_minor": 4_664
        })
    );
    let created_at = order["created_at"].as_str().unwrap();
    let expires_at = order["reservation_expires_at"].as_str().unwrap();
    assert!(
        expires_at > created_at,
        "{expires_at} is not after {created_at}"
    );

    let tee = shop.stock("TEE-RED", FIRST_WAREHOUSE);
    assert_eq!((tee.on_hand, tee.reserved), (10, 2));
    let mug = shop.stock("MUG", FIRST_WAREHOUSE);
    assert_eq!((mug.on_hand, mug.reserved), (1, 1));

    let orders = shop.orders();
    assert_eq!(orders.len(), 1);
    let placed = &orders[0];
    assert_eq!(order["id"], placed.id.to_string());
    assert_eq!(placed.status, OrderStatus::PendingPayment);
    assert_eq!(
        placed.reservation_expires_at.as_millis() - placed.created_at.as_millis(),
        policy().reservation_ttl_secs * 1_000
    );

    let events = shop.order_events();
    assert_eq!(events.len(), 1);
    let DomainEvent::OrderCreated(created) = &events[0].event else {
        panic!("expected order.created, got {:?}", events[0].event);
    };
    assert_eq!(created.order_id, placed.id);
    assert_eq!(created.customer_id.as_str(), CUSTOMER);
    assert_eq!(created.grand_total_minor, 4_664);
    assert_eq!(created.lines.len(), 2);
}

#[tokio::test]
async fn checkout_reserves_each_line_in_the_first_warehouse_by_priority_that_can_fill_it() {
    let shop = Shop::new();
    for code in ["FITS-FIRST", "FITS-SECOND", "ONLY-SECOND"] {
        shop.sells(code, 100).await;
    }
    shop.stocks("FITS-FIRST", FIRST_WAREHOUSE, 3).await;
    shop.stocks("FITS-FIRST", SECOND_WAREHOUSE, 50).await;
    shop.stocks("FITS-SECOND", FIRST_WAREHOUSE, 1).await;
    shop.stocks("FITS-SECOND", SECOND_WAREHOUSE, 5).await;
    shop.stocks("ONLY-SECOND", SECOND_WAREHOUSE, 4).await;

    let reply = shop
        .checkout(&cart(&[
            ("FITS-FIRST", 3),
            ("FITS-SECOND", 2),
            ("ONLY-SECOND", 4),
        ]))
        .await;

    assert_eq!(reply.status, 201, "{}", reply.body);
    let warehouses: Vec<_> = reply.json()["order"]["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|line| (line["sku"].clone(), line["warehouse"].clone()))
        .collect();
    assert_eq!(
        warehouses,
        [
            (json!("FITS-FIRST"), json!(FIRST_WAREHOUSE)),
            (json!("FITS-SECOND"), json!(SECOND_WAREHOUSE)),
            (json!("ONLY-SECOND"), json!(SECOND_WAREHOUSE)),
        ]
    );
    assert_eq!(shop.stock("FITS-FIRST", FIRST_WAREHOUSE).reserved, 3);
    assert_eq!(shop.stock("FITS-FIRST", SECOND_WAREHOUSE).reserved, 0);
    assert_eq!(shop.stock("FITS-SECOND", FIRST_WAREHOUSE).reserved, 0);
    assert_eq!(shop.stock("FITS-SECOND", SECOND_WAREHOUSE).reserved, 2);
    assert_eq!(shop.stock("ONLY-SECOND", SECOND_WAREHOUSE).reserved, 4);
}

#[tokio::test]
async fn a_line_no_warehouse_fills_alone_is_split_across_warehouses() {
    let shop = Shop::new();
    shop.sells("TEE-RED", 1_250).await;
    shop.stocks("TEE-RED", FIRST_WAREHOUSE, 2).await;
    shop.stocks("TEE-RED", SECOND_WAREHOUSE, 2).await;

    let reply = shop.checkout(&cart(&[("TEE-RED", 3)])).await;

    assert_eq!(reply.status, 201, "{}", reply.body);
    let lines: Vec<(String, u64, i64)> = reply.json()["order"]["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|line| {
            (
                line["warehouse"].as_str().unwrap().to_owned(),
                line["quantity"].as_u64().unwrap(),
                line["line_total_minor"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        lines,
        [
            (FIRST_WAREHOUSE.to_owned(), 2, 2_500),
            (SECOND_WAREHOUSE.to_owned(), 1, 1_250)
        ]
    );
    assert_eq!(shop.stock("TEE-RED", FIRST_WAREHOUSE).reserved, 2);
    assert_eq!(shop.stock("TEE-RED", SECOND_WAREHOUSE).reserved, 1);
}

#[tokio::test]
async fn checkout_rolls_back_everything_when_one_line_is_short() {
    let shop = Shop::new();
    for code in ["PLENTY", "SHORT", "NONE"] {
        shop.sells(code, 500).await;
    }
    shop.stocks("PLENTY", FIRST_WAREHOUSE, 100).await;
    shop.stocks("SHORT", FIRST_WAREHOUSE, 1).await;
    shop.stocks("SHORT", SECOND_WAREHOUSE, 2).await;

    let reply = shop
        .checkout(&cart(&[("PLENTY", 5), ("SHORT", 4), ("NONE", 1)]))
        .await;

    let details = reply.problem(409, "insufficient_stock");
    assert_eq!(
        details["lines"],
        json!([short("SHORT", 4, 3), short("NONE", 1, 0)])
    );
    shop.assert_nothing_placed(&["PLENTY", "SHORT", "NONE"]);
    assert_eq!(shop.stock("PLENTY", FIRST_WAREHOUSE).on_hand, 100);
}

#[tokio::test]
async fn units_reserved_by_one_checkout_are_not_available_to_the_next() {
    let shop = Shop::new();
    shop.sells("TEE-RED", 1_250).await;
    shop.stocks("TEE-RED", FIRST_WAREHOUSE, 3).await;

    let first = shop.checkout(&cart(&[("TEE-RED", 2)])).await;
    let mut second = checkout_event(cart(&[("TEE-RED", 2)]).to_string());
    second
        .headers
        .insert("idempotency-key".into(), "another-key".into());
    let second = shop.send(second).await;

    assert_eq!(first.status, 201, "{}", first.body);
    let details = second.problem(409, "insufficient_stock");
    assert_eq!(details["lines"], json!([short("TEE-RED", 2, 1)]));
    assert_eq!(shop.orders().len(), 1);
    assert_eq!(shop.stock("TEE-RED", FIRST_WAREHOUSE).reserved, 2);
}

#[tokio::test]
async fn a_route_checkout_does_not_serve_is_not_found() {
    let shop = Shop::new();
    let event = HttpEvent {
        method: "GET".into(),
        route: "/v1/checkout".into(),
        path: "/v1/checkout".into(),
        ..checkout_event(cart(&[("TEE-RED", 1)]).to_string())
    };

    let reply = shop.send(event).await;

    reply.problem(404, "route_not_found");
    shop.assert_nothing_placed(&["TEE-RED"]);
}

#[tokio::test]
async fn checkout_rereads_stock_taken_between_its_read_and_write_and_reserves_where_units_are_left()
{
    let shop = Shop::new();
    shop.sells("TEE-RED", 1_250).await;
    shop.stocks("TEE-RED", FIRST_WAREHOUSE, 2).await;
    shop.stocks("TEE-RED", SECOND_WAREHOUSE, 5).await;
    shop.rival_reserves_before_next_write("TEE-RED", FIRST_WAREHOUSE, 1);

    let reply = shop.checkout(&cart(&[("TEE-RED", 2)])).await;

    assert_eq!(reply.status, 201, "{}", reply.body);
    assert_eq!(
        reply.json()["order"]["lines"][0]["warehouse"],
        SECOND_WAREHOUSE
    );
    assert_eq!(
        shop.stock("TEE-RED", FIRST_WAREHOUSE).reserved,
        1,
        "the rival's unit"
    );
    assert_eq!(shop.stock("TEE-RED", SECOND_WAREHOUSE).reserved, 2);
    let ours: Vec<_> = shop
        .orders()
        .into_iter()
        .filter(|order| order.customer_id.as_str() == CUSTOMER)
        .collect();
    assert_eq!(ours.len(), 1);
}

#[tokio::test]
async fn checkout_reports_a_shortage_when_the_stock_it_read_is_taken_before_its_write() {
    let shop = Shop::new();
    shop.sells("TEE-RED", 1_250).await;
    shop.stocks("TEE-RED", FIRST_WAREHOUSE, 2).await;
    shop.rival_reserves_before_next_write("TEE-RED", FIRST_WAREHOUSE, 2);

    let reply = shop.checkout(&cart(&[("TEE-RED", 2)])).await;

    let details = reply.problem(409, "insufficient_stock");
    assert_eq!(details["lines"], json!([short("TEE-RED", 2, 0)]));
    assert!(
        shop.orders()
            .iter()
            .all(|order| order.customer_id.as_str() != CUSTOMER),
        "an order was placed for {CUSTOMER}"
    );
    assert_eq!(
        shop.stock("TEE-RED", FIRST_WAREHOUSE).reserved,
        2,
        "only the rival's units"
    );
}
