//! Staff refunds: never more than was captured less what went back or is
//! going back, once per Idempotency-Key, recorded on the order, and safe when
//! Stripe is down or refuses.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{GRACE, Shop, ada, customer};
use futures::future::join_all;
use serde_json::json;
use shopflow_domain::{PaymentOutcome, RefundStatus};
use shopflow_ports::PaymentGateway;

#[tokio::test]
async fn a_partial_refund_goes_back_through_stripe_and_is_recorded_on_the_order() {
    let mut shop = Shop::new().await;
    let (order, intent) = shop.paid_order().await;

    let reply = shop
        .refund(
            order,
            "r-1",
            json!({ "amount_minor": 1_500, "reason": "one tee arrived torn" }),
        )
        .await;

    assert_eq!(reply.status, 201, "{}", reply.body);
    let body = reply.json();
    assert_eq!(body["refund"]["status"], "succeeded");
    assert_eq!(body["refund"]["amount_minor"], 1_500);
    assert_eq!(body["refund"]["requested_by"], "staff-1");
    assert_eq!(body["payment"]["refunded_minor"], 1_500);
    assert_eq!(body["payment"]["refundable_minor"], 3_500);
    let payment = shop.order(order).await.payment;
    assert_eq!(
        (payment.refunded_minor, payment.refund_pending_minor),
        (1_500, 0)
    );
    let refunds = shop.refunds(order).await;
    assert_eq!(refunds.len(), 1);
    assert_eq!(refunds[0].status, RefundStatus::Succeeded);
    assert!(refunds[0].provider_refund_id.is_some());
    // order-status moves the order when it reads this.
    let reports = shop.reports();
    assert_eq!(reports.len(), 1);
    assert_eq!(reports[0].outcome, PaymentOutcome::Refunded);
    assert_eq!(reports[0].facts.payment_id, intent);
    assert_eq!(
        (
            reports[0].facts.amount_minor,
            reports[0].facts.fully_refunded
        ),
        (1_500, Some(false))
    );
}

#[tokio::test]
async fn without_an_amount_everything_left_is_refunded() {
    let mut shop = Shop::new().await;
    let (order, _) = shop.paid_order().await;
    shop.refund(
        order,
        "r-1",
        json!({ "amount_minor": 1_000, "reason": "late" }),
    )
    .await;

    let rest = shop
        .refund(order, "r-2", json!({ "reason": "customer gave up" }))
        .await;

    assert_eq!(rest.status, 201, "{}", rest.body);
    assert_eq!(rest.json()["refund"]["amount_minor"], 4_000);
    let last = shop.reports().pop().unwrap();
    assert_eq!(
        (last.facts.amount_minor, last.facts.fully_refunded),
        (5_000, Some(true))
    );
}

#[tokio::test]
async fn refunds_summing_beyond_what_was_captured_are_refused_with_422() {
    let mut shop = Shop::new().await;
    let (order, _) = shop.paid_order().await;
    let first = shop
        .refund(
            order,
            "r-1",
            json!({ "amount_minor": 3_000, "reason": "one tee" }),
        )
        .await;
    assert_eq!(first.status, 201, "{}", first.body);

    let second = shop
        .refund(
            order,
            "r-2",
            json!({ "amount_minor": 2_001, "reason": "and the rest" }),
        )
        .await;

    let details = second.problem(422, "refund_exceeds_captured");
    assert_eq!(details["requested_minor"], 2_001);
    assert_eq!(details["refundable_minor"], 2_000);
    assert_eq!(details["captured_minor"], 5_000);
    assert_eq!(details["refunded_minor"], 3_000);
    assert_eq!(shop.stripe_calls("refund"), 1);
    assert_eq!(shop.refunds(order).await.len(), 1);
}

#[tokio::test]
async fn racing_refunds_never_give_back_more_than_was_captured() {
    let mut shop = Shop::new().await;
    let (order, _) = shop.paid_order().await;

    let keys: Vec<String> = (0..4).map(|n| format!("race-{n}")).collect();
    let replies = join_all(keys.iter().map(|key| {
        shop.refund(
            order,
            key,
            json!({ "amount_minor": 2_000, "reason": "race" }),
        )
    }))
    .await;

    let granted = replies.iter().filter(|reply| reply.status == 201).count();
    let refused = replies
        .iter()
        .filter(|reply| {
            reply.status == 422 && reply.json()["error"]["code"] == "refund_exceeds_captured"
        })
        .count();
    assert_eq!((granted, refused), (2, 2), "{replies:#?}");
    let payment = shop.order(order).await.payment;
    assert_eq!(
        (payment.refunded_minor, payment.refund_pending_minor),
        (4_000, 0)
    );
}

#[tokio::test]
async fn a_retry_with_the_same_key_answers_the_same_refund_and_refunds_once() {
    let mut shop = Shop::new().await;
    let (order, _) = shop.paid_order().await;
    let body = json!({ "amount_minor": 1_000, "reason": "torn" });

    let first = shop.refund(order, "r-1", body.clone()).await;
    let retry = shop.refund(order, "r-1", body).await;
    let other_body = shop
        .refund(
            order,
            "r-1",
            json!({ "amount_minor": 2_000, "reason": "torn" }),
        )
        .await;

    assert_eq!(retry.status, 201, "{}", retry.body);
    assert!(retry.replayed);
    assert_eq!(retry.json()["refund"], first.json()["refund"]);
    other_body.problem(422, "idempotency_key_reused");
    assert_eq!(shop.stripe_calls("refund"), 1);
    assert_eq!(shop.order(order).await.payment.refunded_minor, 1_000);
}

#[tokio::test]
async fn when_stripe_is_down_the_refund_waits_and_the_retry_finishes_it() {
    let mut shop = Shop::new().await;
    let (order, _) = shop.paid_order().await;
    let body = json!({ "amount_minor": 1_000, "reason": "torn" });
    shop.stripe.set_unavailable(true);

    let down = shop.refund(order, "r-1", body.clone()).await;

    let details = down.problem(503, "payment_provider_unavailable");
    assert!(details["refund_id"].as_str().unwrap().starts_with("rf_"));
    let payment = shop.order(order).await.payment;
    assert_eq!(payment.refund_pending_minor, 1_000, "held back meanwhile");
    assert_eq!(payment.refundable_minor(), 4_000);
    assert_eq!(shop.refunds(order).await[0].status, RefundStatus::Pending);

    shop.stripe.set_unavailable(false);
    let retry = shop.refund(order, "r-1", body).await;

    assert_eq!(retry.status, 201, "{}", retry.body);
    let payment = shop.order(order).await.payment;
    assert_eq!(
        (payment.refunded_minor, payment.refund_pending_minor),
        (1_000, 0)
    );
    assert_eq!(shop.stripe_calls("refund"), 1);
}

#[tokio::test]
async fn racing_retries_of_one_pending_refund_settle_it_once() {
    let mut shop = Shop::new().await;
    let (order, _) = shop.paid_order().await;
    let body = json!({ "amount_minor": 1_000, "reason": "torn" });
    shop.stripe.set_unavailable(true);
    shop.refund(order, "r-1", body.clone()).await;
    shop.stripe.set_unavailable(false);

    let retries = join_all((0..3).map(|_| shop.refund(order, "r-1", body.clone()))).await;

    for retry in &retries {
        assert_eq!(retry.status, 201, "{}", retry.body);
    }
    let payment = shop.order(order).await.payment;
    assert_eq!(
        (payment.refunded_minor, payment.refund_pending_minor),
        (1_000, 0)
    );
    assert_eq!(shop.reports().len(), 1, "one payment.refunded");
    assert_eq!(shop.refunds(order).await[0].status, RefundStatus::Succeeded);
}

#[tokio::test]
async fn a_refund_stripe_refuses_is_recorded_as_failed_and_its_amount_is_refundable_again() {
    let mut shop = Shop::new().await;
    let (order, intent) = shop.paid_order().await;
    // Refunded at Stripe's dashboard, and its webhook not here yet.
    shop.stripe
        .refund(&shopflow_ports::RefundRequest {
            intent_id: intent,
            amount_minor: Some(5_000),
            order_id: order,
            refund_id: "dashboard".into(),
            reason: "by hand".into(),
        })
        .await
        .unwrap();

    let refused = shop
        .refund(
            order,
            "r-1",
            json!({ "amount_minor": 1_000, "reason": "torn" }),
        )
        .await;

    let details = refused.problem(502, "payment_provider_refused");
    assert!(details["refund_id"].is_string());
    assert_eq!(shop.refunds(order).await[0].status, RefundStatus::Failed);
    assert_eq!(shop.order(order).await.payment.refundable_minor(), 5_000);
    assert!(shop.reports().is_empty());
}

#[tokio::test]
async fn only_staff_refund_and_only_captured_money() {
    let mut shop = Shop::new().await;
    let (paid, _) = shop.paid_order().await;
    let (authorized, _) = shop.authorized_order().await;
    let body = json!({ "amount_minor": 100, "reason": "x" });

    shop.refund_as(paid, "r-1", body.clone(), ada())
        .await
        .problem(403, "forbidden");
    shop.refund_as(paid, "r-1", body.clone(), customer(GRACE))
        .await
        .problem(403, "forbidden");
    shop.refund(authorized, "r-1", body)
        .await
        .problem(422, "nothing_to_refund");
    assert_eq!(shop.stripe_calls("refund"), 0);
}

#[tokio::test]
async fn bad_refund_requests_name_their_field() {
    let mut shop = Shop::new().await;
    let (order, _) = shop.paid_order().await;
    shop.refund(order, "r-1", json!({ "amount_minor": 0, "reason": "x" }))
        .await
        .invalid("amount_minor");
    shop.refund(order, "r-1", json!({ "amount_minor": 10, "reason": "  " }))
        .await
        .invalid("reason");
    shop.refund(
        order,
        "r-1",
        json!({ "amount_minor": 10, "reason": "x".repeat(501) }),
    )
    .await
    .invalid("reason");
    shop.refund(order, "r-1", json!({ "amount_minor": "10", "reason": "x" }))
        .await
        .invalid("amount_minor");
    assert!(shop.refunds(order).await.is_empty());
}
