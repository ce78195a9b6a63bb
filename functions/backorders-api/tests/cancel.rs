//! Cancelling a backorder: its waiting units leave the queue and the
//! counters, the order keeps the rest and holds back the refund the rule
//! computes, or is cancelled when nothing is left to deliver.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use serde_json::Value;
use shopflow_domain::events::DomainEvent;
use shopflow_domain::{BackorderStatus, FulfillmentStatus, OrderStatus, RefundStatus};
use shopflow_ports::{OrderLifecycle, OrderReader, PaymentRecords};
use shopflow_testkit::{GRACE, sku, wh};

fn cancelled_events(api: &BackordersApi) -> Vec<Value> {
    api.store()
        .outbox()
        .into_iter()
        .filter_map(|event| match &event.event {
            DomainEvent::BackorderMoved(moved)
                if event.event.detail_type() == "backorder.cancelled" =>
            {
                Some(serde_json::to_value(moved).unwrap())
            }
            _ => None,
        })
        .collect()
}

#[tokio::test]
async fn the_order_keeps_its_other_units_and_holds_back_the_cancelled_units_refund() {
    let api = BackordersApi::new().await;
    // 2 posters at 15.00 reserved, 3 prints at 10.00 waiting: subtotal
    // 60.00, tax 12.00, shipping 4.95.
    let (order, backorder) = api.paid_order(2, 3).await;

    let reply = api
        .cancel(backorder.id, "found them elsewhere", ada())
        .await;

    assert_eq!(reply.status, 200, "{}", reply.body);
    let body = reply.json();
    assert_eq!(body["backorder"]["status"], "cancelled");
    assert_eq!(body["backorder"]["waiting"], 0);
    assert_eq!(body["order"]["status"], "confirmed");
    assert_eq!(body["order"]["fulfillment_status"], "unfulfilled");
    assert_eq!(body["order"]["backorder_status"], "none");
    // The prints' price (30.00) and their tax share (12.00 × 30 / 60).
    let refund = &body["refund"];
    assert_eq!(refund["id"], format!("rf_bo_{}", backorder.id));
    assert_eq!(
        (
            &refund["goods_minor"],
            &refund["tax_minor"],
            &refund["shipping_minor"],
            &refund["amount_minor"]
        ),
        (&3_000.into(), &600.into(), &0.into(), &3_600.into())
    );

    let records = api.store().order_payments(order.id).await.unwrap().unwrap();
    assert_eq!(records.order.payment.refund_pending_minor, 3_600);
    assert_eq!(
        records.order.fulfillment_status,
        FulfillmentStatus::Unfulfilled
    );
    assert_eq!(records.order.lines[1].reserved(), 0);
    assert_eq!(records.order.lines[0].reserved(), 2);
    let held = records.refund(&format!("rf_bo_{}", backorder.id)).unwrap();
    assert_eq!(
        (held.amount_minor, held.status),
        (3_600, RefundStatus::Pending)
    );
    let level = api.store().stock(&sku(PRINT), &wh(BERLIN));
    assert_eq!((level.backordered, level.set_aside), (0, 0));
    let queue = api.store().queue(&sku(PRINT), &wh(BERLIN));
    assert_eq!(queue[0].status, BackorderStatus::Cancelled);

    let events = cancelled_events(&api);
    assert_eq!(events.len(), 1);
    assert_eq!(events[0]["units_cancelled"], 3);
    assert_eq!(events[0]["reason"], "found them elsewhere");
    assert_eq!(events[0]["refund"]["amount_minor"], 3_600);
    assert_eq!(events[0]["refund"]["currency"], "EUR");
    let history = api.store().history(order.id).await.unwrap();
    assert_eq!(
        history.last().map(|entry| entry.to.fulfillment_status),
        Some(FulfillmentStatus::Unfulfilled)
    );

    // Again: answered as it stands; nothing more is refunded or emitted.
    let again = api
        .cancel(backorder.id, "found them elsewhere", ada())
        .await;
    assert_eq!(again.status, 200, "{}", again.body);
    assert_eq!(again.json()["refund"], Value::Null);
    assert_eq!(cancelled_events(&api).len(), 1);
    let records = api.store().order_payments(order.id).await.unwrap().unwrap();
    assert_eq!(records.order.payment.refund_pending_minor, 3_600);
}

#[tokio::test]
async fn a_backorder_that_was_all_the_order_had_left_cancels_the_order() {
    let api = BackordersApi::new().await;
    let (order, backorder) = api.paid_order(0, 2).await;

    let reply = api.cancel(backorder.id, "too slow", ada()).await;

    assert_eq!(reply.status, 200, "{}", reply.body);
    let body = reply.json();
    assert_eq!(body["order"]["status"], "cancelled");
    // Everything refundable, shipping included, goes back as the cancelled
    // order's money does: no refund is held on the order.
    assert_eq!(body["refund"]["id"], Value::Null);
    assert_eq!(body["refund"]["shipping_minor"], 495);
    assert_eq!(body["refund"]["amount_minor"], order.payment.captured_minor);
    let now = api.store().order(order.id).await.unwrap().unwrap();
    assert_eq!(now.status, OrderStatus::Cancelled);
    assert_eq!(now.payment.refund_pending_minor, 0);
    let level = api.store().stock(&sku(PRINT), &wh(BERLIN));
    assert_eq!(level.backordered, 0);
    assert_eq!(cancelled_events(&api).len(), 1);
}

#[tokio::test]
async fn units_set_aside_for_a_cancelled_backorder_become_available() {
    let api = BackordersApi::new().await;
    let (_, backorder) = api.paid_order(1, 2).await;
    shopflow_testkit::receive_stock(
        api.store(),
        PRINT,
        BERLIN,
        1,
        ulid::Ulid::generate(),
        shopflow_lambda_kit::now(),
    )
    .await;
    assert_eq!(api.store().stock(&sku(PRINT), &wh(BERLIN)).set_aside, 1);

    let reply = api.cancel(backorder.id, "changed my mind", ada()).await;

    assert_eq!(reply.status, 200, "{}", reply.body);
    let level = api.store().stock(&sku(PRINT), &wh(BERLIN));
    assert_eq!(
        (
            level.on_hand,
            level.set_aside,
            level.backordered,
            level.available()
        ),
        (1, 0, 0, 1)
    );
}

#[tokio::test]
async fn an_unpaid_order_keeping_other_units_cannot_cancel_a_backorder_alone() {
    let api = BackordersApi::new().await;
    let placed = api.backorder(shopflow_testkit::ADA, BERLIN, (3, 1)).await;

    api.cancel(placed.id, "changed my mind", ada())
        .await
        .problem(409, "payment_not_captured");
    assert_eq!(api.level(BERLIN).backordered, 1);
}

#[tokio::test]
async fn refusals_name_what_is_wrong() {
    let api = BackordersApi::new().await;
    let (_, backorder) = api.paid_order(1, 1).await;
    let graces = api.backorder(GRACE, BERLIN, (1, 1)).await;

    api.cancel(graces.id, "not mine", ada())
        .await
        .problem(404, "not_found");
    api.cancel(backorder.id, "   ", ada())
        .await
        .invalid("reason");
    api.post(
        "/v1/backorders/{id}/cancel",
        &backorder.id.to_string(),
        "{}",
        ada(),
    )
    .await
    .problem(400, "invalid_request");

    api.restock(BERLIN, 1).await;
    let served = api.queue(BERLIN)[0].clone();
    let order = api.store().order(served.order_id).await.unwrap().unwrap();
    let allocation = shopflow_ports::BackorderAllocation::new(
        &served,
        1,
        &order,
        &shopflow_domain::Actor::System("backorder-allocator"),
        "restock",
        shopflow_lambda_kit::now(),
    )
    .unwrap();
    shopflow_ports::BackorderStore::allocate(
        api.store(),
        &shopflow_ports::AllocationBatch {
            sku: sku(POSTER),
            warehouse: wh(BERLIN),
            allocations: vec![allocation],
        },
    )
    .await
    .unwrap();
    api.cancel(graces.id, "too late", grace())
        .await
        .problem(409, "backorder_fulfilled");
    // Staff may cancel any, with a reason.
    assert_eq!(
        api.cancel(backorder.id, "customer called", admin())
            .await
            .status,
        200
    );
}
