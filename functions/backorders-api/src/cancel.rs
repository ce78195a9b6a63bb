//! `POST /v1/backorders/{id}/cancel`: the customer or staff take a
//! backorder's waiting units out of the queue (`ports::cancel_backorder`).
//! While the order keeps other units, what the cancelled units cost (the
//! domain's refund rule) is held back on the order as a pending refund that
//! payment-actions makes; when it leaves the order nothing to deliver, the
//! order itself is cancelled, and its money goes back as any cancelled
//! order's does.

use crate::App;
use crate::views::BackorderView;
use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use serde::Deserialize;
use serde_json::json;
use shopflow_domain::{Actor, Backorder, CancelRefund, Order};
use shopflow_lambda_kit::{ApiError, Caller, http, now};
use shopflow_ports::{
    BackorderReader, BackorderStore, CancelBackorderError, CancelFailure, CancelOutcome,
    InventoryStore, OrderLifecycle,
};

const MAX_REASON_CHARS: usize = 500;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CancelBody {
    reason: String,
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
        let backorder = self.visible_backorder(request, &caller).await?;
        let outcome =
            shopflow_ports::cancel_backorder(&self.store, &backorder, &actor, &reason, now())
                .await
                .map_err(refused)?;
        Ok(match outcome {
            // Cancelling it again answers as it stands.
            CancelOutcome::AlreadyCancelled(backorder) => http::json(
                StatusCode::OK,
                &json!({ "backorder": BackorderView::from(&backorder), "order": null, "refund": null }),
            ),
            CancelOutcome::Cancelled {
                backorder,
                order,
                refund,
            } => {
                tracing::info!(
                    backorder_id = %backorder.id,
                    order_id = %order.id,
                    order_status = order.status.as_str(),
                    refund_minor = refund.as_ref().map_or(0, |(_, shares)| shares.amount_minor),
                    "backorder cancelled"
                );
                answer(&backorder, &order, refund.as_ref())
            }
        })
    }
}

fn refused(failure: CancelFailure) -> ApiError {
    let message = failure.to_string();
    match failure {
        CancelFailure::Fulfilled => {
            ApiError::new(StatusCode::CONFLICT, "backorder_fulfilled", message)
        }
        CancelFailure::Refused(CancelBackorderError::NotPaid) => {
            ApiError::new(StatusCode::CONFLICT, "payment_not_captured", message)
        }
        CancelFailure::Refused(CancelBackorderError::NothingWaits) => {
            ApiError::new(StatusCode::CONFLICT, "backorder_fulfilled", message)
        }
        CancelFailure::Order(error) => error.into(),
        CancelFailure::KeptChanging => {
            ApiError::concurrent_update("the backorder or its order is changing; retry")
        }
        CancelFailure::Store(error) => error.into(),
    }
}

fn answer(
    backorder: &Backorder,
    order: &Order,
    refund: Option<&(Option<String>, CancelRefund)>,
) -> Response<Body> {
    let refund = refund.map(|(id, shares)| {
        json!({
            "id": id,
            "amount_minor": shares.amount_minor,
            "goods_minor": shares.goods_minor,
            "tax_minor": shares.tax_minor,
            "shipping_minor": shares.shipping_minor,
            "currency": order.currency.as_str(),
            "status": "pending",
        })
    });
    http::json(
        StatusCode::OK,
        &json!({
            "backorder": BackorderView::from(backorder),
            "order": {
                "id": order.id.to_string(),
                "status": order.status.as_str(),
                "fulfillment_status": order.fulfillment_status.as_str(),
                "backorder_status": order.backorder_state().as_str(),
            },
            "refund": refund,
        }),
    )
}
