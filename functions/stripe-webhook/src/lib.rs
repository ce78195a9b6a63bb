//! `POST /v1/webhooks/stripe`: verifies Stripe's signature on the raw body,
//! records the event id (Stripe retries and may deliver twice or out of
//! order), and turns payment events into `payment.*` events on the bus
//! through the outbox. Answers fast; order-status moves the order.
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

pub mod signature;
pub mod stripe_events;

use lambda_http::http::StatusCode;
use lambda_http::{Body, Error, Request, Response};
use serde_json::json;
use shopflow_domain::events::DomainEvent;
use shopflow_lambda_kit::metrics::{self, Unit};
use shopflow_lambda_kit::{ApiError, config, http, now};
use shopflow_store::dynamo::DynamoStore;
use shopflow_store::{Delivery, OutboxEvent, WebhookInbox};
use stripe_events::{Meaning, StripeEvent};
use tracing::Instrument;
use ulid::Ulid;

pub const ROUTE: &str = "POST /v1/webhooks/stripe";
const PROVIDER: &str = "stripe";

pub struct App<S> {
    inbox: S,
    signing_secret: String,
}

impl App<DynamoStore> {
    pub async fn from_env() -> Result<Self, Error> {
        let table = config::required(&config::ProcessEnv, "TABLE_NAME")?;
        let secret = config::required(&config::ProcessEnv, "STRIPE_WEBHOOK_SECRET")?;
        Ok(Self::new(DynamoStore::from_env(table).await, secret))
    }
}

impl<S: WebhookInbox> App<S> {
    pub fn new(inbox: S, signing_secret: impl Into<String>) -> Self {
        Self {
            inbox,
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
            metrics::emit("stripe-webhook", &[("WebhookFailures", 1.0, Unit::Count)]);
        }
        Ok(result.unwrap_or_else(ApiError::into_response))
    }

    async fn receive(&self, request: &Request) -> Result<Response<Body>, ApiError> {
        let payload = http::body_bytes(request)?;
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
        let outbox = match event.meaning() {
            Meaning::Payment(payment) => {
                tracing::info!(order_id = %payment.order_id, detail_type = payment.outcome.detail_type(), "payment reported");
                Some(OutboxEvent {
                    id: Ulid::generate(),
                    occurred_at: now,
                    event: DomainEvent::PaymentReported(payment),
                })
            }
            Meaning::Ignored(why) => {
                tracing::info!(why, "webhook ignored");
                return Ok(acknowledged(false));
            }
        };
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

fn acknowledged(duplicate: bool) -> Response<Body> {
    http::json(
        StatusCode::OK,
        &json!({ "received": true, "duplicate": duplicate }),
    )
}
