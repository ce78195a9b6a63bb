//! The stock ledger: one movement item per stock change, in the SKU's
//! `MOVES#` partition by when it happened, written once (conditionally)
//! however often the stream delivers the change.

use super::items::{
    LAST_MOVEMENT_MS, MovementItem, movement_key, movement_sort_from, movements_partition,
};
use super::{DynamoStore, corrupt, s, sdk};
use async_trait::async_trait;
use shopflow_domain::{Movement, Timestamp};
use shopflow_ports::{
    MovementCursor, MovementQuery, OutboxEvent, Page, Recorded, StockLedger, StoreError,
};
use std::collections::HashMap;

#[async_trait]
impl StockLedger for DynamoStore {
    async fn record_movement(
        &self,
        movement: &Movement,
        event: Option<&OutboxEvent>,
    ) -> Result<Recorded, StoreError> {
        let written = self
            .put_new_carrying(&MovementItem::new(movement), event, "movement")
            .await?;
        Ok(if written {
            Recorded::Now
        } else {
            Recorded::Before
        })
    }

    async fn movements(
        &self,
        query: &MovementQuery,
    ) -> Result<Page<Movement, MovementCursor>, StoreError> {
        let partition = movements_partition(&query.sku);
        let from = movement_sort_from(query.from.unwrap_or(Timestamp::from_millis(0)));
        // The first key after the last millisecond asked for.
        let to = movement_sort_from(
            query
                .to
                .map_or(Timestamp::from_millis(LAST_MOVEMENT_MS), |to| {
                    Timestamp::from_millis(to.as_millis().saturating_add(1))
                }),
        );
        // BETWEEN refuses a range that ends before it starts.
        if from > to {
            return Ok(Page {
                items: Vec::new(),
                next: None,
            });
        }
        let mut request = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :pk AND sk BETWEEN :from AND :to")
            .expression_attribute_values(":pk", s(partition.clone()))
            .expression_attribute_values(":from", s(from))
            .expression_attribute_values(":to", s(to))
            .limit(i32::from(query.limit) + 1);
        if let Some(warehouse) = &query.warehouse {
            request = request
                .filter_expression("wh = :wh")
                .expression_attribute_values(":wh", s(warehouse.to_string()));
        }
        let mut start = query.after.as_ref().map(|after| {
            let (pk, sk) = movement_key(&query.sku, after.at, &after.warehouse, after.version);
            HashMap::from([("pk".to_owned(), s(pk)), ("sk".to_owned(), s(sk))])
        });
        let mut movements = Vec::new();
        // A filtered page may come back short: read on until the page is
        // full (and one more shows there is a next) or the ledger ends.
        loop {
            let page = request
                .clone()
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(sdk)?;
            for item in page.items.unwrap_or_default() {
                let item: MovementItem =
                    serde_dynamo::from_item(item).map_err(corrupt("movement"))?;
                movements.push(item);
            }
            start = page.last_evaluated_key;
            if start.is_none() || movements.len() > usize::from(query.limit) {
                break;
            }
        }
        let more = movements.len() > usize::from(query.limit);
        movements.truncate(usize::from(query.limit));
        let items: Vec<Movement> = movements
            .into_iter()
            .map(MovementItem::into_movement)
            .collect();
        let next = more.then(|| items.last().map(MovementCursor::of)).flatten();
        Ok(Page { items, next })
    }
}
