//! A customer's email preferences over HTTP, their own only:
//! - `GET /v1/customers/me/notification-preferences`: what they are sent,
//!   everything on until they change it;
//! - `PUT /v1/customers/me/notification-preferences`: their choice of
//!   marketing-like mail (back in stock). Transactional mail (orders,
//!   payments, shipping, invoices) always goes and is not theirs to turn
//!   off.
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

use lambda_http::http::StatusCode;
use lambda_http::{Body, Error, Request, Response};
use serde::Deserialize;
use serde_json::{Value, json};
use shopflow_domain::CustomerId;
use shopflow_domain::notification::{MarketingChoices, NotificationPreferences};
use shopflow_dynamo::DynamoStore;
use shopflow_lambda_kit::config::{ConfigError, Env};
use shopflow_lambda_kit::function::{Function, HttpFunction, Shared};
use shopflow_lambda_kit::{ApiError, Caller, config, http, now};
use shopflow_ports::PreferenceStore;
use tracing::Instrument;

pub const PREFERENCES: &str = "GET /v1/customers/me/notification-preferences";
pub const CHOOSE: &str = "PUT /v1/customers/me/notification-preferences";

/// The function's name, in its logs, metrics and the registry.
pub const FUNCTION: &str = "notifications-api";

pub struct App<S> {
    store: S,
}

/// notifications-api as deployed: on the DynamoDB table.
pub type Deployed = App<DynamoStore>;

impl Function for Deployed {
    const NAME: &'static str = FUNCTION;

    fn build(env: &Env, shared: &Shared) -> Result<Self, ConfigError> {
        Ok(Self::new(DynamoStore::from_config(
            &shared.aws.dynamodb,
            config::required(env, "TABLE_NAME")?,
        )))
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

/// `PUT`'s body: the marketing-like mail the customer accepts.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ChoiceBody {
    marketing: MarketingBody,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct MarketingBody {
    back_in_stock: bool,
}

impl<S: PreferenceStore> App<S> {
    pub fn new(store: S) -> Self {
        Self { store }
    }

    pub async fn handle(&self, request: Request) -> Result<Response<Body>, Error> {
        let span = tracing::info_span!(
            "notification_preferences",
            request_id = %http::request_id(&request),
            customer_id = tracing::field::Empty
        );
        let result = async {
            let caller = Caller::from_request(&request)?;
            tracing::Span::current()
                .record("customer_id", tracing::field::display(&caller.customer_id));
            match http::route_key(&request).as_deref() {
                Some(PREFERENCES) => self.preferences(&caller.customer_id).await,
                Some(CHOOSE) => self.choose(&caller.customer_id, &request).await,
                _ => Err(ApiError::route_not_found()),
            }
        }
        .instrument(span)
        .await;
        Ok(http::answer(FUNCTION, result))
    }

    async fn preferences(&self, customer: &CustomerId) -> Result<Response<Body>, ApiError> {
        let preferences = self
            .store
            .notification_preferences(customer)
            .await?
            .unwrap_or_default();
        Ok(http::json(StatusCode::OK, &view(customer, &preferences)))
    }

    async fn choose(
        &self,
        customer: &CustomerId,
        request: &Request,
    ) -> Result<Response<Body>, ApiError> {
        let asked = http::json_body::<ChoiceBody>(request)?;
        let marketing = MarketingChoices {
            back_in_stock: asked.marketing.back_in_stock,
        };
        let chosen = NotificationPreferences::chosen(marketing, now());
        self.store
            .save_notification_preferences(customer, &chosen)
            .await?;
        tracing::info!(
            back_in_stock = chosen.marketing.back_in_stock,
            "notification preferences saved"
        );
        Ok(http::json(StatusCode::OK, &view(customer, &chosen)))
    }
}

/// The preferences as the customer reads them: transactional mail listed
/// as always sent.
fn view(customer: &CustomerId, preferences: &NotificationPreferences) -> Value {
    json!({
        "customer_id": customer,
        "transactional": { "orders": true, "payments": true, "shipping": true, "invoices": true },
        "marketing": { "back_in_stock": preferences.marketing.back_in_stock },
        "updated_at": preferences.updated_at.map(|at| at.to_rfc3339()),
    })
}
