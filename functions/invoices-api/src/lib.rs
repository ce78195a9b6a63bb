//! Invoices over HTTP, for the invoice's customer or staff (anyone else's
//! invoice is `404`):
//! - `GET /v1/invoices/{id}`: one invoice or credit note, with where it
//!   stands now (`overdue` when it is past due and money is still owed);
//! - `GET /v1/orders/{id}/invoices`: the order's invoice, then its credit
//!   notes, oldest first.
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

use lambda_http::http::StatusCode;
use lambda_http::{Body, Error, Request, Response};
use serde_json::{Value, json};
use shopflow_domain::Timestamp;
use shopflow_domain::invoice::{Invoice, InvoiceId};
use shopflow_dynamo::DynamoStore;
use shopflow_lambda_kit::config::{ConfigError, Env};
use shopflow_lambda_kit::function::{Function, HttpFunction, Shared};
use shopflow_lambda_kit::{ApiError, Caller, config, http, now};
use shopflow_ports::{InvoiceStore, OrderReader};
use tracing::Instrument;

pub const INVOICE: &str = "GET /v1/invoices/{id}";
pub const ORDER_INVOICES: &str = "GET /v1/orders/{id}/invoices";

/// The function's name, in its logs, metrics and the registry.
pub const FUNCTION: &str = "invoices-api";

pub struct App<S> {
    store: S,
}

/// invoices-api as deployed: on the DynamoDB table.
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

impl<S: InvoiceStore + OrderReader> App<S> {
    pub fn new(store: S) -> Self {
        Self { store }
    }

    pub async fn handle(&self, request: Request) -> Result<Response<Body>, Error> {
        let span = tracing::info_span!(
            "invoices",
            request_id = %http::request_id(&request),
            order_id = tracing::field::Empty,
            invoice_id = tracing::field::Empty
        );
        let result = async {
            match http::route_key(&request).as_deref() {
                Some(INVOICE) => self.get_invoice(&request).await,
                Some(ORDER_INVOICES) => self.order_invoices(&request).await,
                _ => Err(ApiError::route_not_found()),
            }
        }
        .instrument(span)
        .await;
        Ok(http::answer(FUNCTION, result))
    }

    async fn get_invoice(&self, request: &Request) -> Result<Response<Body>, ApiError> {
        let caller = Caller::from_request(request)?;
        let id: InvoiceId = http::path_param(request, "id")?
            .parse()
            .map_err(|_| ApiError::not_found("invoice"))?;
        tracing::Span::current().record("invoice_id", tracing::field::display(id));
        match self.store.invoice(id).await? {
            Some(invoice) if caller.may_see(&invoice.customer_id) => {
                Ok(http::json(StatusCode::OK, &view(&invoice, now())))
            }
            _ => Err(ApiError::not_found("invoice")),
        }
    }

    async fn order_invoices(&self, request: &Request) -> Result<Response<Body>, ApiError> {
        let caller = Caller::from_request(request)?;
        let id = http::order_id(request)?;
        tracing::Span::current().record("order_id", tracing::field::display(id));
        let order = match self.store.order(id).await? {
            Some(order) if caller.may_see(&order.customer_id) => order,
            _ => return Err(ApiError::not_found("order")),
        };
        let at = now();
        let invoices: Vec<Value> = self
            .store
            .order_invoices(order.id)
            .await?
            .iter()
            .map(|invoice| view(invoice, at))
            .collect();
        Ok(http::json(
            StatusCode::OK,
            &json!({ "order_id": order.id, "invoices": invoices }),
        ))
    }
}

/// An invoice as its reader sees it at `at`.
pub fn view(invoice: &Invoice, at: Timestamp) -> Value {
    let totals = &invoice.totals;
    json!({
        "id": invoice.id,
        "kind": if invoice.is_credit_note() { "credit_note" } else { "invoice" },
        "number": invoice.number,
        "credits": invoice.credits,
        "status": invoice.standing(at),
        "order_id": invoice.order_id,
        "customer_id": invoice.customer_id,
        "currency": invoice.currency.as_str(),
        "seller": invoice.seller,
        "buyer": invoice.buyer,
        "lines": invoice.lines,
        "totals": {
            "subtotal_minor": totals.subtotal_minor,
            "tax_minor": totals.tax_minor,
            "shipping_minor": totals.shipping_minor,
            "total_minor": totals.total_minor,
        },
        "paid_minor": invoice.paid_minor,
        "open_minor": invoice.open_minor(),
        "created_at": invoice.created_at.to_rfc3339(),
        "issued_at": invoice.issued_at.map(Timestamp::to_rfc3339),
        "due_at": invoice.due_at.map(Timestamp::to_rfc3339),
    })
}
