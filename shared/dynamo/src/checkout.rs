//! Checkout against DynamoDB: one BatchGetItem to read, one TransactWriteItems
//! to reserve stock, backorder what is short and place the order atomically.

use super::items::{
    BackorderItem, IdempotencyItem, OrderItem, ProductItem, StockItem, idempotency_key,
    product_key, stock_key,
};
use super::{
    Direction, DynamoStore, Item, carrying_item, corrupt, key, malformed, movement, n, now_secs,
};
use async_trait::async_trait;
use aws_sdk_dynamodb::types::{AttributeValue, TransactWriteItem, Update};
use shopflow_domain::events::{BackorderMove, BackorderMoved, DomainEvent};
use shopflow_domain::{
    Backorder, BackorderSettings, MovementCause, MovementNote, Order, OrderLine, Sku, Stock,
    WarehouseId,
};
use shopflow_ports::{
    CheckoutReceipt, CheckoutSnapshot, CheckoutStore, IdempotencyKey, OutboxEvent, PlaceOrderError,
    StoreError,
};

fn text(item: &Item, name: &str) -> Option<String> {
    item.get(name).and_then(|v| v.as_s().ok()).cloned()
}

#[async_trait]
impl CheckoutStore for DynamoStore {
    async fn checkout_snapshot(
        &self,
        idempotency: &IdempotencyKey,
        skus: &[Sku],
        warehouses: &[WarehouseId],
    ) -> Result<CheckoutSnapshot, StoreError> {
        let mut keys = vec![key(idempotency_key(idempotency))];
        for sku in skus {
            keys.push(key(product_key(sku)));
            keys.extend(warehouses.iter().map(|wh| key(stock_key(sku, wh))));
        }
        let mut snapshot = CheckoutSnapshot::default();
        let now = now_secs();
        for item in self.batch_get(keys).await? {
            match text(&item, "type").as_deref() {
                Some("idempotency") => {
                    let record: IdempotencyItem =
                        serde_dynamo::from_item(item).map_err(corrupt("idempotency"))?;
                    snapshot.replay = record.into_live_receipt(now);
                }
                Some("product") => {
                    let record: ProductItem =
                        serde_dynamo::from_item(item).map_err(corrupt("product"))?;
                    let product = record.into_product()?;
                    snapshot.catalog.insert(product.sku.clone(), product);
                }
                Some("stock") => {
                    let record: StockItem =
                        serde_dynamo::from_item(item).map_err(corrupt("stock"))?;
                    let at = (record.sku.clone(), record.warehouse.clone());
                    snapshot
                        .stock
                        .backorder_settings
                        .insert(at.clone(), record.backorder_settings());
                    snapshot.stock.levels.insert(at, record.level());
                }
                other => {
                    return Err(StoreError::Corrupt {
                        entity: "checkout read",
                        reason: format!("unexpected item type {other:?}"),
                    });
                }
            }
        }
        Ok(snapshot)
    }

    async fn place_order(
        &self,
        order: &Order,
        event: &OutboxEvent,
        idempotency: &IdempotencyKey,
        receipt: &CheckoutReceipt,
        decided_on: &Stock,
    ) -> Result<(), PlaceOrderError> {
        let now = now_secs();
        let backorders = order.backorders();
        let sale = MovementNote::new(MovementCause::Sale, order.id, order.created_at);
        let mut writes = Vec::with_capacity(order.lines.len() + backorders.len() + 2);
        let order_item: Item =
            serde_dynamo::to_item(OrderItem::from_order(order)).map_err(corrupt("order"))?;
        writes.push(self.put_new(order_item)?);
        for line in &order.lines {
            writes.push(if line.backordered() > 0 {
                self.backorder_stock(
                    line,
                    &decided_on.settings(&line.sku, &line.warehouse),
                    &sale,
                )?
            } else {
                self.move_stock(
                    &line.sku,
                    &line.warehouse,
                    line.quantity.get(),
                    Direction::Reserve,
                    &sale,
                )?
            });
        }
        // The receipt carries order.created for the relay: no separate outbox item.
        let record: Item =
            serde_dynamo::to_item(IdempotencyItem::new(idempotency, receipt, event, now)?)
                .map_err(corrupt("idempotency"))?;
        writes.push(self.conditional_put(
            record,
            "attribute_not_exists(pk) OR #ttl <= :now",
            Some(("#ttl", "ttl", ":now", AttributeValue::N(now.to_string()))),
        )?);
        // The queue items come last, so the stock lines and the receipt keep
        // their places in the cancellation reasons.
        for backorder in &backorders {
            writes.push(self.put_new(queue_item(backorder, event)?)?);
        }

        match self.transact(writes).await? {
            None => Ok(()),
            Some(reasons) => {
                let codes: Vec<&str> = reasons.iter().map(String::as_str).collect();
                Err(classify_cancellation(&codes, order.lines.len()))
            }
        }
    }
}

impl DynamoStore {
    /// A short line's stock: every unit there reserved, the rest
    /// backordered, on the settings checkout decided with and within their
    /// limit. If anything moved (units arrived or went, the queue grew, the
    /// settings changed), the condition fails and checkout decides again.
    fn backorder_stock(
        &self,
        line: &OrderLine,
        settings: &BackorderSettings,
        sale: &MovementNote,
    ) -> Result<TransactWriteItem, StoreError> {
        let backordered = line.backordered();
        let room = settings.max_backorder_quantity - backordered;
        let update = Update::builder()
            .table_name(&self.table)
            .set_key(Some(key(stock_key(&line.sku, &line.warehouse))))
            .update_expression(
                "SET reserved = reserved + :r, available = available - :r, \
                 backordered = if_not_exists(backordered, :zero) + :b, \
                 set_aside = if_not_exists(set_aside, :zero), version = version + :one, mv = :mv",
            )
            .condition_expression(
                "available = :r AND #bo.#allow = :yes AND #bo.#max = :max \
                 AND (attribute_not_exists(backordered) OR backordered <= :room)",
            )
            .expression_attribute_names("#bo", "bo")
            .expression_attribute_names("#allow", "allow")
            .expression_attribute_names("#max", "max")
            .expression_attribute_values(":r", n(line.reserved()))
            .expression_attribute_values(":b", n(backordered))
            .expression_attribute_values(":room", n(room))
            .expression_attribute_values(":max", n(settings.max_backorder_quantity))
            .expression_attribute_values(":yes", AttributeValue::Bool(true))
            .expression_attribute_values(":zero", n(0))
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":mv", movement(sale))
            .build()
            .map_err(malformed)?;
        Ok(TransactWriteItem::builder().update(update).build())
    }
}

/// A new backorder in its queue, carrying `backorder.created`.
fn queue_item(backorder: &Backorder, order_created: &OutboxEvent) -> Result<Item, StoreError> {
    let event = OutboxEvent {
        id: ulid::Ulid::generate(),
        occurred_at: order_created.occurred_at,
        event: DomainEvent::BackorderMoved(BackorderMoved::new(BackorderMove::Created, backorder)),
    };
    carrying_item(
        &BackorderItem::from_backorder(backorder),
        Some(&event),
        "backorder",
    )
}

/// Maps per-item cancellation codes (order, stock lines…, receipt) to the
/// reason checkout acts on.
fn classify_cancellation(codes: &[&str], lines: usize) -> PlaceOrderError {
    let idempotency_index = lines + 1;
    if codes.get(idempotency_index) == Some(&"ConditionalCheckFailed") {
        return PlaceOrderError::IdempotencyKeyTaken;
    }
    if codes
        .iter()
        .skip(1)
        .take(lines)
        .any(|code| *code == "ConditionalCheckFailed")
    {
        return PlaceOrderError::StockChanged;
    }
    if codes.contains(&"TransactionConflict") {
        return PlaceOrderError::Conflict;
    }
    let reasons: Vec<String> = codes.iter().map(|code| (*code).to_owned()).collect();
    PlaceOrderError::Store(shopflow_aws_errors::unexplained_cancellation(
        "checkout", &reasons,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_taken_idempotency_key_wins_over_stock_reasons() {
        let codes = ["None", "ConditionalCheckFailed", "ConditionalCheckFailed"];
        assert!(matches!(
            classify_cancellation(&codes, 1),
            PlaceOrderError::IdempotencyKeyTaken
        ));
    }

    #[test]
    fn a_failed_stock_condition_means_the_snapshot_was_stale() {
        let codes = ["None", "None", "ConditionalCheckFailed", "None"];
        assert!(matches!(
            classify_cancellation(&codes, 2),
            PlaceOrderError::StockChanged
        ));
    }

    #[test]
    fn concurrent_transactions_are_a_retryable_conflict() {
        let codes = ["None", "TransactionConflict", "None"];
        assert!(matches!(
            classify_cancellation(&codes, 1),
            PlaceOrderError::Conflict
        ));
    }
}
