//! Staff search and order counts: a customer's orders through gsi1, or one
//! status through the status index (gsi2), never a scan.

use super::items::{
    OrderItem, PaymentItem, customer_order_sort, customer_orders_partition, order_key, read_status,
    status_partition,
};
use super::lifecycle::StatusRange;
use super::{DynamoStore, corrupt, s, sdk};
use async_trait::async_trait;
use shopflow_domain::{FulfillmentStatus, Order, OrderId, OrderState, OrderStatus, Timestamp};
use shopflow_ports::{OrderQuery, OrderSearch, Page, STATUS_SHARDS, StatusCount, StoreError};
use std::collections::HashMap;
use ulid::Ulid;

/// Pages read per call at most, so a sparse filter cannot run up the bill.
const MAX_PAGES: usize = 10;

fn placed_between(order: &Order, query: &OrderQuery) -> bool {
    query.from.is_none_or(|from| order.created_at >= from)
        && query.to.is_none_or(|to| order.created_at <= to)
}

impl DynamoStore {
    /// A customer's orders newest first, placed within the query's window
    /// (the ULID in the sort key is the placing time), optionally in one status.
    async fn search_customer(
        &self,
        customer: &shopflow_domain::CustomerId,
        query: &OrderQuery,
        after: Option<String>,
        limit: u16,
    ) -> Result<Page<Order, String>, StoreError> {
        let partition = customer_orders_partition(customer);
        let lowest = Ulid::from_parts(query.from.map(Timestamp::as_millis).unwrap_or(0), 0);
        let highest = Ulid::from_parts(
            query.to.map(Timestamp::as_millis).unwrap_or(u64::MAX >> 16),
            u128::MAX,
        );
        let mut start = after.and_then(|raw| raw.parse::<OrderId>().ok()).map(|id| {
            let (pk, sk) = order_key(id);
            HashMap::from([
                ("pk".to_owned(), s(pk)),
                ("sk".to_owned(), s(sk)),
                ("gsi1pk".to_owned(), s(partition.clone())),
                ("gsi1sk".to_owned(), s(customer_order_sort(id))),
            ])
        });
        let mut found = Vec::new();
        for _ in 0..MAX_PAGES {
            let mut request = self
                .client
                .query()
                .table_name(&self.table)
                .index_name("gsi1")
                .key_condition_expression(
                    "gsi1pk = :customer AND gsi1sk BETWEEN :lowest AND :highest",
                )
                .expression_attribute_values(":customer", s(partition.clone()))
                .expression_attribute_values(":lowest", s(format!("ORDER#{lowest}")))
                .expression_attribute_values(":highest", s(format!("ORDER#{highest}")))
                .scan_index_forward(false)
                .limit(i32::from(limit) + 1)
                .set_exclusive_start_key(start.take());
            if let Some(status) = query.status {
                request = request
                    .filter_expression("#status = :status")
                    .expression_attribute_names("#status", "status")
                    .expression_attribute_values(":status", s(status.as_str()));
            }
            let output = request.send().await.map_err(sdk)?;
            for item in output.items.unwrap_or_default() {
                found.push(
                    serde_dynamo::from_item::<_, OrderItem>(item)
                        .map_err(corrupt("order"))?
                        .into_order()?,
                );
            }
            start = output.last_evaluated_key;
            if found.len() > usize::from(limit) || start.is_none() {
                break;
            }
        }
        let more = found.len() > usize::from(limit) || start.is_some();
        found.truncate(usize::from(limit));
        let next = if more {
            found.last().map(|order| order.id.to_string())
        } else {
            None
        };
        Ok(Page { items: found, next })
    }

    /// One status's orders newest first (by the time they reached it) across
    /// the index's partitions, placed within the query's window.
    async fn search_status(
        &self,
        status: OrderStatus,
        query: &OrderQuery,
        after: Option<String>,
        limit: u16,
    ) -> Result<Page<Order, String>, StoreError> {
        let mut found: Vec<(String, Order)> = Vec::new();
        let mut exhausted = true;
        for shard in 0..STATUS_SHARDS {
            let partition = status_partition(status, shard);
            let mut start = None;
            let mut matched = 0;
            for _ in 0..MAX_PAGES {
                let range = match &after {
                    Some(cursor) => StatusRange::BelowKey(cursor.clone()),
                    None => StatusRange::All,
                };
                let page = self
                    .query_status_index(&partition, range, start.take(), limit + 1, false)
                    .await?;
                for (sort, order) in page.items {
                    if placed_between(&order, query) {
                        matched += 1;
                        found.push((sort, order));
                    }
                }
                // Past `limit` matches, older ones of this partition cannot make the page.
                match page.next {
                    Some(next) if matched <= usize::from(limit) => start = Some(next),
                    Some(_) => {
                        exhausted = false;
                        break;
                    }
                    None => break,
                }
            }
            if start.is_some() {
                exhausted = false;
            }
        }
        found.sort_by(|a, b| b.0.cmp(&a.0));
        let more = found.len() > usize::from(limit) || !exhausted;
        found.truncate(usize::from(limit));
        let next = if more {
            found.last().map(|(sk, _)| sk.clone())
        } else {
            None
        };
        Ok(Page {
            items: found.into_iter().map(|(_, order)| order).collect(),
            next,
        })
    }
}

#[async_trait]
impl OrderSearch for DynamoStore {
    async fn search_orders(
        &self,
        query: &OrderQuery,
        after: Option<String>,
        limit: u16,
    ) -> Result<Page<Order, String>, StoreError> {
        match (&query.customer, query.status) {
            (Some(customer), _) => self.search_customer(customer, query, after, limit).await,
            (None, Some(status)) => self.search_status(status, query, after, limit).await,
            (None, None) => Ok(Page {
                items: Vec::new(),
                next: None,
            }),
        }
    }

    async fn count_orders(
        &self,
        status: OrderStatus,
        since: Option<Timestamp>,
    ) -> Result<StatusCount, StoreError> {
        let mut count = StatusCount::default();
        for shard in 0..STATUS_SHARDS {
            let mut start = None;
            loop {
                // Only what the counts need; a query is billed by the items
                // it reads, so this costs what a bare count would.
                let mut request = self
                    .client
                    .query()
                    .table_name(&self.table)
                    .index_name("gsi2")
                    .projection_expression("#status, pay, ful")
                    .expression_attribute_names("#status", "status")
                    .expression_attribute_values(":partition", s(status_partition(status, shard)))
                    .set_exclusive_start_key(start.take());
                request = match since {
                    Some(at) => request
                        .key_condition_expression("gsi2pk = :partition AND gsi2sk >= :since")
                        .expression_attribute_values(
                            ":since",
                            s(format!("{:015}", at.as_millis())),
                        ),
                    None => request.key_condition_expression("gsi2pk = :partition"),
                };
                let output = request.send().await.map_err(sdk)?;
                for item in output.items.unwrap_or_default() {
                    let counted: CountedOrder =
                        serde_dynamo::from_item(item).map_err(corrupt("order"))?;
                    count.add(counted.state()?);
                }
                start = output.last_evaluated_key;
                if start.is_none() {
                    break;
                }
            }
        }
        Ok(count)
    }
}

/// The attributes of an order that its counts read.
#[derive(Debug, serde::Deserialize)]
struct CountedOrder {
    status: String,
    #[serde(default)]
    pay: Option<PaymentItem>,
    #[serde(default)]
    ful: Option<FulfillmentStatus>,
}

impl CountedOrder {
    fn state(self) -> Result<OrderState, StoreError> {
        let (status, goods_before_the_split) = read_status(&self.status)?;
        Ok(OrderState {
            status,
            payment_status: self
                .pay
                .map(PaymentItem::into_payment)
                .unwrap_or_default()
                .payment_status(),
            fulfillment_status: self.ful.or(goods_before_the_split).unwrap_or_default(),
        })
    }
}
