//! Payment outcomes on the bus reach order-status through its queue and move
//! orders along: in order, out of order, duplicated, or racing a cancel, each
//! order ends in one consistent state; an event that keeps failing lands in
//! the dead-letter queue.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use aws_sdk_eventbridge::types::PutEventsRequestEntry;
use futures::future::join_all;
use serde_json::{Value, json};
use shopflow_tests::{cart, stack, unique, warehouses};
use std::time::{Duration, Instant};

/// Publishes a payment event for `order_id` on the bus, as the payments work will.
async fn publish(detail_type: &str, event_id: &str, order_id: &str) {
    let clients = stack().clients().await;
    let detail = json!({
        "id": event_id,
        "occurred_at": "2026-11-28T12:00:00.000Z",
        "version": 1,
        "data": { "order_id": order_id, "payment_id": "pi_test", "amount_minor": 100, "currency": "EUR", "fully_refunded": true }
    });
    let entry = PutEventsRequestEntry::builder()
        .event_bus_name(&stack().spec.bus_name)
        .source("shopflow.payments")
        .detail_type(detail_type)
        .detail(detail.to_string())
        .build();
    let output = clients
        .events
        .put_events()
        .entries(entry)
        .send()
        .await
        .unwrap();
    assert_eq!(output.failed_entry_count(), 0);
}

async fn placed_order(api: &shopflow_tests::Api) -> String {
    placed_order_of_its_own_sku(api).await.0
}

/// An order of one unit of a SKU of its own (5 in stock): (order id, sku).
async fn placed_order_of_its_own_sku(api: &shopflow_tests::Api) -> (String, String) {
    let admin = stack().admin();
    let sku = unique("PAY");
    api.product_with_stock(&admin, &sku, 100, &[(&warehouses()[0], 5)])
        .await;
    let buyer = stack().customer(&unique("buyer"));
    let reply = api
        .checkout(&buyer, &unique("key"), &cart(&[(&sku, 1)]))
        .await;
    (reply.body["order"]["id"].as_str().unwrap().to_owned(), sku)
}

/// The order's status changes, waiting until `count` exist (bounded).
async fn changes(api: &shopflow_tests::Api, id: &str, count: usize) -> Vec<Value> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let reply = api
            .get(&format!("/v1/orders/{id}/timeline"), &stack().admin())
            .await;
        // Status changes name where the order came from; its creation and
        // its payment records do not.
        let entries: Vec<Value> = reply.body["entries"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|entry| entry.get("from").is_some())
            .cloned()
            .collect();
        if entries.len() >= count || Instant::now() > deadline {
            return entries;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Waits until order-status has applied an event published now. SQS is not
/// FIFO, so earlier events have very likely, not certainly, been consumed:
/// a check after this can miss a late change, never invent one.
async fn order_status_caught_up(api: &shopflow_tests::Api) {
    let probe = placed_order(api).await;
    publish(
        "payment.failed",
        &ulid::Ulid::generate().to_string(),
        &probe,
    )
    .await;
    changes(api, &probe, 1).await;
}

/// What moved the order at each change, by its event name.
fn moves(entries: &[Value]) -> Vec<&str> {
    entries
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect()
}

#[tokio::test]
async fn authorization_then_capture_makes_the_order_paid() {
    let api = stack().api();
    let id = placed_order(&api).await;
    publish(
        "payment.authorized",
        &ulid::Ulid::generate().to_string(),
        &id,
    )
    .await;
    assert_eq!(
        moves(&changes(&api, &id, 1).await),
        ["order.payment_authorized"]
    );
    publish("payment.captured", &ulid::Ulid::generate().to_string(), &id).await;
    let entries = changes(&api, &id, 2).await;
    assert_eq!(moves(&entries), ["order.payment_authorized", "order.paid"]);
    assert_eq!(entries[1]["actor"], "system:order-status");
}

#[tokio::test]
async fn a_capture_before_its_authorization_still_ends_paid() {
    let api = stack().api();
    let id = placed_order(&api).await;
    publish("payment.captured", &ulid::Ulid::generate().to_string(), &id).await;
    assert_eq!(moves(&changes(&api, &id, 1).await), ["order.paid"]);
    publish(
        "payment.authorized",
        &ulid::Ulid::generate().to_string(),
        &id,
    )
    .await;
    // The late authorization is ignored: once it has been consumed, look again.
    order_status_caught_up(&api).await;
    assert_eq!(moves(&changes(&api, &id, 1).await), ["order.paid"]);
}

#[tokio::test]
async fn one_event_delivered_five_times_moves_the_order_once() {
    let api = stack().api();
    let id = placed_order(&api).await;
    let event_id = ulid::Ulid::generate().to_string();
    join_all((0..5).map(|_| publish("payment.failed", &event_id, &id))).await;
    order_status_caught_up(&api).await;
    assert_eq!(
        moves(&changes(&api, &id, 1).await),
        ["order.payment_failed"]
    );
}

#[tokio::test]
async fn a_cancel_racing_an_authorization_ends_in_one_consistent_state() {
    let (api, admin) = (stack().api(), stack().admin());
    let mut orders = Vec::new();
    for _ in 0..6 {
        orders.push(placed_order_of_its_own_sku(&api).await);
    }
    let races = orders.iter().map(|(id, _)| {
        let api = api.clone();
        let admin = admin.clone();
        async move {
            let event_id = ulid::Ulid::generate().to_string();
            let reason = json!({ "reason": "race" });
            let cancel = api.cancel(id, &admin, &reason);
            let authorize = publish("payment.authorized", &event_id, id);
            tokio::join!(cancel, authorize).0
        }
    });
    let replies = join_all(races).await;
    order_status_caught_up(&api).await;
    for ((id, sku), reply) in orders.iter().zip(&replies) {
        // Whichever came first, the order ends cancelled with its unit back:
        // an authorization applied first is cancelled with the order, one
        // arriving after the cancel is handed back as money to return.
        assert_eq!(reply.status, 200, "{id}: {}", reply.body);
        let entries = changes(&api, id, 1).await;
        let steps = moves(&entries);
        assert!(
            steps == ["order.cancelled"]
                || steps == ["order.payment_authorized", "order.cancelled"],
            "{id}: {steps:?}"
        );
        assert_eq!(api.stock(&admin, sku, &warehouses()[0]).await, (5, 0, 5));
    }
}

/// The event ids waiting in order-status's dead-letter queue, as staff see them.
async fn dead_letter_event_ids(api: &shopflow_tests::Api) -> Vec<String> {
    let reply = api
        .get(
            "/v1/admin/dead-letters?queue=order-status&limit=100",
            &stack().admin(),
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    reply.body["queues"][0]["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["event_id"].as_str().unwrap_or_default().to_owned())
        .collect()
}

#[tokio::test]
async fn a_failing_event_is_dead_lettered_then_redriven_and_applied_once() {
    let api = stack().api();
    let order_id = shopflow_domain::OrderId::from_ulid(ulid::Ulid::generate());
    let event_id = ulid::Ulid::generate().to_string();
    // The order does not exist yet: order-status fails the event until SQS gives up.
    publish("payment.captured", &event_id, &order_id.to_string()).await;
    let deadline = Instant::now() + Duration::from_secs(90);
    while !dead_letter_event_ids(&api).await.contains(&event_id) {
        assert!(
            Instant::now() < deadline,
            "the failing event never reached the DLQ"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }

    // The cause goes away; staff move the dead letters back.
    let sku = unique("REDRIVE");
    api.product_with_stock(&stack().admin(), &sku, 100, &[(&warehouses()[0], 1)])
        .await;
    shopflow_tests::place_order_with_id(&sku, &warehouses()[0], order_id).await;
    let redrive = api
        .send(
            "POST",
            "/v1/admin/dead-letters/redrive",
            Some(&stack().admin()),
            &[],
            Some(json!({ "queue": "order-status", "max": 1000 }).to_string()),
        )
        .await;
    assert_eq!(redrive.status, 200, "{}", redrive.body);
    assert!(redrive.body["moved"].as_u64().unwrap() >= 1);

    assert_eq!(
        moves(&changes(&api, &order_id.to_string(), 1).await),
        ["order.paid"]
    );
    assert!(!dead_letter_event_ids(&api).await.contains(&event_id));
    let customer_view = api
        .get("/v1/admin/dead-letters", &stack().customer("nosy"))
        .await;
    assert_eq!(customer_view.status, 403);
}

fn stripe_event(event_id: &str, kind: &str, order_id: &str) -> Value {
    json!({
        "id": event_id,
        "object": "event",
        "type": kind,
        "data": { "object": {
            "id": "pi_local", "object": "payment_intent", "amount": 100, "amount_capturable": 100,
            "currency": "eur", "metadata": { "order_id": order_id }
        } }
    })
}

#[tokio::test]
async fn a_signed_stripe_authorization_moves_the_order_and_duplicates_change_nothing() {
    let api = stack().api();
    let id = placed_order(&api).await;
    let event_id = format!("evt_{}", ulid::Ulid::generate());
    let event = stripe_event(&event_id, "payment_intent.amount_capturable_updated", &id);
    let body = event.to_string();
    let replies = join_all((0..5).map(|_| api.stripe_delivers(&body))).await;
    let first_deliveries = replies
        .iter()
        .filter(|r| r.status == 200 && r.body["duplicate"] == false)
        .count();
    assert_eq!(
        first_deliveries,
        1,
        "{:?}",
        replies
            .iter()
            .map(|r| (r.status, r.body.clone()))
            .collect::<Vec<_>>()
    );
    for reply in &replies {
        assert!(
            reply.status == 200 || reply.status == 503,
            "{} {}",
            reply.status,
            reply.body
        );
    }
    assert_eq!(
        moves(&changes(&api, &id, 1).await),
        ["order.payment_authorized"]
    );
    // A later, unrelated delivery is consumed after ours: still one change.
    order_status_caught_up(&api).await;
    assert_eq!(
        moves(&changes(&api, &id, 1).await),
        ["order.payment_authorized"]
    );
}

#[tokio::test]
async fn a_webhook_with_a_bad_signature_is_refused_and_changes_nothing() {
    let api = stack().api();
    let id = placed_order(&api).await;
    let forged_id = format!("evt_{}", ulid::Ulid::generate());
    let body = stripe_event(&forged_id, "payment_intent.succeeded", &id).to_string();
    let forged = shopflow_stripe::signature::sign(
        body.as_bytes(),
        b"whsec_not_ours",
        shopflow_local::now_secs(),
    );
    let reply = api
        .send(
            "POST",
            "/v1/webhooks/stripe",
            None,
            &[("stripe-signature", &forged)],
            Some(body),
        )
        .await;
    assert_eq!(
        (reply.status, reply.error_code()),
        (400, "invalid_signature")
    );
    let unsigned = api
        .send("POST", "/v1/webhooks/stripe", None, &[], Some("{}".into()))
        .await;
    assert_eq!(unsigned.status, 400);
    order_status_caught_up(&api).await;
    assert!(changes(&api, &id, 0).await.is_empty());
}

/// The order once its `field` (`status` or `payment_status`) is `value`
/// (waiting up to a minute).
async fn until(api: &shopflow_tests::Api, id: &str, field: &str, value: &str) -> Value {
    api.order_once(id, &stack().admin(), |order| order[field] == value)
        .await
}

#[tokio::test]
async fn a_payment_after_the_reservation_lapsed_reserves_again_or_asks_for_a_refund_never_oversells()
 {
    let (api, admin) = (stack().api(), stack().admin());
    let sku = unique("LATE");
    let warehouse = warehouses()[0].clone();
    api.product_with_stock(&admin, &sku, 100, &[(&warehouse, 2)])
        .await;
    let ids = shopflow_tests::place_lapsed_orders(&sku, &warehouse, 2).await;
    let (revived, stranded) = (ids[0].to_string(), ids[1].to_string());
    // The local scheduler's sweeper expires both and hands their units back.
    assert_eq!(
        until(&api, &revived, "status", "expired").await["status"],
        "expired"
    );
    assert_eq!(
        until(&api, &stranded, "status", "expired").await["status"],
        "expired"
    );
    assert_eq!(api.stock(&admin, &sku, &warehouse).await, (2, 0, 2));

    // One late payment finds its unit still there: the order is paid, the unit reserved again.
    publish(
        "payment.captured",
        &ulid::Ulid::generate().to_string(),
        &revived,
    )
    .await;
    let paid = until(&api, &revived, "payment_status", "paid").await;
    assert_eq!(
        (&paid["status"], &paid["payment_status"]),
        (&json!("confirmed"), &json!("paid"))
    );
    assert_eq!(api.stock(&admin, &sku, &warehouse).await, (2, 1, 1));

    // Someone buys the last unit; the other late payment finds nothing left.
    let buyer = stack().customer(&unique("buyer"));
    assert_eq!(
        api.checkout(&buyer, &unique("key"), &cart(&[(&sku, 1)]))
            .await
            .status,
        201
    );
    publish(
        "payment.captured",
        &ulid::Ulid::generate().to_string(),
        &stranded,
    )
    .await;
    order_status_caught_up(&api).await;
    let order = api.get(&format!("/v1/orders/{stranded}"), &admin).await;
    assert_eq!(order.body["order"]["status"], "expired");
    assert_eq!(
        api.stock(&admin, &sku, &warehouse).await,
        (2, 2, 0),
        "never oversold"
    );
}
