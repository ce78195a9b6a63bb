//! What each payment outcome does to an order: the status it moves to, and
//! the one history entry and one `order.<status>` event recorded with it.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{At as S, Shop, authorized, captured, event_id, failed, refunded};
use shopflow_domain::OrderTrigger as T;
use shopflow_lambda_kit::consumer::Handled;

#[tokio::test]
async fn an_authorized_payment_moves_a_pending_order_to_payment_authorized() {
    let mut shop = Shop::new().await;
    let order = shop.order_in(S::PendingPayment).await;

    let outcome = shop.apply(authorized(order, &event_id(1))).await.unwrap();

    assert_eq!(outcome, Handled::Applied);
    shop.assert_moved_once(
        order,
        S::PendingPayment,
        S::PaymentAuthorized,
        T::PaymentAuthorized,
    )
    .await;
}

#[tokio::test]
async fn a_captured_payment_moves_an_authorized_order_to_paid() {
    let mut shop = Shop::new().await;
    let order = shop.order_in(S::PaymentAuthorized).await;

    let outcome = shop.apply(captured(order, &event_id(1))).await.unwrap();

    assert_eq!(outcome, Handled::Applied);
    shop.assert_moved_once(order, S::PaymentAuthorized, S::Paid, T::PaymentCaptured)
        .await;
}

#[tokio::test]
async fn a_captured_payment_moves_a_pending_order_straight_to_paid() {
    let mut shop = Shop::new().await;
    let order = shop.order_in(S::PendingPayment).await;

    let outcome = shop.apply(captured(order, &event_id(1))).await.unwrap();

    assert_eq!(outcome, Handled::Applied);
    shop.assert_moved_once(order, S::PendingPayment, S::Paid, T::PaymentCaptured)
        .await;
}

#[tokio::test]
async fn a_captured_payment_after_a_failed_attempt_makes_the_order_paid() {
    let mut shop = Shop::new().await;
    let order = shop.order_in(S::PaymentFailed).await;

    let outcome = shop.apply(captured(order, &event_id(1))).await.unwrap();

    assert_eq!(outcome, Handled::Applied);
    shop.assert_moved_once(order, S::PaymentFailed, S::Paid, T::PaymentCaptured)
        .await;
}

#[tokio::test]
async fn a_failed_payment_moves_a_pending_order_to_payment_failed() {
    let mut shop = Shop::new().await;
    let order = shop.order_in(S::PendingPayment).await;

    let outcome = shop.apply(failed(order, &event_id(1))).await.unwrap();

    assert_eq!(outcome, Handled::Applied);
    shop.assert_moved_once(order, S::PendingPayment, S::PaymentFailed, T::PaymentFailed)
        .await;
}

#[tokio::test]
async fn a_full_refund_of_a_paid_order_makes_it_refunded() {
    let mut shop = Shop::new().await;
    let order = shop.order_in(S::Paid).await;

    let outcome = shop
        .apply(refunded(order, &event_id(1), true))
        .await
        .unwrap();

    assert_eq!(outcome, Handled::Applied);
    shop.assert_moved_once(order, S::Paid, S::Refunded, T::Refunded)
        .await;
}

#[tokio::test]
async fn a_partial_refund_of_a_paid_order_makes_it_partially_refunded() {
    let mut shop = Shop::new().await;
    let order = shop.order_in(S::Paid).await;

    let outcome = shop
        .apply(refunded(order, &event_id(1), false))
        .await
        .unwrap();

    assert_eq!(outcome, Handled::Applied);
    shop.assert_moved_once(order, S::Paid, S::PartiallyRefunded, T::PartlyRefunded)
        .await;
}

#[tokio::test]
async fn a_refund_that_does_not_say_whether_it_is_full_is_judged_by_its_total() {
    let mut shop = Shop::new().await;
    let order = shop.order_in(S::Paid).await;
    let mut everything = refunded(order, &event_id(1), true);
    everything
        .data
        .as_object_mut()
        .unwrap()
        .remove("fully_refunded");

    let outcome = shop.apply(everything).await.unwrap();

    assert_eq!(outcome, Handled::Applied);
    shop.assert_moved_once(order, S::Paid, S::Refunded, T::Refunded)
        .await;
}

#[tokio::test]
async fn a_second_partial_refund_with_its_own_event_id_is_applied_too() {
    let mut shop = Shop::new().await;
    let order = shop.order_in(S::PartiallyRefunded).await;

    let outcome = shop
        .apply(refunded(order, &event_id(1), false))
        .await
        .unwrap();

    assert_eq!(outcome, Handled::Applied);
    shop.assert_moved_once(
        order,
        S::PartiallyRefunded,
        S::PartiallyRefunded,
        T::PartlyRefunded,
    )
    .await;
}

#[tokio::test]
async fn the_rest_of_a_partially_refunded_order_refunded_makes_it_refunded() {
    let mut shop = Shop::new().await;
    let order = shop.order_in(S::PartiallyRefunded).await;

    let outcome = shop
        .apply(refunded(order, &event_id(1), true))
        .await
        .unwrap();

    assert_eq!(outcome, Handled::Applied);
    shop.assert_moved_once(order, S::PartiallyRefunded, S::Refunded, T::Refunded)
        .await;
}
