//! Invoices and credit notes: issued under gap-free numbers through the one
//! path ([`issue_numbered`]) that reads a sequence's last number and writes
//! the document under the next one, conditional on nobody having taken it
//! and on what it answers (an order's invoice, a refund's credit note) not
//! having been issued already.

use crate::{IdempotencyKey, OutboxEvent, Page, StoreError};
use async_trait::async_trait;
use shopflow_domain::events::{DomainEvent, InvoiceMove, InvoiceMoved};
use shopflow_domain::invoice::{
    Invoice, InvoiceError, InvoiceId, InvoiceStatus, PaymentRecord, Reminder, Sequence, Terms,
};
use shopflow_domain::{CustomerId, Order, OrderId, Timestamp};

/// What a document answers, once: an order's invoice, or the credit note
/// that brings what an order's invoice credits up to `refunded_minor`, the
/// order's refunds so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Claim {
    Invoice(OrderId),
    Refunds { order: OrderId, refunded_minor: i64 },
}

/// A document issued under the number after `follows`, with the payment
/// allocated to it and the events that announce both: one write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvoiceIssue {
    /// Issued and numbered, with what `payment` allocated to it.
    pub invoice: Invoice,
    /// The sequence's last number when it was read (none: nothing issued
    /// in it yet). The write is refused if that has moved on.
    pub follows: Option<u64>,
    /// What it answers: refused if that was answered already. None for an
    /// invoice of no order.
    pub claim: Option<Claim>,
    /// Money already received for it, allocated to it.
    pub payment: Option<PaymentRecord>,
    /// The stored draft it issues, at the version read: the write is
    /// refused if the draft changed since. None for a document drafted and
    /// issued at once (an order's invoice, a credit note).
    pub draft_version: Option<u64>,
    /// `invoice.issued` (then `invoice.paid` or `invoice.partially_paid`
    /// when money was allocated), or `credit_note.issued`.
    pub events: Vec<OutboxEvent>,
}

/// Why an issue wrote nothing.
#[derive(Debug, thiserror::Error)]
pub enum IssueError {
    /// Another document took the number since the sequence was read.
    #[error("the invoice number was taken")]
    NumberTaken,
    /// What it answers was answered by this document already.
    #[error("already answered by {0}")]
    AlreadyIssued(InvoiceId),
    /// The stored draft changed (or was issued) since it was read.
    #[error("the draft changed since it was read")]
    DraftChanged,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Money staff received, allocated to one invoice or split across several,
/// once per idempotency key: the payment record, each invoice after
/// (written on the version it was read at) and its `invoice.paid` or
/// `invoice.partially_paid`. What is not allocated stays on the record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvoicePayment {
    pub payment: PaymentRecord,
    /// The invoices paid, as they stand after, each at the version read.
    pub invoices: Vec<Invoice>,
    pub events: Vec<OutboxEvent>,
    pub key: IdempotencyKey,
    /// Digest of the request: a retry with another body under the key is refused.
    pub fingerprint: String,
}

/// Invoices one payment may be split across at most: one transaction of
/// the record, its receipt, and each invoice with its event.
pub const MAX_SPLIT_INVOICES: usize = 20;

impl InvoicePayment {
    /// `payment` allocated in full to `read`, at `at`.
    pub fn new(
        read: &Invoice,
        payment: &PaymentRecord,
        key: IdempotencyKey,
        fingerprint: String,
        at: Timestamp,
    ) -> Result<Self, InvoiceError> {
        Self::split(
            &[(read.clone(), payment.unallocated_minor())],
            payment,
            key,
            fingerprint,
            at,
        )
        .map_err(|(_, error)| error)
    }

    /// `payment` split across `asks` (each invoice as read, and what of
    /// the payment goes to it), in order, at `at`: refused with the index
    /// of the first ask that exceeds the payment's unallocated amount or
    /// the invoice's open balance.
    pub fn split(
        asks: &[(Invoice, i64)],
        payment: &PaymentRecord,
        key: IdempotencyKey,
        fingerprint: String,
        at: Timestamp,
    ) -> Result<Self, (usize, InvoiceError)> {
        let mut payment = payment.clone();
        let mut invoices = Vec::with_capacity(asks.len());
        for (index, (read, amount_minor)) in asks.iter().enumerate() {
            let (after, invoice) = payment
                .allocate(read, *amount_minor)
                .map_err(|error| (index, error))?;
            payment = after;
            invoices.push(invoice);
        }
        Ok(Self {
            events: invoices
                .iter()
                .map(|invoice| invoice_event(InvoiceMoved::payment(invoice), at))
                .collect(),
            payment,
            invoices,
            key,
            fingerprint,
        })
    }
}

/// What an idempotency key of invoices-api remembers: the request, the
/// invoice it made or paid, and the payment record when it recorded one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvoiceReceipt {
    pub fingerprint: String,
    pub invoice_id: InvoiceId,
    pub payment_id: Option<ulid::Ulid>,
}

/// An invoice voided, written on the version it was read at, with
/// `invoice.voided`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvoiceVoid {
    pub invoice: Invoice,
    pub event: OutboxEvent,
}

impl InvoiceVoid {
    pub fn new(voided: Invoice, at: Timestamp) -> Self {
        Self {
            event: invoice_event(InvoiceMoved::new(InvoiceMove::Voided, &voided), at),
            invoice: voided,
        }
    }
}

/// An overdue reminder sent: the invoice counting it (written on the
/// version it was read at) with `invoice.overdue`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvoiceReminder {
    pub invoice: Invoice,
    pub event: OutboxEvent,
}

impl InvoiceReminder {
    pub fn new(read: &Invoice, reminder: Reminder, at: Timestamp) -> Self {
        let invoice = read.reminded(reminder);
        Self {
            event: invoice_event(InvoiceMoved::overdue(&invoice, reminder), at),
            invoice,
        }
    }
}

/// Which open invoices to read: those of one shard due before `before`,
/// soonest due first, after the previous page's last.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DueRange {
    /// One of `0..STATUS_SHARDS`.
    pub shard: u8,
    pub before: Timestamp,
    pub after: Option<DueCursor>,
    pub limit: u16,
}

/// Where a page of open invoices ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DueCursor {
    pub due_at: Timestamp,
    pub id: InvoiceId,
}

/// Which partition of the open invoices `id` lives in, so no due date is
/// one hot key.
pub fn invoice_shard(id: InvoiceId) -> u8 {
    u8::try_from(id.as_ulid().random() % u128::from(crate::STATUS_SHARDS)).unwrap_or(0)
}

/// Why a change to an issued invoice wrote nothing.
#[derive(Debug, thiserror::Error)]
pub enum InvoiceWriteError {
    /// It changed since it was read: read it again and decide again.
    #[error("the invoice changed since it was read")]
    Stale,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Which invoices a listing reads: one customer's or every customer's,
/// made within a window, and which of those it admits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvoiceQuery {
    /// One customer's; everyone's when none (staff only).
    pub customer: Option<CustomerId>,
    pub status: Option<InvoiceStatus>,
    /// Past due with money owed (true), or not (false), at `now`.
    pub overdue: Option<bool>,
    /// Made at or after `from` and at or before `to`.
    pub from: Option<Timestamp>,
    pub to: Option<Timestamp>,
    /// Whether drafts show: staff see them, customers never do.
    pub drafts: bool,
    pub now: Timestamp,
}

impl InvoiceQuery {
    /// Whether `invoice` belongs in the listing.
    pub fn admits(&self, invoice: &Invoice) -> bool {
        (self.drafts || invoice.status != InvoiceStatus::Draft)
            && self
                .customer
                .as_ref()
                .is_none_or(|customer| *customer == invoice.customer_id)
            && self.status.is_none_or(|status| status == invoice.status)
            && self
                .overdue
                .is_none_or(|overdue| overdue == invoice.is_overdue(self.now))
            && self.from.is_none_or(|from| invoice.created_at >= from)
            && self.to.is_none_or(|to| invoice.created_at <= to)
    }
}

/// Raw pages a listing reads at most per call, so a sparse filter cannot
/// run up the bill: the page it answers may be short, with a cursor.
pub const MAX_LISTING_PAGES: usize = 10;

/// Where invoices are kept.
#[async_trait]
pub trait InvoiceStore: Send + Sync {
    /// The last number issued in `sequence`, read consistently.
    async fn last_number(&self, sequence: Sequence) -> Result<Option<u64>, StoreError>;

    /// Writes the issue in one transaction: the sequence moves from
    /// `follows` to the document's number, the document, its claim, the
    /// payment and the events, or nothing.
    async fn issue_invoice(&self, issue: &InvoiceIssue) -> Result<(), IssueError>;

    async fn invoice(&self, id: InvoiceId) -> Result<Option<Invoice>, StoreError>;

    /// Keeps a new manual draft with the receipt of the key it was asked
    /// under: `Stale` when the key was used already (read its receipt).
    async fn create_draft(
        &self,
        draft: &Invoice,
        key: &IdempotencyKey,
        fingerprint: &str,
    ) -> Result<(), InvoiceWriteError>;

    /// Replaces a draft with `draft`, on the version it was read at.
    async fn redraft(&self, draft: &Invoice) -> Result<(), InvoiceWriteError>;

    /// Invoices and credit notes the query admits, newest first, after the
    /// one `after` names: at most `limit`, reading a bounded number of
    /// pages, so a sparse filter may return a short page with a cursor.
    async fn find_invoices(
        &self,
        query: &InvoiceQuery,
        after: Option<InvoiceId>,
        limit: u16,
    ) -> Result<Page<Invoice, InvoiceId>, StoreError>;

    /// The order's invoice, then its credit notes, oldest first.
    async fn order_invoices(&self, order: OrderId) -> Result<Vec<Invoice>, StoreError>;

    /// The credit notes on `invoice`, oldest first.
    async fn credit_notes(&self, invoice: &Invoice) -> Result<Vec<Invoice>, StoreError> {
        let Some(order) = invoice.order_id else {
            return Ok(Vec::new());
        };
        Ok(self
            .order_invoices(order)
            .await?
            .into_iter()
            .filter(|note| note.credits.is_some_and(|c| c.invoice_id == invoice.id))
            .collect())
    }

    async fn invoice_receipt(
        &self,
        key: &IdempotencyKey,
    ) -> Result<Option<InvoiceReceipt>, StoreError>;

    async fn payment_record(&self, id: ulid::Ulid) -> Result<Option<PaymentRecord>, StoreError>;

    /// Writes the payment, its receipt, the invoice after and the event in
    /// one transaction, on the invoice's version as read.
    async fn record_invoice_payment(&self, write: &InvoicePayment)
    -> Result<(), InvoiceWriteError>;

    /// Writes the voided invoice and its event, on its version as read.
    async fn void_invoice(&self, write: &InvoiceVoid) -> Result<(), InvoiceWriteError>;

    /// Open invoices (issued or partly paid) of one shard due before a
    /// time, soonest due first: the index leaves an invoice once it is paid
    /// or void.
    async fn open_invoices_due(
        &self,
        range: &DueRange,
    ) -> Result<Page<Invoice, DueCursor>, StoreError>;

    /// Writes the reminder's count and its event, on the invoice's version
    /// as read.
    async fn remind_overdue(&self, write: &InvoiceReminder) -> Result<(), InvoiceWriteError>;
}

/// Where invoice PDFs are put: a private bucket. Putting the same key
/// again replaces it.
#[async_trait]
pub trait DocumentShelf: Send + Sync {
    /// Keeps `pdf` at `key`, encrypted at rest.
    async fn shelve(&self, key: &str, pdf: Vec<u8>) -> Result<(), StoreError>;
}

/// How invoice PDFs are found and handed out: links that expire.
#[async_trait]
pub trait DocumentLinks: Send + Sync {
    /// Whether a document is kept at `key`.
    async fn is_shelved(&self, key: &str) -> Result<bool, StoreError>;

    /// A link that downloads `key` for `valid_secs`, and not after.
    async fn link(&self, key: &str, valid_secs: u64) -> Result<String, StoreError>;
}

/// What an issue came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Invoiced {
    Issued(Box<Invoice>),
    /// It was answered already, by this document: nothing written.
    AlreadyIssued(InvoiceId),
    /// There was nothing to issue: the order's refunds are credited.
    NothingOwed,
}

#[derive(Debug, thiserror::Error)]
pub enum InvoicingError {
    #[error(transparent)]
    Invoice(#[from] InvoiceError),
    #[error("the invoice sequence kept moving: {0} attempts")]
    KeptChanging(u32),
    /// The stored draft being issued changed since it was read.
    #[error("the draft changed since it was read")]
    DraftChanged,
    /// A refund came before the order's invoice: credit it once the
    /// invoice is issued.
    #[error("order {0} has no invoice to credit yet")]
    NotInvoicedYet(OrderId),
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
    issue_numbered(
        store,
        &draft,
        terms,
        Some(Claim::Invoice(order.id)),
        capture.as_ref(),
        at,
    )
    .await
}

/// Credits what `order`'s refunds gave back beyond what its credit notes
/// already credit, in one credit note on its invoice issued at `at`. Safe
/// to repeat: refunds credited already issue nothing.
pub async fn credit_refunds<S: InvoiceStore>(
    store: &S,
    order: &Order,
    terms: &Terms,
    at: Timestamp,
) -> Result<Invoiced, InvoicingError> {
    let documents = store.order_invoices(order.id).await?;
    let Some(invoice) = documents.iter().find(|document| !document.is_credit_note()) else {
        return Err(InvoicingError::NotInvoicedYet(order.id));
    };
    let credited_minor: i64 = documents
        .iter()
        .filter(|document| document.is_credit_note())
        .map(|note| -note.totals.total_minor)
        .sum();
    let refunded_minor = order.payment.refunded_minor;
    if refunded_minor <= credited_minor {
        return Ok(Invoiced::NothingOwed);
    }
    let draft = invoice.credit_note(
        refunded_minor - credited_minor,
        credited_minor,
        "Refund",
        at,
    )?;
    let claim = Claim::Refunds {
        order: order.id,
        refunded_minor,
    };
    issue_numbered(store, &draft, terms, Some(claim), None, at).await
}

/// Issues a stored manual draft, as read, under the next number of the
/// year's invoice sequence at `at`: `DraftChanged` when it changed (or was
/// issued) since it was read.
pub async fn issue_draft<S: InvoiceStore>(
    store: &S,
    draft: &Invoice,
    terms: &Terms,
    at: Timestamp,
) -> Result<Invoice, DraftIssueError> {
    match issue_numbered(store, draft, terms, None, None, at).await {
        Ok(Invoiced::Issued(invoice)) => Ok(*invoice),
        Ok(_) => Err(DraftIssueError::Invoicing(InvoicingError::Store(
            StoreError::Defect {
                what: "issuing a draft".into(),
                source: format!("draft {} answered no claim, yet was answered", draft.id).into(),
            },
        ))),
        Err(InvoicingError::DraftChanged) => Err(DraftIssueError::DraftChanged),
        Err(error) => Err(DraftIssueError::Invoicing(error)),
    }
}

/// Why a draft was not issued.
#[derive(Debug, thiserror::Error)]
pub enum DraftIssueError {
    /// It changed, or was issued, since it was read: read it again.
    #[error("the draft changed since it was read")]
    DraftChanged,
    #[error(transparent)]
    Invoicing(#[from] InvoicingError),
}

/// Issues `draft` under the next number of its series' sequence for `at`,
/// settled by `payment` when there is one, answering `claim` when it
/// answers one; a stored draft (version 1 on) is replaced on its version.
async fn issue_numbered<S: InvoiceStore>(
    store: &S,
    draft: &Invoice,
    terms: &Terms,
    claim: Option<Claim>,
    payment: Option<&PaymentRecord>,
    at: Timestamp,
) -> Result<Invoiced, InvoicingError> {
    let sequence = Sequence::of(draft.series(), at);
    for _ in 0..ISSUE_ATTEMPTS {
        let follows = store.last_number(sequence).await?;
        let issued = draft.issued(sequence.next_after(follows), terms, at)?;
        let mut issue = issue_of(issued, follows, claim, payment, at)?;
        issue.draft_version = (draft.version > 0).then_some(draft.version);
        match store.issue_invoice(&issue).await {
            Ok(()) => return Ok(Invoiced::Issued(Box::new(issue.invoice))),
            Err(IssueError::NumberTaken) => continue,
            Err(IssueError::AlreadyIssued(id)) => return Ok(Invoiced::AlreadyIssued(id)),
            Err(IssueError::DraftChanged) => return Err(InvoicingError::DraftChanged),
            Err(IssueError::Store(error)) => return Err(error.into()),
        }
    }
    Err(InvoicingError::KeptChanging(ISSUE_ATTEMPTS))
}

/// The write issuing `issued`, settled by `payment` when there is one.
fn issue_of(
    issued: Invoice,
    follows: Option<u64>,
    claim: Option<Claim>,
    payment: Option<&PaymentRecord>,
    at: Timestamp,
) -> Result<InvoiceIssue, InvoiceError> {
    let announced = if issued.is_credit_note() {
        InvoiceMove::CreditNoteIssued
    } else {
        InvoiceMove::Issued
    };
    let (invoice, payment, paid) = match payment {
        Some(payment) if issued.open_minor() > 0 => {
            let (payment, invoice) = payment.settle(&issued)?;
            let paid = InvoiceMoved::payment(&invoice);
            (invoice, Some(payment), Some(paid))
        }
        _ => (issued.clone(), None, None),
    };
    let announced = InvoiceMoved::new(announced, &issued).printing(&invoice);
    // Issued first, then paid: event ids are made in order.
    let events = std::iter::once(announced)
        .chain(paid)
        .map(|moved| invoice_event(moved, at))
        .collect();
    Ok(InvoiceIssue {
        invoice,
        follows,
        claim,
        payment,
        draft_version: None,
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
