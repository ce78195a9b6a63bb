//! Invoices and credit notes: each sequence's counter, and an issue's one
//! transaction that moves it on from the number read, with the document,
//! what it answers (its claim), the payment allocated to it and the events.

use super::items::{
    INVOICE_CLAIMS, InvoiceClaimItem, InvoiceItem, OutboxItem, PaymentRecordItem, SequenceItem,
    invoice_claim_key, invoice_key, order_key, sequence_key,
};
use super::{DynamoStore, SortKeys, condition_failed, corrupt, key, malformed, n};
use async_trait::async_trait;
use aws_sdk_dynamodb::types::{TransactWriteItem, Update};
use shopflow_domain::OrderId;
use shopflow_domain::invoice::{Invoice, InvoiceId, InvoiceNumber, Sequence};
use shopflow_ports::{Claim, InvoiceIssue, InvoiceStore, IssueError, StoreError};

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
        let mut writes = vec![
            self.counter_write(number, issue.follows)?,
            self.put_new(
                serde_dynamo::to_item(InvoiceItem::new(&Invoice {
                    version: 1,
                    ..invoice.clone()
                }))
                .map_err(corrupt("invoice"))?,
            )?,
        ];
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
            writes.push(self.put_new(
                serde_dynamo::to_item(OutboxItem::from_event(event)?).map_err(corrupt("outbox"))?,
            )?);
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

    /// The document that answered `claim`, if one did.
    async fn answered_by(&self, claim: Claim) -> Result<Option<InvoiceId>, StoreError> {
        let item: Option<InvoiceClaimItem> = self
            .get_consistent(invoice_claim_key(claim), "invoice claim")
            .await?;
        Ok(item.map(|item| item.invoice))
    }
}
