//! Reading orders: by id, and a customer's orders newest first through gsi1.

use super::items::{OrderItem, customer_order_sort, customer_orders_partition, order_key};
use super::{DynamoStore, corrupt, sdk};
use async_trait::async_trait;
use aws_sdk_dynamodb::types::AttributeValue;
use shopflow_domain::{CustomerId, Order, OrderId};
use shopflow_ports::{OrderReader, Page, StoreError};
use std::collections::HashMap;

#[async_trait]
impl OrderReader for DynamoStore {
    async fn order(&self, id: OrderId) -> Result<Option<Order>, StoreError> {
        let item: Option<OrderItem> = self.get(order_key(id), "order").await?;
        item.map(OrderItem::into_order).transpose()
    }

    async fn customer_orders(
        &self,
        customer: &CustomerId,
        after: Option<OrderId>,
        limit: u16,
    ) -> Result<Page<Order, OrderId>, StoreError> {
        let partition = customer_orders_partition(customer);
        // The cursor carries only the order id; the rest of the start key is
        // rebuilt from the caller, so a cursor can never reach another customer.
        let start = after.map(|id| {
            let (pk, sk) = order_key(id);
            HashMap::from([
                ("pk".to_owned(), AttributeValue::S(pk)),
                ("sk".to_owned(), AttributeValue::S(sk)),
                ("gsi1pk".to_owned(), AttributeValue::S(partition.clone())),
                (
                    "gsi1sk".to_owned(),
                    AttributeValue::S(customer_order_sort(id)),
                ),
            ])
        });
        let output = self
            .client
            .query()
            .table_name(&self.table)
            .index_name("gsi1")
            .key_condition_expression("gsi1pk = :customer AND begins_with(gsi1sk, :orders)")
            .expression_attribute_values(":customer", AttributeValue::S(partition.clone()))
            .expression_attribute_values(":orders", AttributeValue::S("ORDER#".into()))
            .scan_index_forward(false)
            // One more than asked: it tells whether another page exists, so
            // the last page never hands out a cursor to an empty one.
            .limit(i32::from(limit) + 1)
            .set_exclusive_start_key(start)
            .send()
            .await
            .map_err(sdk)?;
        let mut items = output
            .items
            .unwrap_or_default()
            .into_iter()
            .map(|item| {
                serde_dynamo::from_item::<_, OrderItem>(item)
                    .map_err(corrupt("order"))?
                    .into_order()
            })
            .collect::<Result<Vec<_>, _>>()?;
        let next = if items.len() > usize::from(limit) {
            items.truncate(usize::from(limit));
            items.last().map(|order| order.id)
        } else {
            None
        };
        Ok(Page { items, next })
    }
}
