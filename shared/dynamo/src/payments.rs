//! Payment records under each order: the ways it was offered to be paid
//! (`PAY#…`), the refunds staff asked for (`REFUND#…`), and changes to the
//! order's money that move no status.

use super::items::{
    AttemptItem, ORDER_RECORDS_FROM, OrderItem, OutboxItem, PaymentItem, RefundItem, order_key,
};
use super::{DynamoStore, Item, SortKeys, condition_failed, corrupt, key, malformed, n, s};
use async_trait::async_trait;
use aws_sdk_dynamodb::types::{TransactWriteItem, Update};
use shopflow_domain::{OrderId, PaymentAttempt, RefundStatus};
use shopflow_ports::{
    ChangeError, OrderPayments, PaymentChange, PaymentRecords, RefundWrite, StoreError,
};

fn item_type(item: &Item) -> Option<&str> {
    item.get("type")
        .and_then(|v| v.as_s().ok())
        .map(String::as_str)
}

impl DynamoStore {
    /// The order's money and version, checked against the version read.
    fn payment_update(&self, change: &PaymentChange) -> Result<TransactWriteItem, StoreError> {
        let pay = PaymentItem::from_payment(&change.payment).unwrap_or_default();
        let update = Update::builder()
            .table_name(&self.table)
            .set_key(Some(key(order_key(change.order_id))))
            .update_expression("SET pay = :pay, version = version + :one")
            .condition_expression("version = :expected")
            .expression_attribute_values(
                ":pay",
                serde_dynamo::to_attribute_value(pay).map_err(corrupt("order payment"))?,
            )
            .expression_attribute_values(":expected", n(change.expected_version))
            .expression_attribute_values(":one", n(1))
            .build()
            .map_err(malformed)?;
        Ok(TransactWriteItem::builder().update(update).build())
    }

    /// A new refund (its id unused), or the answer to a pending one (so two
    /// settlements of one refund can never both be written).
    pub(super) fn refund_put(
        &self,
        order: OrderId,
        write: &RefundWrite,
    ) -> Result<TransactWriteItem, StoreError> {
        let refund = match write {
            RefundWrite::New(refund) | RefundWrite::Settled(refund) => refund,
        };
        let item =
            serde_dynamo::to_item(RefundItem::new(order, refund)).map_err(corrupt("refund"))?;
        match write {
            RefundWrite::New(_) => self.put_new(item),
            RefundWrite::Settled(_) => self.conditional_put(
                item,
                "#status = :pending",
                Some((
                    "#status",
                    "status",
                    ":pending",
                    s(RefundStatus::Pending.as_str()),
                )),
            ),
        }
    }
}

#[async_trait]
impl PaymentRecords for DynamoStore {
    async fn order_payments(&self, id: OrderId) -> Result<Option<OrderPayments>, StoreError> {
        let (pk, _) = order_key(id);
        let mut order = None;
        let mut attempts = Vec::new();
        let mut refunds = Vec::new();
        for item in self
            .query_partition(&pk, SortKeys::From(ORDER_RECORDS_FROM))
            .await?
        {
            match item_type(&item) {
                Some("order") => {
                    let record: OrderItem =
                        serde_dynamo::from_item(item).map_err(corrupt("order"))?;
                    order = Some(record.into_order()?);
                }
                Some(AttemptItem::TYPE) => {
                    let record: AttemptItem =
                        serde_dynamo::from_item(item).map_err(corrupt("payment attempt"))?;
                    attempts.push(record.into_attempt()?);
                }
                Some(RefundItem::TYPE) => {
                    let record: RefundItem =
                        serde_dynamo::from_item(item).map_err(corrupt("refund"))?;
                    refunds.push(record.into_refund());
                }
                other => {
                    return Err(StoreError::Corrupt {
                        entity: "order records",
                        reason: format!("unexpected item type {other:?}"),
                    });
                }
            }
        }
        attempts.sort_by_key(PaymentAttempt::created_at);
        refunds.sort_by_key(|refund| refund.requested_at);
        Ok(order.map(|order| OrderPayments {
            order,
            attempts,
            refunds,
        }))
    }

    async fn record_attempt(
        &self,
        order_id: OrderId,
        attempt: &PaymentAttempt,
    ) -> Result<(), StoreError> {
        self.put_record(&AttemptItem::new(order_id, attempt), "payment attempt")
            .await
    }

    async fn change_payment(&self, change: &PaymentChange) -> Result<(), ChangeError> {
        let mut writes = vec![self.payment_update(change)?];
        let refund_index = change.refund.as_ref().map(|_| writes.len());
        if let Some(refund) = &change.refund {
            writes.push(self.refund_put(change.order_id, refund)?);
        }
        if let Some(event) = &change.event {
            writes.push(self.put_new(
                serde_dynamo::to_item(OutboxItem::from_event(event)?).map_err(corrupt("outbox"))?,
            )?);
        }
        let applied_index = writes.len();
        if let Some(record) = self.applied_record(change.applies.as_ref(), change.at)? {
            writes.push(record);
        }
        let Some(reasons) = self.transact(writes).await? else {
            return Ok(());
        };
        let failed = |index: usize| condition_failed(&reasons, index);
        if (change.applies.is_some() && failed(applied_index)) || refund_index.is_some_and(failed) {
            Err(ChangeError::AlreadyApplied)
        } else if failed(0) || reasons.iter().any(|r| r == "TransactionConflict") {
            Err(ChangeError::Stale)
        } else {
            Err(ChangeError::Store(
                shopflow_aws_errors::unexplained_cancellation("payment change", &reasons),
            ))
        }
    }
}
