//! Reading orders: one order by id (its owner or an admin), and the caller's
//! orders newest first with an opaque cursor.
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use lambda_http::http::StatusCode;
use lambda_http::{Body, Error, Request, Response};
use serde_json::json;
use shopflow_domain::OrderId;
use shopflow_lambda_kit::views::OrderView;
use shopflow_lambda_kit::{ApiError, Caller, config, http};
use shopflow_store::OrderReader;
use shopflow_store::dynamo::DynamoStore;
use tracing::Instrument;

pub const GET_ORDER: &str = "GET /v1/orders/{id}";
pub const LIST_ORDERS: &str = "GET /v1/orders";

const DEFAULT_PAGE: u16 = 20;
const MAX_PAGE: u16 = 100;

pub struct App<S> {
    store: S,
}

impl App<DynamoStore> {
    pub async fn from_env() -> Result<Self, Error> {
        let table = config::required(&config::ProcessEnv, "TABLE_NAME")?;
        Ok(Self::new(DynamoStore::from_env(table).await))
    }
}

impl<S: OrderReader> App<S> {
    pub fn new(store: S) -> Self {
        Self { store }
    }

    pub async fn handle(&self, request: Request) -> Result<Response<Body>, Error> {
        let span = tracing::info_span!("orders", request_id = %http::request_id(&request));
        let result = async {
            match http::route_key(&request).as_deref() {
                Some(GET_ORDER) => self.get_order(&request).await,
                Some(LIST_ORDERS) => self.list_orders(&request).await,
                _ => Err(ApiError::route_not_found()),
            }
        }
        .instrument(span)
        .await;
        Ok(result.unwrap_or_else(ApiError::into_response))
    }

    async fn get_order(&self, request: &Request) -> Result<Response<Body>, ApiError> {
        let caller = Caller::from_request(request)?;
        // A malformed id cannot name anyone's order: same answer as a missing one.
        let id: OrderId = http::path_param(request, "id")?
            .parse()
            .map_err(|_| ApiError::not_found("order"))?;
        match self.store.order(id).await? {
            Some(order) if caller.may_see(&order.customer_id) => Ok(http::json(
                StatusCode::OK,
                &json!({ "order": OrderView::from(&order) }),
            )),
            _ => Err(ApiError::not_found("order")),
        }
    }

    async fn list_orders(&self, request: &Request) -> Result<Response<Body>, ApiError> {
        let caller = Caller::from_request(request)?;
        let limit = match http::query_param(request, "limit") {
            None => DEFAULT_PAGE,
            Some(raw) => raw
                .parse::<u16>()
                .ok()
                .filter(|n| (1..=MAX_PAGE).contains(n))
                .ok_or_else(|| {
                    ApiError::invalid_field("limit", format!("must be between 1 and {MAX_PAGE}"))
                })?,
        };
        let after = http::query_param(request, "cursor")
            .map(|raw| decode_cursor(&raw))
            .transpose()?;
        let page = self
            .store
            .customer_orders(&caller.customer_id, after, limit)
            .await?;
        let orders: Vec<OrderView> = page.items.iter().map(OrderView::from).collect();
        Ok(http::json(
            StatusCode::OK,
            &json!({ "orders": orders, "next_cursor": page.next.map(encode_cursor) }),
        ))
    }
}

/// Cursors are opaque to clients: the last order id, base64url-encoded.
fn encode_cursor(last: OrderId) -> String {
    URL_SAFE_NO_PAD.encode(last.to_string())
}

fn decode_cursor(raw: &str) -> Result<OrderId, ApiError> {
    URL_SAFE_NO_PAD
        .decode(raw)
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .and_then(|text| text.parse().ok())
        .ok_or_else(|| ApiError::invalid_field("cursor", "is not a cursor this API returned"))
}
