//! Catalog entries, per-warehouse stock and its backorder settings, and
//! restocks: read, then one transaction of the stock (on the version read)
//! and the key's receipt.

use super::items::{
    OutboxItem, ProductItem, RestockReceiptItem, SettingsAttr, StockItem, idempotency_key,
    product_key, stock_key, stock_partition,
};
use super::{DynamoStore, SortKeys, corrupt, key, malformed, movement, n, now_secs};
use async_trait::async_trait;
use aws_sdk_dynamodb::types::{AttributeValue, TransactWriteItem, Update};
use shopflow_domain::{
    BackorderSettings, MovementCause, MovementNote, Product, Sku, StockLevel, Timestamp,
    WarehouseId,
};
use shopflow_ports::{
    InventoryStore, OutboxEvent, Restock, RestockError, Restocked, SaveSettingsError, SettingsRow,
    StoreError,
};
use std::collections::HashSet;
use std::time::Duration;

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

    async fn restock(&self, restock: &Restock) -> Result<Restocked, RestockError> {
        for attempt in 0..RESTOCK_ATTEMPTS {
            if attempt > 0 {
                tokio::time::sleep(Duration::from_millis(10 << attempt)).await;
            }
            let seen = self.restock_snapshot(restock).await?;
            if let Some(receipt) = seen.receipt {
                return if receipt.fingerprint == restock.fingerprint {
                    Ok(Restocked::Before(receipt.level()))
                } else {
                    Err(RestockError::KeyReused)
                };
            }
            if !seen.product_known {
                return Err(RestockError::UnknownProduct(restock.sku.clone()));
            }
            let before = seen
                .stock
                .as_ref()
                .map(StockItem::level)
                .unwrap_or_default();
            let after = before
                .restock(restock.received)
                .map_err(|_| RestockError::Overflow)?;
            let event = restock.event(before, after);
            let writes = vec![
                self.add_received(
                    restock,
                    after.set_aside - before.set_aside,
                    seen.stock.map(|stock| stock.version),
                )?,
                self.restock_receipt(restock, after, &event)?,
            ];
            // Refused: the stock moved since it was read, the key's receipt
            // was written meanwhile, or another transaction held an item.
            // Read again: a receipt now there answers the retry.
            if self.transact(writes).await?.is_none() {
                return Ok(Restocked::Now(after));
            }
        }
        Err(RestockError::Conflict)
    }

    async fn backorder_settings(
        &self,
        sku: &Sku,
        warehouse: &WarehouseId,
    ) -> Result<Option<BackorderSettings>, StoreError> {
        let keys = vec![key(product_key(sku)), key(stock_key(sku, warehouse))];
        let mut product_known = false;
        let mut settings = BackorderSettings::default();
        for item in self.batch_get(keys).await? {
            if item
                .get("type")
                .and_then(|kind| kind.as_s().ok())
                .map(String::as_str)
                == Some("stock")
            {
                let stock: StockItem = serde_dynamo::from_item(item).map_err(corrupt("stock"))?;
                settings = stock.backorder_settings();
            } else {
                product_known = true;
            }
        }
        Ok(product_known.then_some(settings))
    }

    async fn save_backorder_settings(&self, rows: &[SettingsRow]) -> Result<(), SaveSettingsError> {
        let unknown = self.rows_of_unknown_products(rows).await?;
        if !unknown.is_empty() {
            return Err(SaveSettingsError::UnknownProducts(unknown));
        }
        let writes = rows
            .iter()
            .map(|row| self.write_settings(row))
            .collect::<Result<Vec<_>, _>>()?;
        match self.transact(writes).await? {
            None => Ok(()),
            Some(reasons) if reasons.iter().any(|code| code == "TransactionConflict") => {
                Err(SaveSettingsError::Conflict)
            }
            Some(reasons) => Err(shopflow_aws_errors::unexplained_cancellation(
                "backorder settings",
                &reasons,
            )
            .into()),
        }
    }

    async fn announce(&self, event: &OutboxEvent) -> Result<(), StoreError> {
        let outbox = OutboxItem::from_event(event)?;
        self.put_new_carrying(&outbox, None, "outbox").await?;
        Ok(())
    }
}

/// Reads before a restock writes: it may have to retry after a version moved.
const RESTOCK_ATTEMPTS: u32 = 5;

/// What a restock reads before it writes.
struct RestockSnapshot {
    /// The key's receipt, if it answered a restock in the last 24 hours.
    receipt: Option<RestockReceiptItem>,
    product_known: bool,
    stock: Option<StockItem>,
}

impl DynamoStore {
    async fn restock_snapshot(&self, restock: &Restock) -> Result<RestockSnapshot, StoreError> {
        let keys = vec![
            key(idempotency_key(&restock.key)),
            key(product_key(&restock.sku)),
            key(stock_key(&restock.sku, &restock.warehouse)),
        ];
        let mut seen = RestockSnapshot {
            receipt: None,
            product_known: false,
            stock: None,
        };
        let now = now_secs();
        for item in self.batch_get(keys).await? {
            match item
                .get("type")
                .and_then(|kind| kind.as_s().ok())
                .map(String::as_str)
            {
                Some(RestockReceiptItem::TYPE) => {
                    let receipt: RestockReceiptItem =
                        serde_dynamo::from_item(item).map_err(corrupt("restock receipt"))?;
                    seen.receipt = receipt.is_live(now).then_some(receipt);
                }
                Some("product") => seen.product_known = true,
                Some("stock") => {
                    seen.stock = Some(serde_dynamo::from_item(item).map_err(corrupt("stock"))?);
                }
                other => {
                    return Err(StoreError::Corrupt {
                        entity: "restock read",
                        reason: format!("unexpected item type {other:?}"),
                    });
                }
            }
        }
        Ok(seen)
    }

    /// The indexes of rows whose SKU the catalog does not have. Products
    /// are never deleted, so one known now is still known when the settings
    /// are written.
    async fn rows_of_unknown_products(
        &self,
        rows: &[SettingsRow],
    ) -> Result<Vec<usize>, StoreError> {
        let skus: HashSet<&Sku> = rows.iter().map(|row| &row.sku).collect();
        let keys = skus.iter().map(|sku| key(product_key(sku))).collect();
        let known: HashSet<Sku> = self
            .batch_get(keys)
            .await?
            .into_iter()
            .map(|item| serde_dynamo::from_item::<_, ProductItem>(item).map_err(corrupt("product")))
            .map(|product| product.map(|product| product.sku))
            .collect::<Result<_, _>>()?;
        Ok(rows
            .iter()
            .enumerate()
            .filter(|(_, row)| !known.contains(&row.sku))
            .map(|(index, _)| index)
            .collect())
    }

    /// One row's settings on its stock item, made empty if there was none.
    fn write_settings(&self, row: &SettingsRow) -> Result<TransactWriteItem, StoreError> {
        let settings = serde_dynamo::to_attribute_value(SettingsAttr::new(&row.settings))
            .map_err(corrupt("backorder settings"))?;
        let update = Update::builder()
            .table_name(&self.table)
            .set_key(Some(key(stock_key(&row.sku, &row.warehouse))))
            .update_expression(
                "SET #type = :stock, sku = :sku, warehouse = :wh, bo = :bo, \
                 on_hand = if_not_exists(on_hand, :zero), reserved = if_not_exists(reserved, :zero), \
                 available = if_not_exists(available, :zero), mv = :mv ADD version :one",
            )
            .expression_attribute_values(
                ":mv",
                movement(&MovementNote::new(
                    MovementCause::SettingsChanged,
                    "backorder_settings",
                    Timestamp::from_millis(now_secs() * 1_000),
                )),
            )
            .expression_attribute_names("#type", "type")
            .expression_attribute_values(":stock", AttributeValue::S("stock".into()))
            .expression_attribute_values(":sku", AttributeValue::S(row.sku.to_string()))
            .expression_attribute_values(":wh", AttributeValue::S(row.warehouse.to_string()))
            .expression_attribute_values(":bo", settings)
            .expression_attribute_values(":zero", n(0))
            .expression_attribute_values(":one", n(1))
            .build()
            .map_err(malformed)?;
        Ok(TransactWriteItem::builder().update(update).build())
    }

    /// The received units added to the stock as it was read (at `version`,
    /// or created when there was no stock item yet), `set_aside` of them for
    /// the backorder queue.
    fn add_received(
        &self,
        restock: &Restock,
        set_aside: u32,
        version: Option<u64>,
    ) -> Result<TransactWriteItem, StoreError> {
        let update = Update::builder()
            .table_name(&self.table)
            .set_key(Some(key(stock_key(&restock.sku, &restock.warehouse))))
            .update_expression(
                "SET #type = :stock, sku = :sku, warehouse = :wh, reserved = if_not_exists(reserved, :zero), \
                 backordered = if_not_exists(backordered, :zero), \
                 mv = :mv ADD on_hand :q, available :free, set_aside :aside, version :one",
            )
            .expression_attribute_values(
                ":mv",
                movement(&MovementNote::new(
                    MovementCause::Restocked,
                    restock.event_id,
                    restock.at,
                )),
            )
            .expression_attribute_values(":free", n(restock.received - set_aside))
            .expression_attribute_values(":aside", n(set_aside))
            .expression_attribute_names("#type", "type")
            .expression_attribute_values(":stock", AttributeValue::S("stock".into()))
            .expression_attribute_values(":sku", AttributeValue::S(restock.sku.to_string()))
            .expression_attribute_values(":wh", AttributeValue::S(restock.warehouse.to_string()))
            .expression_attribute_values(":zero", AttributeValue::N("0".into()))
            .expression_attribute_values(":one", AttributeValue::N("1".into()))
            .expression_attribute_values(":q", AttributeValue::N(restock.received.to_string()));
        let update = match version {
            Some(version) => update
                .condition_expression("version = :version")
                .expression_attribute_values(":version", AttributeValue::N(version.to_string())),
            None => update.condition_expression("attribute_not_exists(pk)"),
        };
        Ok(TransactWriteItem::builder()
            .update(update.build().map_err(malformed)?)
            .build())
    }

    /// The key's receipt, carrying `inventory.restocked` for the relay: no
    /// separate outbox item. An expired receipt still present is replaced.
    fn restock_receipt(
        &self,
        restock: &Restock,
        level: StockLevel,
        event: &OutboxEvent,
    ) -> Result<TransactWriteItem, StoreError> {
        let now = now_secs();
        let receipt = RestockReceiptItem::new(restock, level, event, now)?;
        self.conditional_put(
            serde_dynamo::to_item(receipt).map_err(corrupt("restock receipt"))?,
            "attribute_not_exists(pk) OR #ttl <= :now",
            Some(("#ttl", "ttl", ":now", AttributeValue::N(now.to_string()))),
        )
    }
}
