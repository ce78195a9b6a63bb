//! The shop payment events arrive in: orders placed straight into the
//! in-memory store and moved to the status a test starts from, payment events
//! as the payments work publishes them (alone, or as SQS delivers them), a
//! store that can lose a write to a concurrent change or fail one outright,
//! and readers for what the consumer left behind.
#![allow(clippy::unwrap_used, clippy::expect_used, dead_code)]

use async_trait::async_trait;
use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use lambda_runtime::{Context, LambdaEvent};
use order_status::App;
use serde_json::{Value, json};
use shopflow_domain::events::OrderStatusChanged;
use shopflow_domain::{
    Actor, CustomerId, FulfillmentStatus, OrderId, OrderState, OrderTrigger, Product, Timestamp,
};
use shopflow_lambda_kit::consumer::{BusEvent, ConsumeError, Handled};
use shopflow_ports::{
    ChangeError, HistoryEntry, InventoryStore, OrderLifecycle, OrderReader, StatusChange,
    StoreError,
};
use shopflow_testkit::memory::MemoryStore;
use shopflow_testkit::{
    ADA, PAYMENTS, SharedStore, StoreHooks, eur, eventbridge_body, logging, order_line, payments,
    sqs_batch, sqs_record,
};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;
use ulid::Ulid;

/// Who the consumer's changes are recorded as.
pub const ORDER_STATUS: &str = "system:order-status";

const SKU: &str = "TEE-RED";
const WAREHOUSE: &str = "BER";
/// 2024-01-01T00:00:00Z; orders are placed a minute apart from here on.
const FIRST_ORDER_AT: u64 = shopflow_testkit::OPENING_DAY.as_millis();

/// Orders placed and moved along before payment events arrive.
pub struct Shop {
    store: PaymentsStore,
    app: App<PaymentsStore>,
    placed: u64,
}

impl Shop {
    pub async fn new() -> Self {
        let store = PaymentsStore::default();
        let product = Product {
            sku: shopflow_testkit::sku(SKU),
            name: "Red tee".into(),
            price: eur(2_500),
            active: true,
        };
        store.memory().upsert_product(&product).await.unwrap();
        shopflow_testkit::receive_stock(
            store.memory(),
            SKU,
            WAREHOUSE,
            1_000,
            Ulid::from_parts(FIRST_ORDER_AT, 0),
            Timestamp::from_millis(FIRST_ORDER_AT),
        )
        .await;
        Self {
            app: App::new(store.clone()),
            store,
            placed: 0,
        }
    }

    /// Places Ada's order for two red tees and moves it to `stage` the way
    /// the shop gets there: payments, her own cancel, or the sweeper.
    pub async fn order_in(&mut self, stage: At) -> OrderId {
        self.placed += 1;
        let created_at = Timestamp::from_millis(FIRST_ORDER_AT + self.placed * 60_000);
        let id = OrderId::from_ulid(Ulid::from_parts(
            created_at.as_millis(),
            u128::from(self.placed),
        ));
        let order = shopflow_testkit::unpaid_order(
            id,
            ADA,
            vec![order_line(SKU, WAREHOUSE, 2, 2_500)],
            created_at,
        );
        shopflow_testkit::place_order(
            self.store.memory(),
            &order,
            Ulid::from_parts(created_at.as_millis(), 0),
        )
        .await;
        for (n, trigger) in stage.path().into_iter().enumerate() {
            let at = created_at.plus_secs(60 * (n as u64 + 1));
            shopflow_testkit::apply(
                self.store.memory(),
                id,
                trigger,
                &actor_of(trigger),
                None,
                at,
            )
            .await
            .unwrap();
        }
        assert_eq!(self.status(id).await, stage.state(), "set-up");
        id
    }

    /// Takes every unit still available, as other customers' checkouts would.
    pub async fn sell_out(&mut self) {
        loop {
            let left = self.stock().available();
            if left == 0 {
                return;
            }
            self.placed += 1;
            let created_at = Timestamp::from_millis(FIRST_ORDER_AT + self.placed * 60_000);
            let id = OrderId::from_ulid(Ulid::from_parts(
                created_at.as_millis(),
                u128::from(self.placed),
            ));
            let lines = vec![order_line(SKU, WAREHOUSE, left.min(999), 2_500)];
            let order = shopflow_testkit::unpaid_order(id, "rival", lines, created_at);
            shopflow_testkit::place_order(
                self.store.memory(),
                &order,
                Ulid::from_parts(created_at.as_millis(), 1),
            )
            .await;
        }
    }

    /// The stock of the shop's one SKU.
    /// The sweeper expires the order and hands its units back.
    pub async fn expire(&self, id: OrderId) {
        let at = Timestamp::from_millis(FIRST_ORDER_AT + 3_600_000);
        let sweeper = actor_of(OrderTrigger::ReservationExpired);
        shopflow_testkit::apply(
            self.store.memory(),
            id,
            OrderTrigger::ReservationExpired,
            &sweeper,
            None,
            at,
        )
        .await
        .unwrap();
    }

    pub fn stock(&self) -> shopflow_domain::StockLevel {
        self.store.memory().stock(
            &shopflow_testkit::sku(SKU),
            &shopflow_testkit::wh(WAREHOUSE),
        )
    }

    /// The `payment.refund_required` events recorded for `id`.
    pub fn refunds_required(&self, id: OrderId) -> Vec<shopflow_domain::events::RefundRequired> {
        self.store
            .memory()
            .outbox()
            .into_iter()
            .filter_map(|event| match event.event {
                shopflow_domain::events::DomainEvent::RefundRequired(refund)
                    if refund.order_id == id =>
                {
                    Some(refund)
                }
                _ => None,
            })
            .collect()
    }

    /// Hands one event to the consumer, as its batch would.
    pub async fn apply(&self, event: BusEvent) -> Result<Handled, ConsumeError> {
        let _logging = logging();
        self.app.apply(event).await
    }

    /// Hands the consumer a batch of SQS records, as Lambda does.
    pub async fn handle(&self, batch: Value) -> SqsBatchResponse {
        let event: SqsEvent = serde_json::from_value(batch).unwrap();
        let _logging = logging();
        self.app
            .handle(LambdaEvent::new(event, Context::default()))
            .await
            .unwrap()
    }

    /// The order's lifecycle, money and goods.
    pub async fn status(&self, id: OrderId) -> OrderState {
        self.store
            .memory()
            .order(id)
            .await
            .unwrap()
            .unwrap()
            .state()
    }

    pub async fn payment(&self, id: OrderId) -> shopflow_domain::Payment {
        self.store
            .memory()
            .order(id)
            .await
            .unwrap()
            .unwrap()
            .payment
    }

    pub async fn version(&self, id: OrderId) -> u64 {
        self.store
            .memory()
            .order(id)
            .await
            .unwrap()
            .unwrap()
            .version
    }

    /// The order's history entries written by this consumer, oldest first.
    pub async fn changes_by_consumer(&self, id: OrderId) -> Vec<HistoryEntry> {
        self.store
            .memory()
            .history(id)
            .await
            .unwrap()
            .into_iter()
            .filter(|entry| entry.actor == ORDER_STATUS)
            .collect()
    }

    /// The order's status events recorded by this consumer, oldest first,
    /// each with its detail-type.
    pub fn events_by_consumer(&self, id: OrderId) -> Vec<(&'static str, OrderStatusChanged)> {
        shopflow_testkit::status_events(self.store.memory())
            .into_iter()
            .filter(|(_, event)| event.order_id == id && event.actor == ORDER_STATUS)
            .collect()
    }

    /// Asserts that the consumer moved the order from `from` to `to` by
    /// `trigger` exactly once: the order is `to`, with one history entry and
    /// one `order.<to>` event, both by the consumer.
    pub async fn assert_moved_once(&self, id: OrderId, from: At, to: At, trigger: OrderTrigger) {
        let (from, to) = (from.state(), to.state());
        assert_eq!(self.status(id).await, to);
        let changes = self.changes_by_consumer(id).await;
        assert_eq!(changes.len(), 1, "history: {changes:#?}");
        let change = &changes[0];
        assert_eq!((change.from, change.to), (from, to));
        assert_eq!(change.trigger, trigger);
        assert_eq!(change.reason, None);

        let events = self.events_by_consumer(id);
        assert_eq!(events.len(), 1, "events: {events:#?}");
        let (detail_type, event) = &events[0];
        assert_eq!(*detail_type, trigger.event_name());
        assert_eq!(event.customer_id, CustomerId::parse(ADA).unwrap());
        assert_eq!((event.from, event.to), (from, to));
        assert_eq!(event.trigger, trigger);
        assert_eq!(event.actor, ORDER_STATUS);
        assert!(event.released.is_empty(), "payments release no stock");
    }

    /// The next write of a change to the order finds it changed by someone
    /// else (who left it as it was), as a conditional write losing a race does.
    pub fn stale_writes(&self, id: OrderId, times: u32) {
        *self.faults().stale.lock().unwrap().entry(id).or_default() += times;
    }

    /// The payment is captured (by another delivery) just after the
    /// consumer read the order, so its write finds the order changed. For
    /// an expired order, that capture reserves its units again.
    pub fn captured_between_read_and_write(&self, id: OrderId) {
        self.faults().captured_first.lock().unwrap().insert(id);
    }

    /// Writing a change to the order fails, as a throttled table would.
    pub fn failing_writes(&self, id: OrderId) {
        self.faults().failing.lock().unwrap().insert(id);
    }

    /// How many times the consumer tried to write a change to the order.
    pub fn writes_attempted(&self, id: OrderId) -> usize {
        self.faults()
            .attempts
            .lock()
            .unwrap()
            .get(&id)
            .copied()
            .unwrap_or_default()
    }

    fn faults(&self) -> &Faults {
        self.store.hooks()
    }
}

/// An order id no order has.
pub fn unknown_order() -> OrderId {
    OrderId::from_ulid(Ulid::from_parts(FIRST_ORDER_AT - 1, 42))
}

/// The `n`th payment event id.
pub fn event_id(n: u64) -> String {
    Ulid::from_parts(FIRST_ORDER_AT + 3_600_000 + n, u128::from(n)).to_string()
}

/// A payment event as the payments work publishes it.
pub fn payment_event(detail_type: &str, event_id: &str, data: Value) -> BusEvent {
    BusEvent {
        id: event_id.into(),
        detail_type: detail_type.into(),
        source: PAYMENTS.into(),
        occurred_at: shopflow_testkit::OPENING_DAY.to_rfc3339(),
        data,
    }
}

fn payment_data(order: OrderId) -> Value {
    json!({
        "order_id": order.to_string(),
        "payment_id": "pi_3Q",
        "amount_minor": 5_000,
        "currency": "EUR",
    })
}

pub fn authorized(order: OrderId, event_id: &str) -> BusEvent {
    payment_event("payment.authorized", event_id, payment_data(order))
}

pub fn captured(order: OrderId, event_id: &str) -> BusEvent {
    payment_event("payment.captured", event_id, payment_data(order))
}

pub fn failed(order: OrderId, event_id: &str) -> BusEvent {
    let mut data = payment_data(order);
    data["failure_code"] = json!("card_declined");
    payment_event("payment.failed", event_id, data)
}

/// A refund of all (`fully`) or part of what was captured.
pub fn refunded(order: OrderId, event_id: &str, fully: bool) -> BusEvent {
    let mut data = payment_data(order);
    data["amount_minor"] = json!(if fully { 5_000 } else { 1_000 });
    data["fully_refunded"] = json!(fully);
    payment_event("payment.refunded", event_id, data)
}

/// The SQS message `message_id` carrying `event`, as the queue's
/// EventBridge rule delivers it.
pub fn message(message_id: &str, event: &BusEvent) -> Value {
    let body = eventbridge_body(
        &event.source,
        &event.detail_type,
        &event.id,
        event.data.clone(),
    );
    sqs_record(message_id, &body)
}

pub fn batch(records: impl IntoIterator<Item = Value>) -> Value {
    sqs_batch(records)
}

/// The message ids a batch handed back for SQS to retry, sorted.
pub fn failed_ids(response: &SqsBatchResponse) -> Vec<String> {
    let mut ids: Vec<String> = response
        .batch_item_failures
        .iter()
        .map(|failure| failure.item_identifier.clone())
        .collect();
    ids.sort();
    ids
}

/// Where a test puts an order before the event under test, named for
/// where its money (or its lifecycle) stands; nothing has shipped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum At {
    PendingPayment,
    PaymentAuthorized,
    PaymentFailed,
    Paid,
    PartiallyRefunded,
    Refunded,
    Cancelled,
    Expired,
}

impl At {
    /// The triggers that take a new, unpaid order here.
    fn path(self) -> Vec<OrderTrigger> {
        use OrderTrigger as T;
        match self {
            Self::PendingPayment => vec![],
            Self::PaymentAuthorized => vec![T::PaymentAuthorized],
            Self::PaymentFailed => vec![T::PaymentFailed],
            Self::Paid => vec![T::PaymentCaptured],
            Self::PartiallyRefunded => vec![T::PaymentCaptured, T::PartlyRefunded],
            Self::Refunded => vec![T::PaymentCaptured, T::Refunded],
            Self::Cancelled => vec![T::Cancelled],
            Self::Expired => vec![T::ReservationExpired],
        }
    }

    /// The order's state here.
    pub fn state(self) -> OrderState {
        self.path()
            .into_iter()
            .try_fold(
                OrderState::placed(FulfillmentStatus::Unfulfilled),
                |state, trigger| state.apply(trigger),
            )
            .unwrap()
    }
}

fn actor_of(trigger: OrderTrigger) -> Actor {
    match trigger {
        OrderTrigger::Cancelled => Actor::Customer(CustomerId::parse(ADA).unwrap()),
        OrderTrigger::ReservationExpired => Actor::System("reservation-sweeper"),
        _ => payments(),
    }
}

/// The memory store as the consumer sees it, shared with the test, with
/// faults on cue for chosen orders.
type PaymentsStore = SharedStore<Faults>;

#[derive(Default)]
struct Faults {
    /// Writes still to refuse as stale, per order.
    stale: Mutex<BTreeMap<OrderId, u32>>,
    captured_first: Mutex<BTreeSet<OrderId>>,
    failing: Mutex<BTreeSet<OrderId>>,
    attempts: Mutex<BTreeMap<OrderId, usize>>,
}

#[async_trait]
impl StoreHooks for Faults {
    async fn change_status(
        &self,
        memory: &MemoryStore,
        change: &StatusChange,
    ) -> Result<(), ChangeError> {
        *self
            .attempts
            .lock()
            .unwrap()
            .entry(change.order_id)
            .or_default() += 1;
        if self.failing.lock().unwrap().contains(&change.order_id) {
            return Err(ChangeError::Store(StoreError::Unavailable(
                "throttled".into(),
            )));
        }
        let stale = {
            let mut stale = self.stale.lock().unwrap();
            match stale.get_mut(&change.order_id) {
                Some(left) if *left > 0 => {
                    *left -= 1;
                    true
                }
                _ => false,
            }
        };
        if stale {
            return Err(ChangeError::Stale);
        }
        let captured_first = self.captured_first.lock().unwrap().remove(&change.order_id);
        if captured_first {
            let order = memory.order(change.order_id).await?.unwrap();
            shopflow_testkit::apply(
                memory,
                change.order_id,
                OrderTrigger::PaymentCaptured,
                &payments(),
                None,
                order.created_at.plus_secs(30),
            )
            .await?;
        }
        memory.change_status(change).await
    }
}
