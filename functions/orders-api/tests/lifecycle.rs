//! An order's lifecycle through the API: cancelling it (who may, when, and
//! what happens to its stock, outbox and history) and reading its timeline.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{
    ADA, ADMIN, GRACE, History, ON_HAND, admin, anonymous, customer, payments, sku, warehouse,
};
use serde_json::json;
use shopflow_domain::events::ReservedLine;
use shopflow_domain::{
    Actor, CustomerId, FulfillmentStatus, OrderState, OrderStatus, OrderTrigger, PaymentStatus,
    StockLevel,
};

fn reserved(units: u32) -> StockLevel {
    StockLevel {
        on_hand: ON_HAND,
        reserved: units,
        ..StockLevel::default()
    }
}

fn tees(quantity: u32) -> Vec<ReservedLine> {
    vec![ReservedLine {
        sku: sku(),
        warehouse: warehouse(),
        quantity,
    }]
}

fn staff() -> Actor {
    Actor::Admin(CustomerId::parse(ADMIN).unwrap())
}

/// An order's state with nothing shipped.
fn state(status: OrderStatus, payment_status: PaymentStatus) -> OrderState {
    OrderState {
        status,
        payment_status,
        fulfillment_status: FulfillmentStatus::Unfulfilled,
    }
}

// --- cancelling: the owner, before payment ---------------------------------------

#[tokio::test]
async fn a_customer_cancels_their_unpaid_order_and_its_reserved_stock_goes_back() {
    let mut history = History::new().await;
    let id = history.order_of(ADA, 3).await;
    history.order_of(GRACE, 2).await;
    let api = history.open();
    assert_eq!(api.stock(), reserved(5));

    let reply = api.cancel(&id.to_string(), None, customer(ADA)).await;

    assert_eq!(reply.status, 200, "{}", reply.body);
    let order = &reply.json()["order"];
    assert_eq!(order["id"], id.to_string());
    assert_eq!(order["status"], "cancelled");
    assert_eq!(api.stored(id).await.status, OrderStatus::Cancelled);
    assert_eq!(api.stock(), reserved(2), "only Ada's three tees go back");

    let events = api.status_events(id);
    assert_eq!(events.len(), 1, "{events:?}");
    let (detail_type, event) = &events[0];
    assert_eq!(*detail_type, "order.cancelled");
    assert_eq!(
        event.from,
        state(OrderStatus::PendingPayment, PaymentStatus::Awaiting)
    );
    assert_eq!(
        event.to,
        state(OrderStatus::Cancelled, PaymentStatus::Awaiting)
    );
    assert_eq!(event.trigger, OrderTrigger::Cancelled);
    assert_eq!(event.actor, "customer:cust-ada");
    assert_eq!(event.reason, None);
    assert_eq!(event.released, tees(3));

    let entries = api.history(id).await;
    assert_eq!(entries.len(), 1, "{entries:?}");
    assert_eq!(entries[0].from, event.from);
    assert_eq!(entries[0].to, event.to);
    assert_eq!(entries[0].trigger, OrderTrigger::Cancelled);
    assert_eq!(entries[0].actor, "customer:cust-ada");
}

#[tokio::test]
async fn a_customer_cancels_an_order_whose_payment_failed_and_its_stock_goes_back() {
    let mut history = History::new().await;
    let id = history.order_of(ADA, 2).await;
    history
        .apply(id, OrderTrigger::PaymentFailed, payments())
        .await;
    let api = history.open();
    assert_eq!(api.stock(), reserved(2));

    let reply = api
        .cancel(
            &id.to_string(),
            Some(r#"{"reason": "card keeps failing"}"#),
            customer(ADA),
        )
        .await;

    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.json()["order"]["status"], "cancelled");
    assert_eq!(api.stock(), reserved(0));
    let events = api.status_events(id);
    assert_eq!(
        events.len(),
        2,
        "payment failed, then cancelled: {events:?}"
    );
    let (detail_type, cancelled) = &events[1];
    assert_eq!(*detail_type, "order.cancelled");
    assert_eq!(
        cancelled.from,
        state(OrderStatus::PendingPayment, PaymentStatus::Failed)
    );
    assert_eq!(
        cancelled.to,
        state(OrderStatus::Cancelled, PaymentStatus::Failed)
    );
    assert_eq!(cancelled.reason.as_deref(), Some("card keeps failing"));
    assert_eq!(cancelled.released, tees(2));
    let entries = api.history(id).await;
    assert_eq!(entries.len(), 2, "{entries:?}");
    assert_eq!(entries[1].from, cancelled.from);
    assert_eq!(entries[1].to, cancelled.to);
    assert_eq!(entries[1].reason.as_deref(), Some("card keeps failing"));
}

#[tokio::test]
async fn cancelling_a_cancelled_order_again_answers_as_the_first_time_and_records_nothing() {
    let mut history = History::new().await;
    let id = history.order_of(ADA, 3).await;
    let api = history.open();

    let first = api.cancel(&id.to_string(), None, customer(ADA)).await;
    let again = api.cancel(&id.to_string(), None, customer(ADA)).await;

    assert_eq!(first.status, 200, "{}", first.body);
    assert_eq!(again.status, 200, "{}", again.body);
    assert_eq!(again.json(), first.json());
    assert_eq!(api.status_events(id).len(), 1, "no second order.cancelled");
    assert_eq!(api.history(id).await.len(), 1, "no second history entry");
    assert_eq!(
        api.stock(),
        reserved(0),
        "stock is handed back once, not twice"
    );
    assert_eq!(api.stored(id).await.version, 2);
}

#[tokio::test]
async fn an_empty_cancel_body_or_an_empty_object_is_accepted() {
    let mut history = History::new().await;
    let empty = history.order_for(ADA).await;
    let object = history.order_for(ADA).await;
    let api = history.open();

    let empty_reply = api
        .cancel(&empty.to_string(), Some(""), customer(ADA))
        .await;
    let object_reply = api
        .cancel(&object.to_string(), Some("{}"), customer(ADA))
        .await;

    assert_eq!(empty_reply.status, 200, "{}", empty_reply.body);
    assert_eq!(empty_reply.json()["order"]["status"], "cancelled");
    assert_eq!(object_reply.status, 200, "{}", object_reply.body);
    assert_eq!(object_reply.json()["order"]["status"], "cancelled");
    assert_eq!(api.stock(), reserved(0));
}

// --- cancelling: who may ----------------------------------------------------------

#[tokio::test]
async fn another_customers_order_cannot_be_cancelled_and_looks_missing() {
    let mut history = History::new().await;
    let adas = history.order_of(ADA, 3).await;
    let api = history.open();

    let reply = api.cancel(&adas.to_string(), None, customer(GRACE)).await;

    reply.problem(404, "not_found");
    let missing = api
        .cancel(&ulid::Ulid::generate().to_string(), None, customer(GRACE))
        .await;
    assert_eq!(
        reply.body, missing.body,
        "someone else's order must look exactly like a missing one"
    );
    assert_eq!(api.stored(adas).await.status, OrderStatus::PendingPayment);
    assert_eq!(api.stock(), reserved(3));
    assert!(api.status_events(adas).is_empty());
}

#[tokio::test]
async fn a_malformed_order_id_cannot_be_cancelled() {
    let api = History::new().await.open();

    for id in ["not-an-id", "42", "01J0000000000000000000000U"] {
        let reply = api.cancel(id, None, customer(ADA)).await;
        assert_eq!(reply.status, 404, "id {id:?}: {}", reply.body);
        reply.problem(404, "not_found");
    }
}

#[tokio::test]
async fn cancelling_an_order_needs_a_caller() {
    let mut history = History::new().await;
    let id = history.order_for(ADA).await;
    let api = history.open();

    api.cancel(&id.to_string(), None, anonymous())
        .await
        .problem(401, "unauthenticated");
    assert_eq!(api.stored(id).await.status, OrderStatus::PendingPayment);
}

#[tokio::test]
async fn an_admin_must_give_a_reason_to_cancel() {
    let mut history = History::new().await;
    let id = history.order_of(ADA, 3).await;
    let api = history.open();

    for body in [
        None,
        Some("{}"),
        Some(r#"{"reason": null}"#),
        Some(r#"{"reason": "   "}"#),
    ] {
        let reply = api.cancel(&id.to_string(), body, admin()).await;
        let details = reply.problem(422, "reason_required");
        assert_eq!(details["field"], "reason", "body {body:?}: {}", reply.body);
    }
    assert_eq!(api.stored(id).await.status, OrderStatus::PendingPayment);
    assert_eq!(api.stock(), reserved(3));
    assert!(api.status_events(id).is_empty());
}

#[tokio::test]
async fn an_admin_cancels_any_customers_order_with_a_reason_and_is_recorded_as_staff() {
    let mut history = History::new().await;
    let id = history.order_of(ADA, 3).await;
    let api = history.open();

    let reply = api
        .cancel(
            &id.to_string(),
            Some(r#"{"reason": "  suspected fraud  "}"#),
            admin(),
        )
        .await;

    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.json()["order"]["status"], "cancelled");
    assert_eq!(reply.json()["order"]["customer_id"], ADA);
    assert_eq!(api.stock(), reserved(0));
    let events = api.status_events(id);
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0].1.actor, "admin:staff-1");
    assert_eq!(events[0].1.reason.as_deref(), Some("suspected fraud"));
    assert_eq!(events[0].1.released, tees(3));
    let entries = api.history(id).await;
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].actor, "admin:staff-1");
    assert_eq!(entries[0].reason.as_deref(), Some("suspected fraud"));
}

// --- cancelling: what the body may say ---------------------------------------------

#[tokio::test]
async fn a_reason_over_five_hundred_characters_is_refused() {
    let mut history = History::new().await;
    let id = history.order_for(ADA).await;
    let api = history.open();
    let body = json!({ "reason": "x".repeat(501) }).to_string();

    let reply = api.cancel(&id.to_string(), Some(&body), admin()).await;

    reply.invalid("reason");
    assert_eq!(api.stored(id).await.status, OrderStatus::PendingPayment);
    assert!(api.status_events(id).is_empty());
}

#[tokio::test]
async fn a_reason_is_measured_in_characters_not_bytes() {
    let mut history = History::new().await;
    let id = history.order_for(ADA).await;
    let api = history.open();
    // 500 characters, 1,000 bytes.
    let reason = "é".repeat(500);
    let body = json!({ "reason": reason }).to_string();

    let reply = api.cancel(&id.to_string(), Some(&body), admin()).await;

    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(api.history(id).await[0].reason.as_deref(), Some(&*reason));
}

#[tokio::test]
async fn a_cancel_body_with_an_unknown_field_is_refused() {
    let mut history = History::new().await;
    let id = history.order_for(ADA).await;
    let api = history.open();

    let reply = api
        .cancel(
            &id.to_string(),
            Some(r#"{"reason": "too slow", "refund": true}"#),
            customer(ADA),
        )
        .await;

    let details = reply.invalid("refund");
    assert!(
        details["reason"]
            .as_str()
            .unwrap()
            .contains("unknown field"),
        "{}",
        reply.body
    );
    assert_eq!(api.stored(id).await.status, OrderStatus::PendingPayment);
    assert!(api.status_events(id).is_empty());
}

#[tokio::test]
async fn a_cancel_body_that_is_not_a_json_object_with_a_text_reason_is_refused() {
    let mut history = History::new().await;
    let id = history.order_for(ADA).await;
    let api = history.open();

    api.cancel(&id.to_string(), Some("not json"), customer(ADA))
        .await
        .invalid("body");
    api.cancel(&id.to_string(), Some(r#"{"reason": 42}"#), customer(ADA))
        .await
        .invalid("reason");
    assert_eq!(api.stored(id).await.status, OrderStatus::PendingPayment);
}

// --- cancelling: when it is too late -------------------------------------------------

#[tokio::test]
async fn an_order_holding_an_authorized_or_captured_payment_is_cancelled_and_its_stock_returned() {
    // The money goes back afterwards: payment-actions voids or refunds it on order.cancelled.
    for trigger in [
        OrderTrigger::PaymentAuthorized,
        OrderTrigger::PaymentCaptured,
    ] {
        let mut history = History::new().await;
        let id = history.order_of(ADA, 3).await;
        history.apply(id, trigger, payments()).await;
        let api = history.open();

        let reply = api.cancel(&id.to_string(), None, customer(ADA)).await;

        assert_eq!(reply.status, 200, "{trigger:?}: {}", reply.body);
        let stored = api.stored(id).await;
        assert_eq!(stored.status, OrderStatus::Cancelled, "{trigger:?}");
        assert!(
            stored.payment.holds_money(),
            "the money is untouched by the cancel itself"
        );
        assert_eq!(api.stock(), reserved(0), "{trigger:?}: stock is released");
        let events = api.status_events(id);
        assert_eq!(events.len(), 2, "the payment event, then order.cancelled");
        assert_eq!(events[1].0, "order.cancelled");
        assert_eq!(events[1].1.released, tees(3));
    }
}

#[tokio::test]
async fn a_refunded_order_that_will_not_ship_gives_its_stock_back_when_staff_cancel_it() {
    // Refunds move only the money: the order stays confirmed, its stock
    // reserved for a shipment, until staff cancel it.
    for refund in [OrderTrigger::PartlyRefunded, OrderTrigger::Refunded] {
        let mut history = History::new().await;
        let id = history.order_of(ADA, 3).await;
        history
            .apply(id, OrderTrigger::PaymentCaptured, payments())
            .await;
        history.apply(id, refund, payments()).await;
        let api = history.open();
        let refunded = api.stored(id).await;
        assert_eq!(refunded.status, OrderStatus::Confirmed, "{refund:?}");
        assert_eq!(api.stock(), reserved(3), "{refund:?}: kept for a shipment");

        let reply = api
            .cancel(
                &id.to_string(),
                Some(r#"{"reason": "customer no longer wants it"}"#),
                admin(),
            )
            .await;

        assert_eq!(reply.status, 200, "{refund:?}: {}", reply.body);
        assert_eq!(reply.json()["order"]["status"], "cancelled");
        assert_eq!(api.stock(), reserved(0), "{refund:?}: stock is released");
        let events = api.status_events(id);
        assert_eq!(events.last().unwrap().1.released, tees(3));
    }
}
#[tokio::test]
async fn a_customer_cannot_cancel_a_shipped_order() {
    let mut history = History::new().await;
    let id = history.order_for(ADA).await;
    history.ship(id).await;
    let api = history.open();

    let reply = api.cancel(&id.to_string(), None, customer(ADA)).await;

    reply.problem(409, "too_late_to_cancel");
    let stored = api.stored(id).await;
    assert_eq!(
        (stored.status, stored.fulfillment_status),
        (OrderStatus::Confirmed, FulfillmentStatus::Shipped)
    );
    assert_eq!(api.history(id).await.len(), 2);
}

#[tokio::test]
async fn an_expired_order_cannot_be_cancelled_by_anyone() {
    let mut history = History::new().await;
    let id = history.order_of(ADA, 3).await;
    history
        .apply(
            id,
            OrderTrigger::ReservationExpired,
            Actor::System("reservation-sweeper"),
        )
        .await;
    let api = history.open();
    assert_eq!(api.stock(), reserved(0));

    let by_owner = api.cancel(&id.to_string(), None, customer(ADA)).await;
    let by_staff = api
        .cancel(&id.to_string(), Some(r#"{"reason": "cleanup"}"#), admin())
        .await;

    by_owner.problem(409, "illegal_transition");
    by_staff.problem(409, "illegal_transition");
    assert_eq!(api.stored(id).await.status, OrderStatus::Expired);
    assert_eq!(api.stock(), reserved(0), "nothing is released twice");
    assert_eq!(api.history(id).await.len(), 1);
}

// --- cancelling: racing other writers -------------------------------------------------

#[tokio::test]
async fn cancel_rereads_an_order_whose_payment_failed_meanwhile_and_still_cancels_it() {
    let mut history = History::new().await;
    let id = history.order_of(ADA, 3).await;
    let api = history
        .overtaken_by(OrderTrigger::PaymentFailed, payments(), None)
        .open();

    let reply = api.cancel(&id.to_string(), None, customer(ADA)).await;

    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.json()["order"]["status"], "cancelled");
    assert_eq!(api.write_attempts(), 2, "one stale write, one retry");
    assert_eq!(api.stock(), reserved(0));
    let entries = api.history(id).await;
    let steps: Vec<_> = entries.iter().map(|e| (e.from, e.to)).collect();
    assert_eq!(
        steps,
        [
            (
                state(OrderStatus::PendingPayment, PaymentStatus::Awaiting),
                state(OrderStatus::PendingPayment, PaymentStatus::Failed)
            ),
            (
                state(OrderStatus::PendingPayment, PaymentStatus::Failed),
                state(OrderStatus::Cancelled, PaymentStatus::Failed)
            ),
        ]
    );
    let events = api.status_events(id);
    let kinds: Vec<_> = events.iter().map(|(kind, _)| *kind).collect();
    assert_eq!(kinds, ["order.payment_failed", "order.cancelled"]);
    assert_eq!(
        events[1].1.from,
        state(OrderStatus::PendingPayment, PaymentStatus::Failed)
    );
    assert_eq!(events[1].1.released, tees(3));
}

#[tokio::test]
async fn cancel_rereads_an_order_paid_meanwhile_and_cancels_it_all_the_same() {
    let mut history = History::new().await;
    let id = history.order_of(ADA, 3).await;
    let api = history
        .overtaken_by(OrderTrigger::PaymentCaptured, payments(), None)
        .open();

    let reply = api.cancel(&id.to_string(), None, customer(ADA)).await;

    assert_eq!(reply.status, 200, "{}", reply.body);
    let stored = api.stored(id).await;
    assert_eq!(stored.status, OrderStatus::Cancelled);
    assert_eq!(
        stored.payment.captured_minor,
        stored.totals.grand_total.minor
    );
    assert_eq!(api.stock(), reserved(0));
    let events = api.status_events(id);
    let kinds: Vec<_> = events.iter().map(|(k, _)| *k).collect();
    assert_eq!(kinds, ["order.paid", "order.cancelled"]);
    assert_eq!(
        events[1].1.from,
        state(OrderStatus::Confirmed, PaymentStatus::Paid)
    );
}

#[tokio::test]
async fn cancel_answers_cancelled_when_staff_cancelled_the_order_meanwhile() {
    let mut history = History::new().await;
    let id = history.order_of(ADA, 3).await;
    let api = history
        .overtaken_by(OrderTrigger::Cancelled, staff(), Some("duplicate order"))
        .open();

    let reply = api.cancel(&id.to_string(), None, customer(ADA)).await;

    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.json()["order"]["status"], "cancelled");
    assert_eq!(api.stock(), reserved(0), "released once, by staff");
    let events = api.status_events(id);
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0].1.actor, "admin:staff-1");
    let entries = api.history(id).await;
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].reason.as_deref(), Some("duplicate order"));
}

#[tokio::test]
async fn cancel_gives_up_with_a_conflict_when_the_order_never_stops_changing() {
    let mut history = History::new().await;
    let id = history.order_of(ADA, 3).await;
    let api = history.forever_changing().open();

    let reply = api.cancel(&id.to_string(), None, customer(ADA)).await;

    reply.problem(409, "concurrent_update");
    assert_eq!(api.write_attempts(), 5);
    assert_eq!(api.stored(id).await.status, OrderStatus::PendingPayment);
    assert_eq!(api.stock(), reserved(3));
}

// --- timeline --------------------------------------------------------------------------

#[tokio::test]
async fn the_timeline_starts_with_the_order_being_created_and_lists_each_change_oldest_first() {
    let mut history = History::new().await;
    let id = history.order_of(ADA, 2).await;
    history
        .apply(id, OrderTrigger::PaymentFailed, payments())
        .await;
    let api = history.open();
    let cancelled = api
        .cancel(
            &id.to_string(),
            Some(r#"{"reason": "found it cheaper"}"#),
            customer(ADA),
        )
        .await;
    assert_eq!(cancelled.status, 200, "{}", cancelled.body);

    let reply = api.timeline(&id.to_string(), customer(ADA)).await;

    assert_eq!(reply.status, 200, "{}", reply.body);
    let body = reply.json();
    assert_eq!(body["order_id"], id.to_string());
    let entries = body["entries"].as_array().unwrap();
    assert_eq!(entries.len(), 3, "{}", reply.body);
    assert_eq!(
        entries[0],
        json!({
            "at": "2024-01-01T00:01:00.000Z",
            "lane": "business",
            "kind": "order.created",
            "status": "pending_payment",
            "actor": "customer:cust-ada",
        })
    );
    assert_eq!(
        entries[1],
        json!({
            "at": "2024-01-01T00:02:00.000Z",
            "lane": "business",
            "kind": "order.payment_failed",
            "from": {
                "status": "pending_payment",
                "payment_status": "awaiting",
                "fulfillment_status": "unfulfilled",
            },
            "status": "pending_payment",
            "payment_status": "failed",
            "fulfillment_status": "unfulfilled",
            "trigger": "payment_failed",
            "actor": "system:payments",
            "reason": null,
        })
    );
    let last = &entries[2];
    assert_eq!(last["lane"], "business");
    assert_eq!(last["kind"], "order.cancelled");
    assert_eq!(last["from"]["payment_status"], "failed");
    assert_eq!(last["status"], "cancelled");
    assert_eq!(last["payment_status"], "failed");
    assert_eq!(last["trigger"], "cancelled");
    assert_eq!(last["actor"], "customer:cust-ada");
    assert_eq!(last["reason"], "found it cheaper");
    let times: Vec<&str> = entries.iter().map(|e| e["at"].as_str().unwrap()).collect();
    assert!(times.windows(2).all(|pair| pair[0] <= pair[1]), "{times:?}");
}

#[tokio::test]
async fn a_new_orders_timeline_holds_only_its_creation() {
    let mut history = History::new().await;
    let id = history.order_for(ADA).await;
    let api = history.open();

    let reply = api.timeline(&id.to_string(), customer(ADA)).await;

    assert_eq!(reply.status, 200, "{}", reply.body);
    let body = reply.json();
    let kinds: Vec<_> = body["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|entry| entry["kind"].clone())
        .collect();
    assert_eq!(kinds, ["order.created"]);
}

#[tokio::test]
async fn the_timeline_shows_how_the_order_was_offered_to_be_paid_and_its_refunds() {
    let mut history = History::new().await;
    let id = history.order_for(ADA).await;
    history.offer_payment(id, "pi_first").await;
    history
        .apply(id, OrderTrigger::PaymentCaptured, payments())
        .await;
    history.refunded_by_staff(id, 500, "scratched").await;
    let api = history.open();

    let reply = api.timeline(&id.to_string(), customer(ADA)).await;

    assert_eq!(reply.status, 200, "{}", reply.body);
    let entries = reply.json()["entries"].as_array().unwrap().clone();
    let kinds: Vec<&str> = entries
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        [
            "order.created",
            "payment.created",
            "order.paid",
            "refund.succeeded"
        ]
    );
    assert_eq!(entries[1]["reference"], "pi_first");
    assert_eq!(entries[3]["amount_minor"], 500);
    assert_eq!(
        entries[3]["actor"],
        format!("admin:{}", shopflow_testkit::STAFF)
    );
    assert_eq!(entries[3]["reason"], "scratched");
}

#[tokio::test]
async fn the_timeline_shows_the_orders_invoice_and_its_payment_in_the_business_lane() {
    let mut history = History::new().await;
    let id = history.order_for(ADA).await;
    history
        .apply(id, OrderTrigger::PaymentCaptured, payments())
        .await;
    history.invoice(id).await;
    let api = history.open();

    let entries = api.timeline(&id.to_string(), customer(ADA)).await.json()["entries"]
        .as_array()
        .unwrap()
        .clone();

    let kinds: Vec<(&str, &str)> = entries
        .iter()
        .map(|e| (e["lane"].as_str().unwrap(), e["kind"].as_str().unwrap()))
        .collect();
    assert_eq!(
        kinds,
        [
            ("business", "order.created"),
            ("business", "order.paid"),
            ("business", "invoice.issued"),
            ("business", "invoice.paid"),
        ]
    );
    assert!(entries[2]["number"].as_str().unwrap().starts_with("INV-"));
    assert_eq!(entries[3]["paid_minor"], entries[2]["total_minor"]);
}

#[tokio::test]
async fn the_timeline_shows_each_shipment_and_what_its_carrier_reported_in_the_delivery_lane() {
    use shopflow_domain::TrackingStatus as T;
    let mut history = History::new().await;
    let id = history.order_for(ADA).await;
    history
        .apply(id, OrderTrigger::PaymentCaptured, payments())
        .await;
    history
        .ship_tracked(
            id,
            "9400100000000000000001",
            &[
                ("03", T::PickedUp),
                ("OF", T::OutForDelivery),
                ("01", T::Delivered),
            ],
        )
        .await;
    let api = history.open();

    let reply = api.timeline(&id.to_string(), customer(ADA)).await;

    assert_eq!(reply.status, 200, "{}", reply.body);
    let entries = reply.json()["entries"].as_array().unwrap().clone();
    let lanes: Vec<(&str, &str)> = entries
        .iter()
        .map(|e| (e["lane"].as_str().unwrap(), e["kind"].as_str().unwrap()))
        .collect();
    assert_eq!(
        lanes,
        [
            ("business", "order.created"),
            ("business", "order.paid"),
            ("business", "order.shipped"),
            ("delivery", "shipment.created"),
            ("delivery", "tracking"),
            ("delivery", "tracking"),
            ("delivery", "tracking"),
            ("business", "order.delivered"),
        ]
    );
    let delivered = &entries[6];
    assert_eq!(delivered["status"], "delivered");
    assert_eq!(delivered["code"], "01");
    assert_eq!(delivered["carrier"], "usps");
    assert_eq!(delivered["location"], "Berlin");
    assert_eq!(delivered["actor"], "carrier:usps");
    assert_eq!(entries[3]["actor"], format!("admin:{ADMIN}"));
    assert_eq!(entries[7]["actor"], "system:courier-webhook");
}

#[tokio::test]
async fn another_customers_timeline_is_not_found() {
    let mut history = History::new().await;
    let adas = history.order_for(ADA).await;
    history
        .apply(adas, OrderTrigger::PaymentFailed, payments())
        .await;
    let api = history.open();

    let reply = api.timeline(&adas.to_string(), customer(GRACE)).await;

    reply.problem(404, "not_found");
    let missing = api
        .timeline(&ulid::Ulid::generate().to_string(), customer(GRACE))
        .await;
    assert_eq!(reply.body, missing.body);
}

#[tokio::test]
async fn an_admin_reads_any_customers_timeline() {
    let mut history = History::new().await;
    let adas = history.order_for(ADA).await;
    history
        .apply(adas, OrderTrigger::PaymentAuthorized, payments())
        .await;
    let api = history.open();

    let reply = api.timeline(&adas.to_string(), admin()).await;

    assert_eq!(reply.status, 200, "{}", reply.body);
    let body = reply.json();
    let kinds: Vec<_> = body["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|entry| entry["kind"].clone())
        .collect();
    assert_eq!(kinds, ["order.created", "order.payment_authorized"]);
}

#[tokio::test]
async fn a_timeline_needs_a_caller_and_a_well_formed_order_id() {
    let mut history = History::new().await;
    let id = history.order_for(ADA).await;
    let api = history.open();

    api.timeline(&id.to_string(), anonymous())
        .await
        .problem(401, "unauthenticated");
    api.timeline("not-an-id", customer(ADA))
        .await
        .problem(404, "not_found");
}
