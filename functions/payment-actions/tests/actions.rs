//! What each event asks of Stripe, done once: captures by the configured
//! policy, the money of cancelled orders given back and their other ways to
//! pay closed, money an order cannot keep refunded or released; each answer
//! published as the payment event order-status records.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{Shop, refund_required, status_event};
use shopflow_domain::{CapturePolicy, OrderTrigger, PaymentAttempt, PaymentOutcome, Timestamp};
use shopflow_lambda_kit::consumer::{ConsumeError, Handled};
use shopflow_ports::{CheckoutSessionRequest, IntentStatus, PaymentGateway, PaymentRecords};

#[tokio::test]
async fn capture_on_authorization_takes_the_money_once() {
    let mut shop = Shop::new(CapturePolicy::OnAuthorization).await;
    let (order, intent) = shop.authorized_order().await;
    let event = status_event(order, OrderTrigger::PaymentAuthorized);

    let outcome = shop.apply(event.clone()).await.unwrap();
    let again = shop.apply(event).await.unwrap();

    assert_eq!((outcome, again), (Handled::Applied, Handled::Duplicate));
    assert_eq!(shop.intent_status(&intent), Some(IntentStatus::Succeeded));
    assert_eq!(
        shop.stripe_calls("capture"),
        1,
        "a redelivery asks nothing of Stripe"
    );
    let reports = shop.reports();
    assert_eq!(reports.len(), 1);
    assert_eq!(reports[0].outcome, PaymentOutcome::Captured);
    assert_eq!(
        (
            reports[0].facts.amount_minor,
            reports[0].facts.payment_id.as_str()
        ),
        (5_000, intent.as_str())
    );
}

#[tokio::test]
async fn capture_on_shipment_waits_for_the_first_goods_to_leave() {
    let mut shop = Shop::new(CapturePolicy::OnShipment).await;
    let (order, intent) = shop.authorized_order().await;

    let at_authorization = shop
        .apply(status_event(order, OrderTrigger::PaymentAuthorized))
        .await
        .unwrap();
    assert!(matches!(at_authorization, Handled::Ignored(_)));
    assert_eq!(
        shop.intent_status(&intent),
        Some(IntentStatus::RequiresCapture)
    );

    let shipped = shop
        .apply(status_event(order, OrderTrigger::PartlyShipped))
        .await
        .unwrap();
    assert_eq!(shipped, Handled::Applied);
    assert_eq!(shop.intent_status(&intent), Some(IntentStatus::Succeeded));
}

#[tokio::test]
async fn a_backordered_order_is_captured_at_authorization_even_when_capture_waits_for_shipment() {
    let mut shop = Shop::new(CapturePolicy::OnShipment).await;
    let (order, intent) = shop.authorized_backordered_order().await;

    let outcome = shop
        .apply(status_event(order, OrderTrigger::PaymentAuthorized))
        .await
        .unwrap();

    assert_eq!(outcome, Handled::Applied);
    assert_eq!(shop.intent_status(&intent), Some(IntentStatus::Succeeded));
    let reports = shop.reports();
    assert_eq!(reports.len(), 1);
    assert_eq!(reports[0].outcome, PaymentOutcome::Captured);
    assert_eq!(
        reports[0].facts.amount_minor, 6_500,
        "2 tees and the poster"
    );
}

#[tokio::test]
async fn a_capture_stripe_already_made_is_reported_from_stripes_state() {
    // Stripe forgot the idempotency key (24 h): the capture is refused as
    // already done, and the payment as it stands is what gets reported.
    let mut shop = Shop::new(CapturePolicy::OnAuthorization).await;
    let (order, intent) = shop.authorized_order().await;
    shop.stripe
        .capture(&intent, 5_000, "an-earlier-key")
        .await
        .unwrap();

    let outcome = shop
        .apply(status_event(order, OrderTrigger::PaymentAuthorized))
        .await
        .unwrap();

    assert_eq!(outcome, Handled::Applied);
    assert_eq!(shop.reports()[0].outcome, PaymentOutcome::Captured);
}

#[tokio::test]
async fn cancelling_an_authorized_order_releases_its_hold() {
    let mut shop = Shop::new(CapturePolicy::OnShipment).await;
    let (order, intent) = shop.authorized_order().await;
    let cancelled = shop.cancel(order).await;

    assert_eq!(shop.apply(cancelled).await.unwrap(), Handled::Applied);

    assert_eq!(shop.intent_status(&intent), Some(IntentStatus::Canceled));
    let reports = shop.reports();
    assert_eq!(reports.len(), 1);
    assert_eq!(reports[0].outcome, PaymentOutcome::Voided);
    assert_eq!(shop.stripe_calls("refund"), 0);
}

#[tokio::test]
async fn cancelling_a_paid_order_refunds_all_of_it() {
    let mut shop = Shop::new(CapturePolicy::OnAuthorization).await;
    let (order, intent) = shop.paid_order().await;
    let cancelled = shop.cancel(order).await;

    assert_eq!(
        shop.apply(cancelled.clone()).await.unwrap(),
        Handled::Applied
    );
    assert_eq!(shop.apply(cancelled).await.unwrap(), Handled::Duplicate);

    assert_eq!(shop.stripe_calls("refund"), 1);
    let report = &shop.reports()[0];
    assert_eq!(report.outcome, PaymentOutcome::Refunded);
    assert_eq!(report.facts.payment_id, intent);
    assert_eq!(
        (report.facts.amount_minor, report.facts.fully_refunded),
        (5_000, Some(true))
    );
}

#[tokio::test]
async fn cancelling_an_unpaid_order_closes_its_payment_and_its_hosted_page() {
    let mut shop = Shop::new(CapturePolicy::OnAuthorization).await;
    let (order, intent) = shop.unpaid_order().await;
    let placed = shop.order(order).await;
    let session = shop
        .stripe
        .create_checkout_session(&CheckoutSessionRequest {
            order_id: order,
            amount_minor: 5_000,
            currency: placed.currency.clone(),
            email: placed.email.clone(),
            description: "Order".into(),
            success_url: "https://shop.example/ok".into(),
            cancel_url: "https://shop.example/no".into(),
            expires_at: Timestamp::from_millis(u64::MAX / 2),
            idempotency_key: "session-1".into(),
        })
        .await
        .unwrap();
    shop.store
        .memory()
        .record_attempt(
            order,
            &PaymentAttempt::CheckoutSession {
                session_id: session.id.clone(),
                url: session.url,
                expires_at: session.expires_at,
                created_at: placed.created_at,
            },
        )
        .await
        .unwrap();
    let cancelled = shop.cancel(order).await;

    let outcome = shop.apply(cancelled).await.unwrap();

    assert!(
        matches!(outcome, Handled::Ignored(_)),
        "no money moved: {outcome:?}"
    );
    assert_eq!(shop.intent_status(&intent), Some(IntentStatus::Canceled));
    assert_eq!(shop.stripe_calls("expire_checkout_session"), 1);
    assert!(shop.reports().is_empty());
}

#[tokio::test]
async fn a_second_payment_is_refunded_and_the_refund_reported() {
    let mut shop = Shop::new(CapturePolicy::OnAuthorization).await;
    let (order, _) = shop.paid_order().await;
    // The customer paid again with another payment of the same order.
    let (_, second) = shop.paid_order().await;
    let event = refund_required(order, &second, 5_000, "refund");

    assert_eq!(shop.apply(event.clone()).await.unwrap(), Handled::Applied);
    assert_eq!(shop.apply(event).await.unwrap(), Handled::Duplicate);

    assert_eq!(shop.stripe_calls("refund"), 1);
    let report = &shop.reports()[0];
    assert_eq!(report.outcome, PaymentOutcome::Refunded);
    assert_eq!(report.facts.payment_id, second);
}

#[tokio::test]
async fn a_hold_the_order_cannot_keep_is_released() {
    let mut shop = Shop::new(CapturePolicy::OnShipment).await;
    let (order, intent) = shop.authorized_order().await;
    shop.cancel(order).await;

    let outcome = shop
        .apply(refund_required(order, &intent, 5_000, "void"))
        .await
        .unwrap();

    assert_eq!(outcome, Handled::Applied);
    assert_eq!(shop.intent_status(&intent), Some(IntentStatus::Canceled));
    assert_eq!(shop.reports()[0].outcome, PaymentOutcome::Voided);
}

#[tokio::test]
async fn when_stripe_is_down_nothing_is_recorded_and_sqs_retries() {
    let mut shop = Shop::new(CapturePolicy::OnAuthorization).await;
    let (order, intent) = shop.paid_order().await;
    let cancelled = shop.cancel(order).await;
    shop.stripe.set_unavailable(true);

    let down = shop.apply(cancelled.clone()).await;

    assert!(matches!(down, Err(ConsumeError::Failed(_))), "{down:?}");
    assert!(shop.reports().is_empty());
    shop.stripe.set_unavailable(false);
    assert_eq!(shop.apply(cancelled).await.unwrap(), Handled::Applied);
    assert_eq!(shop.reports()[0].facts.payment_id, intent);
}

#[tokio::test]
async fn events_that_ask_nothing_of_stripe_are_ignored() {
    let mut shop = Shop::new(CapturePolicy::OnAuthorization).await;
    let (order, _) = shop.unpaid_order().await;
    for trigger in [
        OrderTrigger::ReservationExpired,
        OrderTrigger::PaymentCaptured,
        OrderTrigger::PartlyRefunded,
        OrderTrigger::Delivered,
    ] {
        let outcome = shop.apply(status_event(order, trigger)).await.unwrap();
        assert!(
            matches!(outcome, Handled::Ignored(_)),
            "{trigger:?}: {outcome:?}"
        );
    }
    assert!(
        shop.stripe
            .calls()
            .iter()
            .all(|call| *call == "create_intent")
    );
    let records = shop.payment_records(order).await;
    assert_eq!(records.attempts.len(), 1);
}

#[tokio::test]
async fn a_hold_to_release_that_was_captured_meanwhile_is_refunded_instead() {
    // Stripe saves the release's refusal (the payment is captured) under its
    // idempotency key; the refund must go under a key of its own, or Stripe
    // answers idempotency_error on every retry and the money never goes back.
    let mut shop = Shop::new(CapturePolicy::OnShipment).await;
    let (order, intent) = shop.authorized_order().await;
    shop.cancel(order).await;
    shop.stripe
        .capture(&intent, 5_000, "captured-meanwhile")
        .await
        .unwrap();

    let outcome = shop
        .apply(refund_required(order, &intent, 5_000, "void"))
        .await
        .unwrap();

    assert_eq!(outcome, Handled::Applied);
    let report = &shop.reports()[0];
    assert_eq!(report.outcome, PaymentOutcome::Refunded);
    assert_eq!(
        (report.facts.amount_minor, report.facts.fully_refunded),
        (5_000, Some(true))
    );
    assert_eq!(shop.stripe_calls("refund"), 1);
}

#[tokio::test]
async fn money_the_order_holds_now_is_never_given_back() {
    // A report decided on a stale read asked to give back the payment that
    // a racing report has since bound to the revived order.
    let mut shop = Shop::new(CapturePolicy::OnShipment).await;
    let (order, intent) = shop.authorized_order().await;

    let outcome = shop
        .apply(refund_required(order, &intent, 5_000, "void"))
        .await
        .unwrap();

    assert!(matches!(outcome, Handled::Ignored(_)), "{outcome:?}");
    assert_eq!(
        shop.intent_status(&intent),
        Some(IntentStatus::RequiresCapture)
    );
    assert_eq!(shop.stripe_calls("cancel"), 0);
    assert!(shop.reports().is_empty());
}

#[tokio::test]
async fn one_payment_given_back_twice_is_refunded_once() {
    // Stripe's webhook and payment-actions' own report each bring the same
    // second payment to order-status, which asks twice for it to go back.
    let mut shop = Shop::new(CapturePolicy::OnAuthorization).await;
    let (order, _) = shop.paid_order().await;
    let (_, second) = shop.paid_order().await;

    for _ in 0..2 {
        let outcome = shop
            .apply(refund_required(order, &second, 5_000, "refund"))
            .await
            .unwrap();
        assert_eq!(outcome, Handled::Applied);
    }

    let totals: Vec<i64> = shop
        .reports()
        .iter()
        .map(|report| report.facts.amount_minor)
        .collect();
    assert_eq!(totals, [5_000, 5_000], "the same refund, reported twice");
}

/// Holds back a refund of `amount` on the order, as a backorder's
/// cancellation does, and answers the `backorder.cancelled` it publishes.
async fn backorder_cancelled_holding(
    shop: &Shop,
    order_id: shopflow_domain::OrderId,
    amount: i64,
) -> shopflow_lambda_kit::consumer::BusEvent {
    use shopflow_domain::{Refund, RefundStatus};
    use shopflow_ports::{PaymentChange, RefundWrite};
    let order = shop.order(order_id).await;
    let refund = Refund {
        id: "rf_bo_test".into(),
        amount_minor: amount,
        reason: "backorder cancelled: too slow".into(),
        status: RefundStatus::Pending,
        provider_refund_id: None,
        failure: None,
        requested_by: "customer:ada".into(),
        requested_at: shopflow_lambda_kit::now(),
        request_fingerprint: "test".into(),
    };
    shop.store
        .memory()
        .change_payment(&PaymentChange {
            order_id,
            expected_version: order.version,
            payment: order.payment.with_refund_pending(amount),
            refund: Some(RefundWrite::New(refund)),
            event: None,
            applies: None,
            at: shopflow_lambda_kit::now(),
        })
        .await
        .unwrap();
    shopflow_lambda_kit::consumer::BusEvent {
        id: ulid::Ulid::generate().to_string(),
        detail_type: "backorder.cancelled".into(),
        source: "shopflow.inventory".into(),
        occurred_at: shopflow_testkit::OPENING_DAY.to_rfc3339(),
        data: serde_json::json!({
            "order_id": order_id.to_string(),
            "units_cancelled": 2,
            "refund": {
                "refund_id": "rf_bo_test",
                "currency": "EUR",
                "goods_minor": 1_000,
                "tax_minor": 200,
                "shipping_minor": 0,
                "amount_minor": amount,
            },
        }),
    }
}

#[tokio::test]
async fn a_cancelled_backorders_held_refund_is_made_once_and_settled() {
    let mut shop = Shop::new(CapturePolicy::OnAuthorization).await;
    let (order, intent) = shop.paid_order().await;
    let cancelled = backorder_cancelled_holding(&shop, order, 1_200).await;

    assert_eq!(
        shop.apply(cancelled.clone()).await.unwrap(),
        Handled::Applied
    );
    assert_eq!(shop.apply(cancelled).await.unwrap(), Handled::Duplicate);

    assert_eq!(shop.stripe_calls("refund"), 1);
    let records = shop.payment_records(order).await;
    let refund = records.refund("rf_bo_test").unwrap();
    assert_eq!(refund.status, shopflow_domain::RefundStatus::Succeeded);
    assert_eq!(records.order.payment.refund_pending_minor, 0);
    assert_eq!(records.order.payment.refunded_minor, 1_200);
    let report = &shop.reports()[0];
    assert_eq!(report.outcome, PaymentOutcome::Refunded);
    assert_eq!(report.facts.payment_id, intent);
    assert_eq!(
        (report.facts.amount_minor, report.facts.fully_refunded),
        (1_200, Some(false))
    );
}

#[tokio::test]
async fn a_backorder_cancelled_with_its_order_asks_nothing_itself() {
    let mut shop = Shop::new(CapturePolicy::OnAuthorization).await;
    let (order, _) = shop.paid_order().await;
    let mut cancelled = backorder_cancelled_holding(&shop, order, 1_200).await;
    cancelled.data["refund"] = serde_json::Value::Null;

    let handled = shop.apply(cancelled).await.unwrap();

    assert!(matches!(handled, Handled::Ignored(_)), "{handled:?}");
    assert_eq!(shop.stripe_calls("refund"), 0);
}
