//! How payment events behave as SQS delivers them: out of order, more than
//! once, racing other writers, for orders that cannot take them, unreadable,
//! or not about payments at all. Duplicates and late arrivals converge;
//! what may resolve itself is retried; what never will is not applied.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{
    At as S, Shop, authorized, captured, event_id, failed, payment_event, refunded, unknown_order,
};
use serde_json::json;
use shopflow_domain::events::GiveBackBy;
use shopflow_domain::{OrderStatus, OrderTrigger as T, PaymentStatus};
use shopflow_lambda_kit::consumer::{ConsumeError, Handled};

#[tokio::test]
async fn a_capture_that_overtakes_its_authorization_leaves_the_order_paid_and_the_late_one_ignored()
{
    let mut shop = Shop::new().await;
    let order = shop.order_in(S::PendingPayment).await;

    let first = shop.apply(captured(order, &event_id(2))).await.unwrap();
    let late = shop.apply(authorized(order, &event_id(1))).await.unwrap();

    assert_eq!(first, Handled::Applied);
    assert!(matches!(late, Handled::Ignored(_)), "{late:?}");
    shop.assert_moved_once(order, S::PendingPayment, S::Paid, T::PaymentCaptured)
        .await;
}

#[tokio::test]
async fn a_failure_reported_after_the_capture_does_not_unpay_the_order() {
    let mut shop = Shop::new().await;
    let order = shop.order_in(S::PendingPayment).await;

    shop.apply(captured(order, &event_id(2))).await.unwrap();
    let late = shop.apply(failed(order, &event_id(1))).await.unwrap();

    assert!(matches!(late, Handled::Ignored(_)), "{late:?}");
    shop.assert_moved_once(order, S::PendingPayment, S::Paid, T::PaymentCaptured)
        .await;
}

#[tokio::test]
async fn a_capture_delivered_twice_is_applied_once() {
    let mut shop = Shop::new().await;
    let order = shop.order_in(S::PaymentAuthorized).await;
    let capture = captured(order, &event_id(1));

    let first = shop.apply(capture.clone()).await.unwrap();
    let again = shop.apply(capture).await.unwrap();

    assert_eq!(first, Handled::Applied);
    assert_ne!(again, Handled::Applied);
    shop.assert_moved_once(order, S::PaymentAuthorized, S::Paid, T::PaymentCaptured)
        .await;
}

#[tokio::test]
async fn a_partial_refund_delivered_twice_is_a_duplicate_the_second_time_and_recorded_once() {
    // Partially refunded may follow partially refunded; a redelivery
    // reports the same refunded total, so it changes nothing.
    let mut shop = Shop::new().await;
    let order = shop.order_in(S::PartiallyRefunded).await;
    let refund = refunded(order, &event_id(1), false);

    let first = shop.apply(refund.clone()).await.unwrap();
    let version_after_first = shop.version(order).await;
    let again = shop.apply(refund).await.unwrap();

    assert_eq!(first, Handled::Applied);
    // The total it reports is recorded already: nothing new, nothing written.
    assert_eq!(
        again,
        Handled::Ignored("nothing new: already recorded".into())
    );
    assert_eq!(shop.version(order).await, version_after_first);
    shop.assert_moved_once(
        order,
        S::PartiallyRefunded,
        S::PartiallyRefunded,
        T::PartlyRefunded,
    )
    .await;
}

#[tokio::test]
async fn a_payment_for_an_order_not_there_fails_so_sqs_retries_it() {
    let shop = Shop::new().await;

    let outcome = shop.apply(captured(unknown_order(), &event_id(1))).await;

    assert!(
        matches!(outcome, Err(ConsumeError::Failed(_))),
        "{outcome:?}"
    );
}

#[tokio::test]
async fn a_payment_whose_order_id_is_not_an_order_id_is_unreadable() {
    let shop = Shop::new().await;
    let event = payment_event(
        "payment.captured",
        &event_id(1),
        json!({ "order_id": "not-a-ulid", "payment_id": "pi_3Q" }),
    );

    let outcome = shop.apply(event).await;

    assert!(
        matches!(outcome, Err(ConsumeError::Unreadable(_))),
        "{outcome:?}"
    );
}

#[tokio::test]
async fn a_payment_without_an_order_id_is_unreadable() {
    let shop = Shop::new().await;
    let event = payment_event(
        "payment.captured",
        &event_id(1),
        json!({ "payment_id": "pi_3Q", "amount_minor": 5000 }),
    );

    let outcome = shop.apply(event).await;

    assert!(
        matches!(outcome, Err(ConsumeError::Unreadable(_))),
        "{outcome:?}"
    );
}

#[tokio::test]
async fn an_event_that_is_not_a_payment_outcome_is_ignored_and_the_order_untouched() {
    let mut shop = Shop::new().await;
    let order = shop.order_in(S::Paid).await;
    let mut dispute = captured(order, &event_id(1));
    dispute.detail_type = "payment.disputed".into();

    let outcome = shop.apply(dispute).await.unwrap();

    assert!(matches!(outcome, Handled::Ignored(_)), "{outcome:?}");
    assert_eq!(shop.status(order).await, S::Paid.state());
    assert!(shop.changes_by_consumer(order).await.is_empty());
    assert!(shop.events_by_consumer(order).is_empty());
}

#[tokio::test]
async fn an_event_that_is_not_a_payment_outcome_is_ignored_whatever_its_data() {
    // Not this consumer's event: its data need not look like a payment.
    let shop = Shop::new().await;
    let dispute = payment_event(
        "payment.dispute_opened",
        &event_id(1),
        json!({ "dispute_id": "dp_1", "charge": "ch_1" }),
    );

    let outcome = shop.apply(dispute).await;

    assert!(matches!(outcome, Ok(Handled::Ignored(_))), "{outcome:?}");
}

#[tokio::test]
async fn a_late_capture_revives_an_expired_order_when_its_stock_is_still_there() {
    let mut shop = Shop::new().await;
    let order = shop.order_in(S::Expired).await;
    let reserved_before = shop.stock().reserved;

    let outcome = shop.apply(captured(order, &event_id(1))).await.unwrap();

    assert_eq!(outcome, Handled::Applied);
    assert_eq!(shop.status(order).await, S::Paid.state());
    assert_eq!(
        shop.stock().reserved,
        reserved_before + 2,
        "its two units are reserved again"
    );
    assert!(shop.refunds_required(order).is_empty());
}

#[tokio::test]
async fn a_late_capture_for_an_order_whose_stock_is_gone_stays_expired_and_asks_for_a_refund_once()
{
    let mut shop = Shop::new().await;
    let order = shop.order_in(S::Expired).await;
    shop.sell_out().await;
    let version = shop.version(order).await;

    let outcome = shop.apply(captured(order, &event_id(1))).await.unwrap();
    let again = shop.apply(captured(order, &event_id(1))).await.unwrap();

    assert_eq!(outcome, Handled::Applied);
    assert_eq!(again, Handled::Duplicate);
    assert_eq!(shop.status(order).await, S::Expired.state());
    assert_eq!(shop.version(order).await, version);
    assert_eq!(shop.stock().available(), 0, "nothing was oversold");
    let refunds = shop.refunds_required(order);
    assert_eq!(refunds.len(), 1);
    assert_eq!(
        (refunds[0].amount_minor, refunds[0].payment_id.as_str()),
        (5_000, "pi_3Q")
    );
}

#[tokio::test]
async fn a_capture_for_a_cancelled_order_is_given_back_and_the_order_stays_cancelled() {
    let mut shop = Shop::new().await;
    let order = shop.order_in(S::Cancelled).await;
    let version = shop.version(order).await;

    let outcome = shop.apply(captured(order, &event_id(1))).await.unwrap();
    let again = shop.apply(captured(order, &event_id(1))).await.unwrap();
    // The same capture reported again, by another source (Stripe's webhook
    // after payment-actions' own report): known, not given back twice.
    let reported_again = shop.apply(captured(order, &event_id(2))).await.unwrap();

    assert_eq!(outcome, Handled::Applied);
    // Both repeats write nothing: the money is recorded already.
    assert!(matches!(again, Handled::Ignored(_)), "{again:?}");
    assert!(
        matches!(reported_again, Handled::Ignored(_)),
        "{reported_again:?}"
    );
    let state = shop.status(order).await;
    assert_eq!(
        (state.status, state.payment_status),
        (OrderStatus::Cancelled, PaymentStatus::Paid),
        "cancelled, with the money recorded as it stands until it is given back"
    );
    assert_eq!(
        shop.version(order).await,
        version + 1,
        "the money is recorded"
    );
    assert_eq!(shop.payment(order).await.captured_minor, 5_000);
    assert!(shop.changes_by_consumer(order).await.is_empty());
    assert!(shop.events_by_consumer(order).is_empty());
    let refunds = shop.refunds_required(order);
    assert_eq!(refunds.len(), 1);
    assert_eq!(refunds[0].settle, GiveBackBy::Refund);
    assert_eq!(refunds[0].amount_minor, 5_000);
}

#[tokio::test]
async fn an_authorization_for_a_cancelled_order_is_released() {
    let mut shop = Shop::new().await;
    let order = shop.order_in(S::Cancelled).await;

    let outcome = shop.apply(authorized(order, &event_id(1))).await.unwrap();

    assert_eq!(outcome, Handled::Applied);
    assert_eq!(shop.status(order).await.status, OrderStatus::Cancelled);
    let refunds = shop.refunds_required(order);
    assert_eq!(refunds.len(), 1);
    assert_eq!(refunds[0].settle, GiveBackBy::Void);
}

#[tokio::test]
async fn a_refund_that_overtakes_its_capture_waits_for_it() {
    let mut shop = Shop::new().await;
    let order = shop.order_in(S::PendingPayment).await;
    let refund = refunded(order, &event_id(1), true);

    let early = shop.apply(refund.clone()).await;
    assert!(matches!(early, Err(ConsumeError::Failed(_))), "{early:?}");
    assert_eq!(shop.status(order).await, S::PendingPayment.state());
    assert!(shop.changes_by_consumer(order).await.is_empty());

    shop.apply(captured(order, &event_id(2))).await.unwrap();
    assert_eq!(shop.apply(refund).await.unwrap(), Handled::Applied);
    assert_eq!(shop.status(order).await, S::Refunded.state());
}

#[tokio::test]
async fn a_second_payment_for_a_paid_order_is_given_back() {
    let mut shop = Shop::new().await;
    let order = shop.order_in(S::Paid).await;
    let mut second = captured(order, &event_id(1));
    second.data["payment_id"] = serde_json::json!("pi_second");

    assert_eq!(shop.apply(second).await.unwrap(), Handled::Applied);

    assert_eq!(shop.status(order).await, S::Paid.state());
    let refunds = shop.refunds_required(order);
    assert_eq!(refunds.len(), 1);
    assert_eq!(refunds[0].payment_id, "pi_second");
    assert!(
        refunds[0].reason.contains("second payment"),
        "{}",
        refunds[0].reason
    );
}

#[tokio::test]
async fn a_write_that_finds_the_order_changed_is_retried_and_applied() {
    let mut shop = Shop::new().await;
    let order = shop.order_in(S::PaymentAuthorized).await;
    shop.stale_writes(order, 1);

    let outcome = shop.apply(captured(order, &event_id(1))).await.unwrap();

    assert_eq!(outcome, Handled::Applied);
    assert_eq!(shop.writes_attempted(order), 2);
    shop.assert_moved_once(order, S::PaymentAuthorized, S::Paid, T::PaymentCaptured)
        .await;
}

#[tokio::test]
async fn an_authorization_that_loses_the_race_to_its_capture_is_ignored_on_the_second_look() {
    let mut shop = Shop::new().await;
    let order = shop.order_in(S::PendingPayment).await;
    shop.captured_between_read_and_write(order);

    let outcome = shop.apply(authorized(order, &event_id(1))).await.unwrap();

    assert!(matches!(outcome, Handled::Ignored(_)), "{outcome:?}");
    assert_eq!(shop.status(order).await, S::Paid.state());
    assert!(shop.changes_by_consumer(order).await.is_empty());
    assert!(shop.events_by_consumer(order).is_empty());
}

#[tokio::test]
async fn two_reports_racing_to_revive_an_expired_order_revive_it_once_and_give_nothing_back() {
    // Paid on a hosted page after the reservation lapsed: the page's
    // completion and the intent's authorization arrive together. One revives
    // the order and takes the last units; the other read the expired order,
    // so its write fails on the order's version and on the stock at once.
    // That is a stale read to decide again, not stock gone.
    let mut shop = Shop::new().await;
    let order = shop.order_in(S::PendingPayment).await;
    shop.sell_out().await;
    shop.expire(order).await;
    assert_eq!(shop.stock().available(), 2, "exactly the order's units");
    shop.captured_between_read_and_write(order);

    let outcome = shop.apply(authorized(order, &event_id(1))).await.unwrap();

    assert!(matches!(outcome, Handled::Ignored(_)), "{outcome:?}");
    let state = shop.status(order).await;
    assert_eq!(
        (state.status, state.payment_status),
        (OrderStatus::Confirmed, PaymentStatus::Paid)
    );
    assert_eq!(shop.stock().available(), 0, "reserved once, for the order");
    assert!(
        shop.refunds_required(order).is_empty(),
        "the money the order holds is never given back"
    );
}

#[tokio::test]
async fn an_order_that_keeps_changing_fails_the_event_after_five_attempts() {
    let mut shop = Shop::new().await;
    let order = shop.order_in(S::PendingPayment).await;
    shop.stale_writes(order, u32::MAX);

    let outcome = shop.apply(captured(order, &event_id(1))).await;

    assert!(
        matches!(outcome, Err(ConsumeError::Failed(_))),
        "{outcome:?}"
    );
    assert_eq!(shop.writes_attempted(order), 5);
    assert_eq!(shop.status(order).await, S::PendingPayment.state());
}

#[tokio::test]
async fn a_store_outage_fails_the_event_so_sqs_retries_it() {
    let mut shop = Shop::new().await;
    let order = shop.order_in(S::PendingPayment).await;
    shop.failing_writes(order);

    let outcome = shop.apply(captured(order, &event_id(1))).await;

    assert!(
        matches!(outcome, Err(ConsumeError::Failed(_))),
        "{outcome:?}"
    );
    assert_eq!(shop.writes_attempted(order), 1, "an outage is not a race");
    assert_eq!(shop.status(order).await, S::PendingPayment.state());
}
