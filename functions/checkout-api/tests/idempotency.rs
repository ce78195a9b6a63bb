//! Retrying a checkout under the same `Idempotency-Key` is safe: the first
//! answer comes back and nothing is placed twice.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{FIRST_WAREHOUSE, OTHER_CUSTOMER, Shop, cart, checkout_event, claims};

#[tokio::test]
async fn a_retry_with_the_same_key_and_body_replays_the_first_answer_byte_for_byte() {
    let shop = Shop::stocked().await;
    let body = cart(&[("TEE-RED", 2), ("MUG", 1)]);

    let first = shop.checkout(&body).await;
    let retry = shop.checkout(&body).await;

    assert_eq!(first.status, 201, "{}", first.body);
    assert_eq!(retry.status, first.status);
    assert_eq!(retry.body, first.body);
    assert!(retry.replayed, "a replay is marked as such");
    assert!(!first.replayed);
    assert_eq!(shop.orders().len(), 1);
    assert_eq!(shop.order_events().len(), 1);
    assert_eq!(shop.stock("TEE-RED", FIRST_WAREHOUSE).reserved, 2);
}

#[tokio::test]
async fn a_retry_whose_json_differs_only_in_key_order_and_whitespace_is_the_same_request() {
    let shop = Shop::stocked().await;
    let first = shop.checkout(&cart(&[("TEE-RED", 2), ("MUG", 1)])).await;
    let reordered = r#"{
        "shipping_address": {
            "country": "DE", "postal_code": "10115", "city": "Berlin",
            "line1": "1 Analytical Way", "name": "Ada Lovelace"
        },
        "email": "ada@example.com",
        "currency": "EUR",
        "lines": [ { "quantity": 2, "sku": "TEE-RED" }, { "quantity": 1, "sku": "MUG" } ]
    }"#;

    let retry = shop.send(checkout_event(reordered)).await;

    assert_eq!(first.status, 201, "{}", first.body);
    assert_eq!(retry.status, 201, "{}", retry.body);
    assert_eq!(retry.body, first.body);
    assert_eq!(shop.orders().len(), 1);
    assert_eq!(shop.stock("TEE-RED", FIRST_WAREHOUSE).reserved, 2);
}

#[tokio::test]
async fn a_retry_is_replayed_even_after_the_stock_it_reserved_is_gone() {
    let shop = Shop::stocked().await;
    let body = cart(&[("TEE-RED", 10)]);

    let first = shop.checkout(&body).await;
    let retry = shop.checkout(&body).await;

    assert_eq!(first.status, 201, "{}", first.body);
    assert_eq!(retry.status, 201, "{}", retry.body);
    assert_eq!(retry.body, first.body);
    assert_eq!(shop.stock("TEE-RED", FIRST_WAREHOUSE).reserved, 10);
}

#[tokio::test]
async fn reusing_a_key_with_a_different_body_is_refused_and_changes_nothing() {
    let shop = Shop::stocked().await;
    let first = shop.checkout(&cart(&[("TEE-RED", 2)])).await;

    let reply = shop.checkout(&cart(&[("TEE-RED", 3)])).await;

    assert_eq!(first.status, 201, "{}", first.body);
    reply.problem(422, "idempotency_key_reused");
    assert_eq!(shop.orders().len(), 1);
    assert_eq!(shop.order_events().len(), 1);
    assert_eq!(shop.stock("TEE-RED", FIRST_WAREHOUSE).reserved, 2);
}

#[tokio::test]
async fn two_customers_may_use_the_same_key_independently() {
    let shop = Shop::stocked().await;
    let body = cart(&[("TEE-RED", 2)]);

    let ada = shop.checkout(&body).await;
    let mut event = checkout_event(body.to_string());
    event.claims = Some(claims(OTHER_CUSTOMER));
    let grace = shop.send(event).await;

    assert_eq!(ada.status, 201, "{}", ada.body);
    assert_eq!(grace.status, 201, "{}", grace.body);
    assert!(!grace.replayed);
    assert_ne!(ada.json()["order"]["id"], grace.json()["order"]["id"]);
    assert_eq!(grace.json()["order"]["customer_id"], OTHER_CUSTOMER);
    assert_eq!(shop.orders().len(), 2);
    assert_eq!(shop.order_events().len(), 2);
    assert_eq!(shop.stock("TEE-RED", FIRST_WAREHOUSE).reserved, 4);
}

#[tokio::test]
async fn a_refused_checkout_does_not_use_up_its_key() {
    let shop = Shop::new();
    shop.sells("TEE-RED", 1_250).await;
    let body = cart(&[("TEE-RED", 2)]);

    let refused = shop.checkout(&body).await;
    shop.stocks("TEE-RED", FIRST_WAREHOUSE, 2).await;
    let retry = shop.checkout(&body).await;

    refused.problem(409, "insufficient_stock");
    assert_eq!(retry.status, 201, "{}", retry.body);
    assert!(!retry.replayed);
    assert_eq!(shop.orders().len(), 1);
}
