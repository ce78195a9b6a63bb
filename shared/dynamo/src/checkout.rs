//! Checkout against DynamoDB: one BatchGetItem to read, one TransactWriteItems
//! to reserve stock and place the order atomically.

use super::items::{
    IdempotencyItem, OrderItem, ProductItem, StockItem, idempotency_key, product_key, stock_key,
};
use super::{DynamoStore, Item, StockMove, corrupt, key, now_secs};
use async_trait::async_trait;
use aws_sdk_dynamodb::types::AttributeValue;
use shopflow_domain::{Order, Sku, WarehouseId};
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
                    snapshot.stock.insert(
                        (record.sku.clone(), record.warehouse.clone()),
                        record.level(),
                    );
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
    ) -> Result<(), PlaceOrderError> {
        let now = now_secs();
        let mut writes = Vec::with_capacity(order.lines.len() + 2);
        let order_item: Item =
            serde_dynamo::to_item(OrderItem::from_order(order)).map_err(corrupt("order"))?;
        writes.push(self.put_new(order_item)?);
        for line in &order.lines {
            writes.push(self.move_stock(
                &line.sku,
                &line.warehouse,
                line.quantity.get(),
                StockMove::Reserve,
            )?);
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

        match self.transact(writes).await? {
            None => Ok(()),
            Some(reasons) => {
                let codes: Vec<&str> = reasons.iter().map(String::as_str).collect();
                Err(classify_cancellation(&codes, order.lines.len()))
            }
        }
    }
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
