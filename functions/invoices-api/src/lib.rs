//! Invoices over HTTP, for the invoice's customer or staff (anyone else's
//! invoice, and a draft to anyone but staff, is `404`):
//! - `GET /v1/invoices`: a page of invoices and credit notes, newest first,
//!   the caller's own or (staff) anyone's, by status, customer, order, when
//!   made, or whether overdue;
//! - `GET /v1/invoices/{id}`: one invoice or credit note, with where it
//!   stands now (`overdue` when it is past due and money is still owed);
//! - `GET /v1/orders/{id}/invoices`: the order's invoice, then its credit
//!   notes, oldest first;
//! - `POST /v1/invoices/{id}/payments` (staff, `Idempotency-Key`): money
//!   received outside the payment provider, allocated to the invoice;
//! - `POST /v1/payments` (staff, `Idempotency-Key`): one payment split
//!   across several invoices;
//! - `POST /v1/invoices/{id}/void` (staff): the invoice taken back, keeping
//!   its number, once no money allocated to it is held;
//! - `GET /v1/invoices/{id}/pdf`: `302` to a link to its PDF that works for
//!   5 minutes;
//! - staff billing outside checkout: `POST /v1/invoices` (`Idempotency-Key`)
//!   drafts a manual invoice, `PATCH /v1/invoices/{id}` changes it while it
//!   is a draft, `POST /v1/invoices/{id}/issue` numbers and issues it.
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

mod bill;
mod split;

use bill::{DraftChangeBody, NewDraftBody};
use lambda_http::http::StatusCode;
use lambda_http::{Body, Error, Request, Response};
use serde::Deserialize;
use serde_json::{Value, json};
use shopflow_domain::invoice::{
    Invoice, InvoiceError, InvoiceId, InvoiceStatus, PaymentMethod, PaymentRecord, Terms,
};
use shopflow_domain::{CustomerId, Timestamp};
use shopflow_dynamo::DynamoStore;
use shopflow_lambda_kit::config::{ConfigError, Env};
use shopflow_lambda_kit::function::{Function, HttpFunction, Shared};
use shopflow_lambda_kit::{ApiError, Caller, config, http, idempotency, integral, now};
use shopflow_ports::{
    DocumentLinks, DraftIssueError, InvoicePayment, InvoiceQuery, InvoiceReceipt, InvoiceStore,
    InvoiceVoid, InvoiceWriteError, InvoicingError, OrderReader, issue_draft,
};
use shopflow_signed_s3::SignedBucket;
use tracing::Instrument;

pub const INVOICES: &str = "GET /v1/invoices";
pub const NEW_DRAFT: &str = "POST /v1/invoices";
pub const CHANGE_DRAFT: &str = "PATCH /v1/invoices/{id}";
pub const ISSUE: &str = "POST /v1/invoices/{id}/issue";
pub const INVOICE: &str = "GET /v1/invoices/{id}";
pub const SPLIT_PAYMENT: &str = "POST /v1/payments";
pub const ORDER_INVOICES: &str = "GET /v1/orders/{id}/invoices";
pub const RECORD_PAYMENT: &str = "POST /v1/invoices/{id}/payments";
pub const VOID: &str = "POST /v1/invoices/{id}/void";
pub const PDF: &str = "GET /v1/invoices/{id}/pdf";

/// How long a PDF download link works.
pub const PDF_LINK_SECS: u64 = 300;

/// Attempts at a write when the invoice moved between read and write.
const WRITE_ATTEMPTS: u32 = 5;
const MAX_REFERENCE_CHARS: usize = 200;
const MAX_REASON_CHARS: usize = 500;

const DEFAULT_PAGE: u16 = 20;
const MAX_PAGE: u16 = 100;

/// The function's name, in its logs, metrics and the registry.
pub const FUNCTION: &str = "invoices-api";

pub struct App<S, D> {
    store: S,
    shelf: D,
    /// The seller printed on manual invoices, and when they fall due.
    terms: Terms,
}

/// invoices-api as deployed: the table and the documents bucket.
pub type Deployed = App<DynamoStore, SignedBucket>;

impl Function for Deployed {
    const NAME: &'static str = FUNCTION;

    fn build(env: &Env, shared: &Shared) -> Result<Self, ConfigError> {
        Ok(Self::new(
            DynamoStore::from_config(&shared.aws.dynamodb, config::required(env, "TABLE_NAME")?),
            SignedBucket::from_config(&shared.aws.s3, &config::required(env, "DOCUMENTS_BUCKET")?)
                .map_err(|error| ConfigError::Invalid {
                    name: "DOCUMENTS_BUCKET",
                    reason: error.to_string(),
                })?,
            config::invoice_terms(env)?,
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

impl<S: InvoiceStore + OrderReader, D: DocumentLinks> App<S, D> {
    pub fn new(store: S, shelf: D, terms: Terms) -> Self {
        Self {
            store,
            shelf,
            terms,
        }
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
                Some(INVOICES) => self.list(&request).await,
                Some(NEW_DRAFT) => self.new_draft(&request).await,
                Some(CHANGE_DRAFT) => self.change_draft(&request).await,
                Some(ISSUE) => self.issue(&request).await,
                Some(SPLIT_PAYMENT) => self.record_split_payment(&request).await,
                Some(INVOICE) => self.get_invoice(&request).await,
                Some(ORDER_INVOICES) => self.order_invoices(&request).await,
                Some(RECORD_PAYMENT) => self.record_payment(&request).await,
                Some(VOID) => self.void(&request).await,
                Some(PDF) => self.pdf(&request).await,
                _ => Err(ApiError::route_not_found()),
            }
        }
        .instrument(span)
        .await;
        Ok(http::answer(FUNCTION, result))
    }

    async fn get_invoice(&self, request: &Request) -> Result<Response<Body>, ApiError> {
        let caller = Caller::from_request(request)?;
        let invoice = self.visible_invoice(request, &caller).await?;
        Ok(http::json(StatusCode::OK, &view(&invoice, now())))
    }

    /// A link to the invoice's PDF as it stands (void once voided), valid
    /// for [`PDF_LINK_SECS`]: `302` to it, or `409 pdf_not_ready` while it
    /// is being rendered.
    async fn pdf(&self, request: &Request) -> Result<Response<Body>, ApiError> {
        let caller = Caller::from_request(request)?;
        let invoice = self.visible_invoice(request, &caller).await?;
        let key = invoice
            .rendition()
            .map(|rendition| rendition.key(invoice.id));
        let shelved = match &key {
            Some(key) => self.shelf.is_shelved(key).await?,
            None => false,
        };
        let Some(key) = key.filter(|_| shelved) else {
            let mut not_ready = ApiError::new(
                StatusCode::CONFLICT,
                "pdf_not_ready",
                "the invoice's PDF is being rendered; retry shortly",
            );
            not_ready.retry_after_secs = Some(5);
            return Err(not_ready);
        };
        let link = self.shelf.link(&key, PDF_LINK_SECS).await?;
        let mut response = Response::new(Body::Empty);
        *response.status_mut() = StatusCode::FOUND;
        let headers = response.headers_mut();
        let location = lambda_http::http::HeaderValue::from_str(&link).map_err(|_| {
            ApiError::from(shopflow_ports::StoreError::Corrupt {
                entity: "download link",
                reason: "not a header value".into(),
            })
        })?;
        headers.insert(lambda_http::http::header::LOCATION, location);
        headers.insert(
            lambda_http::http::header::CACHE_CONTROL,
            lambda_http::http::HeaderValue::from_static("no-store"),
        );
        Ok(response)
    }

    /// The invoice in the path, if `caller` may see it; otherwise 404,
    /// whether it exists or not.
    async fn visible_invoice(
        &self,
        request: &Request,
        caller: &Caller,
    ) -> Result<Invoice, ApiError> {
        let id: InvoiceId = http::path_param(request, "id")?
            .parse()
            .map_err(|_| ApiError::not_found("invoice"))?;
        tracing::Span::current().record("invoice_id", tracing::field::display(id));
        match self.store.invoice(id).await? {
            Some(invoice) if may_see(caller, &invoice) => Ok(invoice),
            _ => Err(ApiError::not_found("invoice")),
        }
    }

    /// A page of invoices and credit notes, newest first: the caller's own,
    /// or for staff anyone's (one customer's with `customer`), one order's
    /// with `order`, narrowed by `status`, `overdue` and when they were made.
    async fn list(&self, request: &Request) -> Result<Response<Body>, ApiError> {
        let caller = Caller::from_request(request)?;
        let customer = http::query_param(request, "customer")
            .map(|raw| CustomerId::parse(&raw))
            .transpose()?;
        let customer = if caller.is_admin {
            customer
        } else {
            // A customer lists their own; asking for anyone else's is 404.
            if customer
                .as_ref()
                .is_some_and(|asked| *asked != caller.customer_id)
            {
                return Err(ApiError::not_found("customer"));
            }
            Some(caller.customer_id.clone())
        };
        let status = http::query_param(request, "status")
            .map(|raw| parse_status(&raw))
            .transpose()?;
        let overdue = http::query_param(request, "overdue")
            .map(|raw| match raw.as_str() {
                "true" => Ok(true),
                "false" => Ok(false),
                _ => Err(ApiError::invalid_field("overdue", "must be true or false")),
            })
            .transpose()?;
        let (from, to) = http::window_params(request)?;
        let limit = http::page_limit(request, DEFAULT_PAGE, MAX_PAGE)?;
        let after = http::cursor_param(request)?
            .map(|raw| raw.parse::<InvoiceId>().map_err(|_| http::invalid_cursor()))
            .transpose()?;
        let at = now();
        let query = InvoiceQuery {
            customer,
            status,
            overdue,
            from,
            to,
            drafts: caller.is_admin,
            now: at,
        };
        let page = match http::query_param(request, "order") {
            Some(raw) => {
                let order = raw
                    .parse()
                    .map_err(|_| ApiError::invalid_field("order", "is not an order id"))?;
                // An order has an invoice and its credit notes: one page.
                let documents = self.store.order_invoices(order).await?;
                shopflow_ports::Page {
                    items: documents
                        .into_iter()
                        .filter(|invoice| query.admits(invoice))
                        .collect(),
                    next: None,
                }
            }
            None => self.store.find_invoices(&query, after, limit).await?,
        };
        let invoices: Vec<Value> = page.items.iter().map(|invoice| view(invoice, at)).collect();
        Ok(http::json(
            StatusCode::OK,
            &json!({
                "invoices": invoices,
                "next_cursor": page.next.map(|last| http::encode_cursor(&last.to_string())),
            }),
        ))
    }

    /// Staff draft an invoice billing a customer outside checkout: `201`
    /// with the draft, once per idempotency key.
    async fn new_draft(&self, request: &Request) -> Result<Response<Body>, ApiError> {
        let caller = Caller::from_request(request)?;
        caller.require_admin()?;
        let key = idempotency::key(request, "invoice-draft", &caller)?;
        let fingerprint = idempotency::fingerprint(http::body_bytes(request)?);
        let (customer, bill) = http::json_body::<NewDraftBody>(request)?.validate()?;
        for _ in 0..WRITE_ATTEMPTS {
            if let Some(receipt) = self.store.invoice_receipt(&key).await? {
                idempotency::ensure_same_request(&receipt.fingerprint, &fingerprint)?;
                let draft = self
                    .store
                    .invoice(receipt.invoice_id)
                    .await?
                    .ok_or_else(|| ApiError::not_found("invoice"))?;
                return Ok(idempotency::replayed(http::json(
                    StatusCode::CREATED,
                    &view(&draft, now()),
                )));
            }
            let at = now();
            let draft = Invoice::manual_draft(customer.clone(), &bill, &self.terms.seller, at)?;
            match self.store.create_draft(&draft, &key, &fingerprint).await {
                Ok(()) => {
                    tracing::info!(invoice_id = %draft.id, customer_id = %draft.customer_id, lines = draft.lines.len(), total_minor = draft.totals.total_minor, "invoice drafted");
                    let written = Invoice {
                        version: 1,
                        ..draft
                    };
                    return Ok(http::json(StatusCode::CREATED, &view(&written, at)));
                }
                // The key was used a moment ago: answer what it made.
                Err(InvoiceWriteError::Stale) => continue,
                Err(InvoiceWriteError::Store(error)) => return Err(error.into()),
            }
        }
        Err(ApiError::concurrent_update("the key is in use; retry"))
    }

    /// Staff change a manual invoice while it is a draft: what the body
    /// names is replaced, the rest stays.
    async fn change_draft(&self, request: &Request) -> Result<Response<Body>, ApiError> {
        let caller = Caller::from_request(request)?;
        caller.require_admin()?;
        let asked = http::json_body::<DraftChangeBody>(request)?;
        let id = http::path_param(request, "id")?;
        for _ in 0..WRITE_ATTEMPTS {
            let draft = self.visible_invoice(request, &caller).await?;
            let bill = draft
                .manual_bill()
                .filter(|_| draft.status == InvoiceStatus::Draft)
                .ok_or(InvoiceError::NotDraft(draft.status.as_str()))?;
            let changed = draft.redrafted(&asked.clone().applied_to(bill)?)?;
            match self.store.redraft(&changed).await {
                Ok(()) => {
                    tracing::info!(invoice_id = %id, lines = changed.lines.len(), total_minor = changed.totals.total_minor, "invoice draft changed");
                    let written = Invoice {
                        version: changed.version + 1,
                        ..changed
                    };
                    return Ok(http::json(StatusCode::OK, &view(&written, now())));
                }
                Err(InvoiceWriteError::Stale) => continue,
                Err(InvoiceWriteError::Store(error)) => return Err(error.into()),
            }
        }
        Err(ApiError::concurrent_update("the draft is changing; retry"))
    }

    /// Staff issue a manual draft under the next invoice number: `200` with
    /// the issued invoice; `409 invoice_not_draft` once it is issued.
    async fn issue(&self, request: &Request) -> Result<Response<Body>, ApiError> {
        let caller = Caller::from_request(request)?;
        caller.require_admin()?;
        for _ in 0..WRITE_ATTEMPTS {
            let draft = self.visible_invoice(request, &caller).await?;
            if draft.status != InvoiceStatus::Draft {
                return Err(InvoiceError::NotDraft(draft.status.as_str()).into());
            }
            let at = now();
            match issue_draft(&self.store, &draft, &self.terms, at).await {
                Ok(issued) => {
                    tracing::info!(invoice_id = %issued.id, number = ?issued.number, "manual invoice issued");
                    return Ok(http::json(StatusCode::OK, &view(&issued, at)));
                }
                Err(DraftIssueError::DraftChanged) => continue,
                Err(DraftIssueError::Invoicing(error)) => return Err(invoicing_problem(error)),
            }
        }
        Err(ApiError::concurrent_update("the draft is changing; retry"))
    }

    /// Staff record money received for the invoice in the path, outside
    /// the payment provider, allocated to it in full. A retry under the
    /// same key answers the payment it recorded.
    async fn record_payment(&self, request: &Request) -> Result<Response<Body>, ApiError> {
        let caller = Caller::from_request(request)?;
        caller.require_admin()?;
        let key = idempotency::key(request, "invoice-payment", &caller)?;
        let fingerprint = idempotency::fingerprint(http::body_bytes(request)?);
        let at = now();
        let asked = http::json_body::<PaymentBody>(request)?.validate(at)?;
        for _ in 0..WRITE_ATTEMPTS {
            if let Some(receipt) = self.store.invoice_receipt(&key).await? {
                idempotency::ensure_same_request(&receipt.fingerprint, &fingerprint)?;
                return self.replay_payment(&receipt).await;
            }
            let invoice = self.visible_invoice(request, &caller).await?;
            let received = asked.record_for(&invoice, at)?;
            let write =
                InvoicePayment::new(&invoice, &received, key.clone(), fingerprint.clone(), at)?;
            match self.store.record_invoice_payment(&write).await {
                Ok(()) => {
                    tracing::info!(
                        invoice_id = %invoice.id,
                        payment_id = %write.payment.id,
                        amount_minor = write.payment.amount_minor,
                        status = invoice.status.as_str(),
                        "payment recorded"
                    );
                    let paid = as_written(write.invoices);
                    let Some(paid) = paid.first() else {
                        return Err(ApiError::not_found("invoice"));
                    };
                    return Ok(payment_answer(StatusCode::CREATED, &write.payment, paid));
                }
                Err(InvoiceWriteError::Stale) => continue,
                Err(InvoiceWriteError::Store(error)) => return Err(error.into()),
            }
        }
        Err(ApiError::concurrent_update(
            "the invoice is changing; retry",
        ))
    }

    /// The answer a payment gave, for a retry under its key.
    async fn replay_payment(&self, receipt: &InvoiceReceipt) -> Result<Response<Body>, ApiError> {
        let Some(payment_id) = receipt.payment_id else {
            return Err(ApiError::not_found("payment"));
        };
        let payment = self.store.payment_record(payment_id).await?;
        let invoice = self.store.invoice(receipt.invoice_id).await?;
        match (payment, invoice) {
            (Some(payment), Some(invoice)) => Ok(idempotency::replayed(payment_answer(
                StatusCode::CREATED,
                &payment,
                &invoice,
            ))),
            _ => Err(ApiError::not_found("payment")),
        }
    }

    /// Staff void the invoice in the path, for a reason; it keeps its
    /// number. Refused while money allocated to it was not given back.
    async fn void(&self, request: &Request) -> Result<Response<Body>, ApiError> {
        let caller = Caller::from_request(request)?;
        caller.require_admin()?;
        let reason = http::json_body::<VoidBody>(request)?.reason()?;
        let by = format!("admin:{}", caller.customer_id);
        for _ in 0..WRITE_ATTEMPTS {
            let invoice = self.visible_invoice(request, &caller).await?;
            let credited_minor: i64 = self
                .store
                .credit_notes(&invoice)
                .await?
                .iter()
                .map(|note| -note.totals.total_minor)
                .sum();
            let at = now();
            let voided = invoice.voided(&reason, &by, credited_minor, at)?;
            let write = InvoiceVoid::new(voided, at);
            match self.store.void_invoice(&write).await {
                Ok(()) => {
                    tracing::info!(invoice_id = %invoice.id, reason = %reason, "invoice voided");
                    let written = Invoice {
                        version: write.invoice.version + 1,
                        ..write.invoice
                    };
                    return Ok(http::json(StatusCode::OK, &view(&written, at)));
                }
                Err(InvoiceWriteError::Stale) => continue,
                Err(InvoiceWriteError::Store(error)) => return Err(error.into()),
            }
        }
        Err(ApiError::concurrent_update(
            "the invoice is changing; retry",
        ))
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

/// Staff see every invoice; a customer sees their own once issued.
fn may_see(caller: &Caller, invoice: &Invoice) -> bool {
    caller.is_admin
        || (caller.may_see(&invoice.customer_id) && invoice.status != InvoiceStatus::Draft)
}

fn parse_status(raw: &str) -> Result<InvoiceStatus, ApiError> {
    [
        InvoiceStatus::Draft,
        InvoiceStatus::Issued,
        InvoiceStatus::PartiallyPaid,
        InvoiceStatus::Paid,
        InvoiceStatus::Void,
    ]
    .into_iter()
    .find(|status| status.as_str() == raw)
    .ok_or_else(|| {
        ApiError::invalid_field(
            "status",
            "must be draft, issued, partially_paid, paid or void",
        )
    })
}

/// Why an issue wrote nothing, as the API answers it.
fn invoicing_problem(error: InvoicingError) -> ApiError {
    match error {
        InvoicingError::Invoice(error) => error.into(),
        InvoicingError::Store(error) => error.into(),
        InvoicingError::KeptChanging(_) | InvoicingError::DraftChanged => {
            ApiError::concurrent_update("invoices are being issued; retry")
        }
        InvoicingError::NotInvoicedYet(order) => {
            ApiError::from(shopflow_ports::StoreError::Defect {
                what: "issuing a draft".into(),
                source: format!("a draft was taken for order {order}'s refunds").into(),
            })
        }
    }
}

/// `POST /v1/invoices/{id}/payments`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PaymentBody {
    method: String,
    #[serde(deserialize_with = "integral::i64")]
    amount_minor: i64,
    reference: String,
    /// When the money arrived (RFC 3339); now when absent.
    #[serde(default)]
    received_at: Option<String>,
}

impl PaymentBody {
    /// The payment asked for at `at`, every field valid: a method staff
    /// take by hand, a positive amount, a reference, received no later
    /// than now.
    fn validate(&self, at: Timestamp) -> Result<Received, ApiError> {
        let method = match self.method.as_str() {
            "bank_transfer" => PaymentMethod::BankTransfer,
            "cash" => PaymentMethod::Cash,
            "other" => PaymentMethod::Other,
            _ => {
                return Err(ApiError::invalid_field(
                    "method",
                    "must be bank_transfer, cash or other (card payments come from captures)",
                ));
            }
        };
        if self.amount_minor <= 0 {
            return Err(ApiError::invalid_field(
                "amount_minor",
                "must be more than 0",
            ));
        }
        let reference = self.reference.trim();
        if reference.is_empty() || reference.chars().count() > MAX_REFERENCE_CHARS {
            return Err(ApiError::invalid_field(
                "reference",
                format!("must be 1 to {MAX_REFERENCE_CHARS} characters"),
            ));
        }
        let received_at = match &self.received_at {
            None => at,
            Some(raw) => Timestamp::parse_rfc3339(raw).ok_or_else(|| {
                ApiError::invalid_field("received_at", "must be an RFC 3339 instant")
            })?,
        };
        if received_at > at {
            return Err(ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "received_in_the_future",
                "received_at: money cannot have arrived after now",
            )
            .with_detail("received_at", received_at.to_rfc3339()));
        }
        Ok(Received {
            method,
            amount_minor: self.amount_minor,
            reference: reference.to_owned(),
            received_at,
        })
    }
}

/// A manual payment whose every field is valid.
struct Received {
    method: PaymentMethod,
    amount_minor: i64,
    reference: String,
    received_at: Timestamp,
}

impl Received {
    /// The payment record, in `invoice`'s currency, made at `at`.
    fn record_for(&self, invoice: &Invoice, at: Timestamp) -> Result<PaymentRecord, ApiError> {
        Ok(PaymentRecord::received(
            shopflow_domain::ids::monotonic_ulid(at),
            self.method,
            self.amount_minor,
            invoice.currency.clone(),
            &self.reference,
            self.received_at,
        )?)
    }
}

/// `POST /v1/invoices/{id}/void`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct VoidBody {
    reason: String,
}

impl VoidBody {
    fn reason(&self) -> Result<String, ApiError> {
        let reason = self.reason.trim();
        if reason.is_empty() || reason.chars().count() > MAX_REASON_CHARS {
            return Err(ApiError::invalid_field(
                "reason",
                format!("must be 1 to {MAX_REASON_CHARS} characters"),
            ));
        }
        Ok(reason.to_owned())
    }
}

/// Invoices as a write left them: each one version on.
fn as_written(invoices: Vec<Invoice>) -> Vec<Invoice> {
    invoices
        .into_iter()
        .map(|invoice| Invoice {
            version: invoice.version + 1,
            ..invoice
        })
        .collect()
}

/// A recorded payment and the invoice it paid.
fn payment_answer(
    status: StatusCode,
    payment: &PaymentRecord,
    invoice: &Invoice,
) -> Response<Body> {
    http::json(
        status,
        &json!({
            "payment": payment_view(payment),
            "invoice": view(invoice, now()),
        }),
    )
}

/// A payment record: what came in, and where it went.
fn payment_view(payment: &PaymentRecord) -> Value {
    json!({
        "id": payment.id,
        "method": payment.method,
        "amount_minor": payment.amount_minor,
        "currency": payment.currency.as_str(),
        "reference": payment.reference,
        "received_at": payment.received_at.to_rfc3339(),
        "allocations": payment.allocations,
        "unallocated_minor": payment.unallocated_minor(),
    })
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
        "voided": invoice.voided.as_ref().map(|voiding| json!({
            "reason": voiding.reason,
            "at": voiding.at.to_rfc3339(),
            "by": voiding.by,
        })),
    })
}
