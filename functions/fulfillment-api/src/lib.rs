//! Shipments over HTTP:
//! - `POST /v1/orders/{id}/fulfillments` (staff, `Idempotency-Key`): units
//!   reserved for the order leave a warehouse under a carrier's tracking
//!   number, in one transaction with the stock and the order's goods;
//! - `GET /v1/shipments/{id}`, `GET /v1/shipments/{id}/events` and
//!   `GET /v1/orders/{id}/shipments` (the order's customer or staff).
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

mod views;

use lambda_http::http::StatusCode;
use lambda_http::{Body, Error, Request, Response};
use serde::Deserialize;
use serde_json::json;
use shopflow_domain::shipment::MAX_SHIPMENT_LINES;
use shopflow_domain::{
    Actor, Carrier, Journey, Order, ShipError, Shipment, ShipmentId, ShippedLine, TrackingNumber,
    WarehouseId,
};
use shopflow_dynamo::DynamoStore;
use shopflow_lambda_kit::config::{ConfigError, Env};
use shopflow_lambda_kit::function::{Function, HttpFunction, Shared};
use shopflow_lambda_kit::{ApiError, Caller, config, http, idempotency, integral, now};
use shopflow_ports::{FulfilError, Fulfilment, FulfilmentReceipt, ShipmentStore};
use tracing::Instrument;

pub const FULFIL: &str = "POST /v1/orders/{id}/fulfillments";
pub const SHIPMENT: &str = "GET /v1/shipments/{id}";
pub const SHIPMENT_EVENTS: &str = "GET /v1/shipments/{id}/events";
pub const ORDER_SHIPMENTS: &str = "GET /v1/orders/{id}/shipments";

/// The function's name, in its logs, metrics and the registry.
pub const FUNCTION: &str = "fulfillment-api";

/// Attempts at a fulfilment when the order moved between read and write.
const FULFIL_ATTEMPTS: u32 = 5;

pub struct App<S> {
    store: S,
    /// The shop's warehouses: a shipment leaves one of them.
    warehouses: Vec<WarehouseId>,
}

/// fulfillment-api as deployed: on the DynamoDB table.
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

impl<S: ShipmentStore> App<S> {
    pub fn new(store: S, warehouses: Vec<WarehouseId>) -> Self {
        Self { store, warehouses }
    }

    pub async fn handle(&self, request: Request) -> Result<Response<Body>, Error> {
        let span = tracing::info_span!(
            "fulfillment",
            request_id = %http::request_id(&request),
            order_id = tracing::field::Empty,
            shipment_id = tracing::field::Empty
        );
        let result = async {
            match http::route_key(&request).as_deref() {
                Some(FULFIL) => self.fulfil(&request).await,
                Some(SHIPMENT) => self.get_shipment(&request).await,
                Some(SHIPMENT_EVENTS) => self.shipment_events(&request).await,
                Some(ORDER_SHIPMENTS) => self.order_shipments(&request).await,
                _ => Err(ApiError::route_not_found()),
            }
        }
        .instrument(span)
        .await;
        Ok(http::answer(FUNCTION, result))
    }

    /// Ships units of the order in the path. A retry under the same key
    /// answers the shipment it made.
    async fn fulfil(&self, request: &Request) -> Result<Response<Body>, ApiError> {
        let caller = Caller::from_request(request)?;
        caller.require_admin()?;
        let key = idempotency::key(request, "fulfil", &caller)?;
        let fingerprint = idempotency::fingerprint(http::body_bytes(request)?);
        let asked = http::json_body::<FulfilmentBody>(request)?.validate(&self.warehouses)?;
        let order_id = http::order_id(request)?;
        tracing::Span::current().record("order_id", tracing::field::display(order_id));
        let actor = Actor::Admin(caller.customer_id.clone());
        for _ in 0..FULFIL_ATTEMPTS {
            if let Some(receipt) = self.store.fulfilment_receipt(&key).await? {
                idempotency::ensure_same_request(&receipt.fingerprint, &fingerprint)?;
                return self.replay(&receipt).await;
            }
            let order = self
                .store
                .order(order_id)
                .await?
                .ok_or_else(|| ApiError::not_found("order"))?;
            let shipping = order.ship(&asked.warehouse, &asked.lines)?;
            let shipment = asked.shipment_of(&order, &actor, now());
            let fulfilment = Fulfilment::new(
                &order,
                shipping,
                shipment,
                &actor,
                key.clone(),
                fingerprint.clone(),
            );
            match self.store.fulfil(&fulfilment).await {
                Ok(()) => {
                    let shipment = &fulfilment.shipment;
                    tracing::info!(
                        order_id = %order.id,
                        shipment_id = %shipment.id,
                        carrier = %shipment.carrier,
                        trigger = fulfilment.goods.trigger.as_str(),
                        "shipment created"
                    );
                    let mut written = fulfilment.order.clone();
                    written.version += 1;
                    return Ok(created(shipment, &written));
                }
                Err(FulfilError::OrderChanged | FulfilError::KeyTaken) => continue,
                Err(FulfilError::TrackingNumberTaken(number)) => {
                    return Err(ApiError::new(
                        StatusCode::CONFLICT,
                        "tracking_number_in_use",
                        format!("another shipment travels under {number}"),
                    )
                    .with_detail("tracking_number", number));
                }
                Err(FulfilError::StockMissing) => {
                    tracing::error!(order_id = %order.id, "the stock reserved for the order is not in its warehouse");
                    return Err(ApiError::new(
                        StatusCode::CONFLICT,
                        "stock_not_reserved",
                        "the warehouse does not hold the units reserved for this order",
                    ));
                }
                Err(FulfilError::Store(error)) => return Err(error.into()),
            }
        }
        Err(ApiError::concurrent_update("the order is changing; retry"))
    }

    /// The answer a fulfilment gave, for a retry under its key: read
    /// consistently under its order.
    async fn replay(&self, receipt: &FulfilmentReceipt) -> Result<Response<Body>, ApiError> {
        let shipment = self
            .store
            .order_shipments(receipt.order_id)
            .await?
            .into_iter()
            .find(|shipment| shipment.id == receipt.shipment_id);
        match (shipment, self.store.order(receipt.order_id).await?) {
            (Some(shipment), Some(order)) => Ok(idempotency::replayed(created(&shipment, &order))),
            _ => Err(ApiError::not_found("shipment")),
        }
    }

    /// The shipment in the path, if the caller may see it; otherwise 404,
    /// whether it exists or not.
    async fn visible_shipment(&self, request: &Request) -> Result<(Shipment, Caller), ApiError> {
        let caller = Caller::from_request(request)?;
        let id: ShipmentId = http::path_param(request, "id")?
            .parse()
            .map_err(|_| ApiError::not_found("shipment"))?;
        tracing::Span::current().record("shipment_id", tracing::field::display(id));
        match self.store.shipment(id).await? {
            Some(shipment) if caller.may_see(&shipment.customer_id) => Ok((shipment, caller)),
            _ => Err(ApiError::not_found("shipment")),
        }
    }

    async fn get_shipment(&self, request: &Request) -> Result<Response<Body>, ApiError> {
        let (shipment, _) = self.visible_shipment(request).await?;
        Ok(http::json(StatusCode::OK, &views::shipment(&shipment)))
    }

    async fn shipment_events(&self, request: &Request) -> Result<Response<Body>, ApiError> {
        let (shipment, caller) = self.visible_shipment(request).await?;
        Ok(http::json(
            StatusCode::OK,
            &json!({
                "shipment_id": shipment.id,
                "status": shipment.status(),
                "events": views::events(&shipment.journey, caller.is_admin),
            }),
        ))
    }

    async fn order_shipments(&self, request: &Request) -> Result<Response<Body>, ApiError> {
        let caller = Caller::from_request(request)?;
        let id = http::order_id(request)?;
        tracing::Span::current().record("order_id", tracing::field::display(id));
        let order = match self.store.order(id).await? {
            Some(order) if caller.may_see(&order.customer_id) => order,
            _ => return Err(ApiError::not_found("order")),
        };
        let shipments = self.store.order_shipments(order.id).await?;
        Ok(http::json(
            StatusCode::OK,
            &json!({
                "order_id": order.id,
                "fulfillment_status": order.fulfillment_status,
                "shipments": shipments.iter().map(views::shipment).collect::<Vec<_>>(),
            }),
        ))
    }
}

/// `201` with the shipment made and where the order's goods stand now.
fn created(shipment: &Shipment, order: &Order) -> Response<Body> {
    http::json(
        StatusCode::CREATED,
        &json!({
            "shipment": views::shipment(shipment),
            "order": views::order_goods(order),
        }),
    )
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FulfilmentBody {
    warehouse: String,
    carrier: String,
    tracking_number: String,
    lines: Vec<LineBody>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct LineBody {
    sku: String,
    #[serde(deserialize_with = "integral::i64")]
    quantity: i64,
}

/// A fulfilment request whose every field is valid.
struct Asked {
    warehouse: WarehouseId,
    carrier: Carrier,
    tracking_number: TrackingNumber,
    lines: Vec<ShippedLine>,
}

impl FulfilmentBody {
    fn validate(self, warehouses: &[WarehouseId]) -> Result<Asked, ApiError> {
        // A well-formed code the shop does not have is a rule broken, not
        // a malformed request.
        let warehouse = WarehouseId::parse(&self.warehouse)
            .ok()
            .filter(|warehouse| warehouses.contains(warehouse))
            .ok_or_else(|| {
                ApiError::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "unknown_warehouse",
                    format!("{} is not one of the shop's warehouses", self.warehouse),
                )
                .with_details(json!({ "field": "warehouse", "warehouses": warehouses }))
            })?;
        let carrier = Carrier::parse(&self.carrier).ok_or_else(|| {
            let known: Vec<&str> = Carrier::ALL.iter().map(|c| c.as_str()).collect();
            ApiError::invalid_field("carrier", format!("must be one of {}", known.join(", ")))
        })?;
        let tracking_number = TrackingNumber::parse(&self.tracking_number)?;
        if self.lines.len() > MAX_SHIPMENT_LINES {
            // Refused before each line is parsed, so a huge body costs nothing.
            return Err(ShipError::TooManyLines {
                max: MAX_SHIPMENT_LINES,
            }
            .into());
        }
        let lines = self
            .lines
            .into_iter()
            .enumerate()
            .map(|(index, line)| {
                let (sku, quantity) = http::line_of(index, &line.sku, line.quantity)?;
                Ok(ShippedLine { sku, quantity })
            })
            .collect::<Result<Vec<_>, ApiError>>()?;
        Ok(Asked {
            warehouse,
            carrier,
            tracking_number,
            lines,
        })
    }
}

impl Asked {
    /// The shipment these units of `order` leave in, made by `by` at `at`.
    fn shipment_of(&self, order: &Order, by: &Actor, at: shopflow_domain::Timestamp) -> Shipment {
        Shipment {
            id: ShipmentId::made_at(at),
            order_id: order.id,
            customer_id: order.customer_id.clone(),
            warehouse: self.warehouse.clone(),
            carrier: self.carrier,
            tracking_number: self.tracking_number.clone(),
            lines: self.lines.clone(),
            journey: Journey::default(),
            created_at: at,
            created_by: by.label(),
            version: 1,
        }
    }
}
