//! Catalog entries and per-warehouse stock.

use super::items::{OutboxItem, ProductItem, StockItem, product_key, stock_key, stock_partition};
use super::{DynamoStore, SortKeys, condition_failed, corrupt, key, unavailable};
use crate::{InventoryStore, OutboxEvent, RestockError, StoreError};
use async_trait::async_trait;
use aws_sdk_dynamodb::types::{AttributeValue, ConditionCheck, TransactWriteItem, Update};
use shopflow_domain::{Product, Sku, StockLevel, WarehouseId};

#[async_trait]
impl InventoryStore for DynamoStore {
    async fn upsert_product(&self, product: &Product) -> Result<(), StoreError> {
        self.put_record(&ProductItem::from_product(product), "product")
            .await
    }

    async fn product(&self, sku: &Sku) -> Result<Option<Product>, StoreError> {
        let item: Option<ProductItem> = self.get(product_key(sku), "product").await?;
        item.map(ProductItem::into_product).transpose()
    }

    async fn stock_levels(&self, sku: &Sku) -> Result<Vec<(WarehouseId, StockLevel)>, StoreError> {
        self.query_partition(&stock_partition(sku), SortKeys::StartingWith("STOCK#"))
            .await?
            .into_iter()
            .map(|item| {
                let stock: StockItem = serde_dynamo::from_item(item).map_err(corrupt("stock"))?;
                Ok((stock.warehouse.clone(), stock.level()))
            })
            .collect()
    }

    async fn restock(
        &self,
        sku: &Sku,
        warehouse: &WarehouseId,
        received: u32,
        event: &OutboxEvent,
    ) -> Result<StockLevel, RestockError> {
        let product_exists = ConditionCheck::builder()
            .table_name(&self.table)
            .set_key(Some(key(product_key(sku))))
            .condition_expression("attribute_exists(pk)")
            .build()
            .map_err(unavailable)?;
        // Stock counters are u32 in the domain; refuse to grow past that.
        let ceiling = u64::from(u32::MAX) - u64::from(received);
        let add_stock = Update::builder()
            .table_name(&self.table)
            .set_key(Some(key(stock_key(sku, warehouse))))
            .update_expression(
                "SET #type = :stock, sku = :sku, warehouse = :wh, reserved = if_not_exists(reserved, :zero) \
                 ADD on_hand :q, available :q, version :one",
            )
            .condition_expression("attribute_not_exists(on_hand) OR on_hand <= :ceiling")
            .expression_attribute_names("#type", "type")
            .expression_attribute_values(":stock", AttributeValue::S("stock".into()))
            .expression_attribute_values(":sku", AttributeValue::S(sku.to_string()))
            .expression_attribute_values(":wh", AttributeValue::S(warehouse.to_string()))
            .expression_attribute_values(":zero", AttributeValue::N("0".into()))
            .expression_attribute_values(":one", AttributeValue::N("1".into()))
            .expression_attribute_values(":q", AttributeValue::N(received.to_string()))
            .expression_attribute_values(":ceiling", AttributeValue::N(ceiling.to_string()))
            .build()
            .map_err(unavailable)?;
        let outbox = self.put_new(
            serde_dynamo::to_item(OutboxItem::from_event(event)?).map_err(corrupt("outbox"))?,
        )?;
        let writes = vec![
            TransactWriteItem::builder()
                .condition_check(product_exists)
                .build(),
            TransactWriteItem::builder().update(add_stock).build(),
            outbox,
        ];
        if let Some(reasons) = self.transact(writes).await? {
            return Err(if condition_failed(&reasons, 0) {
                RestockError::UnknownProduct(sku.clone())
            } else if condition_failed(&reasons, 1) {
                RestockError::Overflow
            } else {
                StoreError::Unavailable(format!("restock cancelled: {reasons:?}")).into()
            });
        }
        let levels = self.stock_levels(sku).await?;
        levels
            .into_iter()
            .find(|(wh, _)| wh == warehouse)
            .map(|(_, level)| level)
            .ok_or_else(|| {
                StoreError::Corrupt {
                    entity: "stock",
                    reason: "restocked item not found".into(),
                }
                .into()
            })
    }
}
