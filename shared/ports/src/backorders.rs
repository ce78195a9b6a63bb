//! The backorder allocation port: a queue as the allocator reads it, and a
//! batch of allocations it writes at once (`BackorderStore`, implemented on
//! DynamoDB and by the test kit's fake).

use crate::{Handback, LeavingQueue, OutboxEvent, StatusChange, StoreError};
use async_trait::async_trait;
use shopflow_domain::events::{BackorderMove, BackorderMoved, BackorderRefund, DomainEvent};
use shopflow_domain::{
    Actor, Backorder, BackorderId, CancelRefund, CustomerId, Order, OrderId, OrderTrigger, Refund,
    RefundStatus, Sku, StockLevel, Timestamp, WarehouseId,
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
    /// Its order after the allocation (its goods moved on with it), at the
    /// version read.
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
        let mut after = order.with_allocation(backorder.id, units)?;
        let goods = goods_moving_on(&after, actor, reason, at);
        if let Some(goods) = &goods {
            after.fulfillment_status = goods.to.fulfillment_status;
        }
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

/// The change moving `order`'s goods on from `awaiting_stock` when nothing
/// of it waits for stock any more (its backorders allocated or cancelled).
fn goods_moving_on(
    order: &Order,
    actor: &Actor,
    reason: &str,
    at: Timestamp,
) -> Option<StatusChange> {
    if !order.stock_arrived() {
        return None;
    }
    let to = order.state().apply(OrderTrigger::StockAllocated).ok()?;
    Some(StatusChange::new(
        order,
        to,
        OrderTrigger::StockAllocated,
        actor,
        Some(reason.to_owned()),
        at,
    ))
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

    /// Atomically: the backorder out of its queue and its units out of the
    /// counters (units set aside it no longer needs go to the next in line
    /// or become available), the order rewritten on the version read (and
    /// its goods moved on, with history), and the refund held back.
    async fn cancel_backorder(
        &self,
        cancellation: &BackorderCancellation,
    ) -> Result<(), AllocateError>;

    /// Atomically: the backorder re-keyed at its new priority, its order's
    /// line rewritten on the version read, and the change's record.
    async fn reprioritize(&self, change: &Reprioritization) -> Result<(), AllocateError>;
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

/// A change of a backorder's priority, as its record keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PriorityChange {
    pub from: u8,
    pub to: u8,
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

    /// How staff changed a backorder's priority, oldest first.
    async fn priority_changes(&self, id: BackorderId) -> Result<Vec<PriorityChange>, StoreError>;

    /// Every backorder in `scope`, in whatever status.
    async fn backorders_in(&self, scope: &BackorderScope) -> Result<Vec<Backorder>, StoreError>;

    /// One page of backorders of one standing and shard, oldest first
    /// (eventually consistent: an index).
    async fn backorders_standing(
        &self,
        range: &StandingRange,
    ) -> Result<crate::Page<StandingEntry, StandingEntry>, StoreError>;
}

/// One backorder taken out of its queue while its order keeps its other
/// units: the order no longer waits for them, and what they cost is held
/// back on the order as a pending refund for payment-actions to make.
#[derive(Debug, Clone)]
pub struct BackorderCancellation {
    /// Its line's hand-back: nothing reserved; the backorder leaving with
    /// `backorder.cancelled` (carrying the refund).
    pub handback: Handback,
    /// The order after, written on the version it was read at.
    pub order: Order,
    /// The order's goods moving on when nothing else of it waits.
    pub goods: Option<StatusChange>,
    /// What the cancelled units give back, by the domain's rule.
    pub shares: CancelRefund,
    /// The refund held back on the order, when there is money to give back.
    pub refund: Option<Refund>,
}

/// Why a backorder cannot be cancelled on its own.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CancelBackorderError {
    #[error("the backorder no longer waits for any units")]
    NothingWaits,
    #[error("the order's payment is not captured yet: cancel the order, or retry once it is paid")]
    NotPaid,
}

impl BackorderCancellation {
    /// `backorder` (as read) of `order` (as read) cancelled by `actor` for
    /// `reason`: `Ok(None)` when that leaves the order nothing to deliver,
    /// so the order itself is to be cancelled instead.
    pub fn new(
        order: &Order,
        backorder: &Backorder,
        actor: &Actor,
        reason: &str,
        at: Timestamp,
    ) -> Result<Option<Self>, CancelBackorderError> {
        let (mut after, units) = order
            .with_backorder_cancelled(backorder.id)
            .ok_or(CancelBackorderError::NothingWaits)?;
        if !after.keeps_units() {
            return Ok(None);
        }
        if order.payment.captured_minor == 0 {
            return Err(CancelBackorderError::NotPaid);
        }
        let line = order
            .line_with_backorder(backorder.id)
            .ok_or(CancelBackorderError::NothingWaits)?;
        let shares = order.refund_for_cancelled(line, units, true);
        let refund = (shares.amount_minor > 0).then(|| Refund {
            id: format!("rf_bo_{}", backorder.id),
            amount_minor: shares.amount_minor,
            reason: format!("backorder cancelled: {reason}"),
            status: RefundStatus::Pending,
            provider_refund_id: None,
            failure: None,
            requested_by: actor.label(),
            requested_at: at,
            request_fingerprint: backorder.id.to_string(),
        });
        if let Some(refund) = &refund {
            after.payment = after.payment.with_refund_pending(refund.amount_minor);
        }
        let mut leaving = LeavingQueue::new(backorder, reason, at);
        if let DomainEvent::BackorderMoved(moved) = &mut leaving.event.event {
            moved.refund = refund.as_ref().map(|refund| BackorderRefund {
                refund_id: refund.id.clone(),
                currency: order.currency.as_str().to_owned(),
                shares,
            });
        }
        let goods = goods_moving_on(&after, actor, &format!("backorder cancelled: {reason}"), at);
        if let Some(goods) = &goods {
            after.fulfillment_status = goods.to.fulfillment_status;
        }
        Ok(Some(Self {
            handback: Handback {
                sku: backorder.sku.clone(),
                warehouse: backorder.warehouse.clone(),
                reserved: 0,
                leaving: Some(leaving),
            },
            order: after,
            goods,
            shares,
            refund,
        }))
    }
}

/// Where backorders stand, as the standing index files them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BackorderStanding {
    /// Pending or partial, by when they were created.
    Open,
    /// By when their last units were allocated.
    Fulfilled,
    /// By when they were cancelled.
    Cancelled,
}

/// A backorder as the standing index holds it: since when it stands there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StandingEntry {
    pub backorder: Backorder,
    /// Created (open), fulfilled or cancelled at.
    pub since: Timestamp,
}

/// Which part of one standing partition to read, oldest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StandingRange {
    pub standing: BackorderStanding,
    /// One of `0..STATUS_SHARDS`.
    pub shard: u8,
    /// At or after.
    pub since: Option<Timestamp>,
    /// Before.
    pub before: Option<Timestamp>,
    /// The last entry of the previous page.
    pub after: Option<StandingEntry>,
    pub limit: u16,
}

/// Staff moving a backorder up or down its queue: its item is re-keyed
/// (the sort key starts with the priority), its order's line follows, and
/// a record of who, why and when carries `backorder.priority_changed`.
#[derive(Debug, Clone)]
pub struct Reprioritization {
    /// As read: the change holds only while it still is.
    pub before: Backorder,
    pub after: Backorder,
    /// Its order after, at the version read.
    pub order: Order,
    pub record_id: Ulid,
    pub by: String,
    pub reason: String,
    pub at: Timestamp,
    pub event: OutboxEvent,
}

impl Reprioritization {
    /// The change as its record keeps it.
    pub fn change(&self) -> PriorityChange {
        PriorityChange {
            from: self.before.priority,
            to: self.after.priority,
            at: self.at,
            by: self.by.clone(),
            reason: self.reason.clone(),
        }
    }

    /// `backorder` of `order` (both as read) moved to `priority`; `None`
    /// when the order has no such backorder.
    pub fn new(
        order: &Order,
        backorder: &Backorder,
        priority: u8,
        actor: &Actor,
        reason: &str,
        at: Timestamp,
    ) -> Option<Self> {
        let after = Backorder {
            priority,
            ..backorder.clone()
        };
        let mut moved = BackorderMoved::new(BackorderMove::PriorityChanged, &after);
        moved.priority_before = Some(backorder.priority);
        moved.reason = Some(reason.to_owned());
        Some(Self {
            order: order.with_backorder_priority(backorder.id, priority)?,
            before: backorder.clone(),
            after,
            record_id: Ulid::generate(),
            by: actor.label(),
            reason: reason.to_owned(),
            at,
            event: OutboxEvent {
                id: Ulid::generate(),
                occurred_at: at,
                event: DomainEvent::BackorderMoved(moved),
            },
        })
    }
}
