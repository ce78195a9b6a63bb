//! Renders an invoice's PDF into the private documents bucket: on
//! `invoice.issued` and `credit_note.issued` as issued, on `invoice.voided`
//! again with the VOID mark. It reads the invoice as it stands and renders
//! the PDF its status calls for, keyed by invoice and rendition
//! (`invoices/<id>/issued.pdf`, `…/void.pdf`), then notes it on the
//! invoice. Rendering is deterministic, so a redelivered event writes the
//! same bytes again and changes nothing.
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use lambda_runtime::{Error, LambdaEvent};
use serde::Deserialize;
use shopflow_domain::invoice::InvoiceId;
use shopflow_dynamo::DynamoStore;
use shopflow_lambda_kit::config::{self, ConfigError, Env};
use shopflow_lambda_kit::consumer::{self, BusEvent, ConsumeError, Handled};
use shopflow_lambda_kit::function::{EventFunction, Function, Shared};
use shopflow_ports::{DocumentShelf, InvoiceStore};
use shopflow_s3::S3Bucket;

pub const CONSUMER: &str = "invoice-pdf";
/// Messages of one batch rendered at once.
const CONCURRENCY: usize = 4;

pub struct App<S, D> {
    store: S,
    shelf: D,
}

/// invoice-pdf as deployed: the table and the documents bucket.
pub type Deployed = App<DynamoStore, S3Bucket>;

impl Function for Deployed {
    const NAME: &'static str = CONSUMER;

    fn build(env: &Env, shared: &Shared) -> Result<Self, ConfigError> {
        Ok(Self::new(
            DynamoStore::from_config(&shared.aws.dynamodb, config::required(env, "TABLE_NAME")?),
            S3Bucket::from_config(&shared.aws.s3, config::required(env, "DOCUMENTS_BUCKET")?),
        ))
    }
}

impl EventFunction<SqsEvent> for Deployed {
    type Answer = SqsBatchResponse;

    fn serve(
        &self,
        event: LambdaEvent<SqsEvent>,
    ) -> impl std::future::Future<Output = Result<SqsBatchResponse, Error>> + Send {
        self.handle(event)
    }
}

/// The invoice an event names.
#[derive(Deserialize)]
struct Named {
    invoice_id: InvoiceId,
}

impl<S: InvoiceStore, D: DocumentShelf> App<S, D> {
    pub fn new(store: S, shelf: D) -> Self {
        Self { store, shelf }
    }

    pub async fn handle(&self, event: LambdaEvent<SqsEvent>) -> Result<SqsBatchResponse, Error> {
        Ok(consumer::consume_counted(
            CONSUMER,
            "InvoiceDocuments",
            event.payload,
            CONCURRENCY,
            |event| self.apply(event),
        )
        .await)
    }

    pub async fn apply(&self, event: BusEvent) -> Result<Handled, ConsumeError> {
        if !matches!(
            event.detail_type.as_str(),
            "invoice.issued" | "credit_note.issued" | "invoice.voided"
        ) {
            return Ok(Handled::Ignored(format!(
                "no document changes on {}",
                event.detail_type
            )));
        }
        let named: Named = serde_json::from_value(event.data)
            .map_err(|error| ConsumeError::Unreadable(error.to_string()))?;
        let invoice = self
            .store
            .invoice(named.invoice_id)
            .await
            .map_err(|error| ConsumeError::failed(&error))?
            .ok_or_else(|| {
                ConsumeError::Unreadable(format!("invoice {} does not exist", named.invoice_id))
            })?;
        let Some(rendition) = invoice.rendition() else {
            return Ok(Handled::Ignored(format!(
                "invoice {} is a draft",
                invoice.id
            )));
        };
        if invoice.pdfs.contains(&rendition) {
            return Ok(Handled::Duplicate);
        }
        let pdf =
            shopflow_invoice_pdf::render(&invoice).map_err(|error| ConsumeError::failed(&error))?;
        let key = rendition.key(invoice.id);
        let bytes = pdf.len();
        self.shelf
            .shelve(&key, pdf)
            .await
            .map_err(|error| ConsumeError::failed(&error))?;
        self.store
            .record_pdf(invoice.id, rendition)
            .await
            .map_err(|error| ConsumeError::failed(&error))?;
        tracing::info!(invoice_id = %invoice.id, rendition = rendition.as_str(), key, bytes, "invoice PDF rendered");
        Ok(Handled::Applied)
    }
}
