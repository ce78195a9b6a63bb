//! Requests checkout refuses, each with a problem body naming what is wrong,
//! and none of them reserving, placing or announcing anything.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{FIRST_WAREHOUSE, Reply, Shop, cart, checkout_event, policy};
use serde_json::{Value, json};
use shopflow_domain::CheckoutPolicy;
use shopflow_lambda_kit::apigw::HttpEvent;
use std::collections::BTreeMap;

const SKUS: [&str; 2] = ["TEE-RED", "MUG"];

/// Sends `body` to a stocked shop and checks that nothing was placed.
async fn refused(body: impl Into<String>) -> Reply {
    let shop = Shop::stocked().await;
    let reply = shop.send(checkout_event(body)).await;
    shop.assert_nothing_placed(&SKUS);
    reply
}

/// `body` with the field at JSON pointer `pointer` set to `value`.
fn with(mut body: Value, pointer: &str, value: Value) -> Value {
    let (parent, name) = pointer.rsplit_once('/').unwrap();
    match body.pointer_mut(parent).unwrap() {
        Value::Array(items) => items[name.parse::<usize>().unwrap()] = value,
        object => object[name] = value,
    }
    body
}

fn two_lines() -> Value {
    cart(&[("TEE-RED", 1), ("MUG", 1)])
}

// --- shape of the body -------------------------------------------------------

#[tokio::test]
async fn a_body_that_is_not_json_is_a_bad_request() {
    refused("this is not json").await.invalid("body");
}

#[tokio::test]
async fn a_truncated_json_body_is_a_bad_request() {
    let whole = two_lines().to_string();
    let reply = refused(&whole[..whole.len() / 2]).await;
    let details = reply.problem(400, "invalid_request");
    assert!(details["field"].is_string(), "{}", reply.body);
}

#[tokio::test]
async fn a_missing_body_is_a_bad_request() {
    let shop = Shop::stocked().await;
    let event = HttpEvent {
        body: None,
        ..checkout_event("")
    };

    let reply = shop.send(event).await;

    reply.problem(400, "invalid_request");
    shop.assert_nothing_placed(&SKUS);
}

#[tokio::test]
async fn an_unknown_top_level_field_is_refused_by_name() {
    let mut body = two_lines();
    body["coupon"] = json!("FREE");
    refused(body.to_string()).await.invalid("coupon");
}

#[tokio::test]
async fn an_unknown_field_in_a_line_is_refused_by_its_path() {
    let mut body = two_lines();
    body["lines"][1]["colour"] = json!("red");
    refused(body.to_string()).await.invalid("lines[1].colour");
}

#[tokio::test]
async fn an_unknown_field_in_the_shipping_address_is_refused_by_its_path() {
    let mut body = two_lines();
    body["shipping_address"]["phone"] = json!("+49 30 1234");
    refused(body.to_string())
        .await
        .invalid("shipping_address.phone");
}

#[tokio::test]
async fn a_missing_required_field_is_a_bad_request() {
    let mut body = two_lines();
    body.as_object_mut().unwrap().remove("email");
    let reply = refused(body.to_string()).await;
    let details = reply.problem(400, "invalid_request");
    assert!(
        reply.json()["error"]["message"]
            .as_str()
            .unwrap()
            .contains("email"),
        "{}",
        reply.body
    );
    assert!(details["field"].is_string());
}

#[tokio::test]
async fn fields_of_the_wrong_type_are_refused_by_their_path() {
    let cases = [
        ("/lines/1/quantity", json!("two"), "lines[1].quantity"),
        ("/lines/0/quantity", json!(1.5), "lines[0].quantity"),
        ("/lines/0/sku", json!(42), "lines[0].sku"),
        ("/lines", json!({ "sku": "TEE-RED" }), "lines"),
        ("/currency", json!(978), "currency"),
        ("/shipping_address", json!("Berlin"), "shipping_address"),
        (
            "/shipping_address/line2",
            json!(["a", "b"]),
            "shipping_address.line2",
        ),
    ];
    for (pointer, value, field) in cases {
        let body = with(two_lines(), pointer, value);
        refused(body.to_string()).await.invalid(field);
    }
}

// --- lines -----------------------------------------------------------------

#[tokio::test]
async fn quantities_outside_one_to_nine_hundred_ninety_nine_are_refused() {
    // As literal JSON text, so 10^20 reaches the handler as written.
    let out_of_range = [
        "0",
        "-1",
        "1000",
        "4294967296",
        "9223372036854775807",
        "100000000000000000000",
        "-100000000000000000000",
    ];
    for quantity in out_of_range {
        let body = with(two_lines(), "/lines/1/quantity", json!("QUANTITY"))
            .to_string()
            .replace(r#""QUANTITY""#, quantity);
        let reply = refused(body).await;
        assert_eq!(reply.status, 400, "quantity {quantity}: {}", reply.body);
        reply.invalid("lines[1].quantity");
    }
}

#[tokio::test]
async fn the_largest_quantity_allowed_is_nine_hundred_ninety_nine() {
    let shop = Shop::new();
    shop.sells("PIN", 1).await;
    shop.stocks("PIN", FIRST_WAREHOUSE, 999).await;

    let reply = shop.checkout(&cart(&[("PIN", 999)])).await;

    assert_eq!(reply.status, 201, "{}", reply.body);
}

#[tokio::test]
async fn a_malformed_sku_is_refused_by_its_path() {
    for bad in ["", "HAS#HASH", "has space", &"X".repeat(65)] {
        let body = with(two_lines(), "/lines/1/sku", json!(bad));
        refused(body.to_string()).await.invalid("lines[1].sku");
    }
}

#[tokio::test]
async fn an_empty_cart_is_refused() {
    refused(cart(&[]).to_string()).await.invalid("lines");
}

#[tokio::test]
async fn a_cart_of_more_than_fifty_lines_is_refused() {
    let codes: Vec<String> = (0..51).map(|i| format!("SKU-{i}")).collect();
    let lines: Vec<(&str, i64)> = codes.iter().map(|code| (code.as_str(), 1)).collect();
    refused(cart(&lines).to_string()).await.invalid("lines");
}

#[tokio::test]
async fn a_sku_on_two_lines_is_refused_and_named() {
    let body = cart(&[("TEE-RED", 1), ("MUG", 1), ("TEE-RED", 2)]);
    let details = refused(body.to_string())
        .await
        .problem(422, "duplicate_sku");
    assert_eq!(
        (&details["field"], &details["sku"]),
        (&json!("lines"), &json!("TEE-RED"))
    );
}

// --- the rest of the body -----------------------------------------------------

#[tokio::test]
async fn a_currency_that_is_not_an_iso_code_is_refused() {
    for bad in ["eur", "EURO", "E1", ""] {
        let body = with(two_lines(), "/currency", json!(bad));
        refused(body.to_string()).await.invalid("currency");
    }
}

#[tokio::test]
async fn a_malformed_email_is_refused() {
    for bad in ["ada", "ada@example", "@example.com", "a da@example.com"] {
        let body = with(two_lines(), "/email", json!(bad));
        refused(body.to_string()).await.invalid("email");
    }
}

#[tokio::test]
async fn a_shipping_address_with_a_blank_or_invalid_field_is_refused_by_its_path() {
    let cases = [
        (
            "/shipping_address/name",
            json!("  "),
            "shipping_address.name",
        ),
        (
            "/shipping_address/line1",
            json!(""),
            "shipping_address.line1",
        ),
        (
            "/shipping_address/city",
            json!("x".repeat(101)),
            "shipping_address.city",
        ),
        (
            "/shipping_address/postal_code",
            json!(""),
            "shipping_address.postal_code",
        ),
        (
            "/shipping_address/country",
            json!("Germany"),
            "shipping_address.country",
        ),
        // Two capitals, but no country: user-assigned, and the UK's
        // common name rather than its code.
        (
            "/shipping_address/country",
            json!("XX"),
            "shipping_address.country",
        ),
        (
            "/shipping_address/country",
            json!("UK"),
            "shipping_address.country",
        ),
    ];
    for (pointer, value, field) in cases {
        let body = with(two_lines(), pointer, value);
        refused(body.to_string()).await.invalid(field);
    }
}

// --- headers, identity, size -------------------------------------------------

#[tokio::test]
async fn a_checkout_without_an_idempotency_key_is_refused() {
    let shop = Shop::stocked().await;
    let mut event = checkout_event(two_lines().to_string());
    event.headers.remove("idempotency-key");

    let reply = shop.send(event).await;

    reply.invalid("Idempotency-Key");
    shop.assert_nothing_placed(&SKUS);
}

#[tokio::test]
async fn an_idempotency_key_that_is_blank_or_too_long_is_refused() {
    for bad in [String::new(), " ".to_owned(), "k".repeat(256)] {
        let shop = Shop::stocked().await;
        let mut event = checkout_event(two_lines().to_string());
        event.headers.insert("idempotency-key".into(), bad);

        shop.send(event).await.invalid("Idempotency-Key");
        shop.assert_nothing_placed(&SKUS);
    }
}

#[tokio::test]
async fn a_checkout_without_authorizer_claims_is_unauthenticated() {
    let shop = Shop::stocked().await;
    let mut event = checkout_event(two_lines().to_string());
    event.claims = None;

    shop.send(event).await.problem(401, "unauthenticated");
    shop.assert_nothing_placed(&SKUS);
}

#[tokio::test]
async fn a_checkout_whose_claims_have_no_subject_is_unauthenticated() {
    let shop = Shop::stocked().await;
    let mut event = checkout_event(two_lines().to_string());
    event.claims = Some(BTreeMap::from([("scope".into(), "openid".into())]));

    shop.send(event).await.problem(401, "unauthenticated");
    shop.assert_nothing_placed(&SKUS);
}

#[tokio::test]
async fn a_body_over_sixty_four_kibibytes_is_too_large_even_when_valid() {
    let padded = format!("{}{}", two_lines(), " ".repeat(64 * 1024));

    let details = refused(padded).await.problem(413, "payload_too_large");

    assert!(details.is_null());
}

#[tokio::test]
async fn a_body_of_exactly_sixty_four_kibibytes_is_accepted() {
    let shop = Shop::stocked().await;
    let body = two_lines().to_string();
    let padded = format!("{body}{}", " ".repeat(64 * 1024 - body.len()));

    let reply = shop.send(checkout_event(padded)).await;

    assert_eq!(reply.status, 201, "{}", reply.body);
}

// --- against the catalog -------------------------------------------------------

#[tokio::test]
async fn skus_missing_from_the_catalog_are_unprocessable_and_listed() {
    let body = cart(&[("TEE-RED", 1), ("GHOST", 1), ("PHANTOM", 2)]);
    let details = refused(body.to_string()).await.problem(422, "unknown_sku");
    assert_eq!(details["skus"], json!(["GHOST", "PHANTOM"]));
}

#[tokio::test]
async fn a_product_no_longer_for_sale_is_unprocessable() {
    let shop = Shop::stocked().await;
    shop.catalog("OLD-TEE", 900, "EUR", false).await;
    shop.stocks("OLD-TEE", FIRST_WAREHOUSE, 5).await;

    let reply = shop
        .checkout(&cart(&[("TEE-RED", 1), ("OLD-TEE", 1)]))
        .await;

    let details = reply.problem(422, "product_unavailable");
    assert_eq!(details["skus"], json!(["OLD-TEE"]));
    shop.assert_nothing_placed(&["TEE-RED", "OLD-TEE"]);
}

#[tokio::test]
async fn a_product_priced_in_another_currency_is_unprocessable() {
    let shop = Shop::stocked().await;
    shop.catalog("US-TEE", 1_500, "USD", true).await;
    shop.stocks("US-TEE", FIRST_WAREHOUSE, 5).await;

    let reply = shop.checkout(&cart(&[("TEE-RED", 1), ("US-TEE", 1)])).await;

    let details = reply.problem(422, "currency_mismatch");
    assert_eq!(details["sku"], "US-TEE");
    assert_eq!(details["product_currency"], "USD");
    shop.assert_nothing_placed(&["TEE-RED", "US-TEE"]);
}

#[tokio::test]
async fn an_order_total_below_the_minimum_is_unprocessable() {
    let shop = Shop::with_policy(CheckoutPolicy {
        shipping_flat_minor: 0,
        min_total_minor: 2_000,
        ..policy()
    });
    shop.sells("MUG", 999).await;
    shop.stocks("MUG", FIRST_WAREHOUSE, 10).await;

    let reply = shop.checkout(&cart(&[("MUG", 1)])).await;

    // 9.99 plus 19 % tax is 11.89.
    let details = reply.problem(422, "total_below_minimum");
    assert_eq!(details["total_minor"], 1_189);
    assert_eq!(details["minimum_minor"], 2_000);
    shop.assert_nothing_placed(&["MUG"]);
}

#[tokio::test]
async fn an_order_total_above_the_maximum_is_unprocessable() {
    let shop = Shop::with_policy(CheckoutPolicy {
        max_total_minor: 10_000,
        ..policy()
    });
    shop.sells("MUG", 999).await;
    shop.stocks("MUG", FIRST_WAREHOUSE, 10).await;

    let reply = shop.checkout(&cart(&[("MUG", 10)])).await;

    // 99.90 + 18.98 tax + 5.00 shipping.
    let details = reply.problem(422, "total_above_maximum");
    assert_eq!(details["total_minor"], 12_388);
    assert_eq!(details["maximum_minor"], 10_000);
    shop.assert_nothing_placed(&["MUG"]);
}

#[tokio::test]
async fn a_total_exactly_at_a_bound_is_accepted() {
    // 9.99 + 1.90 tax (rounded) + 5.00 shipping.
    for (min, max) in [(1_689, 1_000_000), (1, 1_689)] {
        let shop = Shop::with_policy(CheckoutPolicy {
            min_total_minor: min,
            max_total_minor: max,
            ..policy()
        });
        shop.sells("MUG", 999).await;
        shop.stocks("MUG", FIRST_WAREHOUSE, 1).await;

        let reply = shop.checkout(&cart(&[("MUG", 1)])).await;

        assert_eq!(reply.status, 201, "bounds {min}..={max}: {}", reply.body);
    }
}
