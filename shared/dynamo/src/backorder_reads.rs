//! Reads of backorders: one by id (gsi2), a customer's or an order's
//! (gsi1), a whole queue (the table), a backorder's allocations, and pages
//! of the standing index (gsi3) for the expirer and the metrics.

use super::items::{
    AllocationItem, BackorderItem, PriorityChangeItem, allocations_partition, backorder_by_id,
    backorder_key, backorder_queue, customer_backorders_prefix, customer_orders_partition,
    priority_changes_partition, standing_named, standing_sort,
};
use super::{DynamoStore, Item, corrupt, s, sdk};
use async_trait::async_trait;
use shopflow_domain::{Backorder, BackorderId, BackorderStatus, Timestamp};
use shopflow_ports::{
    AllocationRecord, BackorderReader, BackorderScope, BackorderStanding, Page, PriorityChange,
    StandingEntry, StandingRange, StoreError,
};
use std::collections::HashMap;

#[async_trait]
impl BackorderReader for DynamoStore {
    async fn backorder(&self, id: BackorderId) -> Result<Option<Backorder>, StoreError> {
        let query = self
            .client
            .query()
            .table_name(&self.table)
            .index_name("gsi2")
            .key_condition_expression("gsi2pk = :id")
            .expression_attribute_values(":id", s(backorder_by_id(id)));
        Ok(backorders(Self::every_page(query).await?)?
            .into_iter()
            .next())
    }

    async fn allocations(&self, id: BackorderId) -> Result<Vec<AllocationRecord>, StoreError> {
        let query = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :pk")
            .expression_attribute_values(":pk", s(allocations_partition(id)))
            .consistent_read(true);
        Self::every_page(query)
            .await?
            .into_iter()
            .map(|item| {
                serde_dynamo::from_item::<_, AllocationItem>(item)
                    .map(AllocationItem::into_record)
                    .map_err(corrupt("allocation"))
            })
            .collect()
    }

    async fn priority_changes(&self, id: BackorderId) -> Result<Vec<PriorityChange>, StoreError> {
        let query = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :pk")
            .expression_attribute_values(":pk", s(priority_changes_partition(id)))
            .consistent_read(true);
        Self::every_page(query)
            .await?
            .into_iter()
            .map(|item| {
                serde_dynamo::from_item::<_, PriorityChangeItem>(item)
                    .map(PriorityChangeItem::into_change)
                    .map_err(corrupt("priority change"))
            })
            .collect()
    }

    async fn backorders_in(&self, scope: &BackorderScope) -> Result<Vec<Backorder>, StoreError> {
        let query = self.client.query().table_name(&self.table);
        let query = match scope {
            BackorderScope::Queue(sku, warehouse) => query
                .key_condition_expression("pk = :pk")
                .expression_attribute_values(":pk", s(backorder_queue(sku, warehouse)))
                .consistent_read(true),
            BackorderScope::Customer(customer) => query
                .index_name("gsi1")
                .key_condition_expression("gsi1pk = :customer AND begins_with(gsi1sk, :prefix)")
                .expression_attribute_values(":customer", s(customer_orders_partition(customer)))
                .expression_attribute_values(":prefix", s(customer_backorders_prefix(None))),
            BackorderScope::Order(customer, order) => query
                .index_name("gsi1")
                .key_condition_expression("gsi1pk = :customer AND begins_with(gsi1sk, :prefix)")
                .expression_attribute_values(":customer", s(customer_orders_partition(customer)))
                .expression_attribute_values(
                    ":prefix",
                    s(customer_backorders_prefix(Some(*order))),
                ),
        };
        backorders(Self::every_page(query).await?)
    }

    async fn backorders_standing(
        &self,
        range: &StandingRange,
    ) -> Result<Page<StandingEntry, StandingEntry>, StoreError> {
        let partition = standing_partition(range.standing, range.shard);
        // Sort keys are `<ms>#<id>`: a bare `<ms>` sorts before every key of
        // that millisecond.
        let lowest = range.since.map_or_else(|| "0".to_owned(), millis);
        let highest = range.before.map_or_else(|| "9".to_owned(), millis);
        let start = range.after.as_ref().map(|last| {
            let (pk, sk) = backorder_key(&last.backorder);
            HashMap::from([
                ("pk".to_owned(), s(pk)),
                ("sk".to_owned(), s(sk)),
                ("gsi3pk".to_owned(), s(partition.clone())),
                (
                    "gsi3sk".to_owned(),
                    s(standing_sort(last.since, last.backorder.id)),
                ),
            ])
        });
        let page = self
            .client
            .query()
            .table_name(&self.table)
            .index_name("gsi3")
            .key_condition_expression("gsi3pk = :standing AND gsi3sk BETWEEN :lowest AND :highest")
            .expression_attribute_values(":standing", s(partition))
            .expression_attribute_values(":lowest", s(lowest))
            .expression_attribute_values(":highest", s(highest))
            .limit(i32::from(range.limit))
            .set_exclusive_start_key(start)
            .send()
            .await
            .map_err(sdk)?;
        let items = page
            .items
            .unwrap_or_default()
            .into_iter()
            .map(|item| {
                let item: BackorderItem =
                    serde_dynamo::from_item(item).map_err(corrupt("backorder"))?;
                let since = item
                    .gsi3sk
                    .split_once('#')
                    .and_then(|(ms, _)| ms.parse::<u64>().ok())
                    .map(Timestamp::from_millis)
                    .ok_or_else(|| StoreError::Corrupt {
                        entity: "backorder",
                        reason: format!("gsi3sk {:?} is not <ms>#<id>", item.gsi3sk),
                    })?;
                Ok(StandingEntry {
                    backorder: item.into_backorder(),
                    since,
                })
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        let next = page
            .last_evaluated_key
            .is_some()
            .then(|| items.last().cloned())
            .flatten();
        Ok(Page { items, next })
    }
}

/// The standing index's partition for `standing` in `shard`.
fn standing_partition(standing: BackorderStanding, shard: u8) -> String {
    let status = match standing {
        BackorderStanding::Open => BackorderStatus::Pending,
        BackorderStanding::Fulfilled => BackorderStatus::Fulfilled,
        BackorderStanding::Cancelled => BackorderStatus::Cancelled,
    };
    standing_named(status, shard)
}

fn millis(at: Timestamp) -> String {
    format!("{:015}", at.as_millis())
}

fn backorders(items: Vec<Item>) -> Result<Vec<Backorder>, StoreError> {
    items
        .into_iter()
        .map(|item| {
            serde_dynamo::from_item::<_, BackorderItem>(item)
                .map(BackorderItem::into_backorder)
                .map_err(corrupt("backorder"))
        })
        .collect()
}
