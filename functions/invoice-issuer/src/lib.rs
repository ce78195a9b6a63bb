//! Issues an order's invoice when its money is taken, and a credit note
//! when some of it goes back. On `order.paid` it reads the order and issues
//! its invoice under the next number of the year's `INV` sequence, with the
//! capture recorded as a payment and allocated to it, in one write. On
//! `payment.refunded` (a refund staff made is settled on the order with
//! it) or `order.partially_refunded` / `order.refunded` (a refund made at
//! the provider reaches the order after its report) it credits what the
//! order's refunds gave back beyond its credit notes so far, in one credit
//! note of the `CN` sequence. Both are once: a redelivered event finds its
//! document, or nothing left to credit, and writes nothing.
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use lambda_runtime::{Error, LambdaEvent};
use serde::Deserialize;
use shopflow_domain::OrderId;
use shopflow_domain::invoice::Terms;
use shopflow_dynamo::DynamoStore;
use shopflow_lambda_kit::config::{self, ConfigError, Env};
use shopflow_lambda_kit::consumer::{self, BusEvent, ConsumeError, Handled};
use shopflow_lambda_kit::function::{EventFunction, Function, Shared};
use shopflow_lambda_kit::now;
use shopflow_ports::{InvoiceStore, Invoiced, OrderReader, credit_refunds, issue_order_invoice};

pub const CONSUMER: &str = "invoice-issuer";
/// Messages of one batch handled at once: one, since every issue of the
/// year takes its number from the same sequence.
const CONCURRENCY: usize = 1;

pub struct App<S> {
    store: S,
    terms: Terms,
}

/// invoice-issuer as deployed: on the DynamoDB table.
pub type Deployed = App<DynamoStore>;

impl Function for Deployed {
    const NAME: &'static str = CONSUMER;

    fn build(env: &Env, shared: &Shared) -> Result<Self, ConfigError> {
        Ok(Self::new(
            DynamoStore::from_config(&shared.aws.dynamodb, config::required(env, "TABLE_NAME")?),
            config::invoice_terms(env)?,
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

/// The order an event names.
#[derive(Deserialize)]
struct Named {
    order_id: OrderId,
}

/// What an event has this function issue.
#[derive(Debug, Clone, Copy)]
enum Document {
    /// `order.paid`: the order's invoice.
    Invoice,
    /// A refund: the credit note for what its invoice has not credited yet.
    CreditNote,
}

impl Document {
    fn name(self) -> &'static str {
        match self {
            Self::Invoice => "invoice",
            Self::CreditNote => "credit note",
        }
    }
}

impl<S: OrderReader + InvoiceStore> App<S> {
    pub fn new(store: S, terms: Terms) -> Self {
        Self { store, terms }
    }

    pub async fn handle(&self, event: LambdaEvent<SqsEvent>) -> Result<SqsBatchResponse, Error> {
        Ok(consumer::consume_counted(
            CONSUMER,
            "OrdersBilled",
            event.payload,
            CONCURRENCY,
            |event| self.apply(event),
        )
        .await)
    }

    pub async fn apply(&self, event: BusEvent) -> Result<Handled, ConsumeError> {
        let document = match event.detail_type.as_str() {
            "order.paid" => Document::Invoice,
            "payment.refunded" | "order.partially_refunded" | "order.refunded" => {
                Document::CreditNote
            }
            other => return Ok(Handled::Ignored(format!("not billed: {other}"))),
        };
        let named: Named = serde_json::from_value(event.data)
            .map_err(|error| ConsumeError::Unreadable(error.to_string()))?;
        let order = self
            .store
            .order(named.order_id)
            .await
            .map_err(|error| ConsumeError::failed(&error))?
            .ok_or_else(|| {
                ConsumeError::Unreadable(format!("order {} does not exist", named.order_id))
            })?;
        let at = now();
        let issued = match document {
            Document::Invoice => issue_order_invoice(&self.store, &order, &self.terms, at).await,
            Document::CreditNote => credit_refunds(&self.store, &order, &self.terms, at).await,
        };
        match issued.map_err(|error| ConsumeError::failed(&error))? {
            Invoiced::Issued(invoice) => {
                tracing::info!(
                    order_id = %order.id,
                    invoice_id = %invoice.id,
                    number = invoice.number.map(|n| n.to_string()).unwrap_or_default(),
                    status = invoice.status.as_str(),
                    total_minor = invoice.totals.total_minor,
                    "{} issued",
                    document.name()
                );
                Ok(Handled::Applied)
            }
            Invoiced::AlreadyIssued(id) => {
                tracing::info!(order_id = %order.id, invoice_id = %id, "{} issued before", document.name());
                Ok(Handled::Duplicate)
            }
            Invoiced::NothingOwed => Ok(Handled::Ignored(format!(
                "order {}'s refunds are credited",
                order.id
            ))),
        }
    }
}
