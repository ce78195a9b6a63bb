//! Reading shipments: one by id, its carrier's events, and an order's
//! shipments, by the order's customer or staff; anyone else gets 404.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use shopflow_domain::{Actor, Carrier, Timestamp, TrackingEvent, TrackingNumber, TrackingStatus};
use shopflow_ports::take_in_reports;

fn report(code: &str, minute: u64, status: TrackingStatus) -> TrackingEvent {
    TrackingEvent {
        carrier_event_id: None,
        code: code.into(),
        description: format!("{status}"),
        location: Some("Berlin".into()),
        occurred_at: Timestamp::from_millis(1_750_000_000_000 + minute * 60_000),
        status,
        raw_ref: Some("dynamodb:raw-1".into()),
    }
}

#[tokio::test]
async fn the_customer_and_staff_read_a_shipment_and_its_events_and_others_get_404() {
    let api = FulfilmentApi::new().await;
    let order = api.paid_order(2, 0).await;
    let made = api.fulfil(order.id, &[(TEE, 2)]).await.json();
    let id = made["shipment"]["id"].as_str().unwrap().to_owned();
    let number =
        TrackingNumber::parse(made["shipment"]["tracking_number"].as_str().unwrap()).unwrap();
    take_in_reports(
        api.store(),
        Carrier::Usps,
        &number,
        vec![
            report("03", 1, TrackingStatus::PickedUp),
            report("10", 2, TrackingStatus::InTransit),
        ],
        &Actor::System("test"),
        shopflow_lambda_kit::now(),
    )
    .await
    .unwrap();

    let mine = api.get("/v1/shipments/{id}", &id, ada()).await;
    assert_eq!(mine.status, 200, "{}", mine.body);
    let shipment = mine.json();
    assert_eq!(shipment["status"], "in_transit");
    assert_eq!(shipment["events"], 2);
    assert_eq!(shipment["order_id"], order.id.to_string());
    assert!(
        shipment["tracking_url"]
            .as_str()
            .unwrap()
            .contains(number.as_str())
    );

    let events = api
        .get("/v1/shipments/{id}/events", &id, ada())
        .await
        .json();
    let codes: Vec<&str> = events["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|event| event["code"].as_str().unwrap())
        .collect();
    assert_eq!(codes, ["03", "10"]);
    assert!(
        events["events"][0].get("raw_ref").is_none(),
        "raw payloads are for staff"
    );
    let for_staff = api
        .get("/v1/shipments/{id}/events", &id, admin())
        .await
        .json();
    assert_eq!(for_staff["events"][0]["raw_ref"], "dynamodb:raw-1");

    for route in ["/v1/shipments/{id}", "/v1/shipments/{id}/events"] {
        api.get(route, &id, customer(GRACE))
            .await
            .problem(404, "not_found");
        api.get(route, "not-a-ulid", admin())
            .await
            .problem(404, "not_found");
        assert_eq!(api.get(route, &id, anonymous()).await.status, 401);
    }
}

#[tokio::test]
async fn an_order_lists_its_shipments_oldest_first() {
    let api = FulfilmentApi::new().await;
    let order = api.paid_order(2, 1).await;
    let first = api.fulfil(order.id, &[(TEE, 1)]).await.json();
    let second = api.fulfil(order.id, &[(TEE, 1), (MUG, 1)]).await.json();

    let listed = api
        .get("/v1/orders/{id}/shipments", &order.id.to_string(), ada())
        .await;

    assert_eq!(listed.status, 200, "{}", listed.body);
    let body = listed.json();
    assert_eq!(body["fulfillment_status"], "shipped");
    let ids: Vec<&serde_json::Value> = body["shipments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|shipment| &shipment["id"])
        .collect();
    assert_eq!(ids, [&first["shipment"]["id"], &second["shipment"]["id"]]);
    api.get(
        "/v1/orders/{id}/shipments",
        &order.id.to_string(),
        customer(GRACE),
    )
    .await
    .problem(404, "not_found");
}
