//! Staff's hands on one backorder: `PATCH /v1/admin/backorders/{id}` moves
//! it up or down its queue (its priority, with a reason, recorded), and
//! `POST /v1/admin/backorders/{id}/allocate` gives it units set aside for
//! its queue ahead of its turn (recorded as staff's allocation, with a
//! reason). Both decide on the order read consistently, whose lines say
//! exactly what the backorder still waits for.

use crate::App;
use crate::views::BackorderView;
use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use serde::Deserialize;
use serde_json::json;
use shopflow_domain::{Actor, Backorder, Order, standing};
use shopflow_lambda_kit::{ApiError, Caller, http, integral, now};
use shopflow_ports::{
    AllocateError, AllocationBatch, BackorderAllocation, BackorderReader, BackorderStore,
    InventoryStore, OrderLifecycle, Reprioritization,
};

/// Attempts when the backorder or its order moved between read and write.
const ATTEMPTS: u32 = 5;
const MAX_REASON_CHARS: usize = 500;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PriorityBody {
    #[serde(deserialize_with = "integral::i64")]
    priority: i64,
    reason: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AllocateBody {
    /// All it waits for when absent.
    #[serde(default, deserialize_with = "integral::optional_i64")]
    units: Option<i64>,
    reason: String,
}

fn reason_of(raw: &str) -> Result<String, ApiError> {
    let reason = raw.trim().to_owned();
    if reason.is_empty() || reason.chars().count() > MAX_REASON_CHARS {
        return Err(ApiError::invalid_field(
            "reason",
            format!("must be 1 to {MAX_REASON_CHARS} characters"),
        ));
    }
    Ok(reason)
}

fn closed(backorder: &Backorder) -> ApiError {
    ApiError::new(
        StatusCode::CONFLICT,
        "backorder_closed",
        format!(
            "the backorder is {}: it no longer waits",
            backorder.status.as_str()
        ),
    )
}

impl<S: BackorderReader + BackorderStore + InventoryStore + OrderLifecycle> App<S> {
    /// The backorder in the path (staff only) as its order, read
    /// consistently, has it, with that order.
    async fn as_its_order_has_it(
        &self,
        request: &Request,
        caller: &Caller,
    ) -> Result<(Backorder, Order), ApiError> {
        let found = self.visible_backorder(request, caller).await?;
        let order = self
            .store
            .orders_by_id(&[found.order_id])
            .await?
            .into_iter()
            .next()
            .ok_or_else(|| ApiError::not_found("backorder"))?;
        let backorder = order
            .backorders()
            .into_iter()
            .find(|b| b.id == found.id)
            .ok_or_else(|| ApiError::not_found("backorder"))?;
        if !order.status.is_open() {
            return Err(closed(&found.cancelled()));
        }
        Ok((backorder, order))
    }

    pub(crate) async fn change_priority(
        &self,
        request: &Request,
    ) -> Result<Response<Body>, ApiError> {
        let caller = Caller::from_request(request)?;
        caller.require_admin()?;
        let body: PriorityBody = http::json_body(request)?;
        let reason = reason_of(&body.reason)?;
        let priority = u8::try_from(body.priority)
            .map_err(|_| ApiError::invalid_field("priority", "must be 0 to 255"))?;
        let actor = Actor::Admin(caller.customer_id.clone());
        for _ in 0..ATTEMPTS {
            let (backorder, order) = self.as_its_order_has_it(request, &caller).await?;
            if !backorder.status.is_open() {
                return Err(closed(&backorder));
            }
            if backorder.priority == priority {
                return self.answer_with_place(&backorder).await;
            }
            let change =
                Reprioritization::new(&order, &backorder, priority, &actor, &reason, now())
                    .ok_or_else(|| ApiError::not_found("backorder"))?;
            match self.store.reprioritize(&change).await {
                Ok(()) => {
                    tracing::info!(
                        backorder_id = %backorder.id,
                        from = backorder.priority,
                        to = priority,
                        "backorder priority changed"
                    );
                    return self.answer_with_place(&change.after).await;
                }
                Err(AllocateError::Moved) => continue,
                Err(AllocateError::Store(error)) => return Err(error.into()),
            }
        }
        Err(ApiError::concurrent_update(
            "the backorder or its order is changing; retry",
        ))
    }

    pub(crate) async fn allocate_by_hand(
        &self,
        request: &Request,
    ) -> Result<Response<Body>, ApiError> {
        let caller = Caller::from_request(request)?;
        caller.require_admin()?;
        let body: AllocateBody = http::json_body(request)?;
        let reason = reason_of(&body.reason)?;
        let wanted = body
            .units
            .map(|units| {
                u32::try_from(units).map_err(|_| {
                    ApiError::invalid_field("units", format!("must be 1 to {}", u32::MAX))
                })
            })
            .transpose()?;
        let actor = Actor::Admin(caller.customer_id.clone());
        for _ in 0..ATTEMPTS {
            let (backorder, order) = self.as_its_order_has_it(request, &caller).await?;
            if !backorder.status.is_open() {
                return Err(closed(&backorder));
            }
            let units = wanted.unwrap_or(backorder.open());
            if units == 0 || units > backorder.open() {
                return Err(ApiError::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "units_exceed_waiting",
                    format!("units must be 1 to the {} it waits for", backorder.open()),
                )
                .with_details(json!({ "field": "units", "waiting": backorder.open() })));
            }
            let queue = self
                .store
                .queue(&backorder.sku, &backorder.warehouse)
                .await?;
            if queue.level.set_aside < units {
                return Err(ApiError::new(
                    StatusCode::CONFLICT,
                    "not_enough_set_aside",
                    format!(
                        "{} units are set aside for this queue; a restock or a release sets more aside",
                        queue.level.set_aside
                    ),
                )
                .with_details(json!({ "set_aside": queue.level.set_aside, "units": units })));
            }
            let allocation =
                BackorderAllocation::new(&backorder, units, &order, &actor, &reason, now())
                    .ok_or_else(|| ApiError::not_found("backorder"))?;
            let after = allocation.after();
            let batch = AllocationBatch {
                sku: backorder.sku.clone(),
                warehouse: backorder.warehouse.clone(),
                allocations: vec![allocation],
            };
            match self.store.allocate(&batch).await {
                Ok(()) => {
                    tracing::info!(backorder_id = %backorder.id, units, "backorder allocated by hand");
                    return Ok(http::json(
                        StatusCode::OK,
                        &json!({
                            "backorder": BackorderView::from(&after),
                            "units_allocated": units,
                            "set_aside_left": queue.level.set_aside - units,
                        }),
                    ));
                }
                Err(AllocateError::Moved) => continue,
                Err(AllocateError::Store(error)) => return Err(error.into()),
            }
        }
        Err(ApiError::concurrent_update(
            "the backorder or its queue is changing; retry",
        ))
    }

    /// The backorder with where it now stands in its queue.
    async fn answer_with_place(&self, backorder: &Backorder) -> Result<Response<Body>, ApiError> {
        let queue = self
            .store
            .queue(&backorder.sku, &backorder.warehouse)
            .await?;
        let place = standing(&queue.waiting, backorder.id);
        Ok(http::json(
            StatusCode::OK,
            &json!({
                "backorder": BackorderView::from(backorder),
                "queue_position": place.map(|p| p.position),
                "units_ahead": place.map(|p| p.units_ahead),
            }),
        ))
    }
}
