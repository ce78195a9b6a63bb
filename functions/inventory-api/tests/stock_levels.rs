//! `GET /v1/inventory/{sku}`: what is on hand, reserved and available in
//! each warehouse, and in total.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{InventoryApi, admin, anonymous, customer};
use serde_json::json;
use shopflow_lambda_kit::apigw::HttpEvent;

#[tokio::test]
async fn stock_shows_each_warehouse_and_the_total_available() {
    let api = InventoryApi::new();
    api.catalogued("TEE-RED").await;
    api.received("TEE-RED", "BER", 10).await;
    api.reserved("TEE-RED", "BER", 3).await;
    api.received("TEE-RED", "HAM", 4).await;
    api.received("TEE-RED", "MUC", 2).await;
    api.reserved("TEE-RED", "MUC", 2).await;

    let reply = api.stock("TEE-RED", customer()).await;

    assert_eq!(reply.status, 200, "{}", reply.body);
    let mut body = reply.json();
    body["warehouses"]
        .as_array_mut()
        .unwrap()
        .sort_by_key(|level| level["warehouse"].as_str().unwrap().to_owned());
    assert_eq!(
        body,
        json!({
            "sku": "TEE-RED",
            "available": 11,
            "warehouses": [
                { "warehouse": "BER", "on_hand": 10, "reserved": 3, "set_aside": 0, "backordered": 0, "available": 7 },
                { "warehouse": "HAM", "on_hand": 4, "reserved": 0, "set_aside": 0, "backordered": 0, "available": 4 },
                { "warehouse": "MUC", "on_hand": 2, "reserved": 2, "set_aside": 0, "backordered": 0, "available": 0 }
            ]
        })
    );
}

#[tokio::test]
async fn the_total_available_is_exact_even_beyond_what_one_warehouse_can_hold() {
    let api = InventoryApi::new();
    api.catalogued("PIN").await;
    api.received("PIN", "BER", u32::MAX).await;
    api.received("PIN", "HAM", u32::MAX).await;

    let reply = api.stock("PIN", customer()).await;

    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.json()["available"], 2 * u64::from(u32::MAX));
}

#[tokio::test]
async fn stock_of_one_sku_leaves_out_every_other_sku() {
    let api = InventoryApi::new();
    api.catalogued("TEE-RED").await;
    api.catalogued("TEE-REDDER").await;
    api.received("TEE-RED", "BER", 1).await;
    api.received("TEE-REDDER", "BER", 50).await;

    let reply = api.stock("TEE-RED", customer()).await;

    assert_eq!(reply.json()["available"], 1);
    assert_eq!(reply.json()["warehouses"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn a_product_never_stocked_has_nothing_available() {
    let api = InventoryApi::new();
    api.catalogued("TEE-RED").await;

    let reply = api.stock("TEE-RED", customer()).await;

    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(
        reply.json(),
        json!({ "sku": "TEE-RED", "available": 0, "warehouses": [] })
    );
}

#[tokio::test]
async fn stock_of_an_unknown_sku_is_not_found() {
    let api = InventoryApi::new();
    api.catalogued("TEE-RED").await;

    api.stock("GHOST", admin()).await.problem(404, "not_found");
}

#[tokio::test]
async fn a_malformed_sku_in_the_path_is_refused() {
    let api = InventoryApi::new();

    api.stock("TEE#RED", customer()).await.invalid("sku");
}

#[tokio::test]
async fn reading_stock_needs_a_caller() {
    let api = InventoryApi::new();
    api.catalogued("TEE-RED").await;

    api.stock("TEE-RED", anonymous())
        .await
        .problem(401, "unauthenticated");
}

#[tokio::test]
async fn a_route_the_inventory_api_does_not_serve_is_not_found() {
    let api = InventoryApi::new();

    let reply = api
        .send(HttpEvent {
            method: "DELETE".into(),
            route: "/v1/products/{sku}".into(),
            path: "/v1/products/TEE-RED".into(),
            claims: admin(),
            ..HttpEvent::default()
        })
        .await;

    reply.problem(404, "route_not_found");
}
