//! `POST /v1/backorders/{id}/cancel`: the customer or staff take a
//! backorder's waiting units out of the queue. While the order keeps other
//! units, what the cancelled units cost (the domain's refund rule) is held
//! back on the order as a pending refund that payment-actions makes; when
//! it leaves the order nothing to deliver, the order itself is cancelled,
//! and its money goes back as any cancelled order's does.

use crate::App;
use crate::views::BackorderView;
use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use serde::Deserialize;
use serde_json::json;
use shopflow_domain::{Actor, Backorder, BackorderStatus, CancelRefund, Order, OrderTrigger};
use shopflow_lambda_kit::{ApiError, Caller, http, now};
use shopflow_ports::{
    AllocateError, BackorderCancellation, BackorderReader, BackorderStore, CancelBackorderError,
    ChangeError, InventoryStore, OrderLifecycle, StatusChange,
};

/// Attempts when the backorder, its order or its stock moved between read
/// and write.
const CANCEL_ATTEMPTS: u32 = 5;
const MAX_REASON_CHARS: usize = 500;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CancelBody {
    reason: String,
}

/// What a cancellation did.
struct Cancelled {
    backorder: Backorder,
    order: Order,
    refund: Option<(Option<String>, CancelRefund)>,
}

impl<S: BackorderReader + BackorderStore + InventoryStore + OrderLifecycle> App<S> {
    pub(crate) async fn cancel_backorder(
        &self,
        request: &Request,
    ) -> Result<Response<Body>, ApiError> {
        let caller = Caller::from_request(request)?;
        let body: CancelBody = http::json_body(request)?;
        let reason = body.reason.trim().to_owned();
        if reason.is_empty() || reason.chars().count() > MAX_REASON_CHARS {
            return Err(ApiError::invalid_field(
                "reason",
                format!("must be 1 to {MAX_REASON_CHARS} characters"),
            ));
        }
        let actor = if caller.is_admin {
            Actor::Admin(caller.customer_id.clone())
        } else {
            Actor::Customer(caller.customer_id.clone())
        };
        for _ in 0..CANCEL_ATTEMPTS {
            let backorder = self.visible_backorder(request, &caller).await?;
            match backorder.status {
                // Cancelling it again answers as it stands.
                BackorderStatus::Cancelled => return Ok(answer_replayed(&backorder)),
                BackorderStatus::Fulfilled => {
                    return Err(ApiError::new(
                        StatusCode::CONFLICT,
                        "backorder_fulfilled",
                        "every unit of this backorder is allocated: cancel the order instead",
                    ));
                }
                BackorderStatus::Pending | BackorderStatus::Partial => {}
            }
            let order = self
                .store
                .order(backorder.order_id)
                .await?
                .ok_or_else(|| ApiError::not_found("backorder"))?;
            if let Some(done) = self.try_cancel(&order, &backorder, &actor, &reason).await? {
                tracing::info!(
                    backorder_id = %backorder.id,
                    order_id = %order.id,
                    order_cancelled = done.order.status == shopflow_domain::OrderStatus::Cancelled,
                    "backorder cancelled"
                );
                return Ok(answer(&done));
            }
        }
        Err(ApiError::concurrent_update(
            "the backorder or its order is changing; retry",
        ))
    }

    /// One attempt; `None` when something moved since it was read.
    async fn try_cancel(
        &self,
        order: &Order,
        backorder: &Backorder,
        actor: &Actor,
        reason: &str,
    ) -> Result<Option<Cancelled>, ApiError> {
        let at = now();
        let part = match BackorderCancellation::new(order, backorder, actor, reason, at) {
            Ok(part) => part,
            // The order and the queue item were read apart: read again.
            Err(CancelBackorderError::NothingWaits) => return Ok(None),
            Err(error @ CancelBackorderError::NotPaid) => {
                return Err(ApiError::new(
                    StatusCode::CONFLICT,
                    "payment_not_captured",
                    error.to_string(),
                ));
            }
        };
        let Some(part) = part else {
            return self
                .cancel_whole_order(order, backorder, actor, reason)
                .await;
        };
        match self.store.cancel_backorder(&part).await {
            Ok(()) => Ok(Some(Cancelled {
                backorder: backorder.cancelled(),
                refund: part
                    .refund
                    .as_ref()
                    .map(|refund| (Some(refund.id.clone()), part.shares)),
                order: part.order,
            })),
            Err(AllocateError::Moved) => Ok(None),
            Err(AllocateError::Store(error)) => Err(error.into()),
        }
    }

    /// The backorder was all the order still had to deliver: the order is
    /// cancelled, its backorder leaving the queue with it.
    async fn cancel_whole_order(
        &self,
        order: &Order,
        backorder: &Backorder,
        actor: &Actor,
        reason: &str,
    ) -> Result<Option<Cancelled>, ApiError> {
        let to = order.check_cancel(actor, Some(reason))?;
        let why = format!("backorder cancelled: {reason}");
        let change = StatusChange::new(order, to, OrderTrigger::Cancelled, actor, Some(why), now());
        match self.store.change_status(&change).await {
            Ok(()) => {
                let shares = order
                    .lines
                    .iter()
                    .find(|line| line.backorder.is_some_and(|b| b.id == backorder.id))
                    .map(|line| order.refund_for_cancelled(line, backorder.open(), false));
                let mut after = order.clone();
                after.status = to.status;
                after.fulfillment_status = to.fulfillment_status;
                Ok(Some(Cancelled {
                    backorder: backorder.cancelled(),
                    order: after,
                    refund: shares.filter(|s| s.amount_minor > 0).map(|s| (None, s)),
                }))
            }
            Err(ChangeError::Stale | ChangeError::AlreadyApplied) => Ok(None),
            Err(ChangeError::OutOfStock) => Ok(None),
            Err(ChangeError::Store(error)) => Err(error.into()),
        }
    }
}

fn answer(done: &Cancelled) -> Response<Body> {
    let refund = done.refund.as_ref().map(|(id, shares)| {
        json!({
            "id": id,
            "amount_minor": shares.amount_minor,
            "goods_minor": shares.goods_minor,
            "tax_minor": shares.tax_minor,
            "shipping_minor": shares.shipping_minor,
            "currency": done.order.currency.as_str(),
            "status": "pending",
        })
    });
    http::json(
        StatusCode::OK,
        &json!({
            "backorder": BackorderView::from(&done.backorder),
            "order": {
                "id": done.order.id.to_string(),
                "status": done.order.status.as_str(),
                "fulfillment_status": done.order.fulfillment_status.as_str(),
                "backorder_status": done.order.backorder_state().as_str(),
            },
            "refund": refund,
        }),
    )
}

fn answer_replayed(backorder: &Backorder) -> Response<Body> {
    http::json(
        StatusCode::OK,
        &json!({ "backorder": BackorderView::from(backorder), "order": null, "refund": null }),
    )
}
