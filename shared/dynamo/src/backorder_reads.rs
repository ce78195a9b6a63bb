//! Reads of backorders for people: one by id (gsi2), a customer's or an
//! order's (gsi1), a whole queue (the table), and a backorder's allocations.

use super::items::{
    AllocationItem, BackorderItem, allocations_partition, backorder_by_id, backorder_queue,
    customer_backorders_prefix, customer_orders_partition,
};
use super::{DynamoStore, Item, corrupt, s};
use async_trait::async_trait;
use shopflow_domain::{Backorder, BackorderId};
use shopflow_ports::{AllocationRecord, BackorderReader, BackorderScope, StoreError};

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
