//! Invoices in memory: each sequence's last number, the invoices and
//! credit notes, what each answers (its claim) and the payment records,
//! written together or not at all, as the DynamoDB adapter writes them.

use super::MemoryStore;
use async_trait::async_trait;
use shopflow_domain::OrderId;
use shopflow_domain::invoice::{Invoice, InvoiceId, PaymentRecord, Sequence};
use shopflow_ports::{
    Claim, DueCursor, DueRange, IdempotencyKey, InvoiceIssue, InvoicePayment, InvoiceQuery,
    InvoiceReceipt, InvoiceReminder, InvoiceStore, InvoiceVoid, InvoiceWriteError, IssueError,
    Page, StoreError, invoice_shard,
};
use ulid::Ulid;

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
        if let Some(claim) = &issue.claim
            && let Some(answered) = state.claims.get(claim)
        {
            return Err(IssueError::AlreadyIssued(*answered));
        }
        let stored = state.invoices.get(&invoice.id).map(|stored| stored.version);
        if stored != issue.draft_version {
            return match issue.draft_version {
                Some(_) => Err(IssueError::DraftChanged),
                None => Err(StoreError::Defect {
                    what: "issuing an invoice".into(),
                    source: format!("invoice {} exists already", invoice.id).into(),
                }
                .into()),
            };
        }
        state.sequences.insert(number.sequence, number.number);
        if let Some(claim) = issue.claim {
            state.claims.insert(claim, invoice.id);
        }
        state.invoices.insert(
            invoice.id,
            Invoice {
                version: issue.draft_version.unwrap_or(0) + 1,
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

    async fn create_draft(
        &self,
        draft: &Invoice,
        key: &IdempotencyKey,
        fingerprint: &str,
    ) -> Result<(), InvoiceWriteError> {
        let mut state = self.state();
        if state.invoice_receipts.contains_key(key) {
            return Err(InvoiceWriteError::Stale);
        }
        if state.invoices.contains_key(&draft.id) {
            return Err(StoreError::Defect {
                what: "keeping a draft".into(),
                source: format!("invoice {} exists already", draft.id).into(),
            }
            .into());
        }
        state.invoices.insert(
            draft.id,
            Invoice {
                version: 1,
                ..draft.clone()
            },
        );
        state.invoice_receipts.insert(
            key.clone(),
            InvoiceReceipt {
                fingerprint: fingerprint.to_owned(),
                invoice_id: draft.id,
                payment_id: None,
            },
        );
        Ok(())
    }

    async fn redraft(&self, draft: &Invoice) -> Result<(), InvoiceWriteError> {
        Self::rewrite_invoice(&mut self.state(), draft)
    }

    async fn find_invoices(
        &self,
        query: &InvoiceQuery,
        after: Option<InvoiceId>,
        limit: u16,
    ) -> Result<Page<Invoice, InvoiceId>, StoreError> {
        let state = self.state();
        let mut found: Vec<Invoice> = state
            .invoices
            .values()
            .filter(|invoice| after.is_none_or(|after| invoice.id < after))
            .filter(|invoice| query.admits(invoice))
            .cloned()
            .collect();
        found.sort_by_key(|invoice| std::cmp::Reverse(invoice.id));
        Ok(Page::first(found, usize::from(limit), |invoice| invoice.id))
    }

    async fn invoice_receipt(
        &self,
        key: &IdempotencyKey,
    ) -> Result<Option<InvoiceReceipt>, StoreError> {
        Ok(self.state().invoice_receipts.get(key).cloned())
    }

    async fn payment_record(&self, id: Ulid) -> Result<Option<PaymentRecord>, StoreError> {
        Ok(self.state().payment_records.get(&id).cloned())
    }

    async fn record_invoice_payment(
        &self,
        write: &InvoicePayment,
    ) -> Result<(), InvoiceWriteError> {
        let mut state = self.state();
        if state.invoice_receipts.contains_key(&write.key) {
            return Err(InvoiceWriteError::Stale);
        }
        let Some(first) = write.invoices.first().map(|invoice| invoice.id) else {
            return Err(StoreError::Corrupt {
                entity: "invoice payment",
                reason: "allocated to no invoice".into(),
            }
            .into());
        };
        // All or nothing: every invoice still at the version read.
        let stale = write.invoices.iter().any(|invoice| {
            state.invoices.get(&invoice.id).map(|stored| stored.version) != Some(invoice.version)
        });
        if stale {
            return Err(InvoiceWriteError::Stale);
        }
        for invoice in &write.invoices {
            Self::rewrite_invoice(&mut state, invoice)?;
        }
        state
            .payment_records
            .insert(write.payment.id, write.payment.clone());
        state.invoice_receipts.insert(
            write.key.clone(),
            InvoiceReceipt {
                fingerprint: write.fingerprint.clone(),
                invoice_id: first,
                payment_id: Some(write.payment.id),
            },
        );
        state.outbox.extend(write.events.iter().cloned());
        Ok(())
    }

    async fn void_invoice(&self, write: &InvoiceVoid) -> Result<(), InvoiceWriteError> {
        let mut state = self.state();
        Self::rewrite_invoice(&mut state, &write.invoice)?;
        state.outbox.push(write.event.clone());
        Ok(())
    }

    async fn open_invoices_due(
        &self,
        range: &DueRange,
    ) -> Result<Page<Invoice, DueCursor>, StoreError> {
        let state = self.state();
        let mut due: Vec<(DueCursor, Invoice)> = state
            .invoices
            .values()
            .filter(|invoice| invoice.open_minor() > 0 && invoice_shard(invoice.id) == range.shard)
            .filter_map(|invoice| {
                let due_at = invoice.due_at.filter(|due| *due < range.before)?;
                let cursor = DueCursor {
                    due_at,
                    id: invoice.id,
                };
                Some((cursor, invoice.clone()))
            })
            .filter(|(cursor, _)| {
                range
                    .after
                    .is_none_or(|after| (cursor.due_at, cursor.id) > (after.due_at, after.id))
            })
            .collect();
        due.sort_by_key(|(cursor, _)| (cursor.due_at, cursor.id));
        let more = due.len() > usize::from(range.limit);
        due.truncate(usize::from(range.limit));
        let next = more
            .then(|| due.last().map(|(cursor, _)| *cursor))
            .flatten();
        Ok(Page {
            items: due.into_iter().map(|(_, invoice)| invoice).collect(),
            next,
        })
    }

    async fn remind_overdue(&self, write: &InvoiceReminder) -> Result<(), InvoiceWriteError> {
        let mut state = self.state();
        Self::rewrite_invoice(&mut state, &write.invoice)?;
        state.outbox.push(write.event.clone());
        Ok(())
    }

    async fn order_invoices(&self, order: OrderId) -> Result<Vec<Invoice>, StoreError> {
        let state = self.state();
        let mut documents: Vec<(i64, Invoice)> = state
            .claims
            .iter()
            .filter_map(|(claim, id)| match *claim {
                Claim::Invoice(of) if of == order => Some((-1, id)),
                Claim::Refunds {
                    order: of,
                    refunded_minor,
                } if of == order => Some((refunded_minor, id)),
                _ => None,
            })
            .filter_map(|(rank, id)| state.invoices.get(id).map(|doc| (rank, doc.clone())))
            .collect();
        documents.sort_by_key(|(rank, _)| *rank);
        Ok(documents
            .into_iter()
            .map(|(_, document)| document)
            .collect())
    }
}

impl MemoryStore {
    /// Replaces the stored invoice with `after` if it is still at
    /// `after.version`, moving its version on.
    fn rewrite_invoice(state: &mut super::State, after: &Invoice) -> Result<(), InvoiceWriteError> {
        let current = state.invoices.get_mut(&after.id);
        match current {
            Some(current) if current.version == after.version => {
                *current = Invoice {
                    version: after.version + 1,
                    ..after.clone()
                };
                Ok(())
            }
            _ => Err(InvoiceWriteError::Stale),
        }
    }

    /// Every payment record, oldest first.
    pub fn payment_records(&self) -> Vec<PaymentRecord> {
        self.state().payment_records.values().cloned().collect()
    }
}
