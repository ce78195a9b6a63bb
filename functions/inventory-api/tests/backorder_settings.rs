//! Backorder settings per SKU × warehouse: staff read and save them one at a
//! time or up to 100 at once, all or nothing; and staff ask for a queue to
//! be served now.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{InventoryApi, admin, anonymous, customer, sku, wh};
use serde_json::{Value, json};
use shopflow_domain::BackorderSettings;
use shopflow_ports::InventoryStore;

async fn api_selling(codes: &[&str]) -> InventoryApi {
    let api = InventoryApi::new();
    for code in codes {
        api.catalogued(code).await;
    }
    api
}

async fn saved(api: &InventoryApi, code: &str, warehouse: &str) -> BackorderSettings {
    api.store()
        .backorder_settings(&sku(code), &wh(warehouse))
        .await
        .unwrap()
        .expect("a catalogued product")
}

fn settings_in(reply: &common::Reply) -> Value {
    reply.json()["backorder_settings"].clone()
}

#[tokio::test]
async fn a_product_nobody_configured_has_the_defaults() {
    let api = api_selling(&["TEE-RED"]).await;

    let reply = api.backorder_settings("TEE-RED", "BER", admin()).await;

    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(
        settings_in(&reply),
        json!({
            "sku": "TEE-RED",
            "warehouse": "BER",
            "allow_backorder": false,
            "max_backorder_quantity": 100,
            "estimated_restock_days": 14,
            "estimated_restock_date": null
        })
    );
}

#[tokio::test]
async fn saved_settings_are_read_back_and_leave_stock_alone() {
    let api = api_selling(&["TEE-RED"]).await;
    api.received("TEE-RED", "BER", 7).await;
    let body = json!({
        "allow_backorder": true,
        "max_backorder_quantity": 60,
        "estimated_restock_days": 21,
        "estimated_restock_date": "2099-03-01T00:00:00Z"
    });

    let put = api
        .put_backorder_settings("TEE-RED", "BER", &body, admin())
        .await;
    let get = api.backorder_settings("TEE-RED", "BER", admin()).await;

    assert_eq!(put.status, 200, "{}", put.body);
    assert_eq!(settings_in(&put), settings_in(&get));
    assert_eq!(
        settings_in(&get)["estimated_restock_date"],
        "2099-03-01T00:00:00.000Z"
    );
    let settings = saved(&api, "TEE-RED", "BER").await;
    assert!(settings.allow_backorder);
    assert_eq!(settings.max_backorder_quantity, 60);
    assert_eq!(settings.estimated_restock_days, 21);
    assert_eq!(api.stock_of("TEE-RED", "BER").on_hand, 7);
}

#[tokio::test]
async fn a_put_replaces_the_settings_and_absent_fields_take_the_defaults() {
    let api = api_selling(&["TEE-RED"]).await;
    let first = json!({ "allow_backorder": true, "max_backorder_quantity": 5, "estimated_restock_days": 3 });
    api.put_backorder_settings("TEE-RED", "BER", &first, admin())
        .await;

    let reply = api
        .put_backorder_settings(
            "TEE-RED",
            "BER",
            json!({ "allow_backorder": true }),
            admin(),
        )
        .await;

    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(
        saved(&api, "TEE-RED", "BER").await,
        BackorderSettings {
            allow_backorder: true,
            ..BackorderSettings::default()
        }
    );
}

#[tokio::test]
async fn settings_are_kept_per_warehouse() {
    let api = api_selling(&["TEE-RED"]).await;

    api.put_backorder_settings(
        "TEE-RED",
        "BER",
        json!({ "allow_backorder": true }),
        admin(),
    )
    .await;

    assert!(saved(&api, "TEE-RED", "BER").await.allow_backorder);
    assert!(!saved(&api, "TEE-RED", "MUC").await.allow_backorder);
}

#[tokio::test]
async fn settings_of_an_unknown_product_are_not_found() {
    let api = api_selling(&[]).await;

    let get = api.backorder_settings("TEE-RED", "BER", admin()).await;
    let put = api
        .put_backorder_settings(
            "TEE-RED",
            "BER",
            json!({ "allow_backorder": true }),
            admin(),
        )
        .await;

    assert_eq!(get.status, 404, "{}", get.body);
    assert_eq!(put.status, 404, "{}", put.body);
    assert_eq!(put.json()["error"]["code"], "not_found");
}

#[tokio::test]
async fn only_staff_read_or_save_settings() {
    let api = api_selling(&["TEE-RED"]).await;
    let body = json!({ "allow_backorder": true });

    assert_eq!(
        api.backorder_settings("TEE-RED", "BER", customer())
            .await
            .status,
        403
    );
    assert_eq!(
        api.put_backorder_settings("TEE-RED", "BER", &body, customer())
            .await
            .status,
        403
    );
    assert_eq!(
        api.put_bulk_backorder_settings(json!({ "rows": [] }), customer())
            .await
            .status,
        403
    );
    assert_eq!(
        api.backorder_settings("TEE-RED", "BER", anonymous())
            .await
            .status,
        401
    );
    assert!(!saved(&api, "TEE-RED", "BER").await.allow_backorder);
}

#[tokio::test]
async fn settings_out_of_bounds_or_passed_are_refused_naming_the_field() {
    let api = api_selling(&["TEE-RED"]).await;
    let cases = [
        (
            json!({ "allow_backorder": true, "max_backorder_quantity": -1 }),
            "max_backorder_quantity",
        ),
        (
            json!({ "allow_backorder": true, "max_backorder_quantity": 1_000_001 }),
            "max_backorder_quantity",
        ),
        (
            json!({ "allow_backorder": true, "estimated_restock_days": 366 }),
            "estimated_restock_days",
        ),
        (
            json!({ "allow_backorder": true, "estimated_restock_date": "soon" }),
            "estimated_restock_date",
        ),
    ];
    for (body, field) in cases {
        let reply = api
            .put_backorder_settings("TEE-RED", "BER", &body, admin())
            .await;

        assert_eq!(reply.status, 400, "{body}: {}", reply.body);
        assert_eq!(reply.json()["error"]["details"]["field"], field, "{body}");
    }
    let passed =
        json!({ "allow_backorder": true, "estimated_restock_date": "2001-01-01T00:00:00Z" });
    let reply = api
        .put_backorder_settings("TEE-RED", "BER", &passed, admin())
        .await;
    assert_eq!(reply.status, 422, "{}", reply.body);
    assert_eq!(reply.json()["error"]["code"], "restock_date_passed");
    assert_eq!(
        reply.json()["error"]["details"]["field"],
        "estimated_restock_date"
    );
    for body in [
        json!({}),
        json!({ "allow_backorder": true, "colour": "red" }),
    ] {
        let reply = api
            .put_backorder_settings("TEE-RED", "BER", &body, admin())
            .await;
        assert_eq!(reply.status, 400, "{body}: {}", reply.body);
    }
    assert_eq!(
        saved(&api, "TEE-RED", "BER").await,
        BackorderSettings::default()
    );
}

#[tokio::test]
async fn a_bulk_save_writes_every_row() {
    let api = api_selling(&["TEE-RED", "TEE-BLUE"]).await;
    let body = json!({ "rows": [
        { "sku": "TEE-RED", "warehouse": "BER", "allow_backorder": true, "max_backorder_quantity": 10 },
        { "sku": "TEE-RED", "warehouse": "MUC", "allow_backorder": false },
        { "sku": "TEE-BLUE", "warehouse": "BER", "allow_backorder": true, "estimated_restock_days": 2 },
    ]});

    let reply = api.put_bulk_backorder_settings(&body, admin()).await;

    assert_eq!(reply.status, 200, "{}", reply.body);
    let rows = settings_in(&reply);
    assert_eq!(rows.as_array().map(Vec::len), Some(3));
    assert_eq!(rows[2]["estimated_restock_days"], 2);
    assert_eq!(
        saved(&api, "TEE-RED", "BER").await.max_backorder_quantity,
        10
    );
    assert!(!saved(&api, "TEE-RED", "MUC").await.allow_backorder);
    assert!(saved(&api, "TEE-BLUE", "BER").await.allow_backorder);
}

#[tokio::test]
async fn a_bulk_save_with_faulty_rows_saves_nothing_and_names_each_row() {
    let api = api_selling(&["TEE-RED"]).await;
    let body = json!({ "rows": [
        { "sku": "TEE-RED", "warehouse": "BER", "allow_backorder": true },
        { "sku": "TEE-RED", "warehouse": "MUC", "allow_backorder": true, "estimated_restock_days": 400 },
        { "sku": "TEE-RED", "warehouse": "BER", "allow_backorder": false },
        { "sku": "not a sku", "warehouse": "BER", "allow_backorder": true },
    ]});

    let reply = api.put_bulk_backorder_settings(&body, admin()).await;

    assert_eq!(reply.status, 422, "{}", reply.body);
    let error = &reply.json()["error"];
    assert_eq!(error["code"], "invalid_rows");
    let faults: Vec<(u64, String)> = error["details"]["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| {
            (
                row["index"].as_u64().unwrap(),
                row["code"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        faults,
        [
            (1, "invalid_request".to_owned()),
            (2, "duplicate_row".to_owned()),
            (3, "invalid_request".to_owned()),
        ]
    );
    assert_eq!(
        error["details"]["rows"][0]["field"],
        "estimated_restock_days"
    );
    assert!(!saved(&api, "TEE-RED", "BER").await.allow_backorder);
}

#[tokio::test]
async fn a_bulk_save_naming_unknown_products_saves_nothing() {
    let api = api_selling(&["TEE-RED"]).await;
    let body = json!({ "rows": [
        { "sku": "TEE-RED", "warehouse": "BER", "allow_backorder": true },
        { "sku": "TEE-GONE", "warehouse": "BER", "allow_backorder": true },
    ]});

    let reply = api.put_bulk_backorder_settings(&body, admin()).await;

    assert_eq!(reply.status, 422, "{}", reply.body);
    assert_eq!(
        reply.json()["error"]["details"]["rows"],
        json!([{ "index": 1, "code": "unknown_product", "message": "the catalog has no such SKU" }])
    );
    assert!(!saved(&api, "TEE-RED", "BER").await.allow_backorder);
}

#[tokio::test]
async fn a_bulk_save_takes_one_to_a_hundred_rows() {
    let api = api_selling(&["TEE-RED"]).await;
    let row = |n: usize| json!({ "sku": "TEE-RED", "warehouse": format!("W{n}"), "allow_backorder": true });

    let empty = api
        .put_bulk_backorder_settings(json!({ "rows": [] }), admin())
        .await;
    let too_many = api
        .put_bulk_backorder_settings(
            json!({ "rows": (0..101).map(row).collect::<Vec<_>>() }),
            admin(),
        )
        .await;
    let most = api
        .put_bulk_backorder_settings(
            json!({ "rows": (0..100).map(row).collect::<Vec<_>>() }),
            admin(),
        )
        .await;

    assert_eq!(empty.status, 400, "{}", empty.body);
    assert_eq!(too_many.status, 400, "{}", too_many.body);
    assert!(!saved(&api, "TEE-RED", "W100").await.allow_backorder);
    assert_eq!(most.status, 200, "{}", most.body);
    assert!(saved(&api, "TEE-RED", "W99").await.allow_backorder);
}

#[tokio::test]
async fn staff_ask_for_a_queue_to_be_served_and_the_request_is_announced() {
    let api = api_selling(&["TEE-RED"]).await;

    let reply = api
        .request_allocation(json!({ "sku": "TEE-RED", "warehouse": "BER" }), admin())
        .await;

    assert_eq!(reply.status, 202, "{}", reply.body);
    let allocation = &reply.json()["allocation"];
    assert_eq!(
        (&allocation["sku"], &allocation["status"]),
        (&json!("TEE-RED"), &json!("requested"))
    );
    let requests: Vec<_> = api
        .store()
        .outbox()
        .into_iter()
        .filter(|event| event.event.detail_type() == "backorder.allocation_requested")
        .collect();
    assert_eq!(requests.len(), 1);
    assert_eq!(allocation["event_id"], requests[0].id.to_string());
}

#[tokio::test]
async fn an_allocation_request_is_refused_for_customers_unknown_products_and_bad_bodies() {
    let api = api_selling(&["TEE-RED"]).await;
    let body = json!({ "sku": "TEE-RED", "warehouse": "BER" });

    let as_customer = api.request_allocation(&body, customer()).await;
    let anonymous = api.request_allocation(&body, anonymous()).await;
    let unknown = api
        .request_allocation(json!({ "sku": "NEVER-SOLD", "warehouse": "BER" }), admin())
        .await;
    let no_warehouse = api
        .request_allocation(json!({ "sku": "TEE-RED" }), admin())
        .await;
    let bad_warehouse = api
        .request_allocation(json!({ "sku": "TEE-RED", "warehouse": "B E R" }), admin())
        .await;

    assert_eq!(
        [
            as_customer.status,
            anonymous.status,
            unknown.status,
            no_warehouse.status,
            bad_warehouse.status
        ],
        [403, 401, 404, 400, 400]
    );
    assert!(
        api.store()
            .outbox()
            .iter()
            .all(|event| event.event.detail_type() != "backorder.allocation_requested")
    );
}

#[tokio::test]
async fn settings_and_allocations_for_a_warehouse_the_shop_does_not_have_are_refused() {
    let api = api_selling(&["TEE-RED"]).await;
    let body = json!({ "allow_backorder": true });

    let read = api.backorder_settings("TEE-RED", "NOWHERE", admin()).await;
    let put = api
        .put_backorder_settings("TEE-RED", "NOWHERE", &body, admin())
        .await;
    let allocate = api
        .request_allocation(json!({ "sku": "TEE-RED", "warehouse": "NOWHERE" }), admin())
        .await;
    let bulk = api
        .put_bulk_backorder_settings(
            json!({ "rows": [
                { "sku": "TEE-RED", "warehouse": "BER", "allow_backorder": true },
                { "sku": "TEE-RED", "warehouse": "NOWHERE", "allow_backorder": true },
            ] }),
            admin(),
        )
        .await;

    for reply in [&read, &put, &allocate] {
        assert_eq!(reply.status, 404, "{}", reply.body);
        assert_eq!(reply.json()["error"]["message"], "warehouse not found");
    }
    assert_eq!(bulk.status, 422, "{}", bulk.body);
    assert_eq!(
        bulk.json()["error"]["details"]["rows"][0]["code"],
        "unknown_warehouse"
    );
    assert!(!saved(&api, "TEE-RED", "BER").await.allow_backorder);
    assert!(!saved(&api, "TEE-RED", "NOWHERE").await.allow_backorder);
    assert!(api.store().outbox().is_empty());
}
