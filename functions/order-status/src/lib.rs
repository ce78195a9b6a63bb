//! Applies payment events (`payment.authorized`, `payment.captured`,
//! `payment.failed`, `payment.refunded`) to the order state machine, from its
//! own SQS queue. Each event is applied at most once (its id is recorded with
//! the change it causes); events that arrive after a later one moved the order
//! on are ignored, so out-of-order and duplicate delivery converge.
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use lambda_runtime::{Error, LambdaEvent};
use serde::Deserialize;
use shopflow_domain::events::{DomainEvent, RefundRequired};
use shopflow_domain::{Actor, OrderId, PaymentOutcome};
use shopflow_lambda_kit::consumer::{self, BusEvent, ConsumeError, Handled};
use shopflow_lambda_kit::metrics::{self, Unit};
use shopflow_lambda_kit::{config, now};
use shopflow_store::dynamo::DynamoStore;
use shopflow_store::{ChangeError, OrderLifecycle, OutboxEvent, StatusChange};

pub const CONSUMER: &str = "order-status";
const ACTOR: Actor = Actor::System(CONSUMER);
/// Messages of one batch handled at once.
const CONCURRENCY: usize = 8;
/// Attempts when the order changes between read and write.
const CHANGE_ATTEMPTS: u32 = 5;

pub struct App<S> {
    store: S,
}

impl App<DynamoStore> {
    pub async fn from_env() -> Result<Self, Error> {
        let table = config::required(&config::ProcessEnv, "TABLE_NAME")?;
        Ok(Self::new(DynamoStore::from_env(table).await))
    }
}

/// The part of a payment event this consumer reads.
#[derive(Debug, Deserialize)]
struct PaymentData {
    order_id: String,
    #[serde(default)]
    payment_id: String,
    #[serde(default)]
    amount_minor: i64,
    #[serde(default)]
    currency: String,
}

impl<S: OrderLifecycle> App<S> {
    pub fn new(store: S) -> Self {
        Self { store }
    }

    pub async fn handle(&self, event: LambdaEvent<SqsEvent>) -> Result<SqsBatchResponse, Error> {
        let received = event.payload.records.len();
        let response = consumer::consume(CONSUMER, event.payload, CONCURRENCY, |event| {
            self.apply(event)
        })
        .await;
        let failed = response.batch_item_failures.len();
        metrics::emit(
            CONSUMER,
            &[
                (
                    "PaymentEventsHandled",
                    (received - failed) as f64,
                    Unit::Count,
                ),
                ("PaymentEventsFailed", failed as f64, Unit::Count),
            ],
        );
        Ok(response)
    }

    pub async fn apply(&self, event: BusEvent) -> Result<Handled, ConsumeError> {
        // What the event is decides whether its data matters at all.
        let fully_refunded = event.data["fully_refunded"].as_bool().unwrap_or(false);
        let Some(outcome) = PaymentOutcome::from_detail_type(&event.detail_type, fully_refunded)
        else {
            return Ok(Handled::Ignored(format!(
                "not a payment outcome: {}",
                event.detail_type
            )));
        };
        let data: PaymentData = serde_json::from_value(event.data.clone())
            .map_err(|e| ConsumeError::Unreadable(e.to_string()))?;
        let order_id: OrderId = data
            .order_id
            .parse()
            .map_err(|_| ConsumeError::Unreadable("bad order_id".into()))?;
        for _ in 0..CHANGE_ATTEMPTS {
            // A payment for an order not visible yet is retried by SQS, then dead-lettered.
            let order = self
                .store
                .order(order_id)
                .await
                .map_err(|e| ConsumeError::Failed(e.to_string()))?
                .ok_or_else(|| ConsumeError::Failed(format!("order {order_id} not found")))?;
            let Ok(to) = order.status.transition(outcome.trigger()) else {
                if outcome.strands_money(order.status) {
                    tracing::error!(
                        %order_id,
                        status = order.status.as_str(),
                        "payment for an order that can no longer take it: the money must be returned"
                    );
                }
                return Ok(Handled::Ignored(format!(
                    "the order is already {}",
                    order.status.as_str()
                )));
            };
            let change = StatusChange::new(&order, to, outcome.trigger(), &ACTOR, None, now())
                .applying(CONSUMER, &event.id);
            match self.store.change_status(&change).await {
                Ok(()) => return Ok(Handled::Applied),
                Err(ChangeError::AlreadyApplied) => return Ok(Handled::Duplicate),
                Err(ChangeError::Stale) => continue,
                Err(ChangeError::OutOfStock) => {
                    return self.refund_required(&event, &data, order_id).await;
                }
                Err(ChangeError::Store(error)) => {
                    return Err(ConsumeError::Failed(error.to_string()));
                }
            }
        }
        Err(ConsumeError::Failed(format!(
            "order {order_id} kept changing"
        )))
    }

    /// A late payment for an order whose stock is gone: the order stays
    /// expired and the money must go back. Recorded as `payment.refund_required`
    /// for the payments work, once per payment event.
    async fn refund_required(
        &self,
        event: &BusEvent,
        data: &PaymentData,
        order_id: OrderId,
    ) -> Result<Handled, ConsumeError> {
        tracing::warn!(%order_id, payment_id = %data.payment_id, "late payment, stock gone: refund required");
        let refund = OutboxEvent {
            id: ulid::Ulid::generate(),
            occurred_at: now(),
            event: DomainEvent::RefundRequired(RefundRequired {
                order_id,
                payment_id: data.payment_id.clone(),
                amount_minor: data.amount_minor,
                currency: data.currency.clone(),
                reason: "paid after the reservation lapsed, and the stock is gone".into(),
            }),
        };
        match self
            .store
            .record_event(&refund, Some((CONSUMER.to_owned(), event.id.clone())))
            .await
        {
            Ok(()) => Ok(Handled::Applied),
            Err(ChangeError::AlreadyApplied) => Ok(Handled::Duplicate),
            Err(error) => Err(ConsumeError::Failed(error.to_string())),
        }
    }
}
