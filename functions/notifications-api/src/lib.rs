//! A customer's email preferences over HTTP, their own only:
//! - `GET /v1/customers/me/notification-preferences`: what they are sent,
//!   everything on until they change it;
//! - `PUT /v1/customers/me/notification-preferences`: their choice of
//!   marketing-like mail (back in stock). Transactional mail (orders,
//!   payments, shipping, invoices) always goes and is not theirs to turn
//!   off;
//! - `GET /v1/admin/notifications?order=&customer=&status=&template=&cursor=&limit=`:
//!   staff's record of what was sent to whom, newest first.
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

use lambda_http::http::StatusCode;
use lambda_http::{Body, Error, Request, Response};
use serde::Deserialize;
use serde_json::{Value, json};
use shopflow_domain::notification::{
    MarketingChoices, Notification, NotificationPreferences, NotificationStatus, Template,
};
use shopflow_domain::{CustomerId, OrderId};
use shopflow_dynamo::DynamoStore;
use shopflow_lambda_kit::config::{ConfigError, Env};
use shopflow_lambda_kit::function::{Function, HttpFunction, Shared};
use shopflow_lambda_kit::{ApiError, Caller, config, http, now};
use shopflow_ports::{NotificationQuery, NotificationStore, PreferenceStore};
use tracing::Instrument;

pub const PREFERENCES: &str = "GET /v1/customers/me/notification-preferences";
pub const CHOOSE: &str = "PUT /v1/customers/me/notification-preferences";
pub const LIST: &str = "GET /v1/admin/notifications";

/// Notifications a page holds unless asked for fewer, and at most.
const DEFAULT_PAGE: u16 = 20;
const MAX_PAGE: u16 = 100;

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

impl<S: PreferenceStore + NotificationStore> App<S> {
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
                Some(LIST) => {
                    caller.require_admin()?;
                    self.list(&request).await
                }
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

impl<S: NotificationStore> App<S> {
    /// A page of notifications, newest first: about one order, one
    /// customer's or everyone's, of one status or template.
    async fn list(&self, request: &Request) -> Result<Response<Body>, ApiError> {
        let query = NotificationQuery {
            order: http::query_param(request, "order")
                .map(|raw| {
                    raw.parse::<OrderId>()
                        .map_err(|_| ApiError::invalid_field("order", "is not an order id"))
                })
                .transpose()?,
            customer: http::query_param(request, "customer")
                .map(|raw| CustomerId::parse(&raw))
                .transpose()?,
            status: http::query_param(request, "status")
                .map(|raw| {
                    NotificationStatus::parse(&raw).ok_or_else(|| {
                        ApiError::invalid_field("status", "is not a notification status")
                    })
                })
                .transpose()?,
            template: http::query_param(request, "template")
                .map(|raw| {
                    Template::parse(&raw)
                        .ok_or_else(|| ApiError::invalid_field("template", "is not a template"))
                })
                .transpose()?,
        };
        let limit = http::page_limit(request, DEFAULT_PAGE, MAX_PAGE)?;
        let below = http::cursor_param(request)?
            .map(|raw| {
                is_listing_key(&raw)
                    .then_some(raw)
                    .ok_or_else(http::invalid_cursor)
            })
            .transpose()?;
        let page = self
            .store
            .find_notifications(&query, below.as_deref(), limit)
            .await?;
        let notifications: Vec<Value> = page.items.iter().map(notification_view).collect();
        Ok(http::json(
            StatusCode::OK,
            &json!({
                "notifications": notifications,
                "next_cursor": page.next.map(|last| http::encode_cursor(&last)),
            }),
        ))
    }
}

/// Whether `raw` has the shape of a listing key this API hands out as a
/// cursor: when (15 digits), then the rest of the key.
fn is_listing_key(raw: &str) -> bool {
    raw.len() > 16
        && raw.as_bytes()[..15].iter().all(u8::is_ascii_digit)
        && raw.as_bytes()[15] == b'#'
}

fn notification_view(notification: &Notification) -> Value {
    json!({
        "event_id": notification.key.event_id,
        "template": notification.key.template,
        "to": notification.key.to,
        "order_id": notification.order_id,
        "customer_id": notification.customer_id,
        "status": notification.status,
        "created_at": notification.created_at.to_rfc3339(),
        "updated_at": notification.updated_at.to_rfc3339(),
        "attempts": notification.attempts,
        "message_id": notification.message_id,
        "detail": notification.detail,
    })
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
