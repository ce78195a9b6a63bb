//! `POST /v1/webhooks/couriers/{carrier}`: authenticated pushes move
//! shipments; anything else is refused and keeps nothing.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use shopflow_domain::{Carrier, FulfillmentStatus, OrderStatus, TrackingStatus};

#[tokio::test]
async fn a_signed_usps_push_moves_its_shipment_and_keeps_the_payload_it_came_in() {
    let hook = CourierWebhook::new().await;
    let shipment = hook
        .shipped(Carrier::Usps, "9400100000000000000001", 2)
        .await;
    let scans = &delivered_journey(Carrier::Usps)[..3];

    let reply = hook.usps(shipment.tracking_number.as_str(), scans).await;

    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.json()["events_added"], 3);
    let read = hook.shipment(&shipment).await;
    assert_eq!(read.status(), TrackingStatus::InTransit);
    let raw = hook.store().raw_payloads();
    assert_eq!(raw.len(), 1);
    let (reference, body) = raw.into_iter().next().unwrap();
    assert!(
        read.journey
            .events()
            .iter()
            .all(|event| event.raw_ref.as_deref() == Some(reference.as_str()))
    );
    assert!(body.contains(shipment.tracking_number.as_str()));
    assert!(hook.detail_types().contains(&"shipment.status_changed"));
}

#[tokio::test]
async fn an_unauthenticated_push_is_401_and_keeps_nothing() {
    let hook = CourierWebhook::new().await;
    let shipment = hook
        .shipped(Carrier::Usps, "9400100000000000000002", 1)
        .await;
    let body = couriers::usps_push(
        shipment.tracking_number.as_str(),
        &delivered_journey(Carrier::Usps),
    );
    let signed = couriers::usps_signature(USPS_SECRET, now(), &body);
    let wrong_secret = couriers::usps_signature("not-the-secret", now(), &body);
    let stale = couriers::usps_signature(USPS_SECRET, now().minus_secs(3_600), &body);
    let tampered = body.replace("HUB ONE", "HUB 1");

    for (body, headers) in [
        (body.as_str(), wrong_secret.to_vec()),
        (body.as_str(), stale.to_vec()),
        (tampered.as_str(), signed.to_vec()),
        (body.as_str(), vec![]),
        (body.as_str(), vec![signed[1].clone()]),
    ] {
        hook.push("usps", body, &headers)
            .await
            .problem(401, "unauthenticated");
    }
    for token in [
        vec![],
        vec![("dhl-api-key", "wrong".to_owned())],
        vec![("dhl-api-key", format!("{DHL_TOKEN}x"))],
    ] {
        hook.push(
            "dhl",
            &couriers::dhl_push("00340434161094015902", &[]),
            &token,
        )
        .await
        .problem(401, "unauthenticated");
    }

    assert!(hook.store().raw_payloads().is_empty());
    assert!(hook.bucket.objects().is_empty());
    assert_eq!(hook.shipment(&shipment).await.journey.events().len(), 0);
}

#[tokio::test]
async fn a_dhl_push_with_its_token_delivers_the_order() {
    let hook = CourierWebhook::new().await;
    let shipment = hook.shipped(Carrier::Dhl, "00340434161094015903", 1).await;

    let reply = hook
        .dhl(
            shipment.tracking_number.as_str(),
            &delivered_journey(Carrier::Dhl),
        )
        .await;

    assert_eq!(reply.status, 200, "{}", reply.body);
    let read = hook.shipment(&shipment).await;
    assert!(read.is_delivered());
    let order = hook.order(shipment.order_id).await;
    assert_eq!(order.fulfillment_status, FulfillmentStatus::Delivered);
    assert_eq!(order.status, OrderStatus::Completed);
    let types = hook.detail_types();
    assert!(types.contains(&"shipment.delivered"));
    assert!(types.contains(&"order.delivered"));
}

#[tokio::test]
async fn an_unknown_tracking_number_is_accepted_kept_and_logged_not_retried() {
    let hook = CourierWebhook::new().await;

    let reply = hook
        .usps("9400199999999999999999", &delivered_journey(Carrier::Usps))
        .await;

    assert_eq!(reply.status, 202, "{}", reply.body);
    assert_eq!(
        reply.json()["unknown_tracking_numbers"],
        serde_json::json!(["9400199999999999999999"])
    );
    assert_eq!(hook.store().raw_payloads().len(), 1, "kept for audit");
}

#[tokio::test]
async fn the_same_push_twice_and_events_out_of_order_add_each_event_once() {
    let hook = CourierWebhook::new().await;
    let shipment = hook
        .shipped(Carrier::Usps, "9400100000000000000004", 1)
        .await;
    let journey = delivered_journey(Carrier::Usps);
    let number = shipment.tracking_number.as_str();

    // The delivery arrives first, then the whole history, twice.
    assert_eq!(hook.usps(number, &journey[5..]).await.status, 200);
    let late = hook.usps(number, &journey).await;
    let again = hook.usps(number, &journey).await;

    assert_eq!(late.json()["events_added"], 5);
    assert_eq!(again.json()["events_added"], 0);
    let read = hook.shipment(&shipment).await;
    assert_eq!(read.journey.events().len(), 6);
    assert_eq!(read.status(), TrackingStatus::Delivered);
    let delivered = hook
        .detail_types()
        .into_iter()
        .filter(|kind| *kind == "shipment.delivered" || *kind == "order.delivered")
        .count();
    assert_eq!(
        delivered, 2,
        "one shipment.delivered and one order.delivered"
    );
}

#[tokio::test]
async fn a_signed_push_that_cannot_be_read_is_400_and_kept_for_audit() {
    let hook = CourierWebhook::new().await;
    for body in [
        "{\"trackingNumber\": \"9400100000000000000005\", \"trackingEv",
        "[1, 2]",
        "{\"trackingNumber\": 7}",
    ] {
        let headers = couriers::usps_signature(USPS_SECRET, now(), body);
        hook.push("usps", body, &headers)
            .await
            .problem(400, "malformed_payload");
    }
    assert_eq!(hook.store().raw_payloads().len(), 3);
}

#[tokio::test]
async fn polled_and_unknown_carriers_have_no_webhook() {
    let hook = CourierWebhook::new().await;
    for carrier in ["canada_post", "chit_chats", "fedex"] {
        hook.push(carrier, "{}", &[])
            .await
            .problem(404, "not_found");
    }
}

#[tokio::test]
async fn a_large_push_is_kept_in_the_bucket_and_a_small_one_in_the_table() {
    let hook = CourierWebhook::new().await;
    let shipment = hook
        .shipped(Carrier::Usps, "9400100000000000000006", 1)
        .await;
    let number = shipment.tracking_number.as_str();
    // 400 distinct scans compress past the table's limit.
    let mut scans = Vec::new();
    for minute in 0..400u64 {
        scans.push(couriers::Scan {
            status: TrackingStatus::InTransit,
            at: now().minus_secs(86_400 - minute * 60),
            city: "HUB".into(),
        });
    }

    assert_eq!(hook.usps(number, &scans).await.status, 200);

    let objects = hook.bucket.objects();
    assert_eq!(objects.len(), 1);
    let (key, body) = objects.into_iter().next().unwrap();
    assert!(key.starts_with("raw/usps/"), "{key}");
    assert!(body.contains(number));
    assert!(hook.store().raw_payloads().is_empty());
    let read = hook.shipment(&shipment).await;
    assert!(
        read.journey.events()[0]
            .raw_ref
            .as_deref()
            .unwrap()
            .starts_with("s3://")
    );
}
