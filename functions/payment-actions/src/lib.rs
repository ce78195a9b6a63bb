//! Carries out what order events ask of the payment provider, from its own
//! SQS queue:
//! - `order.payment_authorized` (capture on authorization) or a shipment,
//!   `order.partially_shipped` / `order.shipped` (capture on shipment; the
//!   first one captures): capture the authorized amount;
//! - `order.cancelled`: void the hold or refund what was taken, and cancel
//!   the order's other open payments and hosted pages so it cannot be paid;
//! - `payment.refund_required`: give back money an order cannot keep;
//! - `backorder.cancelled` carrying a refund: make the refund its
//!   cancellation held back on the order, and record Stripe's answer.
//!
//! Every call carries an idempotency key of its own, from the kind of call,
//! the order and its payment, and an event already carried out is never
//! carried out again. Stripe's answer is published as the matching
//! `payment.*` event, so the order's money is recorded even when Stripe's own
//! webhook is late or lost.
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use lambda_runtime::{Error, LambdaEvent};
use serde::Deserialize;
use shopflow_domain::events::{
    DomainEvent, GiveBackBy, PaymentFacts, PaymentReported, RefundRequired,
};
use shopflow_domain::{
    CapturePolicy, OrderId, OrderStatus, OrderTrigger, PaymentAttempt, PaymentOutcome,
    RefundStatus, Settlement,
};
use shopflow_dynamo::DynamoStore;
use shopflow_lambda_kit::config::{ConfigError, Env};
use shopflow_lambda_kit::consumer::{self, BusEvent, ConsumeError, Handled};
use shopflow_lambda_kit::function::{EventFunction, Function, Shared};
use shopflow_lambda_kit::{config, now, payments};
use shopflow_ports::Payments;
use shopflow_ports::{
    ChangeError, GatewayError, Intent, IntentStatus, OrderLifecycle, OrderPayments, OutboxEvent,
    PaymentChange, PaymentGateway, PaymentRecords, RefundRequest, answered_refund,
};

pub const CONSUMER: &str = "payment-actions";
/// Writes of a refund's answer when the order moved meanwhile.
const SETTLE_ATTEMPTS: u32 = 5;
/// Messages of one batch handled at once.
const CONCURRENCY: usize = 4;

pub struct App<S, G> {
    store: S,
    gateway: G,
    capture: CapturePolicy,
}

/// payment-actions as deployed: on the DynamoDB table and Stripe.
pub type Deployed = App<DynamoStore, Payments>;

impl Function for Deployed {
    const NAME: &'static str = "payment-actions";

    fn build(env: &Env, shared: &Shared) -> Result<Self, ConfigError> {
        Ok(Self::new(
            DynamoStore::from_config(&shared.aws.dynamodb, config::required(env, "TABLE_NAME")?),
            shopflow_stripe::setup::payments_from(env, shared.local_payments.as_ref())?,
            payments::capture_policy_from(env)?,
        ))
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

/// The part of an `order.*` change event this consumer reads.
#[derive(Debug, Deserialize)]
struct StatusChanged {
    order_id: OrderId,
    trigger: OrderTrigger,
}

/// What an event asks of the provider.
enum Action {
    /// Capture, if `trigger` is when this order's policy takes the money.
    Capture(OrderId, OrderTrigger),
    SettleCancelled(OrderId),
    GiveBack(RefundRequired),
    /// The refund a backorder's cancellation held back on its order.
    RefundBackorder(OrderId, String),
}

/// The part of `backorder.cancelled` this consumer reads.
#[derive(Debug, Deserialize)]
struct BackorderCancelled {
    order_id: OrderId,
    #[serde(default)]
    refund: Option<HeldRefund>,
}

#[derive(Debug, Deserialize)]
struct HeldRefund {
    refund_id: String,
}

fn failed(error: impl std::error::Error) -> ConsumeError {
    ConsumeError::failed(&error)
}

impl<S: OrderLifecycle + PaymentRecords, G: PaymentGateway> App<S, G> {
    pub fn new(store: S, gateway: G, capture: CapturePolicy) -> Self {
        Self {
            store,
            gateway,
            capture,
        }
    }

    pub async fn handle(&self, event: LambdaEvent<SqsEvent>) -> Result<SqsBatchResponse, Error> {
        Ok(consumer::consume_counted(
            CONSUMER,
            "PaymentActions",
            event.payload,
            CONCURRENCY,
            |event| self.apply(event),
        )
        .await)
    }

    pub async fn apply(&self, event: BusEvent) -> Result<Handled, ConsumeError> {
        let Some(action) = self.action_for(&event)? else {
            return Ok(Handled::Ignored(format!(
                "nothing to do for {}",
                event.detail_type
            )));
        };
        // Stripe forgets idempotency keys after 24 hours: an event redriven
        // later must not act twice, so what was done is looked up first.
        if self
            .store
            .has_applied(CONSUMER, &event.id)
            .await
            .map_err(failed)?
        {
            return Ok(Handled::Duplicate);
        }
        let report = match action {
            Action::RefundBackorder(order_id, refund_id) => {
                return self.refund_backorder(order_id, &refund_id, &event.id).await;
            }
            Action::Capture(order_id, trigger) => self.capture(order_id, trigger).await?,
            Action::SettleCancelled(order_id) => self.settle_cancelled(order_id).await?,
            Action::GiveBack(refund) => self.give_back(&refund).await?,
        };
        let Some(report) = report else {
            return Ok(Handled::Ignored("no money to act on now".into()));
        };
        let outcome = OutboxEvent {
            id: ulid::Ulid::generate(),
            occurred_at: now(),
            event: DomainEvent::PaymentReported(report),
        };
        match self
            .store
            .record_event(&outcome, Some((CONSUMER.to_owned(), event.id.clone())))
            .await
        {
            Ok(()) => Ok(Handled::Applied),
            Err(ChangeError::AlreadyApplied) => Ok(Handled::Duplicate),
            Err(error) => Err(failed(error)),
        }
    }

    fn action_for(&self, event: &BusEvent) -> Result<Option<Action>, ConsumeError> {
        let unreadable = |e: serde_json::Error| ConsumeError::Unreadable(e.to_string());
        if event.detail_type == "payment.refund_required" {
            let refund = serde_json::from_value(event.data.clone()).map_err(unreadable)?;
            return Ok(Some(Action::GiveBack(refund)));
        }
        if event.detail_type == "backorder.cancelled" {
            let cancelled: BackorderCancelled =
                serde_json::from_value(event.data.clone()).map_err(unreadable)?;
            return Ok(cancelled
                .refund
                .map(|held| Action::RefundBackorder(cancelled.order_id, held.refund_id)));
        }
        if !event.detail_type.starts_with("order.") {
            return Ok(None);
        }
        let change: StatusChanged =
            serde_json::from_value(event.data.clone()).map_err(unreadable)?;
        Ok(if change.trigger == OrderTrigger::Cancelled {
            Some(Action::SettleCancelled(change.order_id))
        } else if CapturePolicy::may_capture_after(change.trigger) {
            Some(Action::Capture(change.order_id, change.trigger))
        } else {
            None
        })
    }

    async fn order(&self, order_id: OrderId) -> Result<OrderPayments, ConsumeError> {
        self.store
            .order_payments(order_id)
            .await
            .map_err(failed)?
            .ok_or_else(|| ConsumeError::Failed(format!("order {order_id} not found")))
    }

    /// Takes the authorized amount, once, when `trigger` is when the policy
    /// (or the order's backorders) say so.
    async fn capture(
        &self,
        order_id: OrderId,
        trigger: OrderTrigger,
    ) -> Result<Option<PaymentReported>, ConsumeError> {
        let records = self.order(order_id).await?;
        if !records.order.is_captured_after(trigger, self.capture) {
            return Ok(None);
        }
        let payment = &records.order.payment;
        let (Some(intent_id), amount) = (&payment.intent_id, payment.capturable_minor()) else {
            return Ok(None);
        };
        // Nothing held, or the order was cancelled since: its hold is released instead.
        if amount == 0 || records.order.status == OrderStatus::Cancelled {
            return Ok(None);
        }
        let key = stripe_key("capture", order_id, intent_id);
        let answer = self.gateway.capture(intent_id, amount, &key).await;
        let intent = self.as_it_stands(intent_id, answer).await?;
        tracing::info!(%order_id, %intent_id, status = intent.status.as_str(), "capture asked");
        Ok(report_of(
            &intent,
            order_id,
            records.order.currency.as_str(),
        ))
    }

    /// A cancelled order's money goes back, and nothing can pay for it any more.
    async fn settle_cancelled(
        &self,
        order_id: OrderId,
    ) -> Result<Option<PaymentReported>, ConsumeError> {
        let records = self.order(order_id).await?;
        let order = &records.order;
        let currency = order.currency.as_str();
        let report = match order.payment.settlement_on_cancel() {
            Settlement::Void { intent_id } => {
                let key = stripe_key("void", order_id, &intent_id);
                let answer = self.gateway.cancel(&intent_id, &key).await;
                let intent = self.as_it_stands(&intent_id, answer).await?;
                report_of(&intent, order_id, currency)
            }
            Settlement::Refund { intent_id } => {
                // Everything not refunded yet: a staff refund still in flight
                // is refused by Stripe afterwards, never paid twice.
                let request = RefundRequest {
                    intent_id: intent_id.clone(),
                    amount_minor: None,
                    order_id,
                    refund_id: stripe_key("refund-cancelled", order_id, &intent_id),
                    reason: "the order was cancelled".into(),
                };
                self.refund_rest(&request, currency).await?
            }
            Settlement::Nothing => None,
        };
        self.close_other_ways_to_pay(&records).await?;
        Ok(report)
    }

    /// Cancels the order's payments that hold nothing and closes its open
    /// hosted pages; ones the provider already finished are left as they are.
    async fn close_other_ways_to_pay(&self, records: &OrderPayments) -> Result<(), ConsumeError> {
        let order_id = records.order.id;
        let bound = records.order.payment.intent_id.as_deref();
        for attempt in &records.attempts {
            let closed = match attempt {
                PaymentAttempt::Intent { intent_id, .. } if Some(intent_id.as_str()) != bound => {
                    let key = stripe_key("close", order_id, intent_id);
                    self.gateway.cancel(intent_id, &key).await.map(|_| ())
                }
                PaymentAttempt::CheckoutSession {
                    session_id,
                    expires_at,
                    ..
                } if *expires_at > now() => self.gateway.expire_checkout_session(session_id).await,
                _ => Ok(()),
            };
            match closed {
                Ok(()) => {}
                // Already finished at the provider (cancelled, paid, expired).
                Err(GatewayError::Rejected { status: 400, .. }) => {}
                Err(error) => return Err(failed(error)),
            }
        }
        Ok(())
    }

    /// Gives back money an order cannot keep, as the event says: once per
    /// payment, however often it is reported.
    async fn give_back(
        &self,
        refund: &RefundRequired,
    ) -> Result<Option<PaymentReported>, ConsumeError> {
        // The order may have taken this very payment since the give-back was
        // decided (a stale report racing the one that revived it): what the
        // order holds now is never given back.
        let records = self.order(refund.order_id).await?;
        if records.order.holds_payment(&refund.payment_id) {
            tracing::info!(order_id = %refund.order_id, payment_id = %refund.payment_id, "the order holds this payment now: nothing to give back");
            return Ok(None);
        }
        tracing::warn!(order_id = %refund.order_id, payment_id = %refund.payment_id, reason = %refund.reason, "giving money back");
        let refund_request = RefundRequest {
            intent_id: refund.payment_id.clone(),
            amount_minor: None,
            order_id: refund.order_id,
            refund_id: stripe_key("give-back-refund", refund.order_id, &refund.payment_id),
            reason: refund.reason.clone(),
        };
        if refund.settle == GiveBackBy::Refund {
            return self.refund_rest(&refund_request, &refund.currency).await;
        }
        let key = stripe_key("give-back-void", refund.order_id, &refund.payment_id);
        let answer = self.gateway.cancel(&refund.payment_id, &key).await;
        let intent = self.as_it_stands(&refund.payment_id, answer).await?;
        if intent.status == IntentStatus::Succeeded {
            // Taken after all, before it could be released: refund it instead.
            return self.refund_rest(&refund_request, &refund.currency).await;
        }
        Ok(report_of(&intent, refund.order_id, &refund.currency))
    }

    /// Asks Stripe for a refund held back on the order (the refund's id is
    /// the idempotency key) and records the answer with this event, once.
    /// Stripe unreachable: the message is retried, the refund stays pending.
    async fn refund_backorder(
        &self,
        order_id: OrderId,
        refund_id: &str,
        event_id: &str,
    ) -> Result<Handled, ConsumeError> {
        let records = self.order(order_id).await?;
        let Some(refund) = records.refund(refund_id).cloned() else {
            return Err(ConsumeError::Failed(format!(
                "order {order_id} holds no refund {refund_id}"
            )));
        };
        if refund.status != RefundStatus::Pending {
            return Ok(Handled::Duplicate);
        }
        let intent_id = records.order.payment.intent_id.clone().unwrap_or_default();
        let request = RefundRequest {
            intent_id: intent_id.clone(),
            amount_minor: Some(refund.amount_minor),
            order_id,
            refund_id: refund.id.clone(),
            reason: refund.reason.clone(),
        };
        let answer = self.gateway.refund(&request).await;
        if let Err(error @ GatewayError::Unavailable(_)) = &answer {
            return Err(failed(error.clone()));
        }
        let (refund, given) = answered_refund(refund, &answer);
        tracing::info!(%order_id, refund_id = %refund.id, status = ?refund.status, amount_minor = refund.amount_minor, "backorder refund settled");
        let mut order = records.order;
        for _ in 0..SETTLE_ATTEMPTS {
            let change =
                PaymentChange::settling(&order, &refund, &intent_id, given.as_ref(), now());
            let change = PaymentChange {
                applies: Some((CONSUMER.to_owned(), event_id.to_owned())),
                ..change
            };
            match self.store.change_payment(&change).await {
                Ok(()) => return Ok(Handled::Applied),
                Err(ChangeError::AlreadyApplied) => return Ok(Handled::Duplicate),
                Err(ChangeError::Stale | ChangeError::OutOfStock) => {
                    order = self.order(order_id).await?.order;
                }
                Err(ChangeError::Store(error)) => return Err(failed(error)),
            }
        }
        Err(ConsumeError::Failed(format!(
            "order {order_id} kept changing; refund {refund_id} settles on redelivery"
        )))
    }

    /// Refunds what is left of a payment, once per refund id; a payment with
    /// nothing left to refund is done already.
    async fn refund_rest(
        &self,
        request: &RefundRequest,
        currency: &str,
    ) -> Result<Option<PaymentReported>, ConsumeError> {
        match self.gateway.refund(request).await {
            Ok(given) => Ok(Some(PaymentReported::refunded(
                request.order_id,
                &request.intent_id,
                currency,
                given.refunded_in_total_minor,
                given.fully_refunded,
            ))),
            Err(error) if error.code() == Some("charge_already_refunded") => {
                tracing::info!(payment_id = %request.intent_id, "nothing left to refund");
                Ok(None)
            }
            Err(error) => Err(failed(error)),
        }
    }

    /// The payment after a capture or cancel: Stripe's answer, or, when it
    /// refused because the payment had moved on (a retry after Stripe forgot
    /// the key), the payment as Stripe has it now.
    async fn as_it_stands(
        &self,
        intent_id: &str,
        answer: Result<Intent, GatewayError>,
    ) -> Result<Intent, ConsumeError> {
        match answer {
            Ok(intent) => Ok(intent),
            Err(error) if error.code() == Some("payment_intent_unexpected_state") => {
                self.gateway.intent(intent_id).await.map_err(failed)
            }
            Err(error) => Err(failed(error)),
        }
    }
}

/// The idempotency key (or refund id) of one kind of Stripe call for one
/// order's payment. No two kinds of call share a key: Stripe answers a key
/// reused on another endpoint with `idempotency_error`, and one reused on the
/// same endpoint with the first call's saved answer, refusals included.
fn stripe_key(call: &str, order_id: OrderId, payment_id: &str) -> String {
    format!("{call}-{order_id}-{payment_id}")
}

/// The report a payment's state makes: captured, voided, or nothing yet.
fn report_of(intent: &Intent, order_id: OrderId, currency: &str) -> Option<PaymentReported> {
    let (outcome, amount) = match intent.status {
        IntentStatus::Succeeded => (PaymentOutcome::Captured, intent.amount_received_minor),
        IntentStatus::Canceled => (PaymentOutcome::Voided, 0),
        _ => return None,
    };
    Some(PaymentReported {
        outcome,
        facts: PaymentFacts::new(order_id, &intent.id, amount, currency),
    })
}
