//! Catalog entries, per-warehouse stock and its backorder settings, and
//! staff moves (restocks, adjustments, transfers): read, then one
//! transaction of each stock item touched (on the version read) and the
//! key's receipt.

use super::items::{
    OutboxItem, ProductItem, SettingsAttr, StockItem, StockReceiptItem, idempotency_key,
    product_key, stock_key, stock_partition,
};
use super::{DynamoStore, SortKeys, corrupt, key, malformed, movement, n, now_secs, s, sdk};
use async_trait::async_trait;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue, TransactWriteItem, Update};
use shopflow_domain::availability::WarehouseStock;
use shopflow_domain::{
    BackorderSettings, LowStock, Moved, MovementCause, MovementNote, Product, Sku, StockLevel,
    Timestamp, WarehouseId,
};
use shopflow_ports::{
    InventoryStore, OutboxEvent, SaveSettingsError, SettingsRow, StaffMove, StaffMoveError,
    StaffMoved, StoreError,
};
use std::collections::{HashMap, HashSet};
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

    async fn staff_move(&self, staff_move: &StaffMove) -> Result<StaffMoved, StaffMoveError> {
        let warehouses: Vec<WarehouseId> = staff_move
            .change
            .warehouses()
            .into_iter()
            .cloned()
            .collect();
        let answer = |levels: Vec<StockLevel>| warehouses.iter().cloned().zip(levels).collect();
        for attempt in 0..STAFF_MOVE_ATTEMPTS {
            if attempt > 0 {
                tokio::time::sleep(Duration::from_millis(10 << attempt)).await;
            }
            let seen = self.staff_move_snapshot(staff_move, &warehouses).await?;
            if let Some(receipt) = seen.receipt {
                return if receipt.fingerprint == staff_move.fingerprint {
                    Ok(StaffMoved::Before(answer(receipt.levels())))
                } else {
                    Err(StaffMoveError::KeyReused)
                };
            }
            if !seen.product_known {
                return Err(StaffMoveError::UnknownProduct(staff_move.sku.clone()));
            }
            let moved = staff_move.change.apply(|warehouse| {
                seen.stock
                    .get(warehouse)
                    .map(StockItem::level)
                    .unwrap_or_default()
            })?;
            let event = staff_move.event(&moved);
            let levels: Vec<StockLevel> = moved.iter().map(|moved| moved.after).collect();
            let mut writes = moved
                .iter()
                .map(|moved| {
                    let version = seen.stock.get(&moved.warehouse).map(|stock| stock.version);
                    self.write_moved(staff_move, moved, version)
                })
                .collect::<Result<Vec<_>, _>>()?;
            writes.push(self.staff_move_receipt(staff_move, &levels, &event)?);
            // Refused: a level moved since it was read, the key's receipt
            // was written meanwhile, or another transaction held an item.
            // Read again: a receipt now there answers the retry.
            if self.transact(writes).await?.is_none() {
                return Ok(StaffMoved::Now(answer(levels)));
            }
        }
        Err(StaffMoveError::Conflict)
    }

    async fn storefront_stock(
        &self,
        sku: &Sku,
        warehouses: &[WarehouseId],
    ) -> Result<Option<(Product, Vec<WarehouseStock>)>, StoreError> {
        let mut keys = vec![key(product_key(sku))];
        keys.extend(
            warehouses
                .iter()
                .map(|warehouse| key(stock_key(sku, warehouse))),
        );
        let mut product = None;
        let mut stock = HashMap::new();
        for item in self.batch_get_eventually(keys).await? {
            if item
                .get("type")
                .and_then(|kind| kind.as_s().ok())
                .map(String::as_str)
                == Some("stock")
            {
                let item: StockItem = serde_dynamo::from_item(item).map_err(corrupt("stock"))?;
                stock.insert(item.warehouse.clone(), item);
            } else {
                let item: ProductItem =
                    serde_dynamo::from_item(item).map_err(corrupt("product"))?;
                product = Some(item.into_product()?);
            }
        }
        Ok(product.map(|product| {
            let stocks = warehouses
                .iter()
                .map(|warehouse| {
                    let item = stock.get(warehouse);
                    WarehouseStock {
                        warehouse: warehouse.clone(),
                        level: item.map(StockItem::level).unwrap_or_default(),
                        settings: item.map(StockItem::backorder_settings).unwrap_or_default(),
                    }
                })
                .collect();
            (product, stocks)
        }))
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

    async fn set_low_stock(
        &self,
        sku: &Sku,
        warehouse: &WarehouseId,
        threshold: Option<LowStock>,
        at: Timestamp,
    ) -> Result<Option<StockLevel>, StoreError> {
        // Products are never deleted: one known now is known at the write.
        if self.product(sku).await?.is_none() {
            return Ok(None);
        }
        let threshold_write = match threshold {
            Some(_) => "SET low = :low, ",
            None => "REMOVE low SET ",
        };
        let mut update = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(stock_key(sku, warehouse))))
            .update_expression(format!(
                "{threshold_write}#type = :stock, sku = :sku, warehouse = :wh, \
                 on_hand = if_not_exists(on_hand, :zero), reserved = if_not_exists(reserved, :zero), \
                 available = if_not_exists(available, :zero), mv = :mv ADD version :one"
            ))
            .expression_attribute_names("#type", "type")
            .expression_attribute_values(":stock", s("stock"))
            .expression_attribute_values(":sku", s(sku.to_string()))
            .expression_attribute_values(":wh", s(warehouse.to_string()))
            .expression_attribute_values(":zero", n(0))
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(
                ":mv",
                movement(&MovementNote::new(
                    MovementCause::SettingsChanged,
                    "low_stock",
                    at,
                )),
            )
            .return_values(ReturnValue::AllNew);
        if let Some(threshold) = threshold {
            update = update.expression_attribute_values(":low", n(threshold.threshold));
        }
        let written = update.send().await.map_err(sdk)?;
        let stock: StockItem = serde_dynamo::from_item(written.attributes.unwrap_or_default())
            .map_err(corrupt("stock"))?;
        Ok(Some(stock.level()))
    }

    async fn announce(&self, event: &OutboxEvent) -> Result<(), StoreError> {
        let outbox = OutboxItem::from_event(event)?;
        self.put_new_carrying(&outbox, None, "outbox").await?;
        Ok(())
    }
}

/// Reads before a staff move writes: it may have to retry after a version
/// moved.
const STAFF_MOVE_ATTEMPTS: u32 = 5;

/// What a staff move reads before it writes.
struct StaffMoveSnapshot {
    /// The key's receipt, if it answered a move in the last 24 hours.
    receipt: Option<StockReceiptItem>,
    product_known: bool,
    /// The stock items of the warehouses it touches that exist.
    stock: HashMap<WarehouseId, StockItem>,
}

impl DynamoStore {
    async fn staff_move_snapshot(
        &self,
        staff_move: &StaffMove,
        warehouses: &[WarehouseId],
    ) -> Result<StaffMoveSnapshot, StoreError> {
        let mut keys = vec![
            key(idempotency_key(&staff_move.key)),
            key(product_key(&staff_move.sku)),
        ];
        keys.extend(
            warehouses
                .iter()
                .map(|warehouse| key(stock_key(&staff_move.sku, warehouse))),
        );
        let mut seen = StaffMoveSnapshot {
            receipt: None,
            product_known: false,
            stock: HashMap::new(),
        };
        let now = now_secs();
        for item in self.batch_get(keys).await? {
            match item
                .get("type")
                .and_then(|kind| kind.as_s().ok())
                .map(String::as_str)
            {
                Some(StockReceiptItem::TYPE | StockReceiptItem::RESTOCK_TYPE) => {
                    let receipt: StockReceiptItem =
                        serde_dynamo::from_item(item).map_err(corrupt("stock receipt"))?;
                    seen.receipt = receipt.is_live(now).then_some(receipt);
                }
                Some("product") => seen.product_known = true,
                Some("stock") => {
                    let stock: StockItem =
                        serde_dynamo::from_item(item).map_err(corrupt("stock"))?;
                    seen.stock.insert(stock.warehouse.clone(), stock);
                }
                other => {
                    return Err(StoreError::Corrupt {
                        entity: "staff move read",
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

    /// One warehouse's stock set to the level the move left, if it is
    /// still at the `version` read (or created, when there was no stock
    /// item yet).
    fn write_moved(
        &self,
        staff_move: &StaffMove,
        moved: &Moved,
        version: Option<u64>,
    ) -> Result<TransactWriteItem, StoreError> {
        let after = moved.after;
        let update = Update::builder()
            .table_name(&self.table)
            .set_key(Some(key(stock_key(&staff_move.sku, &moved.warehouse))))
            .update_expression(
                "SET #type = :stock, sku = :sku, warehouse = :wh, on_hand = :on_hand, \
                 reserved = :reserved, set_aside = :aside, backordered = :backordered, \
                 available = :available, mv = :mv ADD version :one",
            )
            .expression_attribute_names("#type", "type")
            .expression_attribute_values(":stock", s("stock"))
            .expression_attribute_values(":sku", s(staff_move.sku.to_string()))
            .expression_attribute_values(":wh", s(moved.warehouse.to_string()))
            .expression_attribute_values(":on_hand", n(after.on_hand))
            .expression_attribute_values(":reserved", n(after.reserved))
            .expression_attribute_values(":aside", n(after.set_aside))
            .expression_attribute_values(":backordered", n(after.backordered))
            .expression_attribute_values(":available", n(after.available()))
            .expression_attribute_values(":mv", movement(&staff_move.note_for(moved)))
            .expression_attribute_values(":one", n(1));
        let update = match version {
            Some(version) => update
                .condition_expression("version = :version")
                .expression_attribute_values(":version", n(version)),
            None => update.condition_expression("attribute_not_exists(pk)"),
        };
        Ok(TransactWriteItem::builder()
            .update(update.build().map_err(malformed)?)
            .build())
    }

    /// The key's receipt, carrying the move's event for the relay: no
    /// separate outbox item. An expired receipt still present is replaced.
    fn staff_move_receipt(
        &self,
        staff_move: &StaffMove,
        levels: &[StockLevel],
        event: &OutboxEvent,
    ) -> Result<TransactWriteItem, StoreError> {
        let now = now_secs();
        let receipt = StockReceiptItem::new(staff_move, levels, event, now)?;
        self.conditional_put(
            serde_dynamo::to_item(receipt).map_err(corrupt("stock receipt"))?,
            "attribute_not_exists(pk) OR #ttl <= :now",
            Some(("#ttl", "ttl", ":now", AttributeValue::N(now.to_string()))),
        )
    }
}
