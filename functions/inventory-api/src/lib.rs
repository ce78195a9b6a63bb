//! The catalog and stock: products (admin), what a storefront shows of a
//! product's availability (public, cacheable), restocks, adjustments and
//! transfers (admin, once per Idempotency-Key), per-warehouse stock levels,
//! backorder settings and low-stock thresholds, the stock ledger, and
//! staff's request that a backorder queue be served now.
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

mod backorder_settings;
mod staff_moves;

use lambda_http::http::StatusCode;
use lambda_http::{Body, Error, Request, Response};
use serde::Deserialize;
use serde_json::json;
use shopflow_domain::availability::{Availability, BackorderOutlook, Shown};
use shopflow_domain::events::{AllocationRequested, DomainEvent};
use shopflow_domain::{
    Actor, Currency, LowStock, Money, MoveError, Movement, Product, Sku, StockLevel, StockMove,
    Timestamp, WarehouseId,
};
use shopflow_dynamo::DynamoStore;
use shopflow_lambda_kit::config::{ConfigError, Env};
use shopflow_lambda_kit::function::{Function, HttpFunction, Shared};
use shopflow_lambda_kit::{ApiError, Caller, config, http, idempotency, integral, now};
use shopflow_ports::{
    InventoryStore, MovementCursor, MovementQuery, OutboxEvent, SettingsRow, StaffMove, StaffMoved,
    StockLedger,
};
use tracing::Instrument;
use ulid::Ulid;

pub const PUT_PRODUCT: &str = "PUT /v1/products/{sku}";
pub const RESTOCK: &str = "POST /v1/inventory/{sku}/{warehouse}/restock";
pub const GET_STOCK: &str = "GET /v1/inventory/{sku}";
pub const GET_BACKORDER_SETTINGS: &str = "GET /v1/inventory/{sku}/{warehouse}/backorder-settings";
pub const PUT_BACKORDER_SETTINGS: &str = "PUT /v1/inventory/{sku}/{warehouse}/backorder-settings";
pub const PUT_BULK_BACKORDER_SETTINGS: &str = "PUT /v1/admin/backorder-settings";
pub const REQUEST_ALLOCATION: &str = "POST /v1/admin/backorders/allocate";
pub const LIST_MOVEMENTS: &str = "GET /v1/inventory/{sku}/movements";
pub const ADJUST: &str = "POST /v1/inventory/{sku}/{warehouse}/adjust";
pub const TRANSFER: &str = "POST /v1/inventory/{sku}/transfer";
pub const PUT_LOW_STOCK: &str = "PUT /v1/inventory/{sku}/{warehouse}/low-stock";
pub const GET_AVAILABILITY: &str = "GET /v1/products/{sku}/availability";

/// How long a storefront, a browser or a CDN may reuse an availability
/// answer: stock moves, but checkout decides, never this answer.
const AVAILABILITY_MAX_AGE_SECS: u32 = 15;

/// The highest low-stock threshold staff may set.
const MAX_LOW_STOCK: u32 = 1_000_000;

/// The function's name, in its logs, metrics and the registry.
pub const FUNCTION: &str = "inventory-api";

pub struct App<S> {
    store: S,
    /// The shop's warehouses: stock exists only in them.
    warehouses: Vec<WarehouseId>,
}

/// inventory-api as deployed: on the DynamoDB table.
pub type Deployed = App<DynamoStore>;

impl Function for Deployed {
    const NAME: &'static str = FUNCTION;

    fn build(env: &Env, shared: &Shared) -> Result<Self, ConfigError> {
        Ok(Self::new(
            DynamoStore::from_config(&shared.aws.dynamodb, config::required(env, "TABLE_NAME")?),
            config::list_or(env, "WAREHOUSES", "MAIN", WarehouseId::parse)?,
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

impl<S: InventoryStore + StockLedger> App<S> {
    pub fn new(store: S, warehouses: Vec<WarehouseId>) -> Self {
        Self { store, warehouses }
    }

    pub async fn handle(&self, request: Request) -> Result<Response<Body>, Error> {
        let span = tracing::info_span!("inventory", request_id = %http::request_id(&request));
        let result = async {
            match http::route_key(&request).as_deref() {
                Some(PUT_PRODUCT) => self.put_product(&request).await,
                Some(RESTOCK) => self.restock(&request).await,
                Some(ADJUST) => self.adjust(&request).await,
                Some(TRANSFER) => self.transfer(&request).await,
                Some(PUT_LOW_STOCK) => self.set_low_stock(&request).await,
                Some(GET_AVAILABILITY) => self.availability(&request).await,
                Some(GET_STOCK) => self.stock(&request).await,
                Some(GET_BACKORDER_SETTINGS) => self.backorder_settings(&request).await,
                Some(PUT_BACKORDER_SETTINGS) => self.save_backorder_settings(&request).await,
                Some(PUT_BULK_BACKORDER_SETTINGS) => {
                    self.save_bulk_backorder_settings(&request).await
                }
                Some(REQUEST_ALLOCATION) => self.request_allocation(&request).await,
                Some(LIST_MOVEMENTS) => self.movements(&request).await,
                _ => Err(ApiError::route_not_found()),
            }
        }
        .instrument(span)
        .await;
        Ok(http::answer(FUNCTION, result))
    }

    async fn put_product(&self, request: &Request) -> Result<Response<Body>, ApiError> {
        Caller::from_request(request)?.require_admin()?;
        let sku = Sku::parse(&http::path_param(request, "sku")?)?;
        let body: ProductBody = http::json_body(request)?;
        let product = body.into_product(sku)?;
        self.store.upsert_product(&product).await?;
        tracing::info!(sku = %product.sku, price_minor = product.price.minor, active = product.active, "product saved");
        Ok(http::json(
            StatusCode::OK,
            &json!({ "product": product_view(&product) }),
        ))
    }

    /// Adds received units, once per Idempotency-Key: a retry after a lost
    /// answer is answered as the first time, never counted twice.
    async fn restock(&self, request: &Request) -> Result<Response<Body>, ApiError> {
        let caller = Caller::from_request(request)?;
        caller.require_admin()?;
        let (sku, warehouse) = self.stock_path(request)?;
        let body: staff_moves::RestockBody = http::json_body(request)?;
        let received = body.received()?;
        let change = StockMove::Restock {
            warehouse,
            received,
        };
        self.make_staff_move(request, &caller, "restock", sku, change, None)
            .await
    }

    /// Corrects a warehouse's count by a signed number of units, for a
    /// reason: units found go to its backorder queue first, and only units
    /// nobody holds can be written off (`409` with the figures).
    async fn adjust(&self, request: &Request) -> Result<Response<Body>, ApiError> {
        let caller = Caller::from_request(request)?;
        caller.require_admin()?;
        let (sku, warehouse) = self.stock_path(request)?;
        let body: staff_moves::AdjustBody = http::json_body(request)?;
        let adjustment = body.into_adjustment()?;
        let change = StockMove::Adjust {
            warehouse,
            delta: adjustment.delta,
            reason: adjustment.reason,
        };
        self.make_staff_move(request, &caller, "adjust", sku, change, adjustment.note)
            .await
    }

    /// Moves units nobody holds from one warehouse to another in one
    /// transaction; the receiving warehouse's queue takes what it is owed.
    async fn transfer(&self, request: &Request) -> Result<Response<Body>, ApiError> {
        let caller = Caller::from_request(request)?;
        caller.require_admin()?;
        let sku = Sku::parse(&http::path_param(request, "sku")?)?;
        let body: staff_moves::TransferBody = http::json_body(request)?;
        let quantity = body.quantity()?;
        let from = WarehouseId::parse(&body.from)
            .map_err(|error| ApiError::invalid_field("from", error.to_string()))?;
        let to = WarehouseId::parse(&body.to)
            .map_err(|error| ApiError::invalid_field("to", error.to_string()))?;
        if from == to {
            return Err(staff_moves::refused(MoveError::SameWarehouse.into()));
        }
        let change = StockMove::Transfer {
            from: self.configured(from)?,
            to: self.configured(to)?,
            quantity,
        };
        self.make_staff_move(request, &caller, "transfer", sku, change, None)
            .await
    }

    /// Makes a staff move once per Idempotency-Key and answers with the
    /// level it left in each warehouse it touched.
    async fn make_staff_move(
        &self,
        request: &Request,
        caller: &Caller,
        operation: &str,
        sku: Sku,
        change: StockMove,
        note: Option<String>,
    ) -> Result<Response<Body>, ApiError> {
        let key = idempotency::key(request, operation, caller)?;
        // The path is part of the request: the same body for another SKU or
        // warehouse under the same key is another move.
        let mut fingerprint = sku.to_string();
        for warehouse in change.warehouses() {
            fingerprint.push('#');
            fingerprint.push_str(warehouse.as_str());
        }
        fingerprint.push('#');
        fingerprint.push_str(&idempotency::fingerprint(http::body_bytes(request)?));
        let staff_move = StaffMove {
            sku,
            change,
            note,
            by: caller.customer_id.clone(),
            key,
            fingerprint: idempotency::sha256_hex(fingerprint),
            event_id: Ulid::generate(),
            at: now(),
        };
        let outcome = self
            .store
            .staff_move(&staff_move)
            .await
            .map_err(staff_moves::refused)?;
        // A transfer names both ends; a restock or an adjustment its one
        // warehouse.
        let answer = |levels: &[(WarehouseId, StockLevel)]| {
            let mut views = levels
                .iter()
                .map(|(warehouse, level)| stock_view(warehouse, *level));
            let body = match staff_move.change {
                StockMove::Transfer { .. } => json!({
                    "sku": staff_move.sku, "from": views.next(), "to": views.next(),
                }),
                _ => json!({ "sku": staff_move.sku, "stock": views.next() }),
            };
            http::json(StatusCode::OK, &body)
        };
        Ok(match outcome {
            StaffMoved::Now(levels) => {
                tracing::info!(sku = %staff_move.sku, operation, change = ?staff_move.change, by = %caller.customer_id, event_id = %staff_move.event_id, levels = ?levels, "stock moved by staff");
                answer(&levels)
            }
            StaffMoved::Before(levels) => idempotency::replayed(answer(&levels)),
        })
    }

    async fn stock(&self, request: &Request) -> Result<Response<Body>, ApiError> {
        Caller::from_request(request)?;
        let sku = Sku::parse(&http::path_param(request, "sku")?)?;
        let levels = self.store.stock_levels(&sku).await?;
        if levels.is_empty() && self.store.product(&sku).await?.is_none() {
            return Err(ApiError::not_found("product"));
        }
        let warehouses: Vec<_> = levels
            .iter()
            .map(|(wh, level)| stock_view(wh, *level))
            .collect();
        // Each warehouse holds up to u32::MAX units; their sum may not fit in one.
        let total: u64 = levels
            .iter()
            .map(|(_, level)| u64::from(level.available()))
            .sum();
        Ok(http::json(
            StatusCode::OK,
            &json!({ "sku": sku, "available": total, "warehouses": warehouses }),
        ))
    }

    /// What a storefront shows, to anyone without a token: in stock or
    /// not, units capped for display, and backorders per warehouse and
    /// overall. One read; cacheable, with an ETag (`304` when unchanged).
    /// A SKU the shop does not sell (unknown or inactive) is `404`.
    async fn availability(&self, request: &Request) -> Result<Response<Body>, ApiError> {
        let sku = Sku::parse(&http::path_param(request, "sku")?)?;
        let (product, stocks) = self
            .store
            .storefront_stock(&sku, &self.warehouses)
            .await?
            .filter(|(product, _)| product.active)
            .ok_or_else(|| ApiError::not_found("product"))?;
        let today = now();
        let seen = Availability::of(&stocks, today);
        let warehouses: Vec<_> = seen
            .warehouses
            .iter()
            .map(|warehouse| {
                json!({
                    "warehouse": warehouse.warehouse,
                    "in_stock": warehouse.available.quantity > 0,
                    "available": shown_view(warehouse.available),
                    "backorder": outlook_view(&warehouse.backorder, today),
                })
            })
            .collect();
        Ok(http::cacheable(
            request,
            &json!({
                "sku": product.sku,
                "name": product.name,
                "in_stock": seen.in_stock,
                "available": shown_view(seen.available),
                "backorder": outlook_view(&seen.backorder, today),
                "warehouses": warehouses,
            }),
            AVAILABILITY_MAX_AGE_SECS,
        ))
    }

    async fn backorder_settings(&self, request: &Request) -> Result<Response<Body>, ApiError> {
        Caller::from_request(request)?.require_admin()?;
        let (sku, warehouse) = self.stock_path(request)?;
        let settings = self
            .store
            .backorder_settings(&sku, &warehouse)
            .await?
            .ok_or_else(|| ApiError::not_found("product"))?;
        Ok(backorder_settings::answer(&sku, &warehouse, &settings))
    }

    /// Sets (or, with `null`, clears) a warehouse's low-stock threshold:
    /// `inventory.low_stock` is raised once each time available units fall
    /// to it or below, this change included when the stock is low already.
    async fn set_low_stock(&self, request: &Request) -> Result<Response<Body>, ApiError> {
        let caller = Caller::from_request(request)?;
        caller.require_admin()?;
        let (sku, warehouse) = self.stock_path(request)?;
        let body: LowStockBody = http::json_body(request)?;
        let threshold = body.threshold()?;
        let level = self
            .store
            .set_low_stock(&sku, &warehouse, threshold, now())
            .await?
            .ok_or_else(|| ApiError::not_found("product"))?;
        tracing::info!(%sku, %warehouse, by = %caller.customer_id, threshold = ?threshold.map(|t| t.threshold), available = level.available(), "low-stock threshold set");
        Ok(http::json(
            StatusCode::OK,
            &json!({
                "sku": sku,
                "warehouse": warehouse,
                "low_stock": {
                    "threshold": threshold.map(|t| t.threshold),
                    "low": threshold.is_some_and(|t| t.is_low(level)),
                },
                "stock": stock_view(&warehouse, level),
            }),
        ))
    }

    /// Asks backorder-allocator to serve a queue now: what is set aside for
    /// it goes to its backorders in order. Answered before the allocation
    /// runs (`202`); the allocator's events and the queue show the outcome.
    async fn request_allocation(&self, request: &Request) -> Result<Response<Body>, ApiError> {
        let caller = Caller::from_request(request)?;
        caller.require_admin()?;
        let body: AllocationBody = http::json_body(request)?;
        let sku = Sku::parse(&body.sku)?;
        let warehouse = self.configured(WarehouseId::parse(&body.warehouse)?)?;
        self.store
            .backorder_settings(&sku, &warehouse)
            .await?
            .ok_or_else(|| ApiError::not_found("product"))?;
        let event = OutboxEvent {
            id: Ulid::generate(),
            occurred_at: now(),
            event: DomainEvent::AllocationRequested(AllocationRequested {
                sku: sku.clone(),
                warehouse: warehouse.clone(),
                requested_by: Actor::Admin(caller.customer_id.clone()).label(),
            }),
        };
        self.store.announce(&event).await?;
        tracing::info!(%sku, %warehouse, by = %caller.customer_id, event_id = %event.id, "allocation requested");
        Ok(http::json(
            StatusCode::ACCEPTED,
            &json!({ "allocation": {
                "sku": sku, "warehouse": warehouse, "status": "requested",
                "event_id": event.id.to_string(),
            } }),
        ))
    }

    async fn save_backorder_settings(&self, request: &Request) -> Result<Response<Body>, ApiError> {
        let caller = Caller::from_request(request)?;
        caller.require_admin()?;
        let (sku, warehouse) = self.stock_path(request)?;
        let body: backorder_settings::SettingsBody = http::json_body(request)?;
        let row = SettingsRow {
            sku,
            warehouse,
            settings: body.into_settings(now())?,
        };
        self.store
            .save_backorder_settings(std::slice::from_ref(&row))
            .await
            .map_err(|error| backorder_settings::refused(error, false))?;
        tracing::info!(sku = %row.sku, warehouse = %row.warehouse, by = %caller.customer_id, settings = ?row.settings, "backorder settings saved");
        Ok(backorder_settings::answer(
            &row.sku,
            &row.warehouse,
            &row.settings,
        ))
    }

    async fn save_bulk_backorder_settings(
        &self,
        request: &Request,
    ) -> Result<Response<Body>, ApiError> {
        let caller = Caller::from_request(request)?;
        caller.require_admin()?;
        let body: backorder_settings::BulkBody = http::json_body(request)?;
        let rows = body.into_rows(&self.warehouses, now())?;
        self.store
            .save_backorder_settings(&rows)
            .await
            .map_err(|error| backorder_settings::refused(error, true))?;
        tracing::info!(rows = rows.len(), by = %caller.customer_id, "backorder settings saved in bulk");
        let saved: Vec<_> = rows
            .iter()
            .map(|row| backorder_settings::view(&row.sku, &row.warehouse, &row.settings))
            .collect();
        Ok(http::json(
            StatusCode::OK,
            &json!({ "backorder_settings": saved }),
        ))
    }

    /// A page of a SKU's stock ledger, oldest first: each change of a
    /// warehouse's level with its cause, what it moved and the level after.
    async fn movements(&self, request: &Request) -> Result<Response<Body>, ApiError> {
        Caller::from_request(request)?.require_admin()?;
        let sku = Sku::parse(&http::path_param(request, "sku")?)?;
        let warehouse = http::query_param(request, "warehouse")
            .map(|raw| self.configured(WarehouseId::parse(&raw)?))
            .transpose()?;
        let (from, to) = http::window_params(request)?;
        let after = http::cursor_param(request)?
            .map(|raw| {
                MovementCursor::parse(&raw)
                    .filter(|cursor| from.is_none_or(|from| cursor.at >= from))
                    .filter(|cursor| to.is_none_or(|to| cursor.at <= to))
                    .ok_or_else(http::invalid_cursor)
            })
            .transpose()?;
        if self.store.product(&sku).await?.is_none() {
            return Err(ApiError::not_found("product"));
        }
        let query = MovementQuery {
            sku: sku.clone(),
            warehouse,
            from,
            to,
            after,
            limit: http::page_limit(request, 50, 200)?,
        };
        let page = self.store.movements(&query).await?;
        let movements: Vec<_> = page.items.iter().map(movement_view).collect();
        Ok(http::json(
            StatusCode::OK,
            &json!({
                "sku": sku,
                "movements": movements,
                "next_cursor": page.next.map(|next| http::encode_cursor(&next.encode())),
            }),
        ))
    }

    /// The SKU and warehouse a stock path names; a warehouse the shop does
    /// not have is `404`, as a product it does not sell is.
    fn stock_path(&self, request: &Request) -> Result<(Sku, WarehouseId), ApiError> {
        Ok((
            Sku::parse(&http::path_param(request, "sku")?)?,
            self.configured(WarehouseId::parse(&http::path_param(
                request,
                "warehouse",
            )?)?)?,
        ))
    }

    fn configured(&self, warehouse: WarehouseId) -> Result<WarehouseId, ApiError> {
        if self.warehouses.contains(&warehouse) {
            Ok(warehouse)
        } else {
            Err(ApiError::not_found("warehouse")
                .with_details(json!({ "warehouse": warehouse, "warehouses": self.warehouses })))
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct LowStockBody {
    /// Required, and `null` to clear.
    #[serde(deserialize_with = "integral::nullable_i64")]
    threshold: Option<i64>,
}

impl LowStockBody {
    fn threshold(&self) -> Result<Option<LowStock>, ApiError> {
        self.threshold
            .map(|raw| {
                u32::try_from(raw)
                    .ok()
                    .filter(|threshold| *threshold <= MAX_LOW_STOCK)
                    .map(|threshold| LowStock { threshold })
                    .ok_or_else(|| {
                        ApiError::invalid_field(
                            "threshold",
                            format!("must be between 0 and {MAX_LOW_STOCK}, or null"),
                        )
                    })
            })
            .transpose()
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AllocationBody {
    sku: String,
    warehouse: String,
}

fn stock_view(warehouse: &WarehouseId, level: StockLevel) -> serde_json::Value {
    json!({
        "warehouse": warehouse,
        "on_hand": level.on_hand,
        "reserved": level.reserved,
        "set_aside": level.set_aside,
        "backordered": level.backordered,
        "available": level.available(),
    })
}

fn shown_view(shown: Shown) -> serde_json::Value {
    json!({ "quantity": shown.quantity, "display": shown.display() })
}

fn outlook_view(outlook: &BackorderOutlook, today: Timestamp) -> serde_json::Value {
    json!({
        "allowed": outlook.allowed,
        "remaining_capacity": outlook.remaining_capacity,
        "estimated_restock_date": outlook.estimated_restock.map(|date| date.to_rfc3339()),
        "estimated_restock_days": outlook.days_until_restock(today),
    })
}

fn movement_view(movement: &Movement) -> serde_json::Value {
    let change = movement.change;
    json!({
        "warehouse": movement.warehouse,
        "version": movement.version,
        "cause": movement.note.cause.as_str(),
        "reference": movement.note.reference,
        "at": movement.note.at.to_rfc3339(),
        "change": {
            "on_hand": change.on_hand,
            "reserved": change.reserved,
            "set_aside": change.set_aside,
            "backordered": change.backordered,
            "available": change.available(),
        },
        "after": stock_view(&movement.warehouse, movement.after),
    })
}

fn product_view(product: &Product) -> serde_json::Value {
    json!({
        "sku": product.sku,
        "name": product.name,
        "price_minor": product.price.minor,
        "currency": product.price.currency,
        "active": product.active,
    })
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ProductBody {
    name: String,
    #[serde(deserialize_with = "integral::i64")]
    price_minor: i64,
    currency: String,
    active: bool,
}

impl ProductBody {
    fn into_product(self, sku: Sku) -> Result<Product, ApiError> {
        let name = self.name.trim();
        if name.is_empty() || name.chars().count() > Product::MAX_NAME_CHARS {
            return Err(ApiError::invalid_field(
                "name",
                format!("must be 1 to {} characters", Product::MAX_NAME_CHARS),
            ));
        }
        let currency = Currency::parse(&self.currency)
            .map_err(|e| ApiError::invalid_field("currency", e.to_string()))?;
        let price = Money::new(self.price_minor, currency)
            .map_err(|e| ApiError::invalid_field("price_minor", e.to_string()))?;
        Ok(Product {
            sku,
            name: name.to_owned(),
            price,
            active: self.active,
        })
    }
}
