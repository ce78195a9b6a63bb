//! Payments against localstripe, a third-party Stripe emulator, through the
//! real Stripe client: checkout creates the PaymentIntent there, the test
//! confirms it with a test card as the customer's browser would, and
//! localstripe posts its own signed webhooks to the local stack.
//!
//! localstripe posts `payment_intent.succeeded` and
//! `payment_intent.payment_failed`, but no event for an authorization, a
//! cancellation or a refund; the authorization is posted here as Stripe
//! would send it (signed, built from localstripe's own PaymentIntent), and
//! voids and refunds are checked in localstripe itself.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use serde_json::{Value, json};
use shopflow_tests::{Api, cart, stack_with_localstripe as stack, unique, warehouses};
use std::time::{Duration, Instant};

/// Calls localstripe's API as Stripe's dashboard or Stripe.js would.
async fn localstripe(method: &str, path: &str, form: &[(&str, &str)]) -> (u16, Value) {
    let endpoint = stack().localstripe.as_ref().unwrap();
    let body = form
        .iter()
        .map(|(name, value)| format!("{name}={value}"))
        .collect::<Vec<_>>()
        .join("&");
    let request = hyper::Request::builder()
        .method(method)
        .uri(format!("{endpoint}{path}"))
        .header(
            "authorization",
            format!("Bearer {}", shopflow_local::LOCALSTRIPE_KEY),
        )
        .header("content-type", "application/x-www-form-urlencoded")
        .body(Full::new(Bytes::from(body)))
        .unwrap();
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build_http();
    let response = client.request(request).await.unwrap();
    let status = response.status().as_u16();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

/// The customer confirms the payment with a test card.
async fn confirm(intent: &str, payment_method: &str) -> u16 {
    let path = format!("/v1/payment_intents/{intent}");
    let (status, _) = localstripe("POST", &path, &[("payment_method", payment_method)]).await;
    assert_eq!(status, 200);
    localstripe("POST", &format!("{path}/confirm"), &[]).await.0
}

/// What Stripe posts once the customer's card is authorized, signed with
/// the endpoint's secret: localstripe does not send this one.
async fn stripe_reports_authorization(api: &Api, intent: &str) {
    let (_, object) = localstripe("GET", &format!("/v1/payment_intents/{intent}"), &[]).await;
    assert_eq!(object["status"], "requires_capture");
    let event = json!({
        "id": format!("evt_{}", ulid::Ulid::generate()),
        "object": "event",
        "type": "payment_intent.amount_capturable_updated",
        "created": shopflow_local::now_secs(),
        "data": { "object": object },
    });
    let reply = api.stripe_delivers(&event.to_string()).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
}

async fn checkout(api: &Api, units: u32) -> (String, Value) {
    let admin = stack().admin();
    let sku = unique("LS");
    api.product_with_stock(&admin, &sku, 2_000, &[(&warehouses()[0], 5)])
        .await;
    let buyer = stack().customer(&unique("buyer"));
    let reply = api
        .checkout(&buyer, &unique("key"), &cart(&[(&sku, units)]))
        .await;
    assert_eq!(reply.status, 201, "{}", reply.body);
    (sku, reply.body)
}

/// The order once its money stands at `payment_status`.
async fn until_paying(api: &Api, id: &str, payment_status: &str) -> Value {
    let order = api
        .order_once(id, &stack().admin(), |order| {
            order["payment_status"] == payment_status
        })
        .await;
    assert_eq!(order["payment_status"], payment_status, "{order:#}");
    order
}

fn ids(placed: &Value) -> (String, String) {
    (
        placed["order"]["id"].as_str().unwrap().to_owned(),
        placed["payment"]["intent_id"].as_str().unwrap().to_owned(),
    )
}

#[tokio::test]
async fn checkout_creates_a_manual_capture_payment_intent_in_localstripe() {
    let api = stack().api();
    let (_, placed) = checkout(&api, 2).await;
    let (id, intent) = ids(&placed);

    let (status, object) = localstripe("GET", &format!("/v1/payment_intents/{intent}"), &[]).await;

    assert_eq!(status, 200);
    assert_eq!(object["capture_method"], "manual");
    assert_eq!(object["metadata"]["order_id"], id);
    assert_eq!(
        object["amount"],
        placed["order"]["totals"]["grand_total_minor"]
    );
    assert_eq!(object["currency"], "eur");
    assert_eq!(placed["payment"]["client_secret"], object["client_secret"]);
}

#[tokio::test]
async fn an_authorized_card_is_captured_and_localstripes_webhook_makes_the_order_paid() {
    let api = stack().api();
    let (_, placed) = checkout(&api, 1).await;
    let (id, intent) = ids(&placed);

    assert_eq!(confirm(&intent, "pm_card_visa").await, 200);
    stripe_reports_authorization(&api, &intent).await;

    // order-status authorizes it, payment-actions captures it at localstripe,
    // and localstripe's signed payment_intent.succeeded makes it paid.
    let order = until_paying(&api, &id, "paid").await;
    assert_eq!(order["payment"]["status"], "captured");
    let (_, object) = localstripe("GET", &format!("/v1/payment_intents/{intent}"), &[]).await;
    assert_eq!(object["status"], "succeeded");
}

#[tokio::test]
async fn a_declining_card_makes_the_order_payment_failed_through_localstripes_webhook() {
    let api = stack().api();
    let (sku, placed) = checkout(&api, 1).await;
    let (id, intent) = ids(&placed);

    assert_eq!(confirm(&intent, "pm_card_chargeCustomerFail").await, 402);

    let order = until_paying(&api, &id, "failed").await;
    assert_eq!(order["payment"]["failure_code"], "card_declined");
    assert_eq!(
        api.stock(&stack().admin(), &sku, &warehouses()[0]).await.1,
        1,
        "the stock stays reserved for another try"
    );
}

#[tokio::test]
async fn refunds_go_back_at_localstripe_and_never_exceed_the_capture() {
    let api = stack().api();
    let admin = stack().admin();
    let (_, placed) = checkout(&api, 2).await;
    let (id, intent) = ids(&placed);
    let total = placed["order"]["totals"]["grand_total_minor"]
        .as_i64()
        .unwrap();
    confirm(&intent, "pm_card_visa").await;
    stripe_reports_authorization(&api, &intent).await;
    until_paying(&api, &id, "paid").await;
    let refund = |key: String, amount: i64| {
        let (api, admin, id) = (api.clone(), admin.clone(), id.clone());
        async move {
            api.send(
                "POST",
                &format!("/v1/orders/{id}/refunds"),
                Some(&admin),
                &[("idempotency-key", &key)],
                Some(json!({ "amount_minor": amount, "reason": "one item damaged" }).to_string()),
            )
            .await
        }
    };

    let partial = refund(unique("r"), 700).await;
    assert_eq!(partial.status, 201, "{}", partial.body);
    let beyond = refund(unique("r"), total - 700 + 1).await;
    assert_eq!(
        (beyond.status, beyond.error_code()),
        (422, "refund_exceeds_captured")
    );

    until_paying(&api, &id, "partially_refunded").await;
    let (_, refunds) =
        localstripe("GET", &format!("/v1/refunds?payment_intent={intent}"), &[]).await;
    let amounts: Vec<i64> = refunds["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["amount"].as_i64().unwrap())
        .collect();
    assert_eq!(amounts, [700]);
}

#[tokio::test]
async fn cancelling_an_unpaid_order_cancels_its_payment_intent_at_localstripe() {
    // payment-actions closes the order's open payments: it can no longer be paid.
    let api = stack().api();
    let (_, placed) = checkout(&api, 1).await;
    let (id, intent) = ids(&placed);

    let cancel = api
        .cancel(
            id,
            &stack().admin(),
            &json!({ "reason": "duplicate order" }),
        )
        .await;
    assert_eq!(cancel.status, 200, "{}", cancel.body);

    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let (_, object) = localstripe("GET", &format!("/v1/payment_intents/{intent}"), &[]).await;
        if object["status"] == "canceled" {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the payment was never cancelled: {object:#}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}
