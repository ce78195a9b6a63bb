//! `POST /v1/webhooks/stripe`: verifies Stripe's signature on the raw body,
//! records the event id (Stripe retries and may deliver twice or out of
//! order), and turns payment events into `payment.*` events on the bus
//! through the outbox. Answers fast; order-status moves the order. Only a
//! refunded charge or a completed hosted page that is not paid outright
//! makes it ask Stripe about the payment first.
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

pub mod stripe_events;

use lambda_http::http::StatusCode;
use lambda_http::{Body, Error, Request, Response};
use serde_json::json;
use shopflow_domain::events::DomainEvent;
use shopflow_dynamo::DynamoStore;
use shopflow_lambda_kit::config::{ConfigError, Env};
use shopflow_lambda_kit::function::{Function, HttpFunction, Shared};
use shopflow_lambda_kit::metrics::{self, Unit};
use shopflow_lambda_kit::{ApiError, config, http, now};
use shopflow_ports::Payments;
use shopflow_ports::{Delivery, GatewayError, OutboxEvent, PaymentGateway, WebhookInbox};
use shopflow_stripe::signature;
use stripe_events::{Meaning, StripeEvent};
use tracing::Instrument;
use ulid::Ulid;

pub const ROUTE: &str = "POST /v1/webhooks/stripe";
const PROVIDER: &str = "stripe";

/// Stripe's events carry whole objects (a Checkout Session with its line
/// items, a charge with its refunds) and can pass 64 KB; API Gateway allows
/// 10 MB. A megabyte holds any event Stripe sends for what shopflow handles.
pub const MAX_EVENT_BYTES: usize = 1024 * 1024;

/// The function's name, in its logs, metrics and the registry.
pub const FUNCTION: &str = "stripe-webhook";

pub struct App<S, G> {
    inbox: S,
    gateway: G,
    signing_secret: String,
}

/// stripe-webhook as deployed: on the DynamoDB table and Stripe.
pub type Deployed = App<DynamoStore, Payments>;

impl Function for Deployed {
    const NAME: &'static str = FUNCTION;

    fn build(env: &Env, shared: &Shared) -> Result<Self, ConfigError> {
        Ok(Self::new(
            DynamoStore::from_config(&shared.aws.dynamodb, config::required(env, "TABLE_NAME")?),
            shopflow_stripe::setup::payments_from(env, shared.local_payments.as_ref())?,
            config::required(env, "STRIPE_WEBHOOK_SECRET")?,
        ))
    }
}

impl HttpFunction for Deployed {
    fn serve(
        &self,
        request: Request,
    ) -> impl std::future::Future<Output = Result<Response<Body>, Error>> + Send {
        self.handle(request)
    }
}

impl<S: WebhookInbox, G: PaymentGateway> App<S, G> {
    pub fn new(inbox: S, gateway: G, signing_secret: impl Into<String>) -> Self {
        Self {
            inbox,
            gateway,
            signing_secret: signing_secret.into(),
        }
    }

    pub async fn handle(&self, request: Request) -> Result<Response<Body>, Error> {
        let span = tracing::info_span!(
            "stripe_webhook",
            request_id = %http::request_id(&request),
            event_id = tracing::field::Empty,
            event_type = tracing::field::Empty
        );
        let result = async {
            match http::route_key(&request).as_deref() {
                Some(ROUTE) => self.receive(&request).await,
                _ => Err(ApiError::route_not_found()),
            }
        }
        .instrument(span)
        .await;
        if result.is_err() {
            metrics::emit(FUNCTION, &[("WebhookFailures", 1.0, Unit::Count)]);
        }
        Ok(http::answer(FUNCTION, result))
    }

    async fn receive(&self, request: &Request) -> Result<Response<Body>, ApiError> {
        let payload = http::body_within(request, MAX_EVENT_BYTES)?;
        let header = request
            .headers()
            .get("stripe-signature")
            .and_then(|v| v.to_str().ok());
        let now = now();
        signature::verify(
            header,
            payload,
            self.signing_secret.as_bytes(),
            now.as_secs(),
        )
        .map_err(|error| {
            tracing::warn!(%error, "webhook refused");
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "invalid_signature",
                error.to_string(),
            )
        })?;
        let event: StripeEvent = serde_json::from_slice(payload)
            .map_err(|e| ApiError::invalid_field("body", format!("not a Stripe event: {e}")))?;
        tracing::Span::current().record("event_id", event.id.as_str());
        tracing::Span::current().record("event_type", event.kind.as_str());
        let reported = match event.meaning() {
            Meaning::Payment(payment) => Ok(payment),
            Meaning::Ignored(why) => Err(why),
            Meaning::AskStripe(lookup) => match self.gateway.intent(lookup.intent_id()).await {
                Ok(intent) => lookup.resolve(&intent),
                Err(GatewayError::Rejected { status: 404, .. }) => {
                    Err("Stripe knows no such payment: not a shopflow order's".into())
                }
                Err(error) => return Err(stripe_unreachable(error)),
            },
        };
        let payment = match reported {
            Ok(payment) => payment,
            Err(why) => {
                tracing::info!(why, "webhook ignored");
                return Ok(acknowledged(false));
            }
        };
        tracing::info!(order_id = %payment.facts.order_id, detail_type = payment.outcome.detail_type(), "payment reported");
        let outbox = Some(OutboxEvent {
            id: Ulid::generate(),
            occurred_at: now,
            event: DomainEvent::PaymentReported(payment),
        });
        match self
            .inbox
            .record_delivery(PROVIDER, &event.id, outbox.as_ref(), now)
            .await?
        {
            Delivery::Recorded => Ok(acknowledged(false)),
            Delivery::Duplicate => {
                tracing::info!("duplicate delivery");
                Ok(acknowledged(true))
            }
        }
    }
}

/// Stripe could not say what the event's payment is: answer 503 so that
/// Stripe delivers the event again later.
fn stripe_unreachable(error: GatewayError) -> ApiError {
    tracing::warn!(%error, "cannot look the payment up at Stripe; Stripe will redeliver");
    ApiError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "payment_provider_unavailable",
        "the payment this event names cannot be looked up now; deliver it again",
    )
}

fn acknowledged(duplicate: bool) -> Response<Body> {
    http::json(
        StatusCode::OK,
        &json!({ "received": true, "duplicate": duplicate }),
    )
}
