//! `POST /v1/orders/{id}/fulfillments`: units reserved for an order leave
//! a warehouse under a tracking number, with the stock and the order's
//! goods in one write.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use serde_json::json;
use shopflow_domain::events::DomainEvent;
use shopflow_domain::{FulfillmentStatus, OrderTrigger, StockLevel};
use shopflow_ports::{FulfilError, Fulfilment};
use shopflow_testkit::memory::MemoryStore;
use shopflow_testkit::{StoreHooks, status_events};

fn detail_types(api: &FulfilmentApi<impl StoreHooks>) -> Vec<&'static str> {
    api.store()
        .outbox()
        .iter()
        .map(|recorded| recorded.event.detail_type())
        .collect()
}

#[tokio::test]
async fn shipping_part_of_a_paid_order_leaves_it_partially_shipped_and_takes_the_units_out_of_stock()
 {
    let api = FulfilmentApi::new().await;
    let order = api.paid_order(3, 1).await;
    let before = api.level(TEE, BERLIN);

    let reply = api.fulfil(order.id, &[(TEE, 2)]).await;

    assert_eq!(reply.status, 201, "{}", reply.body);
    let body = reply.json();
    assert_eq!(body["shipment"]["status"], "label_created");
    assert_eq!(body["shipment"]["carrier"], "usps");
    assert_eq!(
        body["shipment"]["lines"],
        json!([{ "sku": TEE, "quantity": 2 }])
    );
    assert_eq!(body["order"]["fulfillment_status"], "partially_shipped");
    assert_eq!(body["order"]["lines"][0]["shipped"], 2);
    assert_eq!(body["order"]["lines"][0]["reserved"], 1);
    let after = api.level(TEE, BERLIN);
    assert_eq!(
        after,
        StockLevel {
            on_hand: before.on_hand - 2,
            reserved: before.reserved - 2,
            ..before
        }
    );
    assert_eq!(after.available(), before.available());
    let order = api.order(order.id).await;
    assert_eq!(
        order.fulfillment_status,
        FulfillmentStatus::PartiallyShipped
    );
    assert!(detail_types(&api).contains(&"shipment.created"));
    let (name, change) = status_events(api.store()).pop().unwrap();
    assert_eq!(name, "order.partially_shipped");
    assert_eq!(change.actor, "admin:staff-1");
}

#[tokio::test]
async fn shipping_every_remaining_unit_ships_the_order() {
    let api = FulfilmentApi::new().await;
    let order = api.paid_order(3, 1).await;
    assert_eq!(api.fulfil(order.id, &[(TEE, 1)]).await.status, 201);

    let reply = api.fulfil(order.id, &[(TEE, 2), (MUG, 1)]).await;

    assert_eq!(reply.status, 201, "{}", reply.body);
    assert_eq!(reply.json()["order"]["fulfillment_status"], "shipped");
    let order = api.order(order.id).await;
    assert_eq!(order.fulfillment_status, FulfillmentStatus::Shipped);
    assert!(order.lines.iter().all(|line| line.reserved() == 0));
    assert_eq!(api.level(TEE, BERLIN), StockLevel::on_hand(0));
    assert_eq!(api.level(MUG, BERLIN), StockLevel::on_hand(0));
    assert_eq!(status_events(api.store()).pop().unwrap().0, "order.shipped");
}

#[tokio::test]
async fn shipping_more_than_is_reserved_there_is_409_with_the_figures() {
    let api = FulfilmentApi::new().await;
    let order = api.paid_order(2, 0).await;

    let details = api
        .fulfil(order.id, &[(TEE, 3)])
        .await
        .problem(409, "more_than_reserved");
    assert_eq!(
        details,
        json!({ "sku": TEE, "warehouse": BERLIN, "requested": 3, "reserved": 2 })
    );

    let elsewhere = shipment(HAMBURG, &[(TEE, 1)]);
    let reply = api
        .fulfil_with(order.id, "elsewhere", &elsewhere, admin())
        .await;
    assert_eq!(reply.problem(409, "more_than_reserved")["reserved"], 0);

    assert_eq!(api.fulfil(order.id, &[(TEE, 2)]).await.status, 201);
    let again = api.fulfil(order.id, &[(TEE, 1)]).await;
    assert_eq!(again.problem(409, "more_than_reserved")["reserved"], 0);
    assert_eq!(api.level(TEE, BERLIN), StockLevel::on_hand(0));
}

#[tokio::test]
async fn units_still_awaiting_backorder_stock_cannot_ship_but_the_reserved_ones_can() {
    let api = FulfilmentApi::new().await;
    let order = api.paid_backordered_order(2, 3).await;

    let details = api
        .fulfil(order.id, &[(TEE, 4)])
        .await
        .problem(409, "awaiting_backorder_stock");
    assert_eq!(
        (&details["reserved"], &details["awaiting_stock"]),
        (&json!(2), &json!(3))
    );

    let reply = api.fulfil(order.id, &[(TEE, 2)]).await;
    assert_eq!(reply.status, 201, "{}", reply.body);
    assert_eq!(
        reply.json()["order"]["fulfillment_status"],
        "partially_shipped"
    );
}

#[tokio::test]
async fn an_order_that_is_not_paid_or_is_cancelled_does_not_ship() {
    let api = FulfilmentApi::new().await;
    let unpaid = api.unpaid_order(1, 0).await;
    let details = api
        .fulfil(unpaid.id, &[(TEE, 1)])
        .await
        .problem(409, "order_not_shippable");
    assert_eq!(details["from"]["status"], "pending_payment");

    let cancelled = api.paid_order(1, 0).await;
    api.apply(cancelled.id, OrderTrigger::Cancelled).await;
    api.fulfil(cancelled.id, &[(TEE, 1)])
        .await
        .problem(409, "order_not_shippable");
    assert!(api.store().shipments_of(unpaid.id).is_empty());
}

#[tokio::test]
async fn a_partially_refunded_paid_order_ships() {
    let api = FulfilmentApi::new().await;
    let order = api.paid_order(2, 0).await;
    api.apply(order.id, OrderTrigger::PartlyRefunded).await;

    let reply = api.fulfil(order.id, &[(TEE, 2)]).await;

    assert_eq!(reply.status, 201, "{}", reply.body);
    let order = api.order(order.id).await;
    assert_eq!(order.fulfillment_status, FulfillmentStatus::Shipped);
    assert_eq!(
        order.state().payment_status,
        shopflow_domain::PaymentStatus::PartiallyRefunded
    );
}

#[tokio::test]
async fn a_retry_under_the_same_key_answers_the_same_shipment_and_another_body_is_422() {
    let api = FulfilmentApi::new().await;
    let order = api.paid_order(3, 0).await;
    let body = shipment(BERLIN, &[(TEE, 1)]);

    let first = api.fulfil_with(order.id, "ship-1", &body, admin()).await;
    let retry = api.fulfil_with(order.id, "ship-1", &body, admin()).await;

    assert_eq!((first.status, retry.status), (201, 201));
    assert!(retry.replayed);
    assert_eq!(first.json()["shipment"], retry.json()["shipment"]);
    assert_eq!(api.level(TEE, BERLIN).on_hand, 2, "shipped once");
    let other = shipment(BERLIN, &[(TEE, 2)]);
    api.fulfil_with(order.id, "ship-1", &other, admin())
        .await
        .problem(422, "idempotency_key_reused");
}

#[tokio::test]
async fn a_tracking_number_another_shipment_uses_is_409() {
    let api = FulfilmentApi::new().await;
    let order = api.paid_order(2, 0).await;
    let first = shipment(BERLIN, &[(TEE, 1)]);
    assert_eq!(
        api.fulfil_with(order.id, "a", &first, admin()).await.status,
        201
    );

    let mut second = shipment(BERLIN, &[(TEE, 1)]);
    second["tracking_number"] = first["tracking_number"].clone();
    let details = api
        .fulfil_with(order.id, "b", &second, admin())
        .await
        .problem(409, "tracking_number_in_use");

    assert_eq!(details["tracking_number"], first["tracking_number"]);
    assert_eq!(api.level(TEE, BERLIN).on_hand, 1);
}

/// Lets both racers read the order before either writes.
struct BothReadFirst {
    arrived: tokio::sync::Barrier,
}

impl BothReadFirst {
    fn new() -> Self {
        Self {
            arrived: tokio::sync::Barrier::new(2),
        }
    }
}

#[async_trait::async_trait]
impl StoreHooks for BothReadFirst {
    async fn fulfil(
        &self,
        memory: &MemoryStore,
        fulfilment: &Fulfilment,
    ) -> Result<(), FulfilError> {
        use shopflow_ports::ShipmentStore;
        // Only the first attempt of each waits: both decided on the same order.
        if fulfilment.order.version == 2 {
            self.arrived.wait().await;
        }
        memory.fulfil(fulfilment).await
    }
}

#[tokio::test]
async fn two_fulfilments_of_the_same_reserved_units_at_once_ship_them_once() {
    let api = FulfilmentApi::with_hooks(BothReadFirst::new()).await;
    let order = api.paid_order(2, 0).await;
    assert_eq!(order.version, 2);

    let (a, b) = tokio::join!(
        api.fulfil(order.id, &[(TEE, 2)]),
        api.fulfil(order.id, &[(TEE, 2)])
    );

    let mut statuses = [a.status, b.status];
    statuses.sort_unstable();
    assert_eq!(statuses, [201, 409], "{} / {}", a.body, b.body);
    let loser = if a.status == 409 { a } else { b };
    assert_eq!(loser.problem(409, "more_than_reserved")["reserved"], 0);
    assert_eq!(api.level(TEE, BERLIN), StockLevel::on_hand(0));
    assert_eq!(api.store().shipments_of(order.id).len(), 1);
    let shipped: Vec<_> = api
        .store()
        .outbox()
        .into_iter()
        .filter(|recorded| matches!(recorded.event, DomainEvent::ShipmentMoved(_)))
        .collect();
    assert_eq!(shipped.len(), 1);
}

#[tokio::test]
async fn bad_requests_name_the_field_and_ship_nothing() {
    let api = FulfilmentApi::new().await;
    let order = api.paid_order(2, 0).await;
    let good = shipment(BERLIN, &[(TEE, 1)]);
    let with = |field: &str, value: serde_json::Value| {
        let mut body = good.clone();
        body[field] = value;
        body
    };
    for (body, field) in [
        (with("carrier", json!("fedex")), "carrier"),
        (with("tracking_number", json!("12#4")), "tracking_number"),
        (
            with("lines", json!([{ "sku": TEE, "quantity": 0 }])),
            "lines[0].quantity",
        ),
        (
            with("lines", json!([{ "sku": "", "quantity": 1 }])),
            "lines[0].sku",
        ),
        (with("lines", json!([])), "lines"),
    ] {
        api.fulfil_with(
            order.id,
            &field.replace(['[', ']', '.'], "-"),
            &body,
            admin(),
        )
        .await
        .invalid(field);
    }
    let twice = with(
        "lines",
        json!([{ "sku": TEE, "quantity": 1 }, { "sku": TEE, "quantity": 1 }]),
    );
    api.fulfil_with(order.id, "twice", &twice, admin())
        .await
        .problem(422, "duplicate_sku");
    let nowhere = with("warehouse", json!("NOWHERE"));
    let details = api
        .fulfil_with(order.id, "nowhere", &nowhere, admin())
        .await
        .problem(422, "unknown_warehouse");
    assert_eq!(details["warehouses"], json!([BERLIN, HAMBURG]));
    let unknown = with("lines", json!([{ "sku": "CAP", "quantity": 1 }]));
    api.fulfil_with(order.id, "unknown", &unknown, admin())
        .await
        .problem(422, "sku_not_on_order");
    assert_eq!(api.level(TEE, BERLIN).on_hand, 2);
}

#[tokio::test]
async fn only_staff_ship_with_a_key_and_a_missing_order_is_404() {
    let api = FulfilmentApi::new().await;
    let order = api.paid_order(1, 0).await;
    let body = shipment(BERLIN, &[(TEE, 1)]);

    assert_eq!(
        api.fulfil_with(order.id, "k", &body, ada()).await.status,
        403
    );
    assert_eq!(
        api.fulfil_with(order.id, "k", &body, anonymous())
            .await
            .status,
        401
    );
    let mut keyless = shopflow_testkit::json_request(
        "POST",
        "/v1/orders/{id}/fulfillments",
        &[("id", &order.id.to_string())],
        Some(body.to_string()),
        admin(),
    );
    keyless.headers.remove("idempotency-key");
    api.send(keyless).await.invalid("Idempotency-Key");
    let missing = shopflow_domain::OrderId::from_ulid(ulid::Ulid::generate());
    api.fulfil_with(missing, "k", &body, admin())
        .await
        .problem(404, "not_found");
}
