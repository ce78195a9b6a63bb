//! Shipments end to end on the local stack: an order checked out, paid,
//! shipped through the fulfilment API, then tracked by its carrier's
//! pushes through the real webhook (signed as the carrier signs, with the
//! secrets the stack put into SSM) until it is delivered.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use serde_json::Value;
use shopflow_domain::{Carrier, Timestamp};
use shopflow_testkit::couriers::{self, Journey};
use shopflow_tests::{Api, fulfil, paid_order, stack, tracking_number, unique, warehouses};
use std::time::Duration;

/// A fresh SKU with `units` in the first warehouse.
async fn stocked(api: &Api, units: u32) -> String {
    let sku = unique("SHIPE2E");
    api.product_with_stock(&stack().admin(), &sku, 1_500, &[(&warehouses()[0], units)])
        .await;
    sku
}

/// The order's timeline, as staff read it, once `check` holds.
async fn timeline_once(api: &Api, id: &str, check: impl Fn(&[Value]) -> bool) -> Vec<Value> {
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        let reply = api
            .get(&format!("/v1/orders/{id}/timeline"), &stack().admin())
            .await;
        assert_eq!(reply.status, 200, "{}", reply.body);
        let entries = reply.body["entries"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        if check(&entries) || std::time::Instant::now() > deadline {
            return entries;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn kinds(entries: &[Value], lane: &str) -> Vec<String> {
    entries
        .iter()
        .filter(|entry| entry["lane"] == lane)
        .map(|entry| entry["kind"].as_str().unwrap().to_owned())
        .collect()
}

/// Checkout → paid → shipped by `carrier` → its whole journey pushed as
/// the carrier pushes it → delivered, with both lanes on the timeline.
async fn a_journey_ends_delivered(
    carrier: Carrier,
    push: impl AsyncFn(&Api, &str, &[couriers::Scan]) -> u16,
) {
    let api = stack().api();
    let sku = stocked(&api, 2).await;
    let (id, buyer) = paid_order(&api, &[(&sku, 2)]).await;
    let number = tracking_number("E2E");
    let shipped = fulfil(
        &api,
        &id,
        &warehouses()[0],
        carrier.as_str(),
        &number,
        &[(&sku, 2)],
    )
    .await;
    assert_eq!(shipped.status, 201, "{}", shipped.body);
    assert_eq!(shipped.body["order"]["fulfillment_status"], "shipped");
    let shipment = shipped.body["shipment"]["id"].as_str().unwrap().to_owned();

    // The carrier's first scan comes after the shipment was made.
    let start = Timestamp::from_millis(shopflow_lambda_kit::now().as_millis() + 1_000);
    let scans = Journey::Delivered.scans(carrier, start);
    assert_eq!(push(&api, &number, &scans).await, 200);

    let order = api
        .order_once(&id, &buyer, |order| {
            order["fulfillment_status"] == "delivered"
        })
        .await;
    assert_eq!(order["fulfillment_status"], "delivered", "{order:#}");
    assert_eq!(order["status"], "completed");
    let events = api
        .get(
            &format!("/v1/shipments/{shipment}/events"),
            &stack().admin(),
        )
        .await;
    assert_eq!(events.body["status"], "delivered");
    assert_eq!(events.body["events"].as_array().unwrap().len(), scans.len());
    let raw_ref = events.body["events"][0]["raw_ref"].as_str().unwrap();
    assert!(raw_ref.starts_with("dynamodb:RAW#"), "{raw_ref}");
    let entries = timeline_once(&api, &id, |entries| {
        kinds(entries, "delivery").len() > scans.len()
    })
    .await;
    let business = kinds(&entries, "business");
    for kind in [
        "order.created",
        "order.paid",
        "order.shipped",
        "order.delivered",
    ] {
        assert!(business.contains(&kind.to_owned()), "{business:?}");
    }
    let delivery = kinds(&entries, "delivery");
    assert_eq!(delivery[0], "shipment.created");
    assert_eq!(delivery.len(), 1 + scans.len(), "{delivery:?}");
}

#[tokio::test]
async fn an_order_shipped_by_usps_is_delivered_through_signed_pushes() {
    a_journey_ends_delivered(Carrier::Usps, async |api, number, scans| {
        shopflow_tests::usps_pushes(api, number, scans).await.status
    })
    .await;
}

#[tokio::test]
async fn an_order_shipped_by_dhl_is_delivered_through_its_token_pushes() {
    a_journey_ends_delivered(Carrier::Dhl, async |api, number, scans| {
        let body = couriers::dhl_push(number, scans);
        let headers = [("dhl-api-key", shopflow_local::secrets::LOCAL_DHL_TOKEN)];
        api.send(
            "POST",
            "/v1/webhooks/couriers/dhl",
            None,
            &headers,
            Some(body),
        )
        .await
        .status
    })
    .await;
}

#[tokio::test]
async fn a_push_without_the_carriers_secret_is_refused_on_the_stack() {
    let api = stack().api();
    let body = couriers::usps_push("9400100000000000000000", &[]);
    let reply = api
        .send("POST", "/v1/webhooks/couriers/usps", None, &[], Some(body))
        .await;
    assert_eq!(reply.status, 401, "{}", reply.body);
}

#[tokio::test]
async fn a_large_push_is_kept_in_the_raw_payload_bucket() {
    let api = stack().api();
    let sku = stocked(&api, 1).await;
    let (id, _) = paid_order(&api, &[(&sku, 1)]).await;
    let number = tracking_number("BIG");
    let shipped = fulfil(&api, &id, &warehouses()[0], "usps", &number, &[(&sku, 1)]).await;
    let shipment = shipped.body["shipment"]["id"].as_str().unwrap().to_owned();
    // 800 scans (about 200 KB) compress past what the table keeps.
    let start = shopflow_lambda_kit::now();
    let scans: Vec<couriers::Scan> = (0..800)
        .map(|minute| couriers::Scan {
            status: shopflow_domain::TrackingStatus::InTransit,
            at: start.plus_secs(60 * minute),
            city: "HUB".into(),
        })
        .collect();
    let reply = shopflow_tests::usps_pushes(&api, &number, &scans).await;

    assert_eq!(reply.status, 200, "{}", reply.body);
    let events = api
        .get(
            &format!("/v1/shipments/{shipment}/events"),
            &stack().admin(),
        )
        .await;
    let raw_ref = events.body["events"][0]["raw_ref"]
        .as_str()
        .unwrap()
        .to_owned();
    let bucket = stack()
        .spec
        .buckets
        .iter()
        .find(|name| name.contains("raw-payloads"))
        .expect("the raw payload bucket");
    let key = raw_ref
        .strip_prefix(&format!("s3://{bucket}/"))
        .unwrap_or_else(|| panic!("{raw_ref}"));
    let clients = stack().clients().await;
    let object = clients
        .s3
        .get_object()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .unwrap();
    assert_eq!(object.content_type(), Some("application/gzip"));
}

/// Scans a polled carrier's fake API will answer for `number`.
async fn scanned_at_the_carrier(
    api: &Api,
    carrier: Carrier,
    number: &str,
    scans: &[couriers::Scan],
) {
    let scans: Vec<Value> = scans
        .iter()
        .map(|scan| serde_json::json!({ "status": scan.status, "at": scan.at.to_rfc3339(), "city": scan.city }))
        .collect();
    let reply = api
        .send(
            "POST",
            &format!("/_fake/carriers/{carrier}/parcels/{number}/scans"),
            None,
            &[],
            Some(serde_json::json!({ "scans": scans }).to_string()),
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
}

/// Checkout → paid → shipped by a polled `carrier` whose API already knows
/// the whole journey → the poller's runs (every 2 s on the test stack)
/// take it in, within the carrier's budget, until the order is delivered.
async fn a_polled_journey_ends_delivered(carrier: Carrier) -> String {
    let api = stack().api();
    let sku = stocked(&api, 1).await;
    let (id, buyer) = paid_order(&api, &[(&sku, 1)]).await;
    let number = tracking_number("POLL");
    let start = Timestamp::from_millis(shopflow_lambda_kit::now().as_millis() + 1_000);
    let scans = Journey::Delivered.scans(carrier, start);
    scanned_at_the_carrier(&api, carrier, &number, &scans).await;

    let shipped = fulfil(
        &api,
        &id,
        &warehouses()[0],
        carrier.as_str(),
        &number,
        &[(&sku, 1)],
    )
    .await;
    assert_eq!(shipped.status, 201, "{}", shipped.body);

    let order = api
        .order_once(&id, &buyer, |order| {
            order["fulfillment_status"] == "delivered"
        })
        .await;
    assert_eq!(order["fulfillment_status"], "delivered", "{order:#}");
    let shipment = shipped.body["shipment"]["id"].as_str().unwrap();
    let events = api
        .get(
            &format!("/v1/shipments/{shipment}/events"),
            &stack().admin(),
        )
        .await;
    assert_eq!(events.body["events"].as_array().unwrap().len(), scans.len());
    let entries = timeline_once(&api, &id, |entries| {
        kinds(entries, "delivery").len() > scans.len()
    })
    .await;
    assert_eq!(kinds(&entries, "delivery").len(), 1 + scans.len());
    number
}

#[tokio::test]
async fn an_order_shipped_by_canada_post_is_delivered_by_polling() {
    a_polled_journey_ends_delivered(Carrier::CanadaPost).await;
}

#[tokio::test]
async fn an_order_shipped_by_chit_chats_is_delivered_by_polling() {
    a_polled_journey_ends_delivered(Carrier::ChitChats).await;
}

#[tokio::test]
async fn a_carrier_that_fails_and_rate_limits_is_resumed_and_its_runs_say_so() {
    let api = stack().api();
    let script = serde_json::json!({ "answers": [
        { "status": 500, "body": "{\"error\": \"oops\"}" },
        { "status": 429, "retry_after": 3, "body": "{\"error\": \"slow down\"}" },
    ] });
    let reply = api
        .send(
            "POST",
            "/_fake/carriers/chit_chats/script",
            None,
            &[],
            Some(script.to_string()),
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);

    a_polled_journey_ends_delivered(Carrier::ChitChats).await;

    let runs = api
        .get(
            "/v1/admin/job-runs?job=courier-poller&limit=100",
            &stack().admin(),
        )
        .await;
    assert_eq!(runs.status, 200, "{}", runs.body);
    let chit_chats: Vec<&Value> = runs.body["runs"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|run| run["report"]["carriers"].as_array().unwrap())
        .filter(|carrier| carrier["carrier"] == "chit_chats")
        .collect();
    assert!(
        chit_chats.iter().any(|run| run["rate_limited"] == true),
        "{chit_chats:#?}"
    );
    assert!(
        chit_chats
            .iter()
            .any(|run| run["errors"].as_u64() > Some(0)),
        "{chit_chats:#?}"
    );
    assert!(
        chit_chats
            .iter()
            .any(|run| run["blocked_until"].is_string()),
        "{chit_chats:#?}"
    );
}

#[tokio::test]
async fn two_fulfilments_of_the_same_reserved_units_at_once_ship_them_once() {
    let api = stack().api();
    let sku = stocked(&api, 2).await;
    let (id, buyer) = paid_order(&api, &[(&sku, 2)]).await;
    let warehouse = &warehouses()[0];

    let (first, second) = (tracking_number("RACEA"), tracking_number("RACEB"));
    let lines = [(sku.as_str(), 2)];
    let (a, b) = tokio::join!(
        fulfil(&api, &id, warehouse, "usps", &first, &lines),
        fulfil(&api, &id, warehouse, "usps", &second, &lines),
    );

    let mut statuses = [a.status, b.status];
    statuses.sort_unstable();
    assert_eq!(statuses, [201, 409], "{} / {}", a.body, b.body);
    let (on_hand, reserved, available) = api.stock(&stack().admin(), &sku, warehouse).await;
    assert_eq!((on_hand, reserved, available), (0, 0, 0));
    let shipments = api.get(&format!("/v1/orders/{id}/shipments"), &buyer).await;
    assert_eq!(shipments.body["shipments"].as_array().unwrap().len(), 1);
}

/// Checkout → paid → shipped by `carrier`, then the local simulator (as
/// the README runs it) replays `journey` until the shipment reaches
/// `ends`: through the webhook for a push carrier, through the fake
/// carrier API and the poller's next check for a polled one.
async fn the_simulator_takes_a_parcel_to(carrier: Carrier, journey: Journey, ends: &str) {
    let api = stack().api();
    let sku = stocked(&api, 1).await;
    let (id, _) = paid_order(&api, &[(&sku, 1)]).await;
    let number = tracking_number("SIM");
    let shipped = fulfil(
        &api,
        &id,
        &warehouses()[0],
        carrier.as_str(),
        &number,
        &[(&sku, 1)],
    )
    .await;
    assert_eq!(shipped.status, 201, "{}", shipped.body);
    let shipment = shipped.body["shipment"]["id"].as_str().unwrap().to_owned();

    let simulation = shopflow_local::simulate::Simulation {
        base: stack().base_url.clone(),
        shipment: shipment.clone(),
        journey,
        every: Duration::ZERO,
    };
    shopflow_local::simulate::run(&simulation, &stack().admin())
        .await
        .unwrap();

    // A polled parcel is checked again a minute after its first check.
    let deadline = std::time::Instant::now() + Duration::from_secs(180);
    let mut status = Value::Null;
    while std::time::Instant::now() < deadline {
        let reply = api
            .get(&format!("/v1/shipments/{shipment}"), &stack().admin())
            .await;
        assert_eq!(reply.status, 200, "{}", reply.body);
        status = reply.body["status"].clone();
        if status == ends {
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    assert_eq!(status, ends, "{carrier} parcel {number}");
}

#[tokio::test]
async fn the_simulator_returns_a_dhl_parcel_to_the_shop() {
    the_simulator_takes_a_parcel_to(Carrier::Dhl, Journey::Returned, "returned_to_sender").await;
}

#[tokio::test]
async fn the_simulator_takes_a_canada_post_parcel_to_an_exception() {
    the_simulator_takes_a_parcel_to(Carrier::CanadaPost, Journey::Exception, "exception").await;
}
