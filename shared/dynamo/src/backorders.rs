//! The backorder allocator's reads and writes: a queue with its stock, and
//! a batch of allocations in one transaction.

use super::items::{
    AllocationItem, BackorderItem, OrderItem, PaymentItem, PriorityChangeItem, StockItem,
    backorder_key, backorder_queue, backorder_standing, order_key, standing_sort, stock_key,
    stored_fulfillment,
};
use super::{
    DynamoStore, carrying_item, condition_failed, corrupt, key, malformed, movement, n, s,
};
use async_trait::async_trait;
use aws_sdk_dynamodb::types::{Delete, TransactWriteItem, Update};
use shopflow_domain::{
    Backorder, BackorderStatus, MovementCause, MovementNote, Order, OrderId, Sku, WarehouseId,
};
use shopflow_ports::{
    AllocateError, AllocationBatch, BackorderAllocation, BackorderCancellation, BackorderStore,
    Queue, RefundWrite, Reprioritization, StoreError,
};
use std::collections::HashMap;

#[async_trait]
impl BackorderStore for DynamoStore {
    async fn queue(&self, sku: &Sku, warehouse: &WarehouseId) -> Result<Queue, StoreError> {
        let stock = self
            .batch_get(vec![key(stock_key(sku, warehouse))])
            .await?
            .into_iter()
            .next()
            .map(|item| serde_dynamo::from_item::<_, StockItem>(item).map_err(corrupt("stock")))
            .transpose()?;
        let waiting = self
            .open_backorders(sku, warehouse)
            .await?
            .into_iter()
            .map(BackorderItem::into_backorder)
            .collect();
        Ok(Queue {
            sku: sku.clone(),
            warehouse: warehouse.clone(),
            level: stock.map(|stock| stock.level()).unwrap_or_default(),
            waiting,
        })
    }

    async fn orders_by_id(&self, ids: &[OrderId]) -> Result<Vec<Order>, StoreError> {
        let keys = ids.iter().map(|id| key(order_key(*id))).collect();
        self.batch_get(keys)
            .await?
            .into_iter()
            .map(|item| {
                serde_dynamo::from_item::<_, OrderItem>(item)
                    .map_err(corrupt("order"))?
                    .into_order()
            })
            .collect()
    }

    async fn allocate(&self, batch: &AllocationBatch) -> Result<(), AllocateError> {
        let mut writes = Vec::with_capacity(1 + 4 * batch.allocations.len());
        writes.push(self.allocate_stock(batch)?);
        for allocation in &batch.allocations {
            writes.push(self.advance_backorder(allocation)?);
            // One waits less; when nothing waits any more, its goods move too.
            writes.push(self.rewrite_order(
                &allocation.order,
                OrderRewrite {
                    money: false,
                    goods: allocation.goods.is_some(),
                },
            )?);
            writes.push(self.put_new(carrying_item(
                &AllocationItem::new(allocation),
                Some(&allocation.event),
                "allocation",
            )?)?);
            if let Some(goods) = &allocation.goods {
                writes.push(self.history_put(goods)?);
            }
        }
        let Some(reasons) = self.transact(writes).await? else {
            return Ok(());
        };
        Err(refusal("backorder allocation", &reasons))
    }

    async fn cancel_backorder(
        &self,
        cancellation: &BackorderCancellation,
    ) -> Result<(), AllocateError> {
        let handback = std::slice::from_ref(&cancellation.handback);
        for _ in 0..CANCEL_ATTEMPTS {
            let levels = self.stock_levels_of(handback).await?;
            let at = stock_key(&cancellation.handback.sku, &cancellation.handback.warehouse);
            let counted = levels
                .get(&at)
                .is_some_and(|stock| cancellation.handback.applied_to(stock.level()).is_ok());
            if !counted {
                // The counters no longer hold these waiting units: the
                // backorder left the queue or was served meanwhile.
                return Err(AllocateError::Moved);
            }
            // Its lines, the refund held back in its money, and its goods.
            let mut writes = vec![self.rewrite_order(
                &cancellation.order,
                OrderRewrite {
                    money: true,
                    goods: cancellation.goods.is_some(),
                },
            )?];
            if let Some(goods) = &cancellation.goods {
                writes.push(self.history_put(goods)?);
            }
            if let Some(refund) = &cancellation.refund {
                writes.push(
                    self.refund_put(cancellation.order.id, &RefundWrite::New(refund.clone()))?,
                );
            }
            let stock_at = writes.len();
            writes.extend(self.hand_back(
                &cancellation.handback,
                Some(&levels),
                &cancelled_units(cancellation)?,
            )?);
            let Some(reasons) = self.transact(writes).await? else {
                return Ok(());
            };
            let stock_only = condition_failed(&reasons, stock_at)
                && (0..reasons.len())
                    .filter(|index| *index != stock_at)
                    .all(|index| !condition_failed(&reasons, index));
            if stock_only {
                // Only the stock moved (a restock, a release): read it again.
                continue;
            }
            return Err(refusal("backorder cancellation", &reasons));
        }
        Err(AllocateError::Moved)
    }

    async fn reprioritize(&self, change: &Reprioritization) -> Result<(), AllocateError> {
        let moved = serde_dynamo::to_item(BackorderItem::from_backorder(&change.after))
            .map_err(corrupt("backorder"))?;
        let writes = vec![
            self.delete_read(&change.before)?,
            self.put_new(moved)?,
            self.rewrite_order(
                &change.order,
                OrderRewrite {
                    money: false,
                    goods: false,
                },
            )?,
            self.put_new(carrying_item(
                &PriorityChangeItem::new(change),
                Some(&change.event),
                "priority change",
            )?)?,
        ];
        let Some(reasons) = self.transact(writes).await? else {
            return Ok(());
        };
        Err(refusal("backorder priority change", &reasons))
    }
}

impl DynamoStore {
    /// The backorder's item at its old key, gone only while it is as read.
    fn delete_read(&self, backorder: &Backorder) -> Result<TransactWriteItem, StoreError> {
        let delete = Delete::builder()
            .table_name(&self.table)
            .set_key(Some(key(backorder_key(backorder))))
            .condition_expression("st = :st AND alloc = :alloc AND prio = :prio")
            .expression_attribute_values(":st", s(backorder.status.as_str()))
            .expression_attribute_values(":alloc", n(backorder.allocated))
            .expression_attribute_values(":prio", n(backorder.priority))
            .build()
            .map_err(malformed)?;
        Ok(TransactWriteItem::builder().delete(delete).build())
    }
}

/// What an order rewritten with its lines changes besides them.
#[derive(Debug, Clone, Copy)]
pub(super) struct OrderRewrite {
    /// Its money (`pay`).
    pub(super) money: bool,
    /// Its fulfilment status (`ful`).
    pub(super) goods: bool,
}

/// Why a queue's transaction was refused: something it held on moved (a
/// condition failed, or another transaction had an item), or, if neither,
/// a defect.
fn refusal(what: &str, reasons: &[String]) -> AllocateError {
    let moved = (0..reasons.len()).any(|index| condition_failed(reasons, index))
        || reasons.iter().any(|reason| reason == "TransactionConflict");
    if moved {
        AllocateError::Moved
    } else {
        AllocateError::Store(shopflow_aws_errors::unexplained_cancellation(what, reasons))
    }
}

/// Writes of a cancellation whose stock item moved meanwhile, before it
/// is given up as moved.
const CANCEL_ATTEMPTS: u32 = 5;

impl DynamoStore {
    /// The open backorders of a queue, in allocation order (the sort key),
    /// every page, strongly consistent.
    async fn open_backorders(
        &self,
        sku: &Sku,
        warehouse: &WarehouseId,
    ) -> Result<Vec<BackorderItem>, StoreError> {
        let query = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :pk")
            .filter_expression("st IN (:pending, :partial)")
            .expression_attribute_values(":pk", s(backorder_queue(sku, warehouse)))
            .expression_attribute_values(":pending", s(BackorderStatus::Pending.as_str()))
            .expression_attribute_values(":partial", s(BackorderStatus::Partial.as_str()))
            .consistent_read(true);
        Self::every_page(query)
            .await?
            .into_iter()
            .map(|item| serde_dynamo::from_item(item).map_err(corrupt("backorder")))
            .collect()
    }

    /// The batch's units move from set aside to reserved, and out of the
    /// backordered count, only while that many are still set aside.
    fn allocate_stock(&self, batch: &AllocationBatch) -> Result<TransactWriteItem, StoreError> {
        // The ledger names the batch by its first allocation record.
        let first = batch
            .allocations
            .first()
            .ok_or_else(|| StoreError::Defect {
                what: "backorder allocation".into(),
                source: "an allocation batch with no allocations".into(),
            })?;
        let note = MovementNote::new(MovementCause::BackorderAllocated, first.record_id, first.at);
        let update = Update::builder()
            .table_name(&self.table)
            .set_key(Some(key(stock_key(&batch.sku, &batch.warehouse))))
            .update_expression(
                "SET set_aside = set_aside - :u, backordered = backordered - :u, \
                 reserved = reserved + :u, version = version + :one, mv = :mv",
            )
            .condition_expression("set_aside >= :u AND backordered >= :u")
            .expression_attribute_values(":u", n(batch.units()))
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":mv", movement(&note))
            .build()
            .map_err(malformed)?;
        Ok(TransactWriteItem::builder().update(update).build())
    }

    /// The backorder as read gets its units: nothing else allocated to it
    /// or cancelled it meanwhile.
    fn advance_backorder(
        &self,
        allocation: &BackorderAllocation,
    ) -> Result<TransactWriteItem, StoreError> {
        let after = allocation.after();
        // A fulfilled backorder is filed by when it was fulfilled.
        let standing = backorder_standing(after.status, after.id);
        let since = if after.status.is_open() {
            standing_sort(after.created_at, after.id)
        } else {
            standing_sort(allocation.at, after.id)
        };
        let update = Update::builder()
            .table_name(&self.table)
            .set_key(Some(key(backorder_key(&allocation.backorder))))
            .update_expression("SET alloc = :after, st = :st, gsi3pk = :standing, gsi3sk = :since")
            .expression_attribute_values(":standing", s(standing))
            .expression_attribute_values(":since", s(since))
            .condition_expression("alloc = :before AND st = :read")
            .expression_attribute_values(":after", n(after.allocated))
            .expression_attribute_values(":st", s(after.status.as_str()))
            .expression_attribute_values(":before", n(allocation.backorder.allocated))
            .expression_attribute_values(":read", s(allocation.backorder.status.as_str()))
            .build()
            .map_err(malformed)?;
        Ok(TransactWriteItem::builder().update(update).build())
    }

    /// `order` rewritten on the version it was read at: its lines, and
    /// what else `rewrite` says changed with them.
    pub(super) fn rewrite_order(
        &self,
        order: &Order,
        rewrite: OrderRewrite,
    ) -> Result<TransactWriteItem, StoreError> {
        let lines = serde_dynamo::to_attribute_value(OrderItem::from_order(order).lines)
            .map_err(corrupt("order lines"))?;
        let mut values = HashMap::from([
            (":lines".to_owned(), lines),
            (":one".to_owned(), n(1)),
            (":read".to_owned(), n(order.version)),
        ]);
        let mut expression = "SET #lines = :lines, version = version + :one".to_owned();
        if rewrite.money {
            let pay = PaymentItem::from_payment(&order.payment).unwrap_or_default();
            expression.push_str(", pay = :pay");
            values.insert(
                ":pay".to_owned(),
                serde_dynamo::to_attribute_value(pay).map_err(corrupt("order payment"))?,
            );
        }
        if rewrite.goods {
            match stored_fulfillment(order.fulfillment_status) {
                Some(status) => {
                    expression.push_str(", ful = :ful");
                    values.insert(":ful".to_owned(), s(status.as_str()));
                }
                None => expression.push_str(" REMOVE ful"),
            }
        }
        let update = Update::builder()
            .table_name(&self.table)
            .set_key(Some(key(order_key(order.id))))
            .update_expression(expression)
            .condition_expression("version = :read")
            .expression_attribute_names("#lines", "lines")
            .set_expression_attribute_values(Some(values))
            .build()
            .map_err(malformed)?;
        Ok(TransactWriteItem::builder().update(update).build())
    }
}

/// The ledger's note of a cancellation's stock change: its backorder's
/// waiting units leave the queue.
fn cancelled_units(cancellation: &BackorderCancellation) -> Result<MovementNote, StoreError> {
    let leaving = cancellation
        .handback
        .leaving
        .as_ref()
        .ok_or_else(|| StoreError::Defect {
            what: "backorder cancellation".into(),
            source: "a cancellation with no backorder leaving the queue".into(),
        })?;
    Ok(MovementNote::new(
        MovementCause::BackorderCancelled,
        leaving.backorder.id,
        leaving.event.occurred_at,
    ))
}
