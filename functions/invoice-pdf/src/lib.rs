//! Renders an invoice's PDF into the private documents bucket: on
//! `invoice.issued` and `credit_note.issued` as issued, on `invoice.voided`
//! again with the VOID mark. The event carries the document as written
//! (`document`), so nothing is read from the table: the PDF is the
//! document the event announced, keyed by invoice and rendition
//! (`invoices/<id>/issued.pdf`, `…/void.pdf`). Rendering is deterministic,
//! so a redelivered event puts the same bytes again and changes nothing.
//!
//! It links no AWS SDK: the object is written with a SigV4-signed PUT
//! (`shopflow-signed-s3`), which keeps the bootstrap within its size budget
//! (docs/decisions/0010).
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use lambda_runtime::{Error, LambdaEvent};
use serde::Deserialize;
use shopflow_domain::invoice::Invoice;
use shopflow_lambda_kit::config::{self, ConfigError, Env};
use shopflow_lambda_kit::consumer::{self, BusEvent, ConsumeError, Handled};
use shopflow_lambda_kit::function::{EventFunction, Function, Shared};
use shopflow_ports::DocumentShelf;
use shopflow_signed_s3::{EnvCredentials, SignedBucket};

pub const CONSUMER: &str = "invoice-pdf";
/// Messages of one batch rendered at once.
const CONCURRENCY: usize = 4;

pub struct App<D> {
    shelf: D,
}

/// invoice-pdf as deployed: the documents bucket, written with signed PUTs.
pub type Deployed = App<SignedBucket>;

impl Deployed {
    /// As Lambda starts it: `DOCUMENTS_BUCKET` in `AWS_REGION`, at
    /// `AWS_ENDPOINT_URL_S3` when set (else S3's regional endpoint),
    /// signed with the role's credentials from the environment.
    pub fn from_lambda_env(env: &Env) -> Result<Self, ConfigError> {
        let region = config::required(env, "AWS_REGION")?;
        let endpoint = config::optional(env, "AWS_ENDPOINT_URL_S3")
            .unwrap_or_else(|| SignedBucket::regional_endpoint(&region));
        let bucket = config::required(env, "DOCUMENTS_BUCKET")?;
        let credentials =
            aws_credential_types::provider::SharedCredentialsProvider::new(EnvCredentials);
        let shelf = SignedBucket::new(&endpoint, &region, &bucket, credentials)
            .map_err(|error| invalid_bucket(&error))?;
        Ok(Self::new(shelf))
    }
}

fn invalid_bucket(error: &std::io::Error) -> ConfigError {
    ConfigError::Invalid {
        name: "DOCUMENTS_BUCKET",
        reason: format!("cannot reach it: {error}"),
    }
}

impl Function for Deployed {
    const NAME: &'static str = CONSUMER;

    /// As the local stack builds it: the emulator's endpoint, region and
    /// credentials from the shared S3 configuration.
    fn build(env: &Env, shared: &Shared) -> Result<Self, ConfigError> {
        let bucket = config::required(env, "DOCUMENTS_BUCKET")?;
        let shelf = SignedBucket::from_config(&shared.aws.s3, &bucket)
            .map_err(|error| invalid_bucket(&error))?;
        Ok(Self::new(shelf))
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

/// The document an event carries to print.
#[derive(Deserialize)]
struct Printed {
    document: Invoice,
}

impl<D: DocumentShelf> App<D> {
    pub fn new(shelf: D) -> Self {
        Self { shelf }
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
        let Printed { document: invoice } = serde_json::from_value(event.data)
            .map_err(|error| ConsumeError::Unreadable(error.to_string()))?;
        let Some(rendition) = invoice.rendition() else {
            return Err(ConsumeError::Unreadable(format!(
                "{} carries invoice {} as a draft",
                event.detail_type, invoice.id
            )));
        };
        let pdf =
            shopflow_invoice_pdf::render(&invoice).map_err(|error| ConsumeError::failed(&error))?;
        let key = rendition.key(invoice.id);
        let bytes = pdf.len();
        self.shelf
            .shelve(&key, pdf)
            .await
            .map_err(|error| ConsumeError::failed(&error))?;
        tracing::info!(invoice_id = %invoice.id, rendition = rendition.as_str(), key, bytes, "invoice PDF rendered");
        Ok(Handled::Applied)
    }
}
