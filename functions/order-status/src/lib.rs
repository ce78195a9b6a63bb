//! Applies what the payment provider reported (`payment.authorized`,
//! `payment.captured`, `payment.failed`, `payment.refunded`,
//! `payment.voided`, `payment.checkout_expired`) to the order: its money and,
//! where the state machine allows, its status. Consumed from its own SQS
//! queue. Each event is applied at most once (its id is recorded with the
//! change it causes); reports merge in any order, so out-of-order and
//! duplicate deliveries converge. Money the order cannot keep is handed to
//! payment-actions as `payment.refund_required`.
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use lambda_runtime::{Error, LambdaEvent};
use shopflow_domain::events::{
    DomainEvent, GiveBackBy, PaymentFacts, PaymentReported, RefundRequired,
};
use shopflow_domain::{
    Actor, GiveBackReason, Order, OrderTrigger, Payment, PaymentDecision, PaymentOutcome,
};
use shopflow_dynamo::DynamoStore;
use shopflow_lambda_kit::config::{ConfigError, Env};
use shopflow_lambda_kit::consumer::{self, BusEvent, ConsumeError, Handled};
use shopflow_lambda_kit::function::{EventFunction, Function, Shared};
use shopflow_lambda_kit::{config, now};
use shopflow_ports::{
    ChangeError, OrderLifecycle, OutboxEvent, PaymentChange, PaymentRecords, StatusChange,
};

pub const CONSUMER: &str = "order-status";
const ACTOR: Actor = Actor::System(CONSUMER);
/// Messages of one batch handled at once.
const CONCURRENCY: usize = 8;
/// Attempts when the order changes between read and write.
const CHANGE_ATTEMPTS: u32 = 5;

pub struct App<S> {
    store: S,
}

/// order-status as deployed: on the DynamoDB table.
pub type Deployed = App<DynamoStore>;

impl Function for Deployed {
    const NAME: &'static str = "order-status";

    fn build(env: &Env, shared: &Shared) -> Result<Self, ConfigError> {
        Ok(Self::new(DynamoStore::from_config(
            &shared.aws.dynamodb,
            config::required(env, "TABLE_NAME")?,
        )))
    }
}

impl EventFunction<SqsEvent> for Deployed {
    type Answer = SqsBatchResponse;

    fn serve(
        &self,
        event: LambdaEvent<SqsEvent>,
    ) -> impl std::future::Future<Output = Result<SqsBatchResponse, Error>> + Send {
        self.handle(event)
    }
}

/// How one attempt at applying a report ended.
enum Attempt {
    Done(Handled),
    /// The order changed under the write: read it again and decide again.
    Again,
}

impl<S: OrderLifecycle + PaymentRecords> App<S> {
    pub fn new(store: S) -> Self {
        Self { store }
    }

    pub async fn handle(&self, event: LambdaEvent<SqsEvent>) -> Result<SqsBatchResponse, Error> {
        Ok(consumer::consume_counted(
            CONSUMER,
            "PaymentEvents",
            event.payload,
            CONCURRENCY,
            |event| self.apply(event),
        )
        .await)
    }

    pub async fn apply(&self, event: BusEvent) -> Result<Handled, ConsumeError> {
        // What the event is decides whether its data matters at all.
        let Some(outcome) = PaymentOutcome::from_detail_type(&event.detail_type) else {
            return Ok(Handled::Ignored(format!(
                "not a payment outcome: {}",
                event.detail_type
            )));
        };
        let facts: PaymentFacts = serde_json::from_value(event.data.clone())
            .map_err(|e| ConsumeError::Unreadable(e.to_string()))?;
        let reported = PaymentReported { outcome, facts };
        for _ in 0..CHANGE_ATTEMPTS {
            match self.apply_once(&event, &reported).await? {
                Attempt::Done(handled) => return Ok(handled),
                Attempt::Again => continue,
            }
        }
        Err(ConsumeError::Failed(format!(
            "order {} kept changing",
            reported.facts.order_id
        )))
    }

    async fn apply_once(
        &self,
        event: &BusEvent,
        reported: &PaymentReported,
    ) -> Result<Attempt, ConsumeError> {
        let order_id = reported.facts.order_id;
        // A report for an order not visible yet is retried by SQS, then dead-lettered.
        let records = self
            .store
            .order_payments(order_id)
            .await
            .map_err(|e| ConsumeError::failed(&e))?
            .ok_or_else(|| ConsumeError::Failed(format!("order {order_id} not found")))?;
        let order = &records.order;
        let decision = order.decide_payment(&reported.report(), records.newest_checkout_session());
        match decision {
            PaymentDecision::Ignore(why) => Ok(Attempt::Done(Handled::Ignored(why.into()))),
            PaymentDecision::NotYet(what) => Err(ConsumeError::Failed(format!(
                "order {order_id}: waiting for {what}"
            ))),
            PaymentDecision::GiveBack { reason, record } => {
                self.give_back(event, reported, order, reason, record).await
            }
            PaymentDecision::Record {
                payment,
                trigger: Some(trigger),
            } => {
                self.move_order(event, reported, order, trigger, payment)
                    .await
            }
            PaymentDecision::Record {
                payment,
                trigger: None,
            } => self.record_payment(event, order, payment).await,
        }
    }

    /// The money recorded and the order moved along, in one change.
    async fn move_order(
        &self,
        event: &BusEvent,
        reported: &PaymentReported,
        order: &Order,
        trigger: OrderTrigger,
        payment: Payment,
    ) -> Result<Attempt, ConsumeError> {
        let to = order
            .state()
            .apply(trigger)
            .map_err(|e| ConsumeError::failed(&e))?;
        let change = StatusChange::new(order, to, trigger, &ACTOR, None, now())
            .applying(CONSUMER, &event.id)
            .with_payment(payment);
        match self.store.change_status(&change).await {
            Ok(()) => {
                tracing::info!(order_id = %order.id, trigger = trigger.as_str(), status = to.status.as_str(), payment_status = to.payment_status.as_str(), "order moved by its payment");
                Ok(Attempt::Done(Handled::Applied))
            }
            Err(ChangeError::AlreadyApplied) => Ok(Attempt::Done(Handled::Duplicate)),
            Err(ChangeError::Stale) => Ok(Attempt::Again),
            Err(ChangeError::OutOfStock) => {
                self.give_back(event, reported, order, GiveBackReason::StockGone, None)
                    .await
            }
            Err(ChangeError::Store(error)) => Err(ConsumeError::failed(&error)),
        }
    }

    /// The money recorded where the order's status stays as it is (a
    /// capture after shipment, a hold released on a cancelled order).
    async fn record_payment(
        &self,
        event: &BusEvent,
        order: &Order,
        payment: Payment,
    ) -> Result<Attempt, ConsumeError> {
        let change = PaymentChange {
            order_id: order.id,
            expected_version: order.version,
            payment,
            refund: None,
            event: None,
            applies: Some((CONSUMER.to_owned(), event.id.clone())),
            at: now(),
        };
        match self.store.change_payment(&change).await {
            Ok(()) => Ok(Attempt::Done(Handled::Applied)),
            Err(ChangeError::AlreadyApplied) => Ok(Attempt::Done(Handled::Duplicate)),
            Err(ChangeError::Stale | ChangeError::OutOfStock) => Ok(Attempt::Again),
            Err(ChangeError::Store(error)) => Err(ConsumeError::failed(&error)),
        }
    }

    /// Money the order cannot keep: `payment.refund_required` for
    /// payment-actions, recorded once per report, in the same change as
    /// `record` (the order's money as it now stands) when given.
    async fn give_back(
        &self,
        event: &BusEvent,
        reported: &PaymentReported,
        order: &Order,
        reason: GiveBackReason,
        record: Option<Payment>,
    ) -> Result<Attempt, ConsumeError> {
        let facts = &reported.facts;
        let settle = match reported.outcome {
            PaymentOutcome::Authorized => GiveBackBy::Void,
            _ => GiveBackBy::Refund,
        };
        tracing::warn!(order_id = %facts.order_id, payment_id = %facts.payment_id, reason = %reason.describe(), "money the order cannot keep: giving it back");
        let refund = OutboxEvent {
            id: ulid::Ulid::generate(),
            occurred_at: now(),
            event: DomainEvent::RefundRequired(RefundRequired {
                order_id: facts.order_id,
                payment_id: facts.payment_id.clone(),
                amount_minor: facts.amount_minor,
                currency: facts.currency.clone(),
                settle,
                reason: reason.describe(),
            }),
        };
        let applies = Some((CONSUMER.to_owned(), event.id.clone()));
        let written = match record {
            Some(payment) => {
                let change = PaymentChange {
                    order_id: order.id,
                    expected_version: order.version,
                    payment,
                    refund: None,
                    event: Some(refund),
                    applies,
                    at: now(),
                };
                self.store.change_payment(&change).await
            }
            None => self.store.record_event(&refund, applies).await,
        };
        match written {
            Ok(()) => Ok(Attempt::Done(Handled::Applied)),
            Err(ChangeError::AlreadyApplied) => Ok(Attempt::Done(Handled::Duplicate)),
            Err(ChangeError::Stale) => Ok(Attempt::Again),
            Err(error) => Err(ConsumeError::failed(&error)),
        }
    }
}
