//! An in-memory store with the same atomicity as the DynamoDB adapter, for
//! handler tests. Everything happens under one lock, so a checkout either
//! reserves every line or nothing.

use crate::{
    CheckoutSnapshot, CheckoutStore, IdempotencyKey, InventoryStore, OrderReader, OutboxEvent,
    Page, PlaceOrderError, RestockError, StoreError, StoredResponse,
};
use async_trait::async_trait;
use shopflow_domain::{CustomerId, Order, OrderId, Product, Sku, StockLevel, WarehouseId};
use std::collections::{BTreeMap, HashMap};
use std::sync::{Mutex, MutexGuard};

#[derive(Debug, Default)]
struct State {
    products: HashMap<Sku, Product>,
    stock: BTreeMap<(Sku, WarehouseId), StockLevel>,
    orders: BTreeMap<OrderId, Order>,
    idempotency: HashMap<IdempotencyKey, StoredResponse>,
    outbox: Vec<OutboxEvent>,
}

#[derive(Debug, Default)]
pub struct MemoryStore {
    state: Mutex<State>,
}

impl MemoryStore {
    pub fn new() -> Self {
        Self::default()
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock leaves plain data behind; keep going.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Every event recorded so far, oldest first.
    pub fn outbox(&self) -> Vec<OutboxEvent> {
        self.state().outbox.clone()
    }

    pub fn orders(&self) -> Vec<Order> {
        self.state().orders.values().cloned().collect()
    }

    pub fn stock(&self, sku: &Sku, warehouse: &WarehouseId) -> StockLevel {
        self.state()
            .stock
            .get(&(sku.clone(), warehouse.clone()))
            .copied()
            .unwrap_or_default()
    }
}

#[async_trait]
impl CheckoutStore for MemoryStore {
    async fn checkout_snapshot(
        &self,
        key: &IdempotencyKey,
        skus: &[Sku],
        warehouses: &[WarehouseId],
    ) -> Result<CheckoutSnapshot, StoreError> {
        let state = self.state();
        let mut snapshot = CheckoutSnapshot {
            replay: state.idempotency.get(key).cloned(),
            ..CheckoutSnapshot::default()
        };
        for sku in skus {
            if let Some(product) = state.products.get(sku) {
                snapshot.catalog.insert(sku.clone(), product.clone());
            }
            for warehouse in warehouses {
                let at = (sku.clone(), warehouse.clone());
                if let Some(level) = state.stock.get(&at) {
                    snapshot.stock.insert(at, *level);
                }
            }
        }
        Ok(snapshot)
    }

    async fn place_order(
        &self,
        order: &Order,
        event: &OutboxEvent,
        key: &IdempotencyKey,
        response: &StoredResponse,
    ) -> Result<(), PlaceOrderError> {
        let mut state = self.state();
        if state.idempotency.contains_key(key) {
            return Err(PlaceOrderError::IdempotencyKeyTaken);
        }
        let mut reserved = Vec::with_capacity(order.lines.len());
        for line in &order.lines {
            let at = (line.sku.clone(), line.warehouse.clone());
            let level = state.stock.get(&at).copied().unwrap_or_default();
            let next = level
                .reserve(line.quantity.get())
                .map_err(|_| PlaceOrderError::StockChanged)?;
            reserved.push((at, next));
        }
        state.stock.extend(reserved);
        state.orders.insert(order.id, order.clone());
        state.outbox.push(event.clone());
        state.idempotency.insert(key.clone(), response.clone());
        Ok(())
    }
}

#[async_trait]
impl OrderReader for MemoryStore {
    async fn order(&self, id: OrderId) -> Result<Option<Order>, StoreError> {
        Ok(self.state().orders.get(&id).cloned())
    }

    async fn customer_orders(
        &self,
        customer: &CustomerId,
        after: Option<OrderId>,
        limit: u16,
    ) -> Result<Page<Order, OrderId>, StoreError> {
        let state = self.state();
        let mut matching = state
            .orders
            .values()
            .rev()
            .filter(|order| &order.customer_id == customer)
            .filter(|order| after.is_none_or(|cursor| order.id < cursor));
        let items: Vec<Order> = matching
            .by_ref()
            .take(usize::from(limit))
            .cloned()
            .collect();
        let next = match matching.next() {
            Some(_) => items.last().map(|order| order.id),
            None => None,
        };
        Ok(Page { items, next })
    }
}

#[async_trait]
impl InventoryStore for MemoryStore {
    async fn upsert_product(&self, product: &Product) -> Result<(), StoreError> {
        self.state()
            .products
            .insert(product.sku.clone(), product.clone());
        Ok(())
    }

    async fn product(&self, sku: &Sku) -> Result<Option<Product>, StoreError> {
        Ok(self.state().products.get(sku).cloned())
    }

    async fn stock_levels(&self, sku: &Sku) -> Result<Vec<(WarehouseId, StockLevel)>, StoreError> {
        Ok(self
            .state()
            .stock
            .iter()
            .filter(|((stocked, _), _)| stocked == sku)
            .map(|((_, warehouse), level)| (warehouse.clone(), *level))
            .collect())
    }

    async fn restock(
        &self,
        sku: &Sku,
        warehouse: &WarehouseId,
        received: u32,
        event: &OutboxEvent,
    ) -> Result<StockLevel, RestockError> {
        let mut state = self.state();
        if !state.products.contains_key(sku) {
            return Err(RestockError::UnknownProduct(sku.clone()));
        }
        let at = (sku.clone(), warehouse.clone());
        let level = state.stock.get(&at).copied().unwrap_or_default();
        let next = level
            .restock(received)
            .map_err(|_| RestockError::Overflow)?;
        state.stock.insert(at, next);
        state.outbox.push(event.clone());
        Ok(next)
    }
}
