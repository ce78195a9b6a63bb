//! `PUT /v1/inventory/{sku}/{warehouse}/low-stock`: staff set or clear the
//! threshold at or below which a warehouse's stock is low. (The event the
//! fall raises is the ledger's: stock-ledger's tests and the end-to-end
//! tests show it.)
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{InventoryApi, admin, customer, sku, wh};
use serde_json::json;
use shopflow_domain::LowStock;

const TEE: &str = "TEE-RED";

async fn stocked() -> InventoryApi {
    let api = InventoryApi::new();
    api.catalogued(TEE).await;
    api.received(TEE, "BER", 10).await;
    api.reserved(TEE, "BER", 4).await;
    api
}

#[tokio::test]
async fn staff_set_a_threshold_and_see_whether_the_stock_is_low_now() {
    let api = stocked().await;

    let above = api
        .put_low_stock(TEE, "BER", json!({ "threshold": 5 }), admin())
        .await;
    let at = api
        .put_low_stock(TEE, "BER", json!({ "threshold": 6.0 }), admin())
        .await;

    assert_eq!(above.status, 200, "{}", above.body);
    assert_eq!(
        above.json()["low_stock"],
        json!({ "threshold": 5, "low": false })
    );
    assert_eq!(above.json()["stock"]["available"], 6);
    assert_eq!(
        at.json()["low_stock"],
        json!({ "threshold": 6, "low": true })
    );
    assert_eq!(
        api.store().low_stock(&sku(TEE), &wh("BER")),
        Some(LowStock { threshold: 6 })
    );
}

#[tokio::test]
async fn null_clears_the_threshold() {
    let api = stocked().await;
    api.put_low_stock(TEE, "BER", json!({ "threshold": 3 }), admin())
        .await;

    let cleared = api
        .put_low_stock(TEE, "BER", json!({ "threshold": null }), admin())
        .await;

    assert_eq!(cleared.status, 200, "{}", cleared.body);
    assert_eq!(
        cleared.json()["low_stock"],
        json!({ "threshold": null, "low": false })
    );
    assert_eq!(api.store().low_stock(&sku(TEE), &wh("BER")), None);
}

#[tokio::test]
async fn a_threshold_where_the_sku_was_never_stocked_makes_an_empty_level() {
    let api = stocked().await;

    let reply = api
        .put_low_stock(TEE, "HAM", json!({ "threshold": 0 }), admin())
        .await;

    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.json()["low_stock"]["low"], true);
    assert_eq!(reply.json()["stock"]["on_hand"], 0);
}

#[tokio::test]
async fn thresholds_are_whole_numbers_in_range_set_by_admins_on_real_stock() {
    let api = stocked().await;
    for body in [
        json!({ "threshold": -1 }),
        json!({ "threshold": 1_000_001 }),
        json!({ "threshold": 2.5 }),
        json!({ "threshold": "5" }),
        json!({}),
        json!({ "threshold": 5, "notify": true }),
    ] {
        let reply = api.put_low_stock(TEE, "BER", &body, admin()).await;
        assert_eq!(reply.status, 400, "{body}: {}", reply.body);
    }
    let body = json!({ "threshold": 5 });
    assert_eq!(
        api.put_low_stock(TEE, "BER", &body, customer())
            .await
            .status,
        403
    );
    assert_eq!(
        api.put_low_stock(TEE, "NOWHERE", &body, admin())
            .await
            .status,
        404
    );
    assert_eq!(
        api.put_low_stock("MUG-NONE", "BER", &body, admin())
            .await
            .status,
        404
    );
    assert_eq!(api.store().low_stock(&sku(TEE), &wh("BER")), None);
}
