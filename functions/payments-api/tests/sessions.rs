//! Hosted checkout pages: for orders that await payment and still hold
//! their stock, one open page at a time, recorded on the order.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{GRACE, Shop, ada, admin, customer, return_urls};
use serde_json::json;
use shopflow_domain::PaymentAttempt;

#[tokio::test]
async fn the_owner_gets_a_hosted_page_for_an_unpaid_order_and_the_same_one_again() {
    let mut shop = Shop::new().await;
    let (order, _) = shop.unpaid_order().await;

    let first = shop.checkout_session(order, return_urls(), ada()).await;
    let again = shop.checkout_session(order, return_urls(), ada()).await;

    assert_eq!(first.status, 201, "{}", first.body);
    let page = first.json();
    let session_id = page["session_id"].as_str().unwrap();
    assert_eq!(
        page["url"],
        format!("https://checkout.stripe.test/pay/{session_id}")
    );
    assert_eq!(again.status, 200, "{}", again.body);
    assert_eq!(again.json(), page);
    let records = shop.payment_records(order).await;
    assert!(matches!(
        records.attempts.last(),
        Some(PaymentAttempt::CheckoutSession { session_id: recorded, .. }) if recorded == session_id
    ));
    assert_eq!(shop.stripe_calls("create_checkout_session"), 1);
    // Staff may make one for the customer too.
    assert_eq!(
        shop.checkout_session(order, return_urls(), admin())
            .await
            .status,
        200
    );
}

#[tokio::test]
async fn a_paid_order_or_one_whose_stock_lapsed_gets_no_page() {
    let mut shop = Shop::new().await;
    let (paid, _) = shop.paid_order().await;
    let details = shop
        .checkout_session(paid, return_urls(), ada())
        .await
        .problem(409, "order_not_awaiting_payment");
    assert_eq!(details["status"], "confirmed");
    assert_eq!(details["payment_status"], "paid");

    let hour_ago = shopflow_lambda_kit::now().minus_secs(3_600);
    let (lapsed, _) = shop.placed_at(hour_ago).await;
    shop.checkout_session(lapsed, return_urls(), ada())
        .await
        .problem(409, "reservation_lapsed");
    assert_eq!(shop.stripe_calls("create_checkout_session"), 0);
}

#[tokio::test]
async fn another_customers_order_is_not_found() {
    let mut shop = Shop::new().await;
    let (order, _) = shop.unpaid_order().await;
    shop.checkout_session(order, return_urls(), customer(GRACE))
        .await
        .problem(404, "not_found");
    shop.payments(order, customer(GRACE))
        .await
        .problem(404, "not_found");
}

#[tokio::test]
async fn when_stripe_is_down_no_page_is_recorded() {
    let mut shop = Shop::new().await;
    let (order, _) = shop.unpaid_order().await;
    shop.stripe.set_unavailable(true);

    shop.checkout_session(order, return_urls(), ada())
        .await
        .problem(503, "payment_provider_unavailable");

    let records = shop.payment_records(order).await;
    assert_eq!(records.attempts.len(), 1, "only checkout's payment");
}

#[tokio::test]
async fn return_urls_must_be_absolute_https() {
    let mut shop = Shop::new().await;
    let (order, _) = shop.unpaid_order().await;
    shop.checkout_session(
        order,
        json!({ "success_url": "/thanks", "cancel_url": "https://shop.example/cart" }),
        ada(),
    )
    .await
    .invalid("success_url");
    shop.checkout_session(
        order,
        json!({ "success_url": "https://shop.example/thanks", "cancel_url": "http://shop.example/cart" }),
        ada(),
    )
    .await
    .invalid("cancel_url");
    // A missing field is a malformed body, as everywhere in the API.
    shop.checkout_session(order, json!({ "success_url": "https://a.example" }), ada())
        .await
        .invalid("body");
}

#[tokio::test]
async fn the_owner_sees_the_orders_money_payments_and_refunds() {
    let mut shop = Shop::new().await;
    let (order, intent) = shop.paid_order().await;
    shop.refund(
        order,
        "r-1",
        json!({ "amount_minor": 500, "reason": "late" }),
    )
    .await;

    let reply = shop.payments(order, ada()).await;

    assert_eq!(reply.status, 200, "{}", reply.body);
    let body = reply.json();
    assert_eq!(body["payment"]["status"], "captured");
    assert_eq!(body["payment"]["intent_id"], intent);
    assert_eq!(body["payment"]["refundable_minor"], 4_500);
    assert_eq!(body["attempts"][0]["kind"], "intent");
    assert_eq!(body["attempts"][0]["intent_id"], intent);
    assert_eq!(body["refunds"][0]["amount_minor"], 500);
    assert_eq!(body["refunds"][0]["status"], "succeeded");
}
