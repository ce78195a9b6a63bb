//! The order's payments over HTTP:
//! - `POST /v1/orders/{id}/refunds` (staff): a full or partial refund of what
//!   was captured, idempotent per `Idempotency-Key`, recorded on the order;
//! - `POST /v1/orders/{id}/checkout-session` (owner or staff): a hosted
//!   Stripe Checkout page for an order that awaits payment;
//! - `GET /v1/orders/{id}/payments` (owner or staff): the order's money, the
//!   ways it was offered to be paid, and its refunds.
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

mod refunds;
mod sessions;

use lambda_http::http::StatusCode;
use lambda_http::{Body, Error, Request, Response};
use serde_json::json;
use shopflow_domain::{OrderId, PaymentAttempt};
use shopflow_dynamo::DynamoStore;
use shopflow_lambda_kit::config::{ConfigError, Env};
use shopflow_lambda_kit::function::{Function, HttpFunction, Shared};
use shopflow_lambda_kit::views::PaymentView;
use shopflow_lambda_kit::{ApiError, Caller, config, http};
use shopflow_ports::Payments;
use shopflow_ports::{OrderPayments, PaymentGateway, PaymentRecords};
use tracing::Instrument;

pub const REFUND: &str = "POST /v1/orders/{id}/refunds";
pub const CHECKOUT_SESSION: &str = "POST /v1/orders/{id}/checkout-session";
pub const PAYMENTS: &str = "GET /v1/orders/{id}/payments";

/// The function's name, in its logs, metrics and the registry.
pub const FUNCTION: &str = "payments-api";

pub struct App<S, G> {
    store: S,
    gateway: G,
}

/// payments-api as deployed: on the DynamoDB table and Stripe.
pub type Deployed = App<DynamoStore, Payments>;

impl Function for Deployed {
    const NAME: &'static str = FUNCTION;

    fn build(env: &Env, shared: &Shared) -> Result<Self, ConfigError> {
        Ok(Self::new(
            DynamoStore::from_config(&shared.aws.dynamodb, config::required(env, "TABLE_NAME")?),
            shopflow_stripe::setup::payments_from(env, shared.local_payments.as_ref())?,
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

impl<S: PaymentRecords, G: PaymentGateway> App<S, G> {
    pub fn new(store: S, gateway: G) -> Self {
        Self { store, gateway }
    }

    pub async fn handle(&self, request: Request) -> Result<Response<Body>, Error> {
        let span = tracing::info_span!(
            "payments",
            request_id = %http::request_id(&request),
            order_id = tracing::field::Empty
        );
        let result = async {
            match http::route_key(&request).as_deref() {
                Some(REFUND) => self.refund(&request).await,
                Some(CHECKOUT_SESSION) => self.checkout_session(&request).await,
                Some(PAYMENTS) => self.payments(&request).await,
                _ => Err(ApiError::route_not_found()),
            }
        }
        .instrument(span)
        .await;
        Ok(http::answer(FUNCTION, result))
    }

    /// The order in the path with its payment records, if the caller may
    /// see it; otherwise 404, whether it exists or not.
    async fn visible_order(
        &self,
        request: &Request,
        caller: &Caller,
    ) -> Result<OrderPayments, ApiError> {
        let id = http::order_id(request)?;
        tracing::Span::current().record("order_id", tracing::field::display(id));
        match self.records(id).await? {
            records if caller.may_see(&records.order.customer_id) => Ok(records),
            _ => Err(ApiError::not_found("order")),
        }
    }

    /// Order `id` with its payment records; 404 when there is no such order.
    async fn records(&self, id: OrderId) -> Result<OrderPayments, ApiError> {
        self.store
            .order_payments(id)
            .await?
            .ok_or_else(|| ApiError::not_found("order"))
    }

    async fn payments(&self, request: &Request) -> Result<Response<Body>, ApiError> {
        let caller = Caller::from_request(request)?;
        let records = self.visible_order(request, &caller).await?;
        let attempts: Vec<_> = records.attempts.iter().map(attempt_view).collect();
        let refunds: Vec<_> = records.refunds.iter().map(refunds::refund_view).collect();
        Ok(http::json(
            StatusCode::OK,
            &json!({
                "order_id": records.order.id,
                "currency": records.order.currency,
                "payment": PaymentView::from(&records.order.payment),
                "attempts": attempts,
                "refunds": refunds,
            }),
        ))
    }
}

fn attempt_view(attempt: &PaymentAttempt) -> serde_json::Value {
    match attempt {
        PaymentAttempt::Intent {
            intent_id,
            created_at,
        } => {
            json!({ "kind": "intent", "intent_id": intent_id, "created_at": created_at.to_rfc3339() })
        }
        PaymentAttempt::CheckoutSession {
            session_id,
            url,
            expires_at,
            created_at,
        } => json!({
            "kind": "checkout_session",
            "session_id": session_id,
            "url": url,
            "expires_at": expires_at.to_rfc3339(),
            "created_at": created_at.to_rfc3339(),
        }),
    }
}
