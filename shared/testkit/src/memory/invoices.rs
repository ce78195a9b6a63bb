//! Invoices in memory: each sequence's last number, the invoices, each
//! order's claim on its invoice and the payment records, written together
//! or not at all, as the DynamoDB adapter writes them.

use super::MemoryStore;
use async_trait::async_trait;
use shopflow_domain::OrderId;
use shopflow_domain::invoice::{Invoice, InvoiceId, PaymentRecord, Sequence};
use shopflow_ports::{InvoiceIssue, InvoiceStore, IssueError, StoreError};

#[async_trait]
impl InvoiceStore for MemoryStore {
    async fn last_number(&self, sequence: Sequence) -> Result<Option<u64>, StoreError> {
        Ok(self.state().sequences.get(&sequence).copied())
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
        let mut state = self.state();
        if state.sequences.get(&number.sequence).copied() != issue.follows {
            return Err(IssueError::NumberTaken);
        }
        if let Some(order) = invoice.order_id
            && let Some(claimed) = state.order_invoices.get(&order)
        {
            return Err(IssueError::AlreadyInvoiced(*claimed));
        }
        state.sequences.insert(number.sequence, number.number);
        if let Some(order) = invoice.order_id {
            state.order_invoices.insert(order, invoice.id);
        }
        state.invoices.insert(
            invoice.id,
            Invoice {
                version: 1,
                ..invoice.clone()
            },
        );
        if let Some(payment) = &issue.payment {
            state.payment_records.insert(payment.id, payment.clone());
        }
        state.outbox.extend(issue.events.iter().cloned());
        Ok(())
    }

    async fn invoice(&self, id: InvoiceId) -> Result<Option<Invoice>, StoreError> {
        Ok(self.state().invoices.get(&id).cloned())
    }

    async fn order_invoices(&self, order: OrderId) -> Result<Vec<Invoice>, StoreError> {
        let state = self.state();
        Ok(state
            .order_invoices
            .get(&order)
            .and_then(|id| state.invoices.get(id))
            .cloned()
            .into_iter()
            .collect())
    }
}

impl MemoryStore {
    /// Every payment record, oldest first.
    pub fn payment_records(&self) -> Vec<PaymentRecord> {
        self.state().payment_records.values().cloned().collect()
    }
}
