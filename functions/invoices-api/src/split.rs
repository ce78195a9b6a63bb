//! `POST /v1/payments`: one payment staff received, split across several
//! invoices in one write, each invoice on the version read; what is not
//! allocated stays on the record.

use super::{App, PaymentBody, WRITE_ATTEMPTS, as_written, payment_view, view};
use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use serde::Deserialize;
use serde_json::{Value, json};
use shopflow_domain::Currency;
use shopflow_domain::invoice::{Invoice, InvoiceId, PaymentRecord};
use shopflow_lambda_kit::{ApiError, Caller, http, idempotency, integral, now};
use shopflow_ports::{
    DocumentLinks, InvoicePayment, InvoiceReceipt, InvoiceStore, InvoiceWriteError,
    MAX_SPLIT_INVOICES, OrderReader,
};

/// `POST /v1/payments`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SplitPaymentBody {
    method: String,
    #[serde(deserialize_with = "integral::i64")]
    amount_minor: i64,
    currency: String,
    reference: String,
    #[serde(default)]
    received_at: Option<String>,
    allocations: Vec<AllocationBody>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AllocationBody {
    invoice_id: String,
    #[serde(deserialize_with = "integral::i64")]
    amount_minor: i64,
}

/// A split payment whose every field is valid.
struct Split {
    payment: PaymentRecord,
    /// Each invoice and what of the payment goes to it, in the order asked.
    allocations: Vec<(InvoiceId, i64)>,
}

impl SplitPaymentBody {
    fn validate(self) -> Result<Split, ApiError> {
        let at = now();
        let received = PaymentBody {
            method: self.method,
            amount_minor: self.amount_minor,
            reference: self.reference,
            received_at: self.received_at,
        }
        .validate(at)?;
        let currency = Currency::parse(&self.currency).map_err(|_| {
            ApiError::invalid_field("currency", "must be an ISO 4217 code such as EUR")
        })?;
        if self.allocations.is_empty() || self.allocations.len() > MAX_SPLIT_INVOICES {
            return Err(ApiError::invalid_field(
                "allocations",
                format!("must name 1 to {MAX_SPLIT_INVOICES} invoices"),
            ));
        }
        let mut allocations: Vec<(InvoiceId, i64)> = Vec::with_capacity(self.allocations.len());
        for asked in self.allocations {
            let id: InvoiceId = asked.invoice_id.parse().map_err(|_| {
                ApiError::invalid_field("allocations.invoice_id", "is not an invoice id")
            })?;
            if asked.amount_minor <= 0 {
                return Err(ApiError::invalid_field(
                    "allocations.amount_minor",
                    "must be more than 0",
                ));
            }
            if allocations.iter().any(|(seen, _)| *seen == id) {
                return Err(ApiError::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "invoice_allocated_twice",
                    "each invoice is named once; add its amounts together",
                )
                .with_detail("invoice_id", id));
            }
            allocations.push((id, asked.amount_minor));
        }
        let payment = PaymentRecord::received(
            shopflow_domain::ids::monotonic_ulid(at),
            received.method,
            received.amount_minor,
            currency,
            &received.reference,
            received.received_at,
        )?;
        Ok(Split {
            payment,
            allocations,
        })
    }
}

impl<S: InvoiceStore + OrderReader, D: DocumentLinks> App<S, D> {
    /// Staff record one payment split across invoices: `201` with the
    /// payment and each invoice after; refused whole (`422` with the
    /// figures and the invoice) when an allocation exceeds what is left of
    /// the payment or the invoice's open balance. A retry under the same
    /// key answers the same payment.
    pub(crate) async fn record_split_payment(
        &self,
        request: &Request,
    ) -> Result<Response<Body>, ApiError> {
        let caller = Caller::from_request(request)?;
        caller.require_admin()?;
        let key = idempotency::key(request, "split-payment", &caller)?;
        let fingerprint = idempotency::fingerprint(http::body_bytes(request)?);
        let split = http::json_body::<SplitPaymentBody>(request)?.validate()?;
        for _ in 0..WRITE_ATTEMPTS {
            if let Some(receipt) = self.store.invoice_receipt(&key).await? {
                idempotency::ensure_same_request(&receipt.fingerprint, &fingerprint)?;
                return self.replay_split(&receipt).await;
            }
            let mut asks = Vec::with_capacity(split.allocations.len());
            for (id, amount_minor) in &split.allocations {
                let invoice =
                    self.store.invoice(*id).await?.ok_or_else(|| {
                        ApiError::not_found("invoice").with_detail("invoice_id", id)
                    })?;
                asks.push((invoice, *amount_minor));
            }
            let write = InvoicePayment::split(
                &asks,
                &split.payment,
                key.clone(),
                fingerprint.clone(),
                now(),
            )
            .map_err(|(index, error)| {
                ApiError::from(error).with_detail("invoice_id", split.allocations[index].0)
            })?;
            match self.store.record_invoice_payment(&write).await {
                Ok(()) => {
                    tracing::info!(
                        payment_id = %write.payment.id,
                        amount_minor = write.payment.amount_minor,
                        invoices = write.invoices.len(),
                        unallocated_minor = write.payment.unallocated_minor(),
                        "split payment recorded"
                    );
                    return Ok(split_answer(&write.payment, &as_written(write.invoices)));
                }
                Err(InvoiceWriteError::Stale) => continue,
                Err(InvoiceWriteError::Store(error)) => return Err(error.into()),
            }
        }
        Err(ApiError::concurrent_update(
            "the invoices are changing; retry",
        ))
    }

    /// The answer a split payment gave, for a retry under its key: the
    /// payment and its invoices as they stand now.
    async fn replay_split(&self, receipt: &InvoiceReceipt) -> Result<Response<Body>, ApiError> {
        let payment = match receipt.payment_id {
            Some(id) => self.store.payment_record(id).await?,
            None => None,
        }
        .ok_or_else(|| ApiError::not_found("payment"))?;
        let mut invoices = Vec::with_capacity(payment.allocations.len());
        for allocation in &payment.allocations {
            if let Some(invoice) = self.store.invoice(allocation.invoice_id).await? {
                invoices.push(invoice);
            }
        }
        Ok(idempotency::replayed(split_answer(&payment, &invoices)))
    }
}

fn split_answer(payment: &PaymentRecord, invoices: &[Invoice]) -> Response<Body> {
    let at = now();
    let invoices: Vec<Value> = invoices.iter().map(|invoice| view(invoice, at)).collect();
    http::json(
        StatusCode::CREATED,
        &json!({ "payment": payment_view(payment), "invoices": invoices }),
    )
}
