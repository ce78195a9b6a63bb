//! Checkout asks the payment provider to hold the order's total, after the
//! order is placed and outside its transaction: a provider outage never
//! loses the order, a retry under the same key finishes the job, and no
//! order ever gets two payments.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{FIRST_WAREHOUSE, Shop, cart, policy};
use shopflow_domain::{OrderStatus, PaymentAttempt};
use shopflow_ports::{IntentStatus, PaymentRecords};

#[tokio::test]
async fn checkout_creates_a_payment_for_the_grand_total_held_for_capture() {
    let shop = Shop::stocked().await;

    let reply = shop.checkout(&cart(&[("TEE-RED", 2), ("MUG", 1)])).await;

    assert_eq!(reply.status, 201, "{}", reply.body);
    let body = reply.json();
    let payment = &body["payment"];
    let intent_id = payment["intent_id"].as_str().unwrap();
    assert_eq!(payment["status"], "requires_payment_method");
    assert!(
        payment["client_secret"]
            .as_str()
            .unwrap()
            .starts_with(intent_id)
    );
    assert_eq!(
        payment["amount_minor"],
        body["order"]["totals"]["grand_total_minor"]
    );
    assert_eq!(
        shop.stripe().intent_status(intent_id),
        Some(IntentStatus::RequiresPaymentMethod)
    );
    // The payment is recorded under the order; its money is nothing yet.
    let order = &shop.orders()[0];
    let records = shop
        .store()
        .order_payments(order.id)
        .await
        .unwrap()
        .unwrap();
    assert!(matches!(
        &records.attempts[..],
        [PaymentAttempt::Intent { intent_id: recorded, .. }] if recorded == intent_id
    ));
    assert_eq!(body["order"]["payment"]["status"], "awaiting");
    assert_eq!(shop.stripe().calls(), ["create_intent"]);
}

#[tokio::test]
async fn a_retry_offers_the_same_payment_and_creates_no_second_one() {
    let shop = Shop::stocked().await;
    let body = cart(&[("TEE-RED", 1)]);

    let first = shop.checkout(&body).await;
    let retry = shop.checkout(&body).await;

    assert_eq!(retry.status, 201, "{}", retry.body);
    assert!(retry.replayed);
    assert_eq!(retry.body, first.body);
    assert_eq!(shop.stripe().calls(), ["create_intent", "intent"]);
}

#[tokio::test]
async fn when_stripe_is_down_the_order_stands_and_the_retry_finishes_the_job() {
    let shop = Shop::stocked().await;
    let body = cart(&[("TEE-RED", 3)]);
    shop.stripe().set_unavailable(true);

    let down = shop.checkout(&body).await;

    let details = down.problem(503, "payment_provider_unavailable");
    let orders = shop.orders();
    assert_eq!(orders.len(), 1, "the order is placed all the same");
    assert_eq!(details["order_id"], orders[0].id.to_string());
    assert_eq!(orders[0].status, OrderStatus::PendingPayment);
    assert_eq!(shop.stock("TEE-RED", FIRST_WAREHOUSE).reserved, 3);
    let records = shop
        .store()
        .order_payments(orders[0].id)
        .await
        .unwrap()
        .unwrap();
    assert!(records.attempts.is_empty(), "no payment was recorded");

    shop.stripe().set_unavailable(false);
    let retry = shop.checkout(&body).await;

    assert_eq!(retry.status, 201, "{}", retry.body);
    assert!(retry.replayed);
    assert_eq!(retry.json()["order"]["id"], orders[0].id.to_string());
    assert!(retry.json()["payment"]["client_secret"].is_string());
    assert_eq!(shop.orders().len(), 1);
    assert_eq!(shop.stock("TEE-RED", FIRST_WAREHOUSE).reserved, 3);
    assert_eq!(shop.stripe().calls(), ["create_intent"]);
}

#[tokio::test]
async fn a_payment_stripe_refuses_leaves_the_order_waiting_and_says_why() {
    let shop = Shop::with_policy(shopflow_domain::CheckoutPolicy {
        min_total_minor: 1,
        shipping_flat_minor: 0,
        tax_rate_bps: 0,
        ..policy()
    });
    shop.sells("STICKER", 30).await;
    shop.stocks("STICKER", FIRST_WAREHOUSE, 5).await;

    let refused = shop.checkout(&cart(&[("STICKER", 1)])).await;

    let details = refused.problem(502, "payment_provider_refused");
    assert_eq!(details["provider_code"], "amount_too_small");
    // The reservation lapses on its own; nothing is lost meanwhile.
    assert_eq!(shop.orders()[0].status, OrderStatus::PendingPayment);
    assert_eq!(shop.stock("STICKER", FIRST_WAREHOUSE).reserved, 1);
}

#[tokio::test]
async fn a_replay_after_the_order_stopped_awaiting_payment_offers_none() {
    let shop = Shop::stocked().await;
    let body = cart(&[("TEE-RED", 1)]);
    let first = shop.checkout(&body).await;
    let order = shop.orders()[0].clone();
    shopflow_testkit::apply(
        shop.store(),
        order.id,
        shopflow_domain::OrderTrigger::Cancelled,
        &shopflow_domain::Actor::Customer(order.customer_id.clone()),
        None,
        shopflow_lambda_kit::now(),
    )
    .await
    .unwrap();

    let retry = shop.checkout(&body).await;

    assert_eq!(retry.status, 201, "{}", retry.body);
    assert_eq!(retry.json()["order"], first.json()["order"]);
    assert!(retry.json()["payment"].is_null());
    assert_eq!(shop.stripe().calls(), ["create_intent"]);
}
