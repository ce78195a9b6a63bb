//! `POST /v1/orders/{id}/refunds`: staff give back part or all of what was
//! captured. The amount is held back on the order first (so two refunds can
//! never both pass), then asked of Stripe with the refund's id as the
//! idempotency key, then settled on the order with the `payment.refunded`
//! event that moves its status. A retry with the same `Idempotency-Key`
//! answers the same refund, and finishes one Stripe did not answer.

use crate::App;
use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use serde::Deserialize;
use serde_json::json;
use shopflow_domain::{Order, Refund, RefundError, RefundStatus};
use shopflow_lambda_kit::views::PaymentView;
use shopflow_lambda_kit::{ApiError, Caller, http, idempotency, integral, now};
use shopflow_ports::{
    ChangeError, GatewayError, IdempotencyKey, PaymentChange, PaymentGateway, PaymentRecords,
    ProviderRefund, RefundRequest, RefundWrite, answered_refund,
};

/// Attempts at a write when the order moved between read and write.
const CHANGE_ATTEMPTS: u32 = 5;
const MAX_REASON_CHARS: usize = 500;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RefundBody {
    /// All that may still be refunded when absent.
    #[serde(default, deserialize_with = "integral::optional_i64")]
    amount_minor: Option<i64>,
    reason: String,
}

/// The refund's id: the same for every retry of one request, so the
/// retry finds it, and Stripe sees one idempotency key.
fn refund_id(order: &Order, key: &IdempotencyKey) -> String {
    let digest = idempotency::sha256_hex(format!("{}#{}#{}", order.id, key.scope, key.key));
    format!("rf_{}", &digest[..24])
}

impl<S: PaymentRecords, G: PaymentGateway> App<S, G> {
    pub(crate) async fn refund(&self, request: &Request) -> Result<Response<Body>, ApiError> {
        let caller = Caller::from_request(request)?;
        caller.require_admin()?;
        let key = idempotency::key(request, "refund", &caller)?;
        let fingerprint = idempotency::fingerprint(http::body_bytes(request)?);
        let body: RefundBody = http::json_body(request)?;
        let reason = body.reason.trim().to_owned();
        if reason.is_empty() || reason.chars().count() > MAX_REASON_CHARS {
            return Err(ApiError::invalid_field(
                "reason",
                format!("must be 1 to {MAX_REASON_CHARS} characters"),
            ));
        }
        if body.amount_minor.is_some_and(|amount| amount < 1) {
            return Err(ApiError::invalid_field(
                "amount_minor",
                "must be at least 1 minor unit",
            ));
        }
        for _ in 0..CHANGE_ATTEMPTS {
            let records = self.visible_order(request, &caller).await?;
            let id = refund_id(&records.order, &key);
            if let Some(known) = records.refund(&id) {
                idempotency::ensure_same_request(&known.request_fingerprint, &fingerprint)?;
                return match known.status {
                    RefundStatus::Pending => self.ask_stripe(&records.order, known.clone()).await,
                    _ => refund_answer(&records.order, known).map(idempotency::replayed),
                };
            }
            let order = &records.order;
            let amount = order
                .payment
                .check_refund(body.amount_minor)
                .map_err(refund_refused)?;
            let refund = Refund {
                id,
                amount_minor: amount,
                reason: reason.clone(),
                status: RefundStatus::Pending,
                provider_refund_id: None,
                failure: None,
                requested_by: caller.customer_id.to_string(),
                requested_at: now(),
                request_fingerprint: fingerprint.clone(),
            };
            let hold = PaymentChange {
                order_id: order.id,
                expected_version: order.version,
                payment: order.payment.with_refund_pending(amount),
                refund: Some(RefundWrite::New(refund.clone())),
                event: None,
                applies: None,
                at: refund.requested_at,
            };
            match self.store.change_payment(&hold).await {
                Ok(()) => return self.ask_stripe(order, refund).await,
                // Another refund or payment moved the order, or the same
                // request raced this one: read again and decide again.
                Err(ChangeError::Stale | ChangeError::AlreadyApplied | ChangeError::OutOfStock) => {
                    continue;
                }
                Err(ChangeError::Store(error)) => return Err(error.into()),
            }
        }
        Err(ApiError::concurrent_update(
            "the order's payment is changing; retry",
        ))
    }

    /// Asks Stripe for the held-back refund and settles the answer on the
    /// order. Without an answer the refund stays pending: the retry asks again.
    async fn ask_stripe(&self, order: &Order, refund: Refund) -> Result<Response<Body>, ApiError> {
        let intent_id = order.payment.intent_id.clone().unwrap_or_default();
        let request = RefundRequest {
            intent_id: intent_id.clone(),
            amount_minor: Some(refund.amount_minor),
            order_id: order.id,
            refund_id: refund.id.clone(),
            reason: refund.reason.clone(),
        };
        let answer = match self.gateway.refund(&request).await {
            Err(error @ GatewayError::Unavailable(_)) => {
                return Err(ApiError::payment_provider(
                    &error,
                    "the refund is recorded but Stripe did not answer; retry with the same Idempotency-Key",
                )
                .with_detail("refund_id", &refund.id));
            }
            answer => answer,
        };
        let (refund, settled) = self.settle(order, refund, &intent_id, answer).await?;
        refund_answer(&settled, &refund)
    }

    /// Records Stripe's answer: the refund succeeded (its amount now refunded,
    /// and `payment.refunded` published for order-status) or failed (its
    /// amount refundable again). Answers the refund and the order as settled.
    async fn settle(
        &self,
        placed: &Order,
        refund: Refund,
        intent_id: &str,
        answer: Result<ProviderRefund, GatewayError>,
    ) -> Result<(Refund, Order), ApiError> {
        let (refund, refunded) = answered_refund(refund, &answer);
        tracing::info!(refund_id = %refund.id, status = ?refund.status, amount_minor = refund.amount_minor, "refund settled");
        for _ in 0..CHANGE_ATTEMPTS {
            let order = self.records(placed.id).await?.order;
            let change =
                PaymentChange::settling(&order, &refund, intent_id, refunded.as_ref(), now());
            match self.store.change_payment(&change).await {
                Ok(()) => {
                    let settled = Order {
                        payment: change.payment,
                        version: order.version + 1,
                        ..order
                    };
                    return Ok((refund, settled));
                }
                Err(ChangeError::Stale) => continue,
                // A concurrent retry of the same request settled it first:
                // answer as it recorded.
                Err(ChangeError::AlreadyApplied) => {
                    let records = self.records(placed.id).await?;
                    let recorded = records.refund(&refund.id).cloned().unwrap_or(refund);
                    return Ok((recorded, records.order));
                }
                Err(error) => {
                    tracing::error!(%error, refund_id = %refund.id, "refund answered but not settled; it stays pending");
                    return Err(ApiError::new(
                        StatusCode::SERVICE_UNAVAILABLE,
                        "temporarily_unavailable",
                        "the refund went to Stripe but is not recorded yet; retry with the same Idempotency-Key",
                    ));
                }
            }
        }
        Err(ApiError::concurrent_update(
            "the order's payment is changing; retry with the same Idempotency-Key",
        ))
    }
}

fn refund_refused(error: RefundError) -> ApiError {
    let message = error.to_string();
    match error {
        RefundError::NothingCaptured => ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "nothing_to_refund",
            message,
        ),
        RefundError::NotPositive => ApiError::invalid_field("amount_minor", message),
        RefundError::ExceedsRefundable {
            requested,
            refundable,
            captured,
            refunded,
            pending,
        } => ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "refund_exceeds_captured",
            message,
        )
        .with_details(json!({
            "requested_minor": requested,
            "refundable_minor": refundable,
            "captured_minor": captured,
            "refunded_minor": refunded,
            "pending_minor": pending,
        })),
    }
}

pub(crate) fn refund_view(refund: &Refund) -> serde_json::Value {
    json!({
        "id": refund.id,
        "amount_minor": refund.amount_minor,
        "reason": refund.reason,
        "status": refund.status,
        "provider_refund_id": refund.provider_refund_id,
        "failure": refund.failure,
        "requested_by": refund.requested_by,
        "requested_at": refund.requested_at.to_rfc3339(),
    })
}

/// `201` with the refund, or the refusal a failed one was answered with.
fn refund_answer(order: &Order, refund: &Refund) -> Result<Response<Body>, ApiError> {
    if refund.status == RefundStatus::Failed {
        return Err(ApiError::new(
            StatusCode::BAD_GATEWAY,
            "payment_provider_refused",
            refund
                .failure
                .clone()
                .unwrap_or_else(|| "Stripe refused the refund".into()),
        )
        .with_detail("refund_id", &refund.id));
    }
    Ok(http::json(
        StatusCode::CREATED,
        &json!({
            "refund": refund_view(refund),
            "order_id": order.id,
            "payment": PaymentView::from(&order.payment),
        }),
    ))
}
