//! Payments end to end on the local stack with no Stripe keys: the mock
//! Stripe takes the customer's card, posts its signed webhooks to the
//! webhook endpoint, and payment-actions captures, voids and refunds through
//! it, exactly as the functions would with Stripe.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use serde_json::{Value, json};
use shopflow_ports::{IntentRequest, IntentStatus, OrderReader, PaymentGateway};
use shopflow_tests::{Api, cart, stack, unique, warehouses};
use std::time::{Duration, Instant};

fn mock() -> &'static shopflow_stripe_mock::MockGateway {
    stack().mock.as_ref().expect("this stack runs the mock")
}

/// A fresh SKU with `stock` units in the first warehouse, at 25.00.
async fn stocked_sku(api: &Api, stock: u32) -> String {
    let sku = unique("PAYE2E");
    api.product_with_stock(&stack().admin(), &sku, 2_500, &[(&warehouses()[0], stock)])
        .await;
    sku
}

/// An order checkout placed, with the payment it created.
struct Placed {
    /// The customer's token.
    buyer: String,
    id: String,
    intent: String,
    /// Checkout's answer.
    body: Value,
}

/// Checks out `units` of `sku` as a new customer.
async fn checkout(api: &Api, sku: &str, units: u32) -> Placed {
    let buyer = stack().customer(&unique("buyer"));
    let reply = api
        .checkout(&buyer, &unique("key"), &cart(&[(sku, units)]))
        .await;
    assert_eq!(reply.status, 201, "{}", reply.body);
    Placed {
        buyer,
        id: reply.body["order"]["id"].as_str().unwrap().to_owned(),
        intent: reply.body["payment"]["intent_id"]
            .as_str()
            .unwrap()
            .to_owned(),
        body: reply.body,
    }
}

/// The customer confirms the payment with a test card, as Stripe.js would.
async fn confirm(api: &Api, intent: &str, card: &str) -> u16 {
    api.send(
        "POST",
        &format!("/_mock/stripe/payment_intents/{intent}/confirm"),
        None,
        &[],
        Some(json!({ "payment_method": card }).to_string()),
    )
    .await
    .status
}

async fn until(api: &Api, id: &str, check: impl Fn(&Value) -> bool) -> Value {
    api.order_once(id, &stack().admin(), check).await
}

async fn until_status(api: &Api, id: &str, status: &str) -> Value {
    let order = until(api, id, |order| order["status"] == status).await;
    assert_eq!(order["status"], status, "{order:#}");
    order
}

/// The order once its money stands at `payment_status`.
async fn until_paying(api: &Api, id: &str, payment_status: &str) -> Value {
    let order = until(api, id, |order| order["payment_status"] == payment_status).await;
    assert_eq!(order["payment_status"], payment_status, "{order:#}");
    order
}

#[tokio::test]
async fn a_card_that_authorizes_gets_the_order_paid_without_keys() {
    let api = stack().api();
    let sku = stocked_sku(&api, 5).await;
    let placed = checkout(&api, &sku, 2).await;
    let (id, intent) = (placed.id.as_str(), placed.intent.as_str());

    assert_eq!(confirm(&api, intent, "pm_card_visa").await, 200);

    // The mock's webhook authorizes it; CAPTURE_ON=authorize captures it at once.
    let order = until_paying(&api, id, "paid").await;
    assert_eq!(order["payment"]["status"], "captured");
    assert_eq!(order["payment"]["intent_id"], intent);
    assert_eq!(
        order["payment"]["captured_minor"],
        placed.body["order"]["totals"]["grand_total_minor"]
    );
    assert_eq!(mock().intent_status(intent), Some(IntentStatus::Succeeded));
    let timeline = api
        .get(&format!("/v1/orders/{id}/timeline"), &stack().admin())
        .await;
    let kinds: Vec<&str> = timeline.body["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|entry| entry["kind"].as_str())
        .filter(|kind| kind.starts_with("order."))
        .collect();
    assert_eq!(
        kinds,
        ["order.created", "order.payment_authorized", "order.paid"]
    );
}

#[tokio::test]
async fn a_declined_card_fails_the_order_and_another_card_still_pays_it() {
    let api = stack().api();
    let sku = stocked_sku(&api, 5).await;
    let placed = checkout(&api, &sku, 1).await;
    let (id, intent) = (placed.id.as_str(), placed.intent.as_str());

    assert_eq!(confirm(&api, intent, "pm_card_chargeDeclined").await, 200);
    let failed = until_paying(&api, id, "failed").await;
    assert_eq!(failed["payment"]["failure_code"], "card_declined");
    // Its stock stays reserved so the customer can try again.
    assert_eq!(
        api.stock(&stack().admin(), &sku, &warehouses()[0]).await.1,
        1
    );

    assert_eq!(confirm(&api, intent, "pm_card_visa").await, 200);
    until_paying(&api, id, "paid").await;
}

#[tokio::test]
async fn a_hosted_checkout_page_pays_the_order_through_its_own_payment() {
    let api = stack().api();
    let sku = stocked_sku(&api, 5).await;
    let placed = checkout(&api, &sku, 1).await;
    let (buyer, id) = (&placed.buyer, placed.id.as_str());

    let page = api
        .send(
            "POST",
            &format!("/v1/orders/{id}/checkout-session"),
            Some(buyer),
            &[],
            Some(json!({ "success_url": "https://shop.example/thanks", "cancel_url": "https://shop.example/cart" }).to_string()),
        )
        .await;
    assert_eq!(page.status, 201, "{}", page.body);
    let url = page.body["url"].as_str().unwrap();
    let path = url.strip_prefix(&stack().base_url).unwrap();
    let paid = api
        .send(
            "POST",
            path,
            None,
            &[],
            Some(json!({ "payment_method": "pm_card_visa" }).to_string()),
        )
        .await;
    assert_eq!(paid.status, 200, "{}", paid.body);

    let order = until_paying(&api, id, "paid").await;
    let bound = order["payment"]["intent_id"].as_str().unwrap();
    assert_ne!(bound, placed.intent, "the page's own payment");
    let records = api.get(&format!("/v1/orders/{id}/payments"), buyer).await;
    assert_eq!(records.body["attempts"][1]["kind"], "checkout_session");
}

#[tokio::test]
async fn cancelling_a_paid_order_refunds_it_and_returns_its_stock() {
    let api = stack().api();
    let sku = stocked_sku(&api, 5).await;
    let placed = checkout(&api, &sku, 2).await;
    let (id, intent) = (placed.id.as_str(), placed.intent.as_str());
    confirm(&api, intent, "pm_card_visa").await;
    until_paying(&api, id, "paid").await;

    let cancel = api
        .cancel(
            id,
            &stack().admin(),
            &json!({ "reason": "out of business hours" }),
        )
        .await;
    assert_eq!(cancel.status, 200, "{}", cancel.body);

    let total = placed.body["order"]["totals"]["grand_total_minor"].clone();
    let order = until(&api, id, |order| {
        order["payment"]["refunded_minor"] == total
    })
    .await;
    assert_eq!(order["status"], "cancelled");
    assert_eq!(order["payment"]["refunded_minor"], total, "{order:#}");
    assert_eq!(
        api.stock(&stack().admin(), &sku, &warehouses()[0]).await,
        (5, 0, 5)
    );
}

#[tokio::test]
async fn staff_refunds_move_the_order_and_never_exceed_the_capture() {
    let api = stack().api();
    let admin = stack().admin();
    let sku = stocked_sku(&api, 5).await;
    let placed = checkout(&api, &sku, 2).await;
    let (id, intent) = (placed.id.as_str(), placed.intent.as_str());
    let total = placed.body["order"]["totals"]["grand_total_minor"]
        .as_i64()
        .unwrap();
    confirm(&api, intent, "pm_card_visa").await;
    until_paying(&api, id, "paid").await;
    let refund = |key: &'static str, amount: i64| {
        let api = api.clone();
        let admin = admin.clone();
        async move {
            api.send(
                "POST",
                &format!("/v1/orders/{id}/refunds"),
                Some(&admin),
                &[("idempotency-key", key)],
                Some(json!({ "amount_minor": amount, "reason": "damaged" }).to_string()),
            )
            .await
        }
    };

    let partial = refund("refund-1", 1_000).await;
    assert_eq!(partial.status, 201, "{}", partial.body);
    until_paying(&api, id, "partially_refunded").await;

    let too_much = refund("refund-2", total - 1_000 + 1).await;
    assert_eq!(too_much.status, 422, "{}", too_much.body);
    assert_eq!(too_much.error_code(), "refund_exceeds_captured");

    let rest = refund("refund-3", total - 1_000).await;
    assert_eq!(rest.status, 201, "{}", rest.body);
    let order = until_paying(&api, id, "refunded").await;
    assert_eq!(order["payment"]["refunded_minor"], total);
}

#[tokio::test]
async fn a_payment_after_the_reservation_lapsed_and_the_stock_went_is_given_back() {
    let (api, admin) = (stack().api(), stack().admin());
    let sku = unique("LATEPAY");
    let warehouse = warehouses()[0].clone();
    api.product_with_stock(&admin, &sku, 2_500, &[(&warehouse, 1)])
        .await;
    let id = shopflow_tests::place_lapsed_orders(&sku, &warehouse, 1).await[0];
    until_status(&api, &id.to_string(), "expired").await;
    // Someone else buys the unit the lapsed order gave back.
    checkout(&api, &sku, 1).await;
    // The first customer pays anyway, late: the payment checkout created for them.
    let clients = stack().clients().await;
    let store =
        shopflow_dynamo::DynamoStore::new(clients.dynamodb.clone(), &stack().spec.table.name);
    let order = store.order(id).await.unwrap().unwrap();
    let intent = mock()
        .create_intent(&IntentRequest::for_order(&order))
        .await
        .unwrap();
    assert_eq!(confirm(&api, &intent.id, "pm_card_visa").await, 200);

    // The hold is released, never kept, and nothing is oversold.
    let deadline = Instant::now() + Duration::from_secs(60);
    while mock().intent_status(&intent.id) != Some(IntentStatus::Canceled)
        && Instant::now() < deadline
    {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(
        mock().intent_status(&intent.id),
        Some(IntentStatus::Canceled)
    );
    let expired = until_status(&api, &id.to_string(), "expired").await;
    assert_eq!(expired["payment"]["captured_minor"], 0);
    assert_eq!(
        api.stock(&admin, &sku, &warehouse).await,
        (1, 1, 0),
        "never oversold"
    );
}
