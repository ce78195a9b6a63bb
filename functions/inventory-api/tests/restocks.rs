//! `POST /v1/inventory/{sku}/{warehouse}/restock`: admins record units
//! received into a warehouse, and every restock is announced.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{InventoryApi, admin, anonymous, customer, sku, wh};
use serde_json::json;
use shopflow_domain::events::InventoryRestocked;

async fn api_selling_red_tees() -> InventoryApi {
    let api = InventoryApi::new();
    api.catalogued("TEE-RED").await;
    api
}

/// Asserts that a refused restock left stock and the outbox alone.
fn assert_nothing_restocked(api: &InventoryApi) {
    assert_eq!(api.stock_of("TEE-RED", "BER").on_hand, 0);
    assert!(api.restocked_events().is_empty(), "a restock was recorded");
}

#[tokio::test]
async fn an_admin_restock_adds_units_and_records_an_inventory_restocked_event() {
    let api = api_selling_red_tees().await;

    let reply = api
        .restock("TEE-RED", "BER", json!({ "quantity": 25 }), admin())
        .await;

    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(
        reply.json(),
        json!({
            "sku": "TEE-RED",
            "stock": { "warehouse": "BER", "on_hand": 25, "reserved": 0, "set_aside": 0, "backordered": 0, "available": 25 }
        })
    );
    assert_eq!(api.stock_of("TEE-RED", "BER").on_hand, 25);
    let events = api.store().outbox();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].event.detail_type(), "inventory.restocked");
    assert_eq!(events[0].event.source(), "shopflow.inventory");
    assert_eq!(
        api.restocked_events(),
        [InventoryRestocked {
            sku: sku("TEE-RED"),
            warehouse: wh("BER"),
            received: 25,
            set_aside: 0
        }]
    );
}

#[tokio::test]
async fn restocks_add_to_what_is_on_hand_and_keep_reservations() {
    let api = api_selling_red_tees().await;
    api.received("TEE-RED", "BER", 5).await;
    api.reserved("TEE-RED", "BER", 3).await;

    let reply = api
        .restock("TEE-RED", "BER", json!({ "quantity": 7 }), admin())
        .await;

    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(
        reply.json()["stock"],
        json!({ "warehouse": "BER", "on_hand": 12, "reserved": 3, "set_aside": 0, "backordered": 0, "available": 9 })
    );
    assert_eq!(api.restocked_events().len(), 2);
}

#[tokio::test]
async fn a_restock_into_a_new_warehouse_starts_its_stock() {
    let api = api_selling_red_tees().await;
    api.received("TEE-RED", "BER", 5).await;

    api.restock("TEE-RED", "HAM", json!({ "quantity": 4 }), admin())
        .await;

    assert_eq!(api.stock_of("TEE-RED", "HAM").on_hand, 4);
    assert_eq!(api.stock_of("TEE-RED", "BER").on_hand, 5);
}

#[tokio::test]
async fn a_customer_may_not_restock() {
    let api = api_selling_red_tees().await;

    let reply = api
        .restock("TEE-RED", "BER", json!({ "quantity": 5 }), customer())
        .await;

    reply.problem(403, "forbidden");
    assert_nothing_restocked(&api);
}

#[tokio::test]
async fn restocking_needs_a_caller() {
    let api = api_selling_red_tees().await;

    let reply = api
        .restock("TEE-RED", "BER", json!({ "quantity": 5 }), anonymous())
        .await;

    reply.problem(401, "unauthenticated");
    assert_nothing_restocked(&api);
}

#[tokio::test]
async fn restocking_a_product_not_in_the_catalog_is_not_found() {
    let api = api_selling_red_tees().await;

    let reply = api
        .restock("GHOST", "BER", json!({ "quantity": 5 }), admin())
        .await;

    reply.problem(404, "not_found");
    assert_eq!(api.stock_of("GHOST", "BER").on_hand, 0);
    assert!(api.restocked_events().is_empty());
}

#[tokio::test]
async fn a_quantity_outside_one_to_a_million_is_refused() {
    for quantity in [json!(0), json!(-1), json!(1_000_001), json!(i64::MAX)] {
        let api = api_selling_red_tees().await;

        let reply = api
            .restock("TEE-RED", "BER", json!({ "quantity": quantity }), admin())
            .await;

        assert_eq!(reply.status, 400, "quantity {quantity}: {}", reply.body);
        reply.invalid("quantity");
        assert_nothing_restocked(&api);
    }
}

#[tokio::test]
async fn a_million_units_is_the_largest_restock() {
    let api = api_selling_red_tees().await;

    let reply = api
        .restock("TEE-RED", "BER", json!({ "quantity": 1_000_000 }), admin())
        .await;

    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(api.stock_of("TEE-RED", "BER").on_hand, 1_000_000);
}

#[tokio::test]
async fn a_quantity_that_is_not_a_whole_number_is_refused() {
    for quantity in [json!("ten"), json!(2.5), json!(null)] {
        let api = api_selling_red_tees().await;

        let reply = api
            .restock("TEE-RED", "BER", json!({ "quantity": quantity }), admin())
            .await;

        reply.invalid("quantity");
        assert_nothing_restocked(&api);
    }
}

#[tokio::test]
async fn an_unknown_field_in_a_restock_is_refused_by_name() {
    let api = api_selling_red_tees().await;

    let reply = api
        .restock(
            "TEE-RED",
            "BER",
            json!({ "quantity": 5, "note": "pallet 7" }),
            admin(),
        )
        .await;

    reply.invalid("note");
    assert_nothing_restocked(&api);
}

#[tokio::test]
async fn a_malformed_sku_or_warehouse_in_the_path_is_refused() {
    let api = api_selling_red_tees().await;

    let bad_sku = api
        .restock("TEE#RED", "BER", json!({ "quantity": 5 }), admin())
        .await;
    let bad_warehouse = api
        .restock("TEE-RED", "B E R", json!({ "quantity": 5 }), admin())
        .await;

    bad_sku.invalid("sku");
    bad_warehouse.invalid("warehouse");
    assert_nothing_restocked(&api);
}

#[tokio::test]
async fn a_restock_that_would_overflow_the_stock_level_is_unprocessable() {
    let api = api_selling_red_tees().await;
    api.received("TEE-RED", "BER", u32::MAX - 5).await;
    let events_before = api.restocked_events().len();

    let reply = api
        .restock("TEE-RED", "BER", json!({ "quantity": 10 }), admin())
        .await;

    reply.problem(422, "stock_overflow");
    assert_eq!(api.stock_of("TEE-RED", "BER").on_hand, u32::MAX - 5);
    assert_eq!(api.restocked_events().len(), events_before);
}

// --- once per Idempotency-Key ----------------------------------------------------------

#[tokio::test]
async fn a_restock_retried_after_a_lost_answer_counts_once_and_answers_the_same() {
    let api = api_selling_red_tees().await;
    let restock = || {
        api.restock_with_key(
            "TEE-RED",
            "BER",
            json!({ "quantity": 25 }),
            admin(),
            Some("delivery-4711"),
        )
    };

    let first = restock().await;
    api.reserved("TEE-RED", "BER", 5).await;
    let retry = restock().await;

    assert_eq!(first.status, 200, "{}", first.body);
    assert_eq!(retry.status, 200, "{}", retry.body);
    assert!(retry.replayed && !first.replayed);
    assert_eq!(retry.json(), first.json(), "the level this restock left");
    assert_eq!(api.stock_of("TEE-RED", "BER").on_hand, 25, "one increment");
    assert_eq!(api.restocked_events().len(), 1, "announced once");
}

#[tokio::test]
async fn a_used_key_for_another_quantity_or_warehouse_is_refused() {
    let api = api_selling_red_tees().await;
    let key = Some("delivery-4712");
    let first = api
        .restock_with_key("TEE-RED", "BER", json!({ "quantity": 5 }), admin(), key)
        .await;
    assert_eq!(first.status, 200, "{}", first.body);

    let more = api
        .restock_with_key("TEE-RED", "BER", json!({ "quantity": 6 }), admin(), key)
        .await;
    let elsewhere = api
        .restock_with_key("TEE-RED", "HAM", json!({ "quantity": 5 }), admin(), key)
        .await;

    more.problem(422, "idempotency_key_reused");
    elsewhere.problem(422, "idempotency_key_reused");
    assert_eq!(api.stock_of("TEE-RED", "BER").on_hand, 5);
    assert_eq!(api.stock_of("TEE-RED", "HAM").on_hand, 0);
}

#[tokio::test]
async fn a_restock_without_an_idempotency_key_is_refused() {
    let api = api_selling_red_tees().await;

    let reply = api
        .restock_with_key("TEE-RED", "BER", json!({ "quantity": 5 }), admin(), None)
        .await;

    reply.invalid("Idempotency-Key");
    assert_nothing_restocked(&api);
}

#[tokio::test]
async fn a_warehouse_the_shop_does_not_have_is_404_and_gets_no_stock() {
    let api = api_selling_red_tees().await;

    let reply = api
        .restock("TEE-RED", "NOWHERE", json!({ "quantity": 5 }), admin())
        .await;

    assert_eq!(reply.status, 404, "{}", reply.body);
    assert_eq!(reply.json()["error"]["message"], "warehouse not found");
    assert_eq!(api.stock_of("TEE-RED", "NOWHERE").on_hand, 0);
    assert!(api.restocked_events().is_empty());
    let stock = api.stock("TEE-RED", admin()).await.json();
    assert_eq!(stock["warehouses"], json!([]), "{stock}");
}
