//! `PUT /v1/products/{sku}`: admins put products in the catalog; everything
//! about the product is validated before it is saved.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{InventoryApi, Reply, admin, anonymous, customer};
use serde_json::{Value, json};
use shopflow_domain::Sku;

fn red_tee() -> Value {
    json!({ "name": "Red tee", "price_minor": 1_250, "currency": "EUR", "active": true })
}

/// Puts `body` as an admin and checks that no product was saved.
async fn refused(code: &str, body: impl ToString) -> Reply {
    let api = InventoryApi::new();
    let reply = api.put_product(code, body, admin()).await;
    if Sku::parse(code).is_ok() {
        assert!(api.product(code).await.is_none(), "{code} was saved");
    }
    reply
}

#[tokio::test]
async fn an_admin_puts_a_product_in_the_catalog() {
    let api = InventoryApi::new();

    let reply = api.put_product("TEE-RED", red_tee(), admin()).await;

    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(
        reply.json(),
        json!({ "product": {
            "sku": "TEE-RED", "name": "Red tee", "price_minor": 1_250, "currency": "EUR", "active": true
        }})
    );
    let saved = api.product("TEE-RED").await.unwrap();
    assert_eq!(saved.name, "Red tee");
    assert_eq!(saved.price.minor, 1_250);
    assert_eq!(saved.price.currency.as_str(), "EUR");
    assert!(saved.active);
}

#[tokio::test]
async fn putting_a_product_again_replaces_it() {
    let api = InventoryApi::new();
    api.put_product("TEE-RED", red_tee(), admin()).await;

    let reply = api
        .put_product(
            "TEE-RED",
            json!({ "name": "Red tee (old)", "price_minor": 990, "currency": "EUR", "active": false }),
            admin(),
        )
        .await;

    assert_eq!(reply.status, 200, "{}", reply.body);
    let saved = api.product("TEE-RED").await.unwrap();
    assert_eq!(saved.name, "Red tee (old)");
    assert_eq!(saved.price.minor, 990);
    assert!(!saved.active);
}

#[tokio::test]
async fn surrounding_whitespace_is_trimmed_from_the_name() {
    let api = InventoryApi::new();
    let mut body = red_tee();
    body["name"] = json!("  Red tee \n");

    let reply = api.put_product("TEE-RED", body, admin()).await;

    assert_eq!(reply.json()["product"]["name"], "Red tee");
    assert_eq!(api.product("TEE-RED").await.unwrap().name, "Red tee");
}

#[tokio::test]
async fn a_customer_may_not_put_products() {
    let api = InventoryApi::new();

    let reply = api.put_product("TEE-RED", red_tee(), customer()).await;

    reply.problem(403, "forbidden");
    assert!(api.product("TEE-RED").await.is_none());
}

#[tokio::test]
async fn putting_a_product_needs_a_caller() {
    let api = InventoryApi::new();

    let reply = api.put_product("TEE-RED", red_tee(), anonymous()).await;

    reply.problem(401, "unauthenticated");
    assert!(api.product("TEE-RED").await.is_none());
}

#[tokio::test]
async fn a_blank_or_overlong_name_is_refused() {
    for name in [String::new(), "   ".to_owned(), "x".repeat(201)] {
        let mut body = red_tee();
        body["name"] = json!(name);
        refused("TEE-RED", body).await.invalid("name");
    }
}

#[tokio::test]
async fn a_negative_price_is_refused() {
    let mut body = red_tee();
    body["price_minor"] = json!(-1);
    refused("TEE-RED", body).await.invalid("price_minor");
}

#[tokio::test]
async fn a_price_that_is_not_whole_minor_units_is_refused() {
    for price in [json!(12.5), json!("1250"), json!(null)] {
        let mut body = red_tee();
        body["price_minor"] = price;
        refused("TEE-RED", body).await.invalid("price_minor");
    }
}

#[tokio::test]
async fn a_currency_that_is_not_an_iso_code_is_refused() {
    for currency in ["eur", "EURO", "E1R", ""] {
        let mut body = red_tee();
        body["currency"] = json!(currency);
        refused("TEE-RED", body).await.invalid("currency");
    }
}

#[tokio::test]
async fn an_unknown_field_is_refused_by_name() {
    let mut body = red_tee();
    body["colour"] = json!("red");
    refused("TEE-RED", body).await.invalid("colour");
}

#[tokio::test]
async fn a_missing_field_is_a_bad_request() {
    let mut body = red_tee();
    body.as_object_mut().unwrap().remove("active");
    refused("TEE-RED", body)
        .await
        .problem(400, "invalid_request");
}

#[tokio::test]
async fn a_body_that_is_not_json_is_a_bad_request() {
    refused("TEE-RED", "name=Red tee").await.invalid("body");
}

#[tokio::test]
async fn a_malformed_sku_in_the_path_is_refused() {
    for code in ["HAS#HASH", "has space", &"X".repeat(65)] {
        refused(code, red_tee()).await.invalid("sku");
    }
}
