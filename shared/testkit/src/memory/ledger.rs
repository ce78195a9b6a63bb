//! The stock ledger in memory: movements kept once per SKU, warehouse and
//! version, listed oldest first as the DynamoDB adapter lists them.

use super::MemoryStore;
use async_trait::async_trait;
use shopflow_domain::Movement;
use shopflow_ports::{
    MovementCursor, MovementQuery, OutboxEvent, Page, Recorded, StockLedger, StoreError,
};

/// Where a movement sorts in its SKU's ledger.
fn place(movement: &Movement) -> (u64, String, u64) {
    (
        movement.note.at.as_millis(),
        movement.warehouse.to_string(),
        movement.version,
    )
}

#[async_trait]
impl StockLedger for MemoryStore {
    async fn record_movement(
        &self,
        movement: &Movement,
        event: Option<&OutboxEvent>,
    ) -> Result<Recorded, StoreError> {
        let mut state = self.state();
        let kept = state.movements.iter().any(|kept| {
            kept.sku == movement.sku
                && kept.warehouse == movement.warehouse
                && kept.version == movement.version
        });
        if kept {
            return Ok(Recorded::Before);
        }
        state.movements.push(movement.clone());
        state.outbox.extend(event.cloned());
        Ok(Recorded::Now)
    }

    async fn movements(
        &self,
        query: &MovementQuery,
    ) -> Result<Page<Movement, MovementCursor>, StoreError> {
        let after = query.after.as_ref().map(|cursor| {
            (
                cursor.at.as_millis(),
                cursor.warehouse.to_string(),
                cursor.version,
            )
        });
        let mut movements: Vec<Movement> = self
            .state()
            .movements
            .iter()
            .filter(|movement| movement.sku == query.sku)
            .filter(|movement| {
                query
                    .warehouse
                    .as_ref()
                    .is_none_or(|warehouse| &movement.warehouse == warehouse)
            })
            .filter(|movement| query.from.is_none_or(|from| movement.note.at >= from))
            .filter(|movement| query.to.is_none_or(|to| movement.note.at <= to))
            .filter(|movement| after.as_ref().is_none_or(|after| &place(movement) > after))
            .cloned()
            .collect();
        movements.sort_by_key(place);
        let more = movements.len() > usize::from(query.limit);
        movements.truncate(usize::from(query.limit));
        let next = more
            .then(|| movements.last().map(MovementCursor::of))
            .flatten();
        Ok(Page {
            items: movements,
            next,
        })
    }
}
