//! Invoices: issued under gap-free numbers through the one path
//! ([`issue_order_invoice`]) that reads a sequence's last number and writes
//! the invoice under the next one, conditional on nobody having taken it.

use crate::{OutboxEvent, StoreError};
use async_trait::async_trait;
use shopflow_domain::events::{DomainEvent, InvoiceMove, InvoiceMoved};
use shopflow_domain::invoice::{
    Invoice, InvoiceError, InvoiceId, PaymentRecord, Sequence, Series, Terms,
};
use shopflow_domain::{Order, OrderId, Timestamp};

/// An invoice issued under the number after `follows`, with the payment
/// allocated to it and the events that announce both: one write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvoiceIssue {
    /// Issued and numbered, with what `payment` allocated to it.
    pub invoice: Invoice,
    /// The sequence's last number when it was read (none: nothing issued
    /// in it yet). The write is refused if that has moved on.
    pub follows: Option<u64>,
    /// Money already received for it, allocated to it.
    pub payment: Option<PaymentRecord>,
    /// `invoice.issued`, then `invoice.paid` or `invoice.partially_paid`
    /// when money was allocated.
    pub events: Vec<OutboxEvent>,
}

/// Why an issue wrote nothing.
#[derive(Debug, thiserror::Error)]
pub enum IssueError {
    /// Another invoice took the number since the sequence was read.
    #[error("the invoice number was taken")]
    NumberTaken,
    /// The order already has its invoice.
    #[error("the order already has invoice {0}")]
    AlreadyInvoiced(InvoiceId),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Where invoices are kept.
#[async_trait]
pub trait InvoiceStore: Send + Sync {
    /// The last number issued in `sequence`, read consistently.
    async fn last_number(&self, sequence: Sequence) -> Result<Option<u64>, StoreError>;

    /// Writes the issue in one transaction: the sequence moves from
    /// `follows` to the invoice's number, the invoice, its order's claim on
    /// it, the payment and the events, or nothing.
    async fn issue_invoice(&self, issue: &InvoiceIssue) -> Result<(), IssueError>;

    async fn invoice(&self, id: InvoiceId) -> Result<Option<Invoice>, StoreError>;

    /// The order's invoices, oldest first.
    async fn order_invoices(&self, order: OrderId) -> Result<Vec<Invoice>, StoreError>;
}

/// What issuing an order's invoice came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Invoiced {
    Issued(Box<Invoice>),
    /// The order had its invoice already: nothing written.
    AlreadyInvoiced(InvoiceId),
}

#[derive(Debug, thiserror::Error)]
pub enum InvoicingError {
    #[error(transparent)]
    Invoice(#[from] InvoiceError),
    #[error("the invoice sequence kept moving: {0} attempts")]
    KeptChanging(u32),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Attempts at a number before giving the issue back to its caller to
/// retry later (a consumer's redelivery).
pub const ISSUE_ATTEMPTS: u32 = 8;

/// Issues `order`'s invoice at `at` under the next number of the year's
/// invoice sequence, with what the provider captured allocated to it. Safe
/// to repeat: an order is invoiced once.
pub async fn issue_order_invoice<S: InvoiceStore>(
    store: &S,
    order: &Order,
    terms: &Terms,
    at: Timestamp,
) -> Result<Invoiced, InvoicingError> {
    let draft = Invoice::draft_for_order(order, terms, at);
    let capture = PaymentRecord::captured_for(order, at);
    let sequence = Sequence::of(Series::Invoice, at);
    for _ in 0..ISSUE_ATTEMPTS {
        let follows = store.last_number(sequence).await?;
        let issued = draft.issued(sequence.next_after(follows), terms, at)?;
        let issue = issue_of(issued, follows, capture.as_ref(), at)?;
        match store.issue_invoice(&issue).await {
            Ok(()) => return Ok(Invoiced::Issued(Box::new(issue.invoice))),
            Err(IssueError::NumberTaken) => continue,
            Err(IssueError::AlreadyInvoiced(id)) => return Ok(Invoiced::AlreadyInvoiced(id)),
            Err(IssueError::Store(error)) => return Err(error.into()),
        }
    }
    Err(InvoicingError::KeptChanging(ISSUE_ATTEMPTS))
}

/// The write issuing `issued`, settled by `payment` when there is one.
fn issue_of(
    issued: Invoice,
    follows: Option<u64>,
    payment: Option<&PaymentRecord>,
    at: Timestamp,
) -> Result<InvoiceIssue, InvoiceError> {
    let mut events = vec![invoice_event(
        InvoiceMoved::new(InvoiceMove::Issued, &issued),
        at,
    )];
    let (invoice, payment) = match payment {
        Some(payment) if issued.open_minor() > 0 => {
            let (payment, invoice) = payment.settle(&issued)?;
            events.push(invoice_event(InvoiceMoved::payment(&invoice), at));
            (invoice, Some(payment))
        }
        _ => (issued, None),
    };
    Ok(InvoiceIssue {
        invoice,
        follows,
        payment,
        events,
    })
}

fn invoice_event(moved: InvoiceMoved, at: Timestamp) -> OutboxEvent {
    OutboxEvent {
        id: shopflow_domain::ids::monotonic_ulid(at),
        occurred_at: at,
        event: DomainEvent::InvoiceMoved(moved),
    }
}
