//! Backorders for people: one by id with its allocations and its place in
//! the queue, a customer's or an order's, staff's list of any queue,
//! customer or order with filters, two sort orders and a cursor, and
//! cancelling one (see `cancel`); and staff's priority changes and
//! allocations by hand (see `admin`).
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

mod admin;
mod cancel;
mod views;

use lambda_http::http::StatusCode;
use lambda_http::{Body, Error, Request, Response};
use serde_json::json;
use shopflow_domain::{
    Backorder, BackorderFilter, BackorderId, BackorderSort, BackorderStatus, CustomerId, OrderId,
    Sku, WarehouseId, page_of, standing,
};
use shopflow_dynamo::DynamoStore;
use shopflow_lambda_kit::config::{ConfigError, Env};
use shopflow_lambda_kit::function::{Function, HttpFunction, Shared};
use shopflow_lambda_kit::{ApiError, Caller, config, http};
use shopflow_ports::{
    BackorderReader, BackorderScope, BackorderStore, InventoryStore, OrderLifecycle,
};
use tracing::Instrument;
use views::{BackorderView, DetailView};

pub const GET_BACKORDER: &str = "GET /v1/backorders/{id}";
pub const LIST_BACKORDERS: &str = "GET /v1/backorders";
pub const SEARCH_BACKORDERS: &str = "GET /v1/admin/backorders";
pub const CANCEL_BACKORDER: &str = "POST /v1/backorders/{id}/cancel";
pub const CHANGE_PRIORITY: &str = "PATCH /v1/admin/backorders/{id}";
pub const ALLOCATE_BY_HAND: &str = "POST /v1/admin/backorders/{id}/allocate";

const DEFAULT_PAGE: u16 = 20;
const MAX_PAGE: u16 = 100;

/// The function's name, in its logs, metrics and the registry.
pub const FUNCTION: &str = "backorders-api";

pub struct App<S> {
    store: S,
}

/// backorders-api as deployed: on the DynamoDB table.
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

impl<S: BackorderReader + BackorderStore + InventoryStore + OrderLifecycle> App<S> {
    pub fn new(store: S) -> Self {
        Self { store }
    }

    pub async fn handle(&self, request: Request) -> Result<Response<Body>, Error> {
        let span = tracing::info_span!(
            "backorders",
            request_id = %http::request_id(&request),
            backorder_id = tracing::field::Empty
        );
        let result = async {
            match http::route_key(&request).as_deref() {
                Some(GET_BACKORDER) => self.get_backorder(&request).await,
                Some(LIST_BACKORDERS) => self.list_backorders(&request).await,
                Some(SEARCH_BACKORDERS) => self.search_backorders(&request).await,
                Some(CANCEL_BACKORDER) => self.cancel_backorder(&request).await,
                Some(CHANGE_PRIORITY) => self.change_priority(&request).await,
                Some(ALLOCATE_BY_HAND) => self.allocate_by_hand(&request).await,
                _ => Err(ApiError::route_not_found()),
            }
        }
        .instrument(span)
        .await;
        Ok(http::answer(FUNCTION, result))
    }

    /// The backorder named in the path, if the caller may see it; otherwise
    /// 404, whether it exists or not (or could not, its id malformed).
    pub(crate) async fn visible_backorder(
        &self,
        request: &Request,
        caller: &Caller,
    ) -> Result<Backorder, ApiError> {
        let raw = http::path_param(request, "id")?;
        let id: BackorderId = raw.parse().map_err(|_| ApiError::not_found("backorder"))?;
        tracing::Span::current().record("backorder_id", tracing::field::display(id));
        match self.store.backorder(id).await? {
            Some(backorder) if caller.may_see(&backorder.customer_id) => Ok(backorder),
            _ => Err(ApiError::not_found("backorder")),
        }
    }

    /// One backorder with what was allocated to it, where it stands in its
    /// queue while it waits, and when its stock is expected.
    async fn get_backorder(&self, request: &Request) -> Result<Response<Body>, ApiError> {
        let caller = Caller::from_request(request)?;
        let backorder = self.visible_backorder(request, &caller).await?;
        let (allocations, priority_changes) = futures::future::try_join(
            self.store.allocations(backorder.id),
            self.store.priority_changes(backorder.id),
        )
        .await?;
        let standing = if backorder.status.is_open() {
            let queue = self
                .store
                .queue(&backorder.sku, &backorder.warehouse)
                .await?;
            standing(&queue.waiting, backorder.id)
        } else {
            None
        };
        Ok(http::json(
            StatusCode::OK,
            &json!({ "backorder": DetailView::new(&backorder, &allocations, &priority_changes, standing) }),
        ))
    }

    /// The backorders of one order (`?order=`) or one customer
    /// (`?customer=`, the caller when absent), newest first. Only staff may
    /// name another customer; another customer's order is 404.
    async fn list_backorders(&self, request: &Request) -> Result<Response<Body>, ApiError> {
        let caller = Caller::from_request(request)?;
        let customer = customer_param(request)?.unwrap_or_else(|| caller.customer_id.clone());
        if !caller.may_see(&customer) {
            return Err(ApiError::forbidden());
        }
        let scope = match order_param(request)? {
            Some(order_id) => {
                let order = match self.store.order(order_id).await? {
                    Some(order) if caller.may_see(&order.customer_id) => order,
                    _ => return Err(ApiError::not_found("order")),
                };
                BackorderScope::Order(order.customer_id, order.id)
            }
            None => BackorderScope::Customer(customer),
        };
        let mut backorders = self.store.backorders_in(&scope).await?;
        backorders.sort_by_key(|backorder| std::cmp::Reverse(backorder.id));
        let views: Vec<BackorderView> = backorders.iter().map(BackorderView::from).collect();
        Ok(http::json(StatusCode::OK, &json!({ "backorders": views })))
    }

    /// Staff's list: any queue, customer or order, filtered by status and
    /// creation window, in allocation or creation order, a page at a time.
    async fn search_backorders(&self, request: &Request) -> Result<Response<Body>, ApiError> {
        Caller::from_request(request)?.require_admin()?;
        let (from, to) = http::window_params(request)?;
        let filter = BackorderFilter {
            sku: http::query_param(request, "sku")
                .map(|raw| Sku::parse(&raw))
                .transpose()?,
            warehouse: http::query_param(request, "warehouse")
                .map(|raw| WarehouseId::parse(&raw))
                .transpose()?,
            status: http::query_param(request, "status")
                .map(|raw| {
                    BackorderStatus::parse(&raw).ok_or_else(|| {
                        ApiError::invalid_field(
                            "status",
                            "must be pending, partial, fulfilled or cancelled",
                        )
                    })
                })
                .transpose()?,
            customer: customer_param(request)?,
            order: order_param(request)?,
            from,
            to,
        };
        let sort = match http::query_param(request, "sort") {
            None => BackorderSort::default(),
            Some(raw) => BackorderSort::parse(&raw)
                .ok_or_else(|| ApiError::invalid_field("sort", "must be priority or created"))?,
        };
        let limit = usize::from(http::page_limit(request, DEFAULT_PAGE, MAX_PAGE)?);
        // A place this sort order made.
        let after = http::cursor_param(request)?
            .map(|place| {
                sort.is_place(&place)
                    .then_some(place)
                    .ok_or_else(http::invalid_cursor)
            })
            .transpose()?;
        let candidates = self.candidates(&filter).await?;
        let page = page_of(candidates, &filter, sort, after.as_deref(), limit);
        let views: Vec<BackorderView> = page.backorders.iter().map(BackorderView::from).collect();
        Ok(http::json(
            StatusCode::OK,
            &json!({
                "backorders": views,
                "next_cursor": page.next.as_deref().map(http::encode_cursor),
            }),
        ))
    }

    /// Every backorder the narrowest read the filter allows returns: an
    /// order's, a customer's, one queue, or a SKU's queues in every
    /// warehouse that holds it. There is no index over all backorders.
    async fn candidates(&self, filter: &BackorderFilter) -> Result<Vec<Backorder>, ApiError> {
        if let Some(order_id) = filter.order {
            return match self.store.order(order_id).await? {
                Some(order) => Ok(self
                    .store
                    .backorders_in(&BackorderScope::Order(order.customer_id, order.id))
                    .await?),
                None => Ok(Vec::new()),
            };
        }
        if let Some(customer) = &filter.customer {
            return Ok(self
                .store
                .backorders_in(&BackorderScope::Customer(customer.clone()))
                .await?);
        }
        let Some(sku) = &filter.sku else {
            return Err(ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "search_criteria_required",
                "a sku, a customer or an order is required: there is no index over all backorders",
            ));
        };
        let warehouses = match &filter.warehouse {
            Some(warehouse) => vec![warehouse.clone()],
            None => self
                .store
                .stock_levels(sku)
                .await?
                .into_iter()
                .map(|(warehouse, _)| warehouse)
                .collect(),
        };
        let queues = futures::future::try_join_all(warehouses.into_iter().map(|warehouse| {
            let scope = BackorderScope::Queue(sku.clone(), warehouse);
            async move { self.store.backorders_in(&scope).await }
        }))
        .await?;
        Ok(queues.into_iter().flatten().collect())
    }
}

fn customer_param(request: &Request) -> Result<Option<CustomerId>, ApiError> {
    http::query_param(request, "customer")
        .map(|raw| {
            CustomerId::parse(&raw)
                .map_err(|_| ApiError::invalid_field("customer", "must be a customer id"))
        })
        .transpose()
}

fn order_param(request: &Request) -> Result<Option<OrderId>, ApiError> {
    http::query_param(request, "order")
        .map(|raw| {
            raw.parse::<OrderId>()
                .map_err(|_| ApiError::invalid_field("order", "must be an order id (a ULID)"))
        })
        .transpose()
}
