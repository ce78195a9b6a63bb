//! An order's money at the mock Stripe, got there the way the shop gets it
//! there: checkout creates the payment, the customer confirms it with a test
//! card, it is captured; and order-status records each step on the order.

use shopflow_domain::{Order, OrderId, OrderTrigger, Payment, PaymentAttempt, PaymentStatus};
use shopflow_store::memory::MemoryStore;
use shopflow_store::stripe::{MockGateway, TestCard};
use shopflow_store::{
    IntentRequest, OrderLifecycle, OrderReader, PaymentGateway, PaymentRecords, StatusChange,
};

use crate::fixtures::payments;

/// Checkout's payment for `order`: created at the mock, recorded on the order.
pub async fn payment_created(store: &MemoryStore, stripe: &MockGateway, order: &Order) -> String {
    let intent = stripe
        .create_intent(&IntentRequest::for_order(order))
        .await
        .unwrap();
    let attempt = PaymentAttempt::Intent {
        intent_id: intent.id.clone(),
        created_at: order.created_at,
    };
    store.record_attempt(order.id, &attempt).await.unwrap();
    intent.id
}

/// The customer confirms `intent` with a card that authorizes: held at the
/// mock, and the order `payment_authorized` holding its grand total.
pub async fn payment_authorized(
    store: &MemoryStore,
    stripe: &MockGateway,
    id: OrderId,
    intent: &str,
) {
    stripe.confirm(intent, TestCard::Visa).unwrap();
    record(store, id, OrderTrigger::PaymentAuthorized, |order| {
        Payment {
            intent_id: Some(intent.to_owned()),
            status: PaymentStatus::Authorized,
            authorized_minor: order.totals.grand_total.minor,
            ..Payment::default()
        }
    })
    .await;
}

/// The authorized `intent` captured at the mock, and the order `paid`.
pub async fn payment_captured(
    store: &MemoryStore,
    stripe: &MockGateway,
    id: OrderId,
    intent: &str,
) {
    let order = store.order(id).await.unwrap().unwrap();
    let total = order.totals.grand_total.minor;
    stripe
        .capture(intent, total, &format!("fixture-capture-{intent}"))
        .await
        .unwrap();
    record(store, id, OrderTrigger::PaymentCaptured, |order| Payment {
        status: PaymentStatus::Captured,
        captured_minor: total,
        ..order.payment.clone()
    })
    .await;
}

/// Moves the order on by `trigger` with its money as `payment` makes it, as
/// order-status does.
async fn record(
    store: &MemoryStore,
    id: OrderId,
    trigger: OrderTrigger,
    payment: impl FnOnce(&Order) -> Payment,
) {
    let order = store.order(id).await.unwrap().unwrap();
    let to = order.status.transition(trigger).unwrap();
    let at = order.created_at.plus_secs(60);
    let change =
        StatusChange::new(&order, to, trigger, &payments(), None, at).with_payment(payment(&order));
    store.change_status(&change).await.unwrap();
}
