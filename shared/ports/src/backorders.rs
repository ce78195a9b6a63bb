//! The backorder allocation port: a queue as the allocator reads it, and a
//! batch of allocations it writes at once (`BackorderStore`, implemented on
//! DynamoDB and by the test kit's fake).

use crate::{OutboxEvent, StatusChange, StoreError};
use async_trait::async_trait;
use shopflow_domain::events::{BackorderMoved, DomainEvent};
use shopflow_domain::{
    Actor, Backorder, BackorderId, CustomerId, Order, OrderId, OrderTrigger, Sku, StockLevel,
    Timestamp, WarehouseId,
};
use ulid::Ulid;

/// One SKU × warehouse's stock and its open backorders, in allocation order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Queue {
    pub sku: Sku,
    pub warehouse: WarehouseId,
    pub level: StockLevel,
    pub waiting: Vec<Backorder>,
}

/// Units set aside for one backorder made its order's reservation.
#[derive(Debug, Clone)]
pub struct BackorderAllocation {
    /// The backorder as read: the write holds only while it still is.
    pub backorder: Backorder,
    pub units: u32,
    /// Its order after the allocation, at the version read.
    pub order: Order,
    /// The order's goods moving on, when nothing of it waits any more.
    pub goods: Option<StatusChange>,
    /// The allocation record's id, who allocated, why and when.
    pub record_id: Ulid,
    pub by: String,
    pub reason: String,
    pub at: Timestamp,
    /// `backorder.allocated`, or `backorder.fulfilled` for its last units.
    pub event: OutboxEvent,
}

impl BackorderAllocation {
    /// `units` of the stock set aside given to `backorder`, whose order is
    /// `order` as read; `None` when the order no longer waits for them.
    pub fn new(
        backorder: &Backorder,
        units: u32,
        order: &Order,
        actor: &Actor,
        reason: &str,
        at: Timestamp,
    ) -> Option<Self> {
        let after = order.with_allocation(backorder.id, units)?;
        let goods = after
            .stock_arrived()
            .then(|| after.state().apply(OrderTrigger::StockAllocated).ok())
            .flatten()
            .map(|to| {
                StatusChange::new(
                    &after,
                    to,
                    OrderTrigger::StockAllocated,
                    actor,
                    Some(reason.to_owned()),
                    at,
                )
            });
        Some(Self {
            backorder: backorder.clone(),
            units,
            order: after,
            goods,
            record_id: Ulid::generate(),
            by: actor.label(),
            reason: reason.to_owned(),
            at,
            event: OutboxEvent {
                id: Ulid::generate(),
                occurred_at: at,
                event: DomainEvent::BackorderMoved(BackorderMoved::allocation(
                    backorder, units, reason,
                )),
            },
        })
    }

    /// The backorder after this allocation.
    pub fn after(&self) -> Backorder {
        self.backorder.allocated(self.units)
    }
}

/// Allocations to backorders of one queue, written in one transaction with
/// the stock's counters: at most [`AllocationBatch::MAX`] of them, so
/// the stock item, and per backorder its own item, its order, its
/// allocation record and the order's history fit 100 items.
#[derive(Debug, Clone)]
pub struct AllocationBatch {
    pub sku: Sku,
    pub warehouse: WarehouseId,
    pub allocations: Vec<BackorderAllocation>,
}

impl AllocationBatch {
    pub const MAX: usize = 24;

    /// Units the batch moves from set aside to reserved.
    pub fn units(&self) -> u32 {
        self.allocations.iter().map(|a| a.units).sum()
    }
}

/// Why a batch was not written; none of it was.
#[derive(Debug, thiserror::Error)]
pub enum AllocateError {
    /// A backorder, an order or the stock changed since they were read
    /// (a cancellation, a payment, another allocation): read again.
    #[error("the queue changed since it was read")]
    Moved,
    #[error(transparent)]
    Store(#[from] StoreError),
}

#[async_trait]
pub trait BackorderStore: Send + Sync {
    /// The stock of `sku` in `warehouse` and its open backorders, in
    /// allocation order (strongly consistent).
    async fn queue(&self, sku: &Sku, warehouse: &WarehouseId) -> Result<Queue, StoreError>;

    /// The orders with these ids that exist (strongly consistent).
    async fn orders_by_id(&self, ids: &[OrderId]) -> Result<Vec<Order>, StoreError>;

    /// Atomically: moves the batch's units from set aside to reserved (and
    /// out of the backordered count), advances each backorder, rewrites its
    /// order's lines (and goods, with their history) and writes each
    /// allocation record carrying its event.
    async fn allocate(&self, batch: &AllocationBatch) -> Result<(), AllocateError>;
}

/// Units allocated to a backorder, as the allocation record keeps them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AllocationRecord {
    pub backorder: BackorderId,
    pub units: u32,
    pub at: Timestamp,
    pub by: String,
    pub reason: String,
}

/// The backorders one read can find: a queue, a customer's, or an order's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BackorderScope {
    Queue(Sku, WarehouseId),
    Customer(CustomerId),
    Order(CustomerId, OrderId),
}

#[async_trait]
pub trait BackorderReader: Send + Sync {
    /// One backorder by id, in whatever status.
    async fn backorder(&self, id: BackorderId) -> Result<Option<Backorder>, StoreError>;

    /// What was allocated to a backorder, oldest first.
    async fn allocations(&self, id: BackorderId) -> Result<Vec<AllocationRecord>, StoreError>;

    /// Every backorder in `scope`, in whatever status.
    async fn backorders_in(&self, scope: &BackorderScope) -> Result<Vec<Backorder>, StoreError>;
}
