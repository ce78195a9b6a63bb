//! Invoices and credit notes: each sequence's counter, and an issue's one
//! transaction that moves it on from the number read, with the document,
//! what it answers (its claim), the payment allocated to it and the events;
//! then what staff do to an issued invoice, each one transaction on the
//! invoice's version as read: money received allocated to it (once per
//! idempotency key), or the invoice voided; and the open invoices by due
//! date (gsi3), which the reminders read and count their reminders on.

use super::items::{
    INVOICE_CLAIMS, InvoiceClaimItem, InvoiceItem, InvoiceReceiptItem, OutboxItem,
    PaymentRecordItem, SequenceItem, all_invoices_partition, customer_orders_partition,
    idempotency_key, invoice_claim_key, invoice_key, open_invoice_keys, open_invoice_sort,
    open_invoices_due_from, open_invoices_partition, order_key, payment_record_key, sequence_key,
};
use super::listing::{PartitionRead, Read, merged, read_partition};
use super::{
    CancellationReasons, DynamoStore, SortKeys, condition_failed, corrupt, key, malformed, n,
    now_secs, s, sdk,
};
use async_trait::async_trait;
use aws_sdk_dynamodb::types::{AttributeValue, TransactWriteItem, Update};
use shopflow_domain::invoice::{Invoice, InvoiceId, InvoiceNumber, PaymentRecord, Sequence};
use shopflow_domain::{OrderId, Timestamp};
use shopflow_ports::{
    Claim, DueCursor, DueRange, IdempotencyKey, InvoiceIssue, InvoicePayment, InvoiceQuery,
    InvoiceReceipt, InvoiceReminder, InvoiceStore, InvoiceVoid, InvoiceWriteError, IssueError,
    OutboxEvent, Page, STATUS_SHARDS, StoreError,
};
use std::collections::HashMap;
use ulid::Ulid;

#[async_trait]
impl InvoiceStore for DynamoStore {
    async fn last_number(&self, sequence: Sequence) -> Result<Option<u64>, StoreError> {
        let counter: Option<SequenceItem> = self
            .get_consistent(sequence_key(sequence), "invoice sequence")
            .await?;
        Ok(counter.map(|counter| counter.last))
    }

    async fn issue_invoice(&self, issue: &InvoiceIssue) -> Result<(), IssueError> {
        let invoice = &issue.invoice;
        let Some(number) = invoice.number else {
            return Err(StoreError::Corrupt {
                entity: "invoice",
                reason: "issued without a number".into(),
            }
            .into());
        };
        const COUNTER: usize = 0;
        const INVOICE: usize = 1;
        let item = serde_dynamo::to_item(InvoiceItem::new(&Invoice {
            version: issue.draft_version.unwrap_or(0) + 1,
            ..invoice.clone()
        }))
        .map_err(corrupt("invoice"))?;
        let document = match issue.draft_version {
            // A stored draft is replaced only as it was read.
            Some(read) => self.conditional_put(
                item,
                "#version = :read",
                Some(("#version", "version", ":read", n(read))),
            )?,
            None => self.put_new(item)?,
        };
        let mut writes = vec![self.counter_write(number, issue.follows)?, document];
        let claim = issue.claim.map(|claim| (claim, writes.len()));
        if let Some(claim) = issue.claim {
            let item = InvoiceClaimItem::new(claim, invoice.id);
            writes.push(
                self.put_new(serde_dynamo::to_item(item).map_err(corrupt("invoice claim"))?)?,
            );
        }
        if let Some(payment) = &issue.payment {
            let record = PaymentRecordItem::new(payment);
            writes.push(
                self.put_new(serde_dynamo::to_item(record).map_err(corrupt("payment record"))?)?,
            );
        }
        for event in &issue.events {
            writes.push(self.outbox_put(event)?);
        }
        let Some(reasons) = self.transact(writes).await? else {
            return Ok(());
        };
        let failed = |index: usize| condition_failed(&reasons, index);
        if let Some((claim, index)) = claim
            && failed(index)
        {
            return match self.answered_by(claim).await? {
                Some(answered) => Err(IssueError::AlreadyIssued(answered)),
                None => Err(StoreError::Corrupt {
                    entity: "invoice claim",
                    reason: format!("{claim:?} was refused, yet holds no claim"),
                }
                .into()),
            };
        }
        if failed(INVOICE) && issue.draft_version.is_some() {
            return Err(IssueError::DraftChanged);
        }
        if failed(INVOICE) {
            return Err(StoreError::Defect {
                what: "issuing an invoice".into(),
                source: format!("invoice {} exists already", invoice.id).into(),
            }
            .into());
        }
        // Another issue moved the counter on, or holds it (or the order's
        // claim) this moment: read the counter again.
        if failed(COUNTER) || reasons.iter().any(|r| r == "TransactionConflict") {
            return Err(IssueError::NumberTaken);
        }
        Err(shopflow_aws_errors::unexplained_cancellation("invoice issue", &reasons).into())
    }

    async fn invoice(&self, id: InvoiceId) -> Result<Option<Invoice>, StoreError> {
        let item: Option<InvoiceItem> = self.get_consistent(invoice_key(id), "invoice").await?;
        Ok(item.map(InvoiceItem::into_invoice))
    }

    async fn create_draft(
        &self,
        draft: &Invoice,
        key: &IdempotencyKey,
        fingerprint: &str,
    ) -> Result<(), InvoiceWriteError> {
        let now = now_secs();
        let receipt = InvoiceReceiptItem::new(key, fingerprint, draft.id, None, now);
        let writes = vec![
            self.invoice_receipt_put(receipt)?,
            self.put_new(
                serde_dynamo::to_item(InvoiceItem::new(&Invoice {
                    version: 1,
                    ..draft.clone()
                }))
                .map_err(corrupt("invoice"))?,
            )?,
        ];
        let reasons = self.transact(writes).await?;
        Self::invoice_written(reasons, "invoice draft")
    }

    async fn redraft(&self, draft: &Invoice) -> Result<(), InvoiceWriteError> {
        let item = serde_dynamo::to_item(InvoiceItem::new(&Invoice {
            version: draft.version + 1,
            ..draft.clone()
        }))
        .map_err(corrupt("invoice"))?;
        let writes = vec![self.conditional_put(
            item,
            "#version = :read",
            Some(("#version", "version", ":read", n(draft.version))),
        )?];
        let reasons = self.transact(writes).await?;
        Self::invoice_written(reasons, "invoice redraft")
    }

    async fn find_invoices(
        &self,
        query: &InvoiceQuery,
        after: Option<InvoiceId>,
        limit: u16,
    ) -> Result<Page<Invoice, InvoiceId>, StoreError> {
        let (lowest, highest) = made_between(query);
        // The cursor narrows the window's top: ids strictly below it.
        let highest = match after {
            Some(after) => match after.as_ulid().0.checked_sub(1) {
                Some(below) => highest.min(Ulid(below)),
                None => return Ok(no_invoices()),
            },
            None => highest,
        };
        if highest < lowest {
            return Ok(no_invoices());
        }
        let reads = futures::future::try_join_all(
            Listing::of(query)
                .into_iter()
                .map(|listing| self.read_listing(listing, (lowest, highest), query, limit)),
        )
        .await?;
        Ok(merged(reads, usize::from(limit), |invoice| invoice.id))
    }

    async fn invoice_receipt(
        &self,
        key: &IdempotencyKey,
    ) -> Result<Option<InvoiceReceipt>, StoreError> {
        let item: Option<InvoiceReceiptItem> = self
            .get_consistent(idempotency_key(key), "invoice receipt")
            .await?;
        Ok(item.and_then(|receipt| receipt.into_live_receipt(now_secs())))
    }

    async fn payment_record(&self, id: Ulid) -> Result<Option<PaymentRecord>, StoreError> {
        let item: Option<PaymentRecordItem> = self
            .get_consistent(payment_record_key(id), "payment record")
            .await?;
        Ok(item.map(PaymentRecordItem::into_record))
    }

    async fn record_invoice_payment(
        &self,
        write: &InvoicePayment,
    ) -> Result<(), InvoiceWriteError> {
        let receipt = InvoiceReceiptItem::for_payment(write, now_secs())?;
        let mut writes = vec![
            self.invoice_receipt_put(receipt)?,
            self.put_new(
                serde_dynamo::to_item(PaymentRecordItem::new(&write.payment))
                    .map_err(corrupt("payment record"))?,
            )?,
        ];
        for invoice in &write.invoices {
            writes.push(self.invoice_rewrite(
                invoice,
                reindexed(
                    invoice,
                    &[
                        "paid = :paid",
                        "#status = :status",
                        "version = version + :one",
                    ],
                    &[],
                    HashMap::from([
                        (":paid".to_owned(), n(invoice.paid_minor)),
                        (":status".to_owned(), s(invoice.status.as_str())),
                    ]),
                ),
            )?);
        }
        for event in &write.events {
            writes.push(self.outbox_put(event)?);
        }
        let reasons = self.transact(writes).await?;
        Self::invoice_written(reasons, "invoice payment")
    }

    async fn void_invoice(&self, write: &InvoiceVoid) -> Result<(), InvoiceWriteError> {
        let invoice = &write.invoice;
        let mut values = HashMap::from([(":status".to_owned(), s(invoice.status.as_str()))]);
        let mut sets = vec!["#status = :status", "version = version + :one"];
        let mut removes = Vec::new();
        // The invoice is written as given, as the in-memory store writes it:
        // one given with no voiding keeps none.
        match &invoice.voided {
            Some(voiding) => {
                let voided = serde_dynamo::to_attribute_value(voiding)
                    .map_err(corrupt("invoice voiding"))?;
                values.insert(":voided".to_owned(), voided);
                sets.push("voided = :voided");
            }
            None => removes.push("voided"),
        }
        let writes = vec![
            self.invoice_rewrite(invoice, reindexed(invoice, &sets, &removes, values))?,
            self.outbox_put(&write.event)?,
        ];
        let reasons = self.transact(writes).await?;
        Self::invoice_written(reasons, "invoice void")
    }

    async fn open_invoices_due(
        &self,
        range: &DueRange,
    ) -> Result<Page<Invoice, DueCursor>, StoreError> {
        let partition = open_invoices_partition(range.shard);
        let limit = usize::from(range.limit);
        // Sort keys are `<due ms>#<id>`: every key below a bare `<ms>` is
        // due strictly before it. The index projects every attribute, so
        // its items are whole invoices, as they stood a moment ago.
        let request = self
            .client
            .query()
            .table_name(&self.table)
            .index_name("gsi3")
            .key_condition_expression("gsi3pk = :open AND gsi3sk < :before")
            .expression_attribute_values(":open", s(partition.clone()))
            .expression_attribute_values(":before", s(open_invoices_due_from(range.before)))
            // One more than asked: it tells whether another page exists.
            .limit(i32::from(range.limit) + 1);
        // The cursor's invoice may have left the index since: its keys
        // still mark the place to read on from.
        let mut start = range.after.map(|after| {
            let (pk, sk) = invoice_key(after.id);
            HashMap::from([
                ("pk".to_owned(), s(pk)),
                ("sk".to_owned(), s(sk)),
                ("gsi3pk".to_owned(), s(partition.clone())),
                (
                    "gsi3sk".to_owned(),
                    s(open_invoice_sort(after.due_at, after.id)),
                ),
            ])
        });
        let mut due = Vec::new();
        // A page cut short by DynamoDB's 1 MB is read on until it is full
        // (and one more shows there is a next) or the index ends.
        loop {
            let page = request
                .clone()
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(sdk)?;
            for item in page.items.unwrap_or_default() {
                let item: InvoiceItem =
                    serde_dynamo::from_item(item).map_err(corrupt("invoice"))?;
                due.push(item.into_invoice());
            }
            start = page.last_evaluated_key;
            if start.is_none() || due.len() > limit {
                break;
            }
        }
        let more = due.len() > limit;
        due.truncate(limit);
        let next = match due.last().filter(|_| more) {
            Some(last) => Some(DueCursor {
                due_at: last.due_at.ok_or_else(|| StoreError::Corrupt {
                    entity: "invoice",
                    reason: format!("{} is open in the index with no due date", last.id),
                })?,
                id: last.id,
            }),
            None => None,
        };
        Ok(Page { items: due, next })
    }

    async fn remind_overdue(&self, write: &InvoiceReminder) -> Result<(), InvoiceWriteError> {
        let invoice = &write.invoice;
        // Still open: its place in the open invoices stays as it is.
        let (expression, values) = match invoice.reminders_sent {
            0 => ("SET version = version + :one REMOVE rem", HashMap::new()),
            sent => (
                "SET rem = :rem, version = version + :one",
                HashMap::from([(":rem".to_owned(), n(sent))]),
            ),
        };
        let writes = vec![
            self.invoice_rewrite(invoice, (expression.to_owned(), values))?,
            self.outbox_put(&write.event)?,
        ];
        let reasons = self.transact(writes).await?;
        Self::invoice_written(reasons, "invoice reminder")
    }

    async fn order_invoices(&self, order: OrderId) -> Result<Vec<Invoice>, StoreError> {
        let (pk, _) = order_key(order);
        let mut documents = Vec::new();
        for item in self
            .query_partition(&pk, SortKeys::StartingWith(INVOICE_CLAIMS))
            .await?
        {
            let claim: InvoiceClaimItem =
                serde_dynamo::from_item(item).map_err(corrupt("invoice claim"))?;
            match self.invoice(claim.invoice).await? {
                Some(document) => documents.push(document),
                None => {
                    return Err(StoreError::Corrupt {
                        entity: "invoice claim",
                        reason: format!("order {order} claims {} it lacks", claim.invoice),
                    });
                }
            }
        }
        Ok(documents)
    }
}

impl DynamoStore {
    /// The counter moves to `number` from `follows`: created by the first
    /// number of its sequence, else only from the number read.
    fn counter_write(
        &self,
        number: InvoiceNumber,
        follows: Option<u64>,
    ) -> Result<TransactWriteItem, StoreError> {
        let Some(follows) = follows else {
            let first = SequenceItem::first(number);
            return self
                .put_new(serde_dynamo::to_item(first).map_err(corrupt("invoice sequence"))?);
        };
        let update = Update::builder()
            .table_name(&self.table)
            .set_key(Some(key(sequence_key(number.sequence))))
            .update_expression("SET #last = :next")
            .condition_expression("#last = :follows")
            .expression_attribute_names("#last", "last")
            .expression_attribute_values(":next", n(number.number))
            .expression_attribute_values(":follows", n(follows))
            .build()
            .map_err(malformed)?;
        Ok(TransactWriteItem::builder().update(update).build())
    }

    /// Updates `invoice`'s item by an expression (which moves `version` on
    /// by `:one` and may name `#status`) with its values, only from the
    /// version it was read at.
    fn invoice_rewrite(
        &self,
        invoice: &Invoice,
        (expression, mut values): (String, HashMap<String, AttributeValue>),
    ) -> Result<TransactWriteItem, StoreError> {
        values.insert(":read".to_owned(), n(invoice.version));
        values.insert(":one".to_owned(), n(1));
        let mut update = Update::builder()
            .table_name(&self.table)
            .set_key(Some(key(invoice_key(invoice.id))))
            .update_expression(&expression)
            .condition_expression("version = :read")
            .set_expression_attribute_values(Some(values));
        // DynamoDB refuses a name the expressions do not use.
        if expression.contains("#status") {
            update = update.expression_attribute_names("#status", "status");
        }
        Ok(TransactWriteItem::builder()
            .update(update.build().map_err(malformed)?)
            .build())
    }

    /// Invoices `query` admits in one listing partition with ids within
    /// `window`, newest first: until `limit` are admitted, the partition
    /// ends, or the listing's page budget is spent.
    async fn read_listing(
        &self,
        listing: Listing,
        (lowest, highest): (Ulid, Ulid),
        query: &InvoiceQuery,
        limit: u16,
    ) -> Result<PartitionRead<Invoice, InvoiceId>, StoreError> {
        let request = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(listing.index)
            .key_condition_expression(format!(
                "{0}pk = :partition AND {0}sk BETWEEN :lowest AND :highest",
                listing.index
            ))
            .expression_attribute_values(":partition", s(listing.partition.clone()))
            .expression_attribute_values(":lowest", s(listing.sort(lowest)))
            .expression_attribute_values(":highest", s(listing.sort(highest)))
            .scan_index_forward(false)
            .limit(i32::from(limit) + 1);
        read_partition(request, limit, |item| {
            let invoice = serde_dynamo::from_item::<_, InvoiceItem>(item)
                .map_err(corrupt("invoice"))?
                .into_invoice();
            Ok(Read::Read {
                key: invoice.id,
                admitted: query.admits(&invoice),
                record: invoice,
            })
        })
        .await
    }

    /// A key's receipt, unless the key was used: an expired receipt still
    /// present is replaced.
    fn invoice_receipt_put(
        &self,
        receipt: InvoiceReceiptItem,
    ) -> Result<TransactWriteItem, StoreError> {
        self.conditional_put(
            serde_dynamo::to_item(receipt).map_err(corrupt("invoice receipt"))?,
            "attribute_not_exists(pk) OR #ttl <= :now",
            Some(("#ttl", "ttl", ":now", n(now_secs()))),
        )
    }

    /// An outbox item carrying `event`.
    fn outbox_put(&self, event: &OutboxEvent) -> Result<TransactWriteItem, StoreError> {
        self.put_new(
            serde_dynamo::to_item(OutboxItem::from_event(event)?).map_err(corrupt("outbox"))?,
        )
    }

    /// What a change to an issued invoice came to: any write refused, or
    /// an item held by another transaction, is a stale read.
    fn invoice_written(
        reasons: Option<CancellationReasons>,
        what: &str,
    ) -> Result<(), InvoiceWriteError> {
        match reasons {
            None => Ok(()),
            Some(reasons)
                if (0..reasons.len()).any(|index| condition_failed(&reasons, index))
                    || reasons.iter().any(|r| r == "TransactionConflict") =>
            {
                Err(InvoiceWriteError::Stale)
            }
            Some(reasons) => {
                Err(shopflow_aws_errors::unexplained_cancellation(what, &reasons).into())
            }
        }
    }

    /// The document that answered `claim`, if one did.
    async fn answered_by(&self, claim: Claim) -> Result<Option<InvoiceId>, StoreError> {
        let item: Option<InvoiceClaimItem> = self
            .get_consistent(invoice_claim_key(claim), "invoice claim")
            .await?;
        Ok(item.map(|item| item.invoice))
    }
}

/// One partition a listing reads: one customer's invoices (gsi1), or one
/// shard of everyone's (gsi2), by id.
struct Listing {
    index: &'static str,
    partition: String,
    /// Sort keys are the id after this.
    prefix: &'static str,
}

impl Listing {
    /// Where `query` reads: the customer's partition, or every shard.
    fn of(query: &InvoiceQuery) -> Vec<Self> {
        match &query.customer {
            Some(customer) => vec![Self {
                index: "gsi1",
                partition: customer_orders_partition(customer),
                prefix: "INVOICE#",
            }],
            None => (0..STATUS_SHARDS)
                .map(|shard| Self {
                    index: "gsi2",
                    partition: all_invoices_partition(shard),
                    prefix: "",
                })
                .collect(),
        }
    }

    fn sort(&self, id: Ulid) -> String {
        format!("{}{id}", self.prefix)
    }
}

fn no_invoices() -> Page<Invoice, InvoiceId> {
    Page {
        items: Vec::new(),
        next: None,
    }
}

/// The lowest and highest ids of invoices made within the query's window:
/// an id's time is when the invoice was made.
fn made_between(query: &InvoiceQuery) -> (Ulid, Ulid) {
    (
        Ulid::from_parts(query.from.map(Timestamp::as_millis).unwrap_or(0), 0),
        Ulid::from_parts(
            query.to.map(Timestamp::as_millis).unwrap_or(u64::MAX >> 16),
            u128::MAX,
        ),
    )
}

/// The update expression setting `sets` and removing `removes`, with
/// `values`, that also lists `invoice` among all invoices (gsi2) and moves
/// it to where it now stands in the open invoices (gsi3): its keys set
/// while money is owed on it, removed once it is paid or void.
fn reindexed(
    invoice: &Invoice,
    sets: &[&str],
    removes: &[&str],
    mut values: HashMap<String, AttributeValue>,
) -> (String, HashMap<String, AttributeValue>) {
    let mut sets = sets.to_vec();
    let mut removes = removes.to_vec();
    // Every invoice is listed (gsi2), one written before listings too.
    values.insert(
        ":gsi2pk".to_owned(),
        s(all_invoices_partition(shopflow_ports::invoice_shard(
            invoice.id,
        ))),
    );
    values.insert(":gsi2sk".to_owned(), s(invoice.id.to_string()));
    sets.extend(["gsi2pk = :gsi2pk", "gsi2sk = :gsi2sk"]);
    match open_invoice_keys(invoice) {
        Some((gsi3pk, gsi3sk)) => {
            values.insert(":gsi3pk".to_owned(), s(gsi3pk));
            values.insert(":gsi3sk".to_owned(), s(gsi3sk));
            sets.extend(["gsi3pk = :gsi3pk", "gsi3sk = :gsi3sk"]);
        }
        None => removes.extend(["gsi3pk", "gsi3sk"]),
    }
    let mut expression = format!("SET {}", sets.join(", "));
    if !removes.is_empty() {
        expression.push_str(&format!(" REMOVE {}", removes.join(", ")));
    }
    (expression, values)
}
