//! `GET /v1/products/{sku}/availability`: what a storefront shows anyone,
//! with no token: in stock or not, units capped for display, backorders
//! per warehouse and overall; cacheable, `304` on a held ETag.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{InventoryApi, admin};
use serde_json::json;
use shopflow_domain::Product;
use shopflow_ports::InventoryStore;

const TEE: &str = "TEE-RED";

async fn api_selling_tees() -> InventoryApi {
    let api = InventoryApi::new();
    api.catalogued(TEE).await;
    api
}

#[tokio::test]
async fn anyone_sees_stock_capped_for_display_across_warehouses() {
    let api = api_selling_tees().await;
    api.received(TEE, "BER", 8).await;
    api.received(TEE, "MUC", 5).await;
    api.reserved(TEE, "MUC", 2).await;

    let reply = api.availability(TEE, None).await;

    assert_eq!(reply.status, 200, "{}", reply.body);
    let answer = reply.json();
    assert_eq!(answer["sku"], TEE);
    assert_eq!(answer["in_stock"], true);
    assert_eq!(
        answer["available"],
        json!({ "quantity": 10, "display": "10+" })
    );
    let warehouses = answer["warehouses"].as_array().unwrap();
    let shown: Vec<(&str, &str)> = warehouses
        .iter()
        .map(|w| {
            (
                w["warehouse"].as_str().unwrap(),
                w["available"]["display"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(&shown[..3], [("BER", "8"), ("MUC", "3"), ("HAM", "0")]);
    assert_eq!(warehouses[2]["in_stock"], false);
    assert_eq!(
        answer["backorder"],
        json!({ "allowed": false, "remaining_capacity": 0, "estimated_restock_date": null, "estimated_restock_days": null })
    );
    assert_eq!(reply.header("cache-control"), Some("public, max-age=15"));
}

#[tokio::test]
async fn an_out_of_stock_sku_says_how_many_may_wait_and_until_when() {
    let api = api_selling_tees().await;
    let settings = json!({ "allow_backorder": true, "max_backorder_quantity": 30, "estimated_restock_days": 9 });
    let saved = api
        .put_backorder_settings(TEE, "MUC", &settings, admin())
        .await;
    assert_eq!(saved.status, 200, "{}", saved.body);

    let answer = api.availability(TEE, None).await.json();

    assert_eq!(answer["in_stock"], false);
    assert_eq!(answer["available"]["display"], "0");
    assert_eq!(answer["backorder"]["allowed"], true);
    assert_eq!(answer["backorder"]["remaining_capacity"], 30);
    assert_eq!(answer["backorder"]["estimated_restock_days"], 9);
    assert!(answer["backorder"]["estimated_restock_date"].is_string());
    let munich = &answer["warehouses"][1];
    assert_eq!(munich["warehouse"], "MUC");
    assert_eq!(munich["backorder"]["remaining_capacity"], 30);
    assert_eq!(answer["warehouses"][0]["backorder"]["allowed"], false);
}

#[tokio::test]
async fn a_held_etag_is_not_modified_until_the_stock_changes() {
    let api = api_selling_tees().await;
    api.received(TEE, "BER", 3).await;
    let first = api.availability(TEE, None).await;
    let etag = first.header("etag").unwrap().to_owned();

    let again = api.availability(TEE, Some(&etag)).await;
    api.received(TEE, "BER", 1).await;
    let changed = api.availability(TEE, Some(&etag)).await;

    assert_eq!(again.status, 304);
    assert_eq!(again.body, "");
    assert_eq!(again.header("etag"), Some(etag.as_str()));
    assert_eq!(changed.status, 200);
    assert_eq!(changed.json()["available"]["display"], "4");
    assert_ne!(changed.header("etag"), Some(etag.as_str()));
}

#[tokio::test]
async fn a_sku_the_shop_does_not_sell_is_not_found() {
    let api = api_selling_tees().await;
    let retired = Product {
        active: false,
        ..api.product(TEE).await.unwrap()
    };
    api.store().upsert_product(&retired).await.unwrap();

    let inactive = api.availability(TEE, None).await;
    let unknown = api.availability("MUG-NONE", None).await;
    let malformed = api.availability("no spaces", None).await;

    assert_eq!(inactive.status, 404, "{}", inactive.body);
    assert_eq!(unknown.status, 404, "{}", unknown.body);
    assert_eq!(malformed.status, 400, "{}", malformed.body);
}
