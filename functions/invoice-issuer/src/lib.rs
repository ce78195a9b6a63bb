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
//!
//! A shop that bills on delivery sets `INVOICE_ON=first_shipment`: the
//! invoice is issued on the order's first `shipment.created` instead, and
//! refunds made before it are credited right after it.
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use lambda_runtime::{Error, LambdaEvent};
use serde::Deserialize;
use shopflow_domain::invoice::Terms;
use shopflow_domain::{Order, OrderId, Timestamp};
use shopflow_dynamo::DynamoStore;
use shopflow_lambda_kit::config::{self, ConfigError, Env};
use shopflow_lambda_kit::consumer::{self, BusEvent, ConsumeError, Handled};
use shopflow_lambda_kit::function::{EventFunction, Function, Shared};
use shopflow_lambda_kit::now;
use shopflow_ports::{
    InvoiceStore, Invoiced, InvoicingError, OrderReader, credit_refunds, issue_order_invoice,
};

pub const CONSUMER: &str = "invoice-issuer";
/// Messages of one batch handled at once: one, since every issue of the
/// year takes its number from the same sequence.
const CONCURRENCY: usize = 1;

/// When an order's invoice is issued.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IssueOn {
    /// When its money is taken (`order.paid`): the default.
    Paid,
    /// When its first parcel leaves (`shipment.created`).
    FirstShipment,
}

impl IssueOn {
    /// `INVOICE_ON`: `paid` (the default) or `first_shipment`.
    pub fn from_env(env: &impl config::Source) -> Result<Self, ConfigError> {
        match config::optional(env, "INVOICE_ON").as_deref() {
            None | Some("paid") => Ok(Self::Paid),
            Some("first_shipment") => Ok(Self::FirstShipment),
            Some(other) => Err(ConfigError::Invalid {
                name: "INVOICE_ON",
                reason: format!("{other} is neither paid nor first_shipment"),
            }),
        }
    }

    /// The event that issues the invoice.
    fn trigger(self) -> &'static str {
        match self {
            Self::Paid => "order.paid",
            Self::FirstShipment => "shipment.created",
        }
    }
}

pub struct App<S> {
    store: S,
    terms: Terms,
    issue_on: IssueOn,
}

/// invoice-issuer as deployed: on the DynamoDB table.
pub type Deployed = App<DynamoStore>;

impl Function for Deployed {
    const NAME: &'static str = CONSUMER;

    fn build(env: &Env, shared: &Shared) -> Result<Self, ConfigError> {
        Ok(Self::new(
            DynamoStore::from_config(&shared.aws.dynamodb, config::required(env, "TABLE_NAME")?),
            config::invoice_terms(env)?,
        )
        .issuing_on(IssueOn::from_env(env)?))
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
    /// Issuing invoices when orders are paid.
    pub fn new(store: S, terms: Terms) -> Self {
        Self {
            store,
            terms,
            issue_on: IssueOn::Paid,
        }
    }

    /// The same, issuing invoices on `issue_on` instead.
    pub fn issuing_on(self, issue_on: IssueOn) -> Self {
        Self { issue_on, ..self }
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
            trigger if trigger == self.issue_on.trigger() => Document::Invoice,
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
            Document::Invoice => self.invoice(&order, at).await,
            Document::CreditNote => credit_refunds(&self.store, &order, &self.terms, at).await,
        };
        let issued = match issued {
            // Invoiced on its first shipment: refunds before it are
            // credited when it is.
            Err(InvoicingError::NotInvoicedYet(_)) if self.issue_on == IssueOn::FirstShipment => {
                return Ok(Handled::Ignored(format!(
                    "order {} is credited when it is invoiced, on its first shipment",
                    order.id
                )));
            }
            issued => issued,
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

    /// The order's invoice, issued once; invoiced on its first shipment,
    /// with what was refunded before it credited right after.
    async fn invoice(&self, order: &Order, at: Timestamp) -> Result<Invoiced, InvoicingError> {
        let invoiced = issue_order_invoice(&self.store, order, &self.terms, at).await?;
        if self.issue_on == IssueOn::FirstShipment && order.payment.refunded_minor > 0 {
            match credit_refunds(&self.store, order, &self.terms, at).await? {
                Invoiced::Issued(note) => {
                    tracing::info!(order_id = %order.id, credit_note_id = %note.id, "refunds before the first shipment credited");
                }
                Invoiced::AlreadyIssued(_) | Invoiced::NothingOwed => {}
            }
        }
        Ok(invoiced)
    }
}
