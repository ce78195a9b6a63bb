//! The one place errors become HTTP answers: a status and a problem-JSON body
//! `{"error": {"code", "message", "details"}}`. Internal details are logged,
//! never sent.

use lambda_http::http::StatusCode;
use lambda_http::{Body, Response};
use serde_json::{Value, json};
use shopflow_domain::ids::InvalidValue;
use shopflow_domain::invoice::InvoiceError;
use shopflow_domain::{CancelError, CheckoutError, MoneyError, ShipError, Shortage};
use shopflow_ports::{GatewayError, StoreError};

#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    pub details: Value,
    /// Seconds the caller should wait before trying again (`Retry-After`).
    pub retry_after_secs: Option<u64>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            details: Value::Null,
            retry_after_secs: None,
        }
    }

    /// `429 rate_limited`: the caller tried too often; `Retry-After` says
    /// when it may again.
    pub fn rate_limited(retry_after_secs: u64, message: impl Into<String>) -> Self {
        Self {
            retry_after_secs: Some(retry_after_secs),
            ..Self::new(StatusCode::TOO_MANY_REQUESTS, "rate_limited", message)
        }
        .with_detail("retry_after_secs", retry_after_secs)
    }

    pub fn with_details(mut self, details: Value) -> Self {
        self.details = details;
        self
    }

    /// A request field that is missing, malformed or out of range.
    pub fn invalid_field(field: &str, reason: impl Into<String>) -> Self {
        let reason = reason.into();
        Self::new(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            format!("{field}: {reason}"),
        )
        .with_details(json!({ "field": field, "reason": reason }))
    }

    pub fn not_found(what: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("{what} not found"),
        )
    }

    pub fn unauthenticated() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "unauthenticated",
            "a valid bearer token is required",
        )
    }

    pub fn forbidden() -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            "this operation needs the admin scope",
        )
    }

    /// The payment provider did not do what was asked: `503
    /// payment_provider_unavailable` when it may later, `502
    /// payment_provider_refused` (with its code) when it refused.
    pub fn payment_provider(error: &GatewayError, message: impl Into<String>) -> Self {
        tracing::error!(%error, "payment provider call failed");
        let (status, code) = match error {
            GatewayError::Unavailable(_) => (
                StatusCode::SERVICE_UNAVAILABLE,
                "payment_provider_unavailable",
            ),
            GatewayError::Rejected { .. } => (StatusCode::BAD_GATEWAY, "payment_provider_refused"),
        };
        Self::new(status, code, message).with_details(json!({ "provider_code": error.code() }))
    }

    /// Adds `name: value` to the details object.
    pub fn with_detail(mut self, name: &str, value: impl serde::Serialize) -> Self {
        if !self.details.is_object() {
            self.details = json!({});
        }
        if let (Some(details), Ok(value)) =
            (self.details.as_object_mut(), serde_json::to_value(value))
        {
            details.insert(name.to_owned(), value);
        }
        self
    }

    /// `409 concurrent_update`: the resource kept changing under the
    /// request's writes; retrying is safe.
    pub fn concurrent_update(message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, "concurrent_update", message)
    }

    pub fn route_not_found() -> Self {
        Self::new(StatusCode::NOT_FOUND, "route_not_found", "no such route")
    }

    pub fn into_response(self) -> Response<Body> {
        let body = json!({ "error": { "code": self.code, "message": self.message, "details": self.details } });
        let mut response = crate::http::json(self.status, &body);
        if let Some(secs) = self.retry_after_secs {
            response.headers_mut().insert(
                lambda_http::http::header::RETRY_AFTER,
                lambda_http::http::HeaderValue::from(secs),
            );
        }
        response
    }
}

impl From<InvalidValue> for ApiError {
    fn from(error: InvalidValue) -> Self {
        Self::invalid_field(error.field, error.reason)
    }
}

/// `error` with every cause it carries, outermost first: what a log line
/// needs to find the fault.
pub fn with_causes(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut cause = error.source();
    while let Some(inner) = cause {
        text.push_str(": ");
        text.push_str(&inner.to_string());
        cause = inner.source();
    }
    text
}

impl From<StoreError> for ApiError {
    /// Transient trouble is `503` (retry shortly); a defect or corrupt data
    /// is `500`, logged as an error with its causes (and counted by
    /// `http::answer`, which the function's alarm watches).
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::Unavailable(_) => {
                tracing::warn!(error = %error, "store unavailable; the caller may retry");
                Self::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "temporarily_unavailable",
                    "the service is temporarily unavailable; retry shortly",
                )
            }
            StoreError::Defect { .. } | StoreError::Corrupt { .. } => {
                tracing::error!(error = %with_causes(&error), "store defect");
                Self::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal_error",
                    "an internal error occurred",
                )
            }
        }
    }
}

impl From<CancelError> for ApiError {
    fn from(error: CancelError) -> Self {
        let message = error.to_string();
        match error {
            // A well-formed body; staff, unlike customers, must say why.
            CancelError::ReasonRequired => {
                ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "reason_required", message)
                    .with_detail("field", "reason")
            }
            CancelError::TooLateForCustomer(_) => {
                ApiError::new(StatusCode::CONFLICT, "too_late_to_cancel", message)
            }
            CancelError::Illegal(_) => {
                ApiError::new(StatusCode::CONFLICT, "illegal_transition", message)
            }
        }
    }
}

impl From<ShipError> for ApiError {
    /// A well-formed shipment the order cannot make: `409` when the units
    /// are not there to ship (with the figures), `422` when the request
    /// names what the order does not have.
    fn from(error: ShipError) -> Self {
        let message = error.to_string();
        match error {
            ShipError::NoLines | ShipError::TooManyLines { .. } => {
                Self::invalid_field("lines", message)
            }
            ShipError::DuplicateSku(sku) => {
                Self::new(StatusCode::UNPROCESSABLE_ENTITY, "duplicate_sku", message)
                    .with_details(json!({ "field": "lines", "sku": sku }))
            }
            ShipError::NotOnOrder(sku) => Self::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "sku_not_on_order",
                message,
            )
            .with_details(json!({ "field": "lines", "sku": sku })),
            ShipError::AwaitingStock {
                sku,
                warehouse,
                requested,
                reserved,
                waiting,
            } => Self::new(StatusCode::CONFLICT, "awaiting_backorder_stock", message).with_details(
                json!({
                    "sku": sku,
                    "warehouse": warehouse,
                    "requested": requested,
                    "reserved": reserved,
                    "awaiting_stock": waiting,
                }),
            ),
            ShipError::MoreThanReserved {
                sku,
                warehouse,
                requested,
                reserved,
            } => {
                Self::new(StatusCode::CONFLICT, "more_than_reserved", message).with_details(json!({
                    "sku": sku,
                    "warehouse": warehouse,
                    "requested": requested,
                    "reserved": reserved,
                }))
            }
            ShipError::NotShippable(illegal) => {
                Self::new(StatusCode::CONFLICT, "order_not_shippable", message)
                    .with_details(json!({ "from": illegal.from }))
            }
        }
    }
}

impl From<InvoiceError> for ApiError {
    /// An invoice that cannot take what was asked: `409` when its state
    /// refuses it (with the state or the figures), `422` when the amount or
    /// the method cannot be (with the figures).
    fn from(error: InvoiceError) -> Self {
        let message = error.to_string();
        let unprocessable =
            |code| Self::new(StatusCode::UNPROCESSABLE_ENTITY, code, message.clone());
        let conflict = |code| Self::new(StatusCode::CONFLICT, code, message.clone());
        match error {
            InvoiceError::InvalidNumber(_) => unprocessable("invalid_invoice_number"),
            InvoiceError::NothingAllocated => {
                Self::invalid_field("amount_minor", "must be more than 0")
            }
            InvoiceError::CardIsCaptured => Self::invalid_field("method", message),
            InvoiceError::ExceedsBalance {
                asked_minor,
                open_minor,
            } => unprocessable("allocation_exceeds_balance")
                .with_details(json!({ "amount_minor": asked_minor, "open_minor": open_minor })),
            InvoiceError::ExceedsPayment {
                asked_minor,
                unallocated_minor,
            } => unprocessable("allocation_exceeds_payment").with_details(
                json!({ "amount_minor": asked_minor, "unallocated_minor": unallocated_minor }),
            ),
            InvoiceError::ExceedsCreditable {
                asked_minor,
                creditable_minor,
            } => unprocessable("credit_exceeds_invoice").with_details(
                json!({ "amount_minor": asked_minor, "creditable_minor": creditable_minor }),
            ),
            InvoiceError::CurrencyMismatch { payment, invoice } => {
                unprocessable("currency_mismatch")
                    .with_details(json!({ "currency": payment, "invoice_currency": invoice }))
            }
            InvoiceError::NotDraft(status) => {
                conflict("invoice_not_draft").with_detail("status", status)
            }
            InvoiceError::NotOpen(status) => {
                conflict("invoice_not_open").with_detail("status", status)
            }
            InvoiceError::NotCreditable(status) => {
                conflict("invoice_not_creditable").with_detail("status", status)
            }
            InvoiceError::LineCount { .. } | InvoiceError::UnitsOutOfRange { .. } => {
                Self::invalid_field("lines", message)
            }
            InvoiceError::AmountOutOfRange { max_minor } => {
                unprocessable("amount_out_of_range").with_detail("max_minor", max_minor)
            }
            InvoiceError::NotVoidable(status) => {
                conflict("invoice_not_voidable").with_detail("status", status)
            }
            InvoiceError::MoneyAllocated {
                paid_minor,
                credited_minor,
            } => conflict("money_allocated").with_details(
                json!({ "paid_minor": paid_minor, "credited_minor": credited_minor }),
            ),
        }
    }
}

impl From<MoneyError> for ApiError {
    fn from(error: MoneyError) -> Self {
        Self::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_amount",
            error.to_string(),
        )
    }
}

impl From<CheckoutError> for ApiError {
    fn from(error: CheckoutError) -> Self {
        let message = error.to_string();
        let status = |status, code| Self::new(status, code, message.clone());
        match error {
            CheckoutError::EmptyCart | CheckoutError::TooManyLines { .. } => {
                Self::invalid_field("lines", message.clone())
            }
            // Each line is well formed: the cart breaks a rule, one line per SKU.
            CheckoutError::DuplicateSku(sku) => {
                status(StatusCode::UNPROCESSABLE_ENTITY, "duplicate_sku")
                    .with_details(json!({ "field": "lines", "sku": sku }))
            }
            CheckoutError::UnknownSkus(skus) => {
                status(StatusCode::UNPROCESSABLE_ENTITY, "unknown_sku")
                    .with_details(json!({ "skus": skus }))
            }
            CheckoutError::ProductsInactive(skus) => {
                status(StatusCode::UNPROCESSABLE_ENTITY, "product_unavailable")
                    .with_details(json!({ "skus": skus }))
            }
            CheckoutError::CurrencyMismatch {
                sku,
                product_currency,
            } => status(StatusCode::UNPROCESSABLE_ENTITY, "currency_mismatch")
                .with_details(json!({ "sku": sku, "product_currency": product_currency })),
            CheckoutError::TotalBelowMinimum { total, minimum } => {
                status(StatusCode::UNPROCESSABLE_ENTITY, "total_below_minimum")
                    .with_details(json!({ "total_minor": total, "minimum_minor": minimum }))
            }
            CheckoutError::TotalAboveMaximum { total, maximum } => {
                status(StatusCode::UNPROCESSABLE_ENTITY, "total_above_maximum")
                    .with_details(json!({ "total_minor": total, "maximum_minor": maximum }))
            }
            CheckoutError::OutOfStock(shortages) => {
                status(StatusCode::CONFLICT, "insufficient_stock")
                    .with_details(json!({ "lines": shortages_view(&shortages) }))
            }
            CheckoutError::BackorderLimit(shortages) => {
                status(StatusCode::CONFLICT, "backorder_limit_exceeded")
                    .with_details(json!({ "lines": shortages_view(&shortages) }))
            }
            CheckoutError::TooManyBackorders {
                lines,
                backordered,
                max,
            } => status(StatusCode::UNPROCESSABLE_ENTITY, "too_many_backorders").with_details(
                json!({ "field": "lines", "lines": lines, "backordered_lines": backordered, "max_lines_and_backorders": max }),
            ),
            CheckoutError::Money(error) => error.into(),
        }
    }
}

/// Each short line, with the backorder offered for it.
fn shortages_view(shortages: &[Shortage]) -> Value {
    shortages
        .iter()
        .map(|shortage| {
            let offer = &shortage.backorder;
            json!({
                "sku": shortage.sku,
                "requested": shortage.requested,
                "available": shortage.available,
                "backorder": {
                    "allowed": offer.allowed,
                    "warehouse": shortage.warehouse,
                    "remaining_capacity": offer.remaining_capacity,
                    "estimated_restock_date": offer
                        .allowed
                        .then(|| offer.estimated_restock.to_rfc3339()),
                },
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transient_storage_trouble_is_503_and_a_defect_is_500_with_its_causes() {
        let unavailable = ApiError::from(StoreError::Unavailable("throttled".into()));
        assert_eq!(unavailable.status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(unavailable.code, "temporarily_unavailable");

        let cause = std::io::Error::other("AccessDeniedException: not authorized");
        let defect = StoreError::Defect {
            what: "DynamoDB".into(),
            source: Box::new(cause),
        };
        assert_eq!(
            with_causes(&defect),
            "storage call refused (DynamoDB): a defect, not retried: AccessDeniedException: not authorized"
        );
        let answered = ApiError::from(defect);
        assert_eq!(answered.status, StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(answered.code, "internal_error");
        let corrupt = ApiError::from(StoreError::Corrupt {
            entity: "order",
            reason: "bad".into(),
        });
        assert_eq!(corrupt.status, StatusCode::INTERNAL_SERVER_ERROR);
    }
}
