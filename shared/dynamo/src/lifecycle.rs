//! Order status changes: a conditional update on the order's version, a
//! history item, the outbox event, and any stock and backorders handed back,
//! in one transaction.

use super::items::{
    AppliedEventItem, HistoryItem, OrderItem, OutboxItem, PaymentItem, PendingEvent, StockItem,
    backorder_key, backorder_standing, order_key, standing_sort, status_index_time,
    status_partition, status_partition_named, status_shard, status_sort, stock_key,
    stored_fulfillment,
};
use super::{
    Direction, DynamoStore, SortKeys, carrying_item, condition_failed, corrupt, key, malformed,
    movement, n, s, sdk,
};
use async_trait::async_trait;
use aws_sdk_dynamodb::types::{TransactWriteItem, Update};
use shopflow_domain::{
    BackorderStatus, MovementCause, MovementNote, Order, OrderId, OrderStatus, Timestamp,
};
use shopflow_ports::{
    ChangeError, ChangeRefusal, Handback, HistoryEntry, LeavingQueue, OrderLifecycle, OutboxEvent,
    Page, StatusChange, StoreError,
};
use std::collections::HashMap;

/// How one write of a change ended, when it was not refused for good.
enum Written {
    Done,
    /// A stock level it handed units back to moved since it was read.
    StockMoved,
}

/// The stock items of the lines a change hands back, as read.
pub(super) type Levels = HashMap<(String, String), StockItem>;

impl DynamoStore {
    async fn try_change(
        &self,
        change: &StatusChange,
        levels: Option<&Levels>,
    ) -> Result<Written, ChangeError> {
        let mut writes = vec![self.status_update(change)?, self.history_put(change)?];
        let handed_from = writes.len();
        let released = MovementNote::new(MovementCause::Released, change.order_id, change.at);
        for handback in &change.release {
            writes.extend(self.hand_back(handback, levels, &released)?);
        }
        let handed = handed_from..writes.len();
        let reserved_from = writes.len();
        let rereserved = MovementNote::new(MovementCause::Rereserved, change.order_id, change.at);
        for (sku, warehouse, units) in &change.reserve {
            writes.push(self.move_stock(
                sku,
                warehouse,
                *units,
                Direction::Reserve,
                &rereserved,
            )?);
        }
        let reserved = reserved_from..writes.len();
        let applied_index = writes.len();
        if let Some(record) = self.applied_record(change.applies.as_ref(), change.at)? {
            writes.push(record);
        }
        let Some(reasons) = self.transact(writes).await? else {
            return Ok(Written::Done);
        };
        let failed = |index: usize| condition_failed(&reasons, index);
        let refusal = ChangeRefusal {
            applied_before: change.applies.is_some() && failed(applied_index),
            order_changed: failed(0),
            conflict: reasons.iter().any(|r| r == "TransactionConflict"),
            stock_short: reserved.clone().any(failed),
        };
        if let Some(reason) = refusal.reason() {
            return Err(reason);
        }
        if handed.clone().any(failed) {
            return Ok(Written::StockMoved);
        }
        Err(ChangeError::Store(
            shopflow_aws_errors::unexplained_cancellation("status change", &reasons),
        ))
    }

    /// The stock items the hand-backs go to, consistently read.
    pub(super) async fn stock_levels_of(&self, release: &[Handback]) -> Result<Levels, StoreError> {
        let keys = release
            .iter()
            .map(|handback| key(stock_key(&handback.sku, &handback.warehouse)))
            .collect();
        self.batch_get(keys)
            .await?
            .into_iter()
            .map(|item| {
                let stock: StockItem = serde_dynamo::from_item(item).map_err(corrupt("stock"))?;
                Ok((stock_key(&stock.sku, &stock.warehouse), stock))
            })
            .collect()
    }

    /// One line's hand-back: its reserved units released and its waiting
    /// units out of the queue. Without levels read (and nothing leaving
    /// the queue), a plain release that holds only while the queue is owed
    /// nothing; with them, the level the domain computes, on the version read.
    pub(super) fn hand_back(
        &self,
        handback: &Handback,
        levels: Option<&Levels>,
        note: &MovementNote,
    ) -> Result<Vec<TransactWriteItem>, StoreError> {
        let at = stock_key(&handback.sku, &handback.warehouse);
        let mut writes = Vec::with_capacity(2);
        match levels.map(|levels| levels.get(&at)) {
            None if handback.reserved > 0 => writes.push(self.move_stock(
                &handback.sku,
                &handback.warehouse,
                handback.reserved,
                Direction::Release,
                note,
            )?),
            None => {}
            Some(stock) => {
                let stock = stock.ok_or_else(|| StoreError::Corrupt {
                    entity: "stock",
                    reason: format!("no stock item for {}/{} to hand back to", at.0, at.1),
                })?;
                writes.push(self.set_level(handback, stock, note)?);
            }
        }
        if let Some(leaving) = &handback.leaving {
            writes.push(self.leave_queue(leaving)?);
        }
        Ok(writes)
    }

    /// The stock item set to the level after the hand-back, if it is still
    /// at the version read.
    fn set_level(
        &self,
        handback: &Handback,
        stock: &StockItem,
        note: &MovementNote,
    ) -> Result<TransactWriteItem, StoreError> {
        let after = handback
            .applied_to(stock.level())
            .map_err(|error| StoreError::Defect {
                what: "status change".into(),
                source: error.to_string().into(),
            })?;
        let update = Update::builder()
            .table_name(&self.table)
            .set_key(Some(key(stock_key(&handback.sku, &handback.warehouse))))
            .update_expression(
                "SET reserved = :reserved, set_aside = :aside, backordered = :backordered, \
                 available = :available, version = version + :one, mv = :mv",
            )
            .condition_expression("version = :version")
            .expression_attribute_values(":reserved", n(after.reserved))
            .expression_attribute_values(":aside", n(after.set_aside))
            .expression_attribute_values(":backordered", n(after.backordered))
            .expression_attribute_values(":available", n(after.available()))
            .expression_attribute_values(":version", n(stock.version))
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":mv", movement(note))
            .build()
            .map_err(malformed)?;
        Ok(TransactWriteItem::builder().update(update).build())
    }

    /// The backorder marked cancelled, carrying `backorder.cancelled`.
    fn leave_queue(&self, leaving: &LeavingQueue) -> Result<TransactWriteItem, StoreError> {
        let event = PendingEvent::from_event(&leaving.event)?;
        let update = Update::builder()
            .table_name(&self.table)
            .set_key(Some(key(backorder_key(&leaving.backorder))))
            .update_expression(
                "SET st = :cancelled, gsi3pk = :standing, gsi3sk = :since, \
                 #source = :source, detail_type = :detail_type, detail = :detail",
            )
            .expression_attribute_values(
                ":standing",
                s(backorder_standing(
                    leaving.backorder.status,
                    leaving.backorder.id,
                )),
            )
            .expression_attribute_values(
                ":since",
                s(standing_sort(
                    leaving.event.occurred_at,
                    leaving.backorder.id,
                )),
            )
            .condition_expression("st IN (:pending, :partial)")
            .expression_attribute_names("#source", "source")
            .expression_attribute_values(":cancelled", s(BackorderStatus::Cancelled.as_str()))
            .expression_attribute_values(":pending", s(BackorderStatus::Pending.as_str()))
            .expression_attribute_values(":partial", s(BackorderStatus::Partial.as_str()))
            .expression_attribute_values(":source", s(event.source))
            .expression_attribute_values(":detail_type", s(event.detail_type))
            .expression_attribute_values(":detail", s(event.detail))
            .build()
            .map_err(malformed)?;
        Ok(TransactWriteItem::builder().update(update).build())
    }
}

impl DynamoStore {
    pub(super) fn status_update(
        &self,
        change: &StatusChange,
    ) -> Result<TransactWriteItem, StoreError> {
        // The order moves to its new lifecycle status in the status index.
        let index_time = status_index_time(change.to, change.reservation_expires_at, change.at);
        let payment = change
            .payment
            .as_ref()
            .and_then(PaymentItem::from_payment)
            .map(|item| serde_dynamo::to_attribute_value(item).map_err(corrupt("order payment")))
            .transpose()?;
        let goods =
            stored_fulfillment(change.to.fulfillment_status).map(|status| s(status.as_str()));
        let mut set =
            "SET #status = :to, version = version + :one, gsi2pk = :gsi2pk, gsi2sk = :gsi2sk"
                .to_owned();
        let mut values = HashMap::new();
        if let Some(pay) = payment {
            set.push_str(", pay = :pay");
            values.insert(":pay".to_owned(), pay);
        }
        let expression = match goods {
            Some(goods) => {
                values.insert(":ful".to_owned(), goods);
                format!("{set}, ful = :ful")
            }
            None => format!("{set} REMOVE ful"),
        };
        // The version alone says whether the order changed since it was read.
        let update = Update::builder()
            .table_name(&self.table)
            .set_key(Some(key(order_key(change.order_id))))
            .update_expression(expression)
            .set_expression_attribute_values(Some(values))
            .expression_attribute_values(
                ":gsi2pk",
                s(status_partition(
                    change.to.status,
                    status_shard(change.order_id),
                )),
            )
            .expression_attribute_values(":gsi2sk", s(status_sort(index_time, change.order_id)))
            .condition_expression("version = :expected")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":to", s(change.to.status.as_str()))
            .expression_attribute_values(":expected", n(change.expected_version))
            .expression_attribute_values(":one", n(1))
            .build()
            .map_err(malformed)?;
        Ok(TransactWriteItem::builder().update(update).build())
    }

    /// The change's history entry, new, carrying the change's event for
    /// the relay.
    pub(super) fn history_put(
        &self,
        change: &StatusChange,
    ) -> Result<TransactWriteItem, StoreError> {
        self.put_new(carrying_item(
            &HistoryItem::new(change),
            Some(&change.event),
            "history",
        )?)
    }

    /// The record that a consumer applied an event, when the write answers one.
    pub(super) fn applied_record(
        &self,
        applies: Option<&(String, String)>,
        at: Timestamp,
    ) -> Result<Option<TransactWriteItem>, StoreError> {
        applies
            .map(|(consumer, event_id)| {
                let record = AppliedEventItem::new(consumer, event_id, at);
                self.put_new(serde_dynamo::to_item(record).map_err(corrupt("applied event"))?)
            })
            .transpose()
    }
}

/// Writes of a change that hands stock back: the stock levels moved
/// meanwhile, up to this many times, before the change is given up as stale.
const HANDBACK_ATTEMPTS: u32 = 5;

#[async_trait]
impl OrderLifecycle for DynamoStore {
    async fn change_status(&self, change: &StatusChange) -> Result<(), ChangeError> {
        // First as if no queue were owed anything (no read needed), unless a
        // backorder leaves; then on the levels as read.
        let mut levels = None;
        if change
            .release
            .iter()
            .any(|handback| handback.leaving.is_some())
        {
            levels = Some(self.stock_levels_of(&change.release).await?);
        }
        for _ in 0..HANDBACK_ATTEMPTS {
            match self.try_change(change, levels.as_ref()).await? {
                Written::Done => return Ok(()),
                Written::StockMoved => {
                    levels = Some(self.stock_levels_of(&change.release).await?);
                }
            }
        }
        Err(ChangeError::Stale)
    }

    async fn record_event(
        &self,
        event: &OutboxEvent,
        applies: Option<(String, String)>,
    ) -> Result<(), ChangeError> {
        // The applied-event record, when there is one, carries the event.
        let written = match applies {
            Some((consumer, event_id)) => {
                let record = AppliedEventItem::new(&consumer, &event_id, event.occurred_at);
                self.put_new_carrying(&record, Some(event), "applied event")
                    .await?
            }
            None => {
                let outbox = OutboxItem::from_event(event)?;
                self.put_new_carrying(&outbox, None, "outbox").await?
            }
        };
        if written {
            Ok(())
        } else {
            Err(ChangeError::AlreadyApplied)
        }
    }

    async fn has_applied(&self, consumer: &str, event_id: &str) -> Result<bool, StoreError> {
        let record = AppliedEventItem::new(consumer, event_id, Timestamp::from_millis(0));
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key((record.pk, record.sk))))
            .projection_expression("pk")
            .consistent_read(true)
            .send()
            .await
            .map_err(sdk)?;
        Ok(output.item.is_some())
    }

    async fn history(&self, id: OrderId) -> Result<Vec<HistoryEntry>, StoreError> {
        let (pk, _) = order_key(id);
        self.query_partition(&pk, SortKeys::StartingWith("HIST#"))
            .await?
            .into_iter()
            .map(|item| {
                let history: HistoryItem =
                    serde_dynamo::from_item(item).map_err(corrupt("history"))?;
                history.into_entry()
            })
            .collect()
    }

    async fn abandoned_drafts(
        &self,
        before: Timestamp,
        shard: u8,
        after: Option<String>,
        limit: u16,
    ) -> Result<Page<Order, String>, StoreError> {
        let partition = status_partition(OrderStatus::Draft, shard);
        let page = self
            .query_status_index(&partition, StatusRange::Before(before), after, limit, true)
            .await?;
        Ok(Page {
            items: page.items.into_iter().map(|(_, order)| order).collect(),
            next: page.next,
        })
    }

    async fn lapsed_reservations(
        &self,
        now: Timestamp,
        shard: u8,
        after: Option<String>,
        limit: u16,
    ) -> Result<Page<Order, String>, StoreError> {
        // Every unpaid partition, in turn; the cursor says which and where:
        // `<status>|<gsi2sk>`. Unpaid orders filed before the split (decision
        // 0008) sit under `payment_failed` until they next move.
        let unpaid = [OrderStatus::PendingPayment.as_str(), "payment_failed"];
        let (mut index, mut start) = match after.as_deref().and_then(|c| c.split_once('|')) {
            Some((status, sk)) => (
                unpaid.iter().position(|s| *s == status).unwrap_or(0),
                Some(sk.to_owned()),
            ),
            None => (0, None),
        };
        while let Some(status) = unpaid.get(index) {
            let partition = status_partition_named(status, shard);
            let page = self
                .query_status_index(
                    &partition,
                    StatusRange::Before(now),
                    start.take(),
                    limit,
                    true,
                )
                .await?;
            let items: Vec<Order> = page.items.into_iter().map(|(_, order)| order).collect();
            if let Some(next) = page.next {
                return Ok(Page {
                    items,
                    next: Some(format!("{status}|{next}")),
                });
            }
            if !items.is_empty() {
                let next = unpaid.get(index + 1).map(|s| format!("{s}|"));
                return Ok(Page { items, next });
            }
            index += 1;
        }
        Ok(Page {
            items: Vec::new(),
            next: None,
        })
    }
}

/// Which part of a status partition to read, by index time.
pub(super) enum StatusRange {
    /// Filed before this time.
    Before(Timestamp),
    /// Strictly below this sort key: a page cursor shared by all partitions.
    BelowKey(String),
    All,
}

impl DynamoStore {
    /// One page of a status partition of gsi2, in time order (`ascending`)
    /// or newest first, continuing after the sort key `start`.
    pub(super) async fn query_status_index(
        &self,
        partition: &str,
        range: StatusRange,
        start: Option<String>,
        limit: u16,
        ascending: bool,
    ) -> Result<Page<(String, Order), String>, StoreError> {
        let start = start.filter(|sk| !sk.is_empty()).map(|sk| {
            let id = sk.rsplit('#').next().unwrap_or_default().to_owned();
            HashMap::from([
                ("pk".to_owned(), s(format!("ORDER#{id}"))),
                ("sk".to_owned(), s("META")),
                ("gsi2pk".to_owned(), s(partition)),
                ("gsi2sk".to_owned(), s(sk)),
            ])
        });
        let mut query = self
            .client
            .query()
            .table_name(&self.table)
            .index_name("gsi2")
            .expression_attribute_values(":partition", s(partition))
            .scan_index_forward(ascending)
            .limit(i32::from(limit))
            .set_exclusive_start_key(start);
        query = match range {
            StatusRange::Before(at) => query
                .key_condition_expression("gsi2pk = :partition AND gsi2sk < :at")
                .expression_attribute_values(":at", s(format!("{:015}", at.as_millis()))),
            StatusRange::BelowKey(key) => query
                .key_condition_expression("gsi2pk = :partition AND gsi2sk < :at")
                .expression_attribute_values(":at", s(key)),
            StatusRange::All => query.key_condition_expression("gsi2pk = :partition"),
        };
        let output = query.send().await.map_err(sdk)?;
        let next = output
            .last_evaluated_key
            .as_ref()
            .and_then(|last| last.get("gsi2sk"))
            .and_then(|v| v.as_s().ok())
            .cloned();
        let items = output
            .items
            .unwrap_or_default()
            .into_iter()
            .map(|item| {
                let order: OrderItem = serde_dynamo::from_item(item).map_err(corrupt("order"))?;
                let sort = order.gsi2sk.clone().unwrap_or_default();
                Ok((sort, order.into_order()?))
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        Ok(Page { items, next })
    }
}
