//! `POST /v1/inventory/{sku}/{warehouse}/adjust` and
//! `POST /v1/inventory/{sku}/transfer`: staff correct a count or move units
//! between warehouses, once per key, never touching units anyone holds,
//! and units that arrive go to the backorder queue first.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{InventoryApi, admin, customer};
use serde_json::{Value, json};
use shopflow_domain::{OrderId, StockLevel};
use ulid::Ulid;

const TEE: &str = "TEE-RED";

/// Red tees: 10 at BER with 4 reserved, 2 at MUC, none at HAM.
async fn stocked() -> InventoryApi {
    let api = InventoryApi::new();
    api.catalogued(TEE).await;
    api.received(TEE, "BER", 10).await;
    api.reserved(TEE, "BER", 4).await;
    api.received(TEE, "MUC", 2).await;
    api
}

/// An order waiting for `units` tees at `warehouse`, backordered.
async fn waiting(api: &InventoryApi, warehouse: &str, units: u32) {
    shopflow_testkit::allow_backorders(api.store(), TEE, warehouse, 100).await;
    let at = shopflow_testkit::OPENING_DAY;
    let line = shopflow_testkit::backordered_line(TEE, warehouse, (units, units), 100, at);
    let order = shopflow_testkit::unpaid_order(
        OrderId::from_ulid(Ulid::generate()),
        common::CUSTOMER,
        vec![line],
        at,
    );
    shopflow_testkit::place_order(api.store(), &order, Ulid::generate()).await;
}

/// Asserts that no adjustment or transfer was announced.
fn assert_no_staff_move(api: &InventoryApi) {
    assert!(api.published("inventory.adjusted").is_empty());
    assert!(api.published("inventory.transferred").is_empty());
}

fn level(on_hand: u32, reserved: u32, set_aside: u32, backordered: u32) -> StockLevel {
    StockLevel {
        on_hand,
        reserved,
        set_aside,
        backordered,
    }
}

#[tokio::test]
async fn damaged_units_are_written_off_and_announced() {
    let api = stocked().await;

    let reply = api
        .adjust(
            TEE,
            "BER",
            json!({ "delta": -3, "reason": "damaged", "note": "water in aisle 4" }),
            admin(),
            "adj-1",
        )
        .await;

    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(
        reply.json()["stock"],
        json!({ "warehouse": "BER", "on_hand": 7, "reserved": 4, "set_aside": 0, "backordered": 0, "available": 3 })
    );
    assert_eq!(api.stock_of(TEE, "BER"), level(7, 4, 0, 0));
    assert_eq!(
        api.published("inventory.adjusted"),
        [json!({
            "sku": TEE, "warehouse": "BER", "delta": -3, "reason": "damaged",
            "note": "water in aisle 4", "set_aside": 0, "on_hand": 7, "available": 3,
            "adjusted_by": common::STAFF,
        })]
    );
}

#[tokio::test]
async fn an_adjustment_below_what_is_reserved_is_refused_with_the_figures() {
    let api = stocked().await;

    let reply = api
        .adjust(
            TEE,
            "BER",
            json!({ "delta": -7, "reason": "count_correction" }),
            admin(),
            "adj-1",
        )
        .await;

    assert_eq!(reply.status, 409, "{}", reply.body);
    let error = &reply.json()["error"];
    assert_eq!(error["code"], "insufficient_stock");
    assert_eq!(
        error["details"],
        json!({ "warehouse": "BER", "requested": 7, "on_hand": 10, "reserved": 4, "set_aside": 0, "available": 6 })
    );
    assert_eq!(api.stock_of(TEE, "BER"), level(10, 4, 0, 0));
    assert_no_staff_move(&api);
}

#[tokio::test]
async fn units_found_go_to_the_backorder_queue_first() {
    let api = stocked().await;
    waiting(&api, "HAM", 3).await;

    let reply = api
        .adjust(
            TEE,
            "HAM",
            json!({ "delta": 5, "reason": "count_correction" }),
            admin(),
            "adj-1",
        )
        .await;

    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(api.stock_of(TEE, "HAM"), level(5, 0, 3, 3));
    assert_eq!(api.published("inventory.adjusted")[0]["set_aside"], 3);
}

#[tokio::test]
async fn a_retried_adjustment_counts_once_and_a_reused_key_is_refused() {
    let api = stocked().await;
    let body = json!({ "delta": 2, "reason": "returned" });

    let first = api.adjust(TEE, "BER", &body, admin(), "adj-1").await;
    let again = api.adjust(TEE, "BER", &body, admin(), "adj-1").await;
    let other = api
        .adjust(
            TEE,
            "BER",
            json!({ "delta": 3, "reason": "returned" }),
            admin(),
            "adj-1",
        )
        .await;

    assert_eq!(first.status, 200);
    assert_eq!(again.status, 200);
    assert!(again.replayed && !first.replayed);
    assert_eq!(again.json(), first.json());
    assert_eq!(other.status, 422, "{}", other.body);
    assert_eq!(api.stock_of(TEE, "BER").on_hand, 12);
    assert_eq!(api.published("inventory.adjusted").len(), 1);
}

#[tokio::test]
async fn adjustments_must_say_a_reason_that_fits_the_change() {
    let api = stocked().await;
    let cases: [(Value, &str); 8] = [
        (json!({ "delta": 2, "reason": "damaged" }), "reason"),
        (json!({ "delta": -2, "reason": "received" }), "reason"),
        (json!({ "delta": 1, "reason": "stolen" }), "reason"),
        (json!({ "delta": 0, "reason": "count_correction" }), "delta"),
        (json!({ "delta": 1_000_001, "reason": "received" }), "delta"),
        (json!({ "delta": 1.5, "reason": "received" }), "delta"),
        (
            json!({ "delta": 1, "reason": "received", "note": "" }),
            "note",
        ),
        (
            json!({ "delta": 1, "reason": "received", "note": "x".repeat(501) }),
            "note",
        ),
    ];
    for (body, field) in cases {
        let reply = api.adjust(TEE, "BER", &body, admin(), "adj").await;
        assert_eq!(reply.status, 400, "{body}: {}", reply.body);
        assert!(reply.body.contains(field), "{body}: {}", reply.body);
    }
    assert_eq!(api.stock_of(TEE, "BER"), level(10, 4, 0, 0));
}

#[tokio::test]
async fn only_admins_adjust_and_only_in_the_shops_warehouses() {
    let api = stocked().await;
    let body = json!({ "delta": 1, "reason": "received" });

    let by_customer = api.adjust(TEE, "BER", &body, customer(), "k").await;
    let nowhere = api.adjust(TEE, "NOWHERE", &body, admin(), "k").await;
    let unknown = api.adjust("MUG-NONE", "BER", &body, admin(), "k").await;

    assert_eq!(by_customer.status, 403);
    assert_eq!(nowhere.status, 404);
    assert_eq!(unknown.status, 404);
    assert_no_staff_move(&api);
}

#[tokio::test]
async fn a_transfer_moves_free_units_between_warehouses_at_once() {
    let api = stocked().await;

    let reply = api
        .transfer(
            TEE,
            json!({ "from": "BER", "to": "HAM", "quantity": 5 }),
            admin(),
            "tr-1",
        )
        .await;

    assert_eq!(reply.status, 200, "{}", reply.body);
    let answer = reply.json();
    assert_eq!(answer["from"]["on_hand"], 5);
    assert_eq!(answer["to"]["warehouse"], "HAM");
    assert_eq!(answer["to"]["available"], 5);
    assert_eq!(api.stock_of(TEE, "BER"), level(5, 4, 0, 0));
    assert_eq!(api.stock_of(TEE, "HAM"), level(5, 0, 0, 0));
    assert_eq!(
        api.published("inventory.transferred"),
        [json!({
            "sku": TEE, "from": "BER", "to": "HAM", "quantity": 5, "set_aside": 0,
            "transferred_by": common::STAFF,
        })]
    );
}

#[tokio::test]
async fn a_transfer_never_moves_reserved_units() {
    let api = stocked().await;

    let reply = api
        .transfer(
            TEE,
            json!({ "from": "BER", "to": "MUC", "quantity": 7 }),
            admin(),
            "tr-1",
        )
        .await;

    assert_eq!(reply.status, 409, "{}", reply.body);
    assert_eq!(reply.json()["error"]["details"]["available"], 6);
    assert_eq!(api.stock_of(TEE, "BER"), level(10, 4, 0, 0));
    assert_eq!(api.stock_of(TEE, "MUC"), level(2, 0, 0, 0));
    assert_no_staff_move(&api);
}

#[tokio::test]
async fn units_transferred_in_go_to_the_receiving_queue_first() {
    let api = stocked().await;
    waiting(&api, "HAM", 4).await;

    let reply = api
        .transfer(
            TEE,
            json!({ "from": "BER", "to": "HAM", "quantity": 6 }),
            admin(),
            "tr-1",
        )
        .await;

    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(api.stock_of(TEE, "HAM"), level(6, 0, 4, 4));
    assert_eq!(api.stock_of(TEE, "HAM").available(), 2);
    assert_eq!(api.published("inventory.transferred")[0]["set_aside"], 4);
}

#[tokio::test]
async fn a_retried_transfer_moves_once() {
    let api = stocked().await;
    let body = json!({ "from": "BER", "to": "MUC", "quantity": 1 });

    let first = api.transfer(TEE, &body, admin(), "tr-1").await;
    let again = api.transfer(TEE, &body, admin(), "tr-1").await;

    assert_eq!(first.status, 200);
    assert!(again.replayed && !first.replayed);
    assert_eq!(again.json(), first.json());
    assert_eq!(api.stock_of(TEE, "MUC").on_hand, 3);
    assert_eq!(api.published("inventory.transferred").len(), 1);
}

#[tokio::test]
async fn a_transfer_names_two_of_the_shops_warehouses() {
    let api = stocked().await;
    let to_itself = api
        .transfer(
            TEE,
            json!({ "from": "BER", "to": "BER", "quantity": 1 }),
            admin(),
            "k",
        )
        .await;
    let nowhere = api
        .transfer(
            TEE,
            json!({ "from": "BER", "to": "NOWHERE", "quantity": 1 }),
            admin(),
            "k",
        )
        .await;
    let nothing = api
        .transfer(
            TEE,
            json!({ "from": "BER", "to": "MUC", "quantity": 0 }),
            admin(),
            "k",
        )
        .await;
    let no_key = api
        .send(shopflow_testkit::json_request(
            "POST",
            "/v1/inventory/{sku}/transfer",
            &[("sku", TEE)],
            Some(json!({ "from": "BER", "to": "MUC", "quantity": 1 }).to_string()),
            admin(),
        ))
        .await;

    assert_eq!(to_itself.status, 422, "{}", to_itself.body);
    assert_eq!(to_itself.json()["error"]["code"], "same_warehouse");
    assert_eq!(nowhere.status, 404, "{}", nowhere.body);
    assert_eq!(nothing.status, 400, "{}", nothing.body);
    assert_eq!(no_key.status, 400, "{}", no_key.body);
    assert_no_staff_move(&api);
}
