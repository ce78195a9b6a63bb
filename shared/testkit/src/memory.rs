//! An in-memory store with the same atomicity as the DynamoDB adapter, for
//! handler tests. Everything happens under one lock, so a checkout either
//! reserves every line or nothing.

use async_trait::async_trait;
use shopflow_domain::Budget;
use shopflow_domain::LowStock;
use shopflow_domain::availability::WarehouseStock;
use shopflow_domain::events::{BackorderMove, BackorderMoved, DomainEvent};
use shopflow_domain::{
    Backorder, BackorderId, BackorderSettings, BackorderStatus, Carrier, CustomerId, Order,
    OrderId, OrderStatus, PaymentAttempt, Product, Refund, RefundStatus, Shipment, ShipmentId, Sku,
    Stock, StockLevel, Timestamp, TrackingNumber, WarehouseId,
};
use shopflow_ports::{
    AllocateError, AllocationBatch, AllocationRecord, BackorderCancellation, BackorderReader,
    BackorderScope, BackorderStanding, BackorderStore, ChangeError, ChangeRefusal, CheckoutReceipt,
    CheckoutSnapshot, CheckoutStore, Delivery, HistoryEntry, IdempotencyKey, InventoryStore,
    JobRun, JobRuns, OrderLifecycle, OrderPayments, OrderQuery, OrderReader, OrderSearch,
    OutboxEvent, Page, PaymentChange, PaymentRecords, PlaceOrderError, Queue, RefundWrite,
    SaveSettingsError, SettingsRow, StandingEntry, StandingRange, StatusChange, StatusCount,
    StoreError, WebhookInbox,
};
use shopflow_ports::{FulfilmentReceipt, PollEntry, StaffMove, StaffMoveError, StaffMoved};
use shopflow_ports::{PriorityChange, Reprioritization};
use std::collections::{BTreeMap, HashMap};
use std::sync::{Mutex, MutexGuard};

mod archive;
mod invoices;
mod ledger;
mod notifications;
mod shipments;
mod waitlist;

pub use archive::{MemoryBucket, MemorySecrets};

#[derive(Debug, Default)]
struct State {
    products: HashMap<Sku, Product>,
    stock: BTreeMap<(Sku, WarehouseId), StockLevel>,
    backorder_settings: HashMap<(Sku, WarehouseId), BackorderSettings>,
    /// Every backorder, in or out of its queue.
    backorders: BTreeMap<BackorderId, Backorder>,
    orders: BTreeMap<OrderId, Order>,
    history: BTreeMap<OrderId, Vec<HistoryEntry>>,
    applied_events: std::collections::HashSet<(String, String)>,
    /// Webhook deliveries seen: (provider, event id).
    deliveries: std::collections::HashSet<(String, String)>,
    /// When each order reached its current status, for the status index.
    status_at: HashMap<OrderId, Timestamp>,
    idempotency: HashMap<IdempotencyKey, CheckoutReceipt>,
    /// Each staff move's key: its request fingerprint and the levels it
    /// left.
    staff_moves: HashMap<IdempotencyKey, (String, Vec<(WarehouseId, StockLevel)>)>,
    /// Low-stock thresholds by SKU and warehouse.
    low_stock: HashMap<(Sku, WarehouseId), LowStock>,
    /// Waitlists by SKU and address key.
    waitlist: BTreeMap<(Sku, String), shopflow_domain::waitlist::WaitlistEntry>,
    /// Hits by rate bucket and window start.
    rate_windows: HashMap<(String, u64), u32>,
    outbox: Vec<OutboxEvent>,
    attempts: BTreeMap<OrderId, Vec<PaymentAttempt>>,
    refunds: BTreeMap<OrderId, Vec<Refund>>,
    /// Allocation records, oldest first.
    allocations: Vec<AllocationRecord>,
    /// Staff's priority changes, oldest first.
    priority_changes: Vec<(BackorderId, PriorityChange)>,
    /// When each fulfilled or cancelled backorder closed.
    closed_at: HashMap<BackorderId, Timestamp>,
    /// Scheduled jobs' runs, oldest first.
    runs: Vec<JobRun>,
    /// Shipments, with what their carriers reported.
    shipments: BTreeMap<ShipmentId, Shipment>,
    /// Tracking numbers claimed, by carrier.
    tracking: HashMap<(Carrier, TrackingNumber), ShipmentId>,
    /// Polled carriers' parcels in flight, each with when it is next due.
    polls: BTreeMap<(Carrier, TrackingNumber), PollEntry>,
    /// Each polled carrier's budget and its version.
    budgets: HashMap<Carrier, (Budget, u64)>,
    fulfilments: HashMap<IdempotencyKey, FulfilmentReceipt>,
    /// Small raw payloads kept, gzipped, by reference.
    raw_payloads: BTreeMap<String, Vec<u8>>,
    /// The stock ledger, as stock-ledger recorded it.
    movements: Vec<shopflow_domain::Movement>,
    /// Each invoice sequence's last number.
    sequences: HashMap<shopflow_domain::invoice::Sequence, u64>,
    invoices: BTreeMap<shopflow_domain::invoice::InvoiceId, shopflow_domain::invoice::Invoice>,
    /// What each invoice or credit note answers.
    claims: HashMap<shopflow_ports::Claim, shopflow_domain::invoice::InvoiceId>,
    payment_records: BTreeMap<ulid::Ulid, shopflow_domain::invoice::PaymentRecord>,
    /// What each of invoices-api's idempotency keys made.
    invoice_receipts: HashMap<IdempotencyKey, shopflow_ports::InvoiceReceipt>,
    preferences: HashMap<CustomerId, shopflow_domain::notification::NotificationPreferences>,
    /// Notifications by key and the order they are about.
    notifications: BTreeMap<
        (
            shopflow_domain::notification::NotificationKey,
            Option<OrderId>,
        ),
        shopflow_domain::notification::Notification,
    >,
    /// Addresses (lower case) and the customers who ordered with them.
    addresses: std::collections::HashSet<(String, CustomerId)>,
    /// Suppressed addresses (lower case).
    suppressions: HashMap<String, shopflow_domain::notification::Suppression>,
}

impl State {
    /// A backorder as it stands after a change at `at`: closed ones are
    /// filed by when they closed, as the standing index files them.
    fn file_backorder(&mut self, backorder: Backorder, at: Timestamp) {
        if !backorder.status.is_open() {
            self.closed_at.insert(backorder.id, at);
        }
        self.backorders.insert(backorder.id, backorder);
    }

    /// A change of the order's goods alone: its history entry and event.
    fn record_goods(&mut self, goods: &StatusChange) {
        self.history
            .entry(goods.order_id)
            .or_default()
            .push(HistoryEntry {
                at: goods.at,
                from: goods.from,
                to: goods.to,
                trigger: goods.trigger,
                actor: goods.actor.clone(),
                reason: goods.reason.clone(),
            });
        self.outbox.push(goods.event.clone());
    }

    /// A change answering a consumed event its consumer applied before is refused.
    fn refuse_if_applied(&self, applies: Option<&(String, String)>) -> Result<(), ChangeError> {
        match applies {
            Some(applied) if self.applied_events.contains(applied) => {
                Err(ChangeError::AlreadyApplied)
            }
            _ => Ok(()),
        }
    }
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

    /// A page of the orders `wanted` picks, oldest first, after the order id
    /// `after`. There is one partition here: shard 0 holds everything.
    fn oldest_first(
        &self,
        shard: u8,
        after: Option<String>,
        limit: u16,
        wanted: impl Fn(&Order) -> bool,
    ) -> Page<Order, String> {
        if shard != 0 {
            return Page {
                items: Vec::new(),
                next: None,
            };
        }
        let state = self.state();
        let cursor = after.and_then(|raw| raw.parse::<OrderId>().ok());
        let matching = state
            .orders
            .values()
            .filter(|order| wanted(order))
            .filter(|order| cursor.is_none_or(|after| order.id > after));
        with_id_cursor(page_of(matching, limit))
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

    /// The low-stock threshold staff set for a SKU in a warehouse.
    pub fn low_stock(&self, sku: &Sku, warehouse: &WarehouseId) -> Option<LowStock> {
        self.state()
            .low_stock
            .get(&(sku.clone(), warehouse.clone()))
            .copied()
    }

    /// Every backorder of a SKU in a warehouse, in allocation order.
    pub fn queue(&self, sku: &Sku, warehouse: &WarehouseId) -> Vec<Backorder> {
        let mut queue: Vec<Backorder> = self
            .state()
            .backorders
            .values()
            .filter(|b| &b.sku == sku && &b.warehouse == warehouse)
            .cloned()
            .collect();
        queue.sort_by_key(Backorder::queue_position);
        queue
    }
}

impl MemoryStore {
    /// The allocation records written, oldest first: backorder, units, by,
    /// reason.
    pub fn allocation_records(&self) -> Vec<(BackorderId, u32, String, String)> {
        self.state()
            .allocations
            .iter()
            .map(|record| {
                (
                    record.backorder,
                    record.units,
                    record.by.clone(),
                    record.reason.clone(),
                )
            })
            .collect()
    }
}

#[async_trait]
impl BackorderReader for MemoryStore {
    async fn backorder(&self, id: BackorderId) -> Result<Option<Backorder>, StoreError> {
        Ok(self.state().backorders.get(&id).cloned())
    }

    async fn allocations(&self, id: BackorderId) -> Result<Vec<AllocationRecord>, StoreError> {
        Ok(self
            .state()
            .allocations
            .iter()
            .filter(|record| record.backorder == id)
            .cloned()
            .collect())
    }

    async fn backorders_standing(
        &self,
        range: &StandingRange,
    ) -> Result<Page<StandingEntry, StandingEntry>, StoreError> {
        let state = self.state();
        let shard_of = |backorder: &Backorder| {
            backorder.id.as_ulid().random() % u128::from(shopflow_ports::STATUS_SHARDS)
                == u128::from(range.shard)
        };
        let mut entries: Vec<StandingEntry> = state
            .backorders
            .values()
            .filter(|backorder| shard_of(backorder))
            .filter_map(|backorder| {
                let since = match (range.standing, backorder.status) {
                    (BackorderStanding::Open, status) if status.is_open() => backorder.created_at,
                    (BackorderStanding::Fulfilled, BackorderStatus::Fulfilled)
                    | (BackorderStanding::Cancelled, BackorderStatus::Cancelled) => {
                        *state.closed_at.get(&backorder.id)?
                    }
                    _ => return None,
                };
                Some(StandingEntry {
                    backorder: backorder.clone(),
                    since,
                })
            })
            .filter(|entry| range.since.is_none_or(|since| entry.since >= since))
            .filter(|entry| range.before.is_none_or(|before| entry.since < before))
            .collect();
        entries.sort_by_key(|entry| (entry.since, entry.backorder.id));
        if let Some(last) = &range.after {
            entries.retain(|entry| {
                (entry.since, entry.backorder.id) > (last.since, last.backorder.id)
            });
        }
        let more = entries.len() > usize::from(range.limit);
        entries.truncate(usize::from(range.limit));
        Ok(Page {
            next: more.then(|| entries.last().cloned()).flatten(),
            items: entries,
        })
    }

    async fn priority_changes(&self, id: BackorderId) -> Result<Vec<PriorityChange>, StoreError> {
        Ok(self
            .state()
            .priority_changes
            .iter()
            .filter(|(backorder, _)| *backorder == id)
            .map(|(_, change)| change.clone())
            .collect())
    }

    async fn backorders_in(&self, scope: &BackorderScope) -> Result<Vec<Backorder>, StoreError> {
        Ok(self
            .state()
            .backorders
            .values()
            .filter(|backorder| match scope {
                BackorderScope::Queue(sku, warehouse) => {
                    &backorder.sku == sku && &backorder.warehouse == warehouse
                }
                BackorderScope::Customer(customer) => &backorder.customer_id == customer,
                BackorderScope::Order(customer, order) => {
                    &backorder.customer_id == customer && backorder.order_id == *order
                }
            })
            .cloned()
            .collect())
    }
}

#[async_trait]
impl BackorderStore for MemoryStore {
    async fn queue(&self, sku: &Sku, warehouse: &WarehouseId) -> Result<Queue, StoreError> {
        let level = self.stock(sku, warehouse);
        let waiting = self
            .queue(sku, warehouse)
            .into_iter()
            .filter(|backorder| backorder.status.is_open())
            .collect();
        Ok(Queue {
            sku: sku.clone(),
            warehouse: warehouse.clone(),
            level,
            waiting,
        })
    }

    async fn orders_by_id(&self, ids: &[OrderId]) -> Result<Vec<Order>, StoreError> {
        let state = self.state();
        Ok(ids
            .iter()
            .filter_map(|id| state.orders.get(id).cloned())
            .collect())
    }

    async fn allocate(&self, batch: &AllocationBatch) -> Result<(), AllocateError> {
        let mut state = self.state();
        // As DynamoDB's conditions: each backorder and order as read, the
        // units still set aside.
        let at = (batch.sku.clone(), batch.warehouse.clone());
        let level = state.stock.get(&at).copied().unwrap_or_default();
        let next = level
            .allocate(batch.units())
            .map_err(|_| AllocateError::Moved)?;
        for allocation in &batch.allocations {
            let backorder = &allocation.backorder;
            let current = state.backorders.get(&backorder.id);
            let order = state.orders.get(&allocation.order.id);
            if current != Some(backorder)
                || order.is_none_or(|order| order.version != allocation.order.version)
            {
                return Err(AllocateError::Moved);
            }
        }
        state.stock.insert(at, next);
        for allocation in &batch.allocations {
            let mut order = allocation.order.clone();
            order.version += 1;
            if let Some(goods) = &allocation.goods {
                order.fulfillment_status = goods.to.fulfillment_status;
                state.record_goods(goods);
            }
            state.orders.insert(order.id, order);
            state.file_backorder(allocation.after(), allocation.at);
            state.allocations.push(AllocationRecord {
                backorder: allocation.backorder.id,
                units: allocation.units,
                at: allocation.at,
                by: allocation.by.clone(),
                reason: allocation.reason.clone(),
            });
            state.outbox.push(allocation.event.clone());
        }
        Ok(())
    }

    async fn reprioritize(&self, change: &Reprioritization) -> Result<(), AllocateError> {
        let mut state = self.state();
        // As DynamoDB's conditions: the backorder and its order as read.
        let same_backorder = state.backorders.get(&change.before.id) == Some(&change.before);
        let same_order = state
            .orders
            .get(&change.order.id)
            .is_some_and(|order| order.version == change.order.version);
        if !same_backorder || !same_order {
            return Err(AllocateError::Moved);
        }
        state
            .backorders
            .insert(change.after.id, change.after.clone());
        state
            .priority_changes
            .push((change.before.id, change.change()));
        let mut order = change.order.clone();
        order.version += 1;
        state.orders.insert(order.id, order);
        state.outbox.push(change.event.clone());
        Ok(())
    }

    async fn cancel_backorder(
        &self,
        cancellation: &BackorderCancellation,
    ) -> Result<(), AllocateError> {
        let mut state = self.state();
        let handback = &cancellation.handback;
        let leaving = handback.leaving.as_ref().ok_or_else(|| {
            AllocateError::Store(StoreError::Defect {
                what: "backorder cancellation".into(),
                source: "no backorder leaves".into(),
            })
        })?;
        // As DynamoDB's conditions: the backorder still open, the order at
        // the version read, the refund's id unused.
        let order = &cancellation.order;
        let open = state
            .backorders
            .get(&leaving.backorder.id)
            .is_some_and(|backorder| backorder.status.is_open());
        let same_order = state
            .orders
            .get(&order.id)
            .is_some_and(|current| current.version == order.version);
        let refund_known = cancellation.refund.as_ref().is_some_and(|refund| {
            state
                .refunds
                .get(&order.id)
                .is_some_and(|known| known.iter().any(|k| k.id == refund.id))
        });
        if !open || !same_order || refund_known {
            return Err(AllocateError::Moved);
        }
        let at = (handback.sku.clone(), handback.warehouse.clone());
        let level = state.stock.get(&at).copied().unwrap_or_default();
        // As the DynamoDB store: counters that no longer hold its waiting
        // units mean it moved.
        let next = handback
            .applied_to(level)
            .map_err(|_| AllocateError::Moved)?;
        state.stock.insert(at, next);
        state.file_backorder(leaving.backorder.clone(), leaving.event.occurred_at);
        state.outbox.push(leaving.event.clone());
        let mut written = order.clone();
        written.version += 1;
        state.orders.insert(order.id, written);
        if let Some(goods) = &cancellation.goods {
            state.record_goods(goods);
        }
        if let Some(refund) = &cancellation.refund {
            state
                .refunds
                .entry(order.id)
                .or_default()
                .push(refund.clone());
        }
        Ok(())
    }
}

/// Up to `limit` orders in iteration order, and the last one's id as the
/// cursor when more follow.
fn page_of<'a>(mut matching: impl Iterator<Item = &'a Order>, limit: u16) -> Page<Order, OrderId> {
    let items: Vec<Order> = matching
        .by_ref()
        .take(usize::from(limit))
        .cloned()
        .collect();
    let next = match matching.next() {
        Some(_) => items.last().map(|order| order.id),
        None => None,
    };
    Page { items, next }
}

/// The same page with the cursor as text, as the string-cursored ports take it.
fn with_id_cursor(page: Page<Order, OrderId>) -> Page<Order, String> {
    Page {
        items: page.items,
        next: page.next.map(|id| id.to_string()),
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
                    snapshot.stock.levels.insert(at.clone(), *level);
                }
                if let Some(settings) = state.backorder_settings.get(&at) {
                    snapshot.stock.backorder_settings.insert(at, *settings);
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
        receipt: &CheckoutReceipt,
        decided_on: &Stock,
    ) -> Result<(), PlaceOrderError> {
        let mut state = self.state();
        if state.idempotency.contains_key(key) {
            return Err(PlaceOrderError::IdempotencyKeyTaken);
        }
        let mut reserved = Vec::with_capacity(order.lines.len());
        for line in &order.lines {
            let at = (line.sku.clone(), line.warehouse.clone());
            let level = state.stock.get(&at).copied().unwrap_or_default();
            let next = if line.backordered() > 0 {
                // As DynamoDB's condition: every unit there taken, on the
                // settings checkout saw, within their limit.
                let settings = state.backorder_settings.get(&at).copied();
                let decided = decided_on.settings(&line.sku, &line.warehouse);
                (settings == Some(decided)
                    && decided.allow_backorder
                    && level.available() == line.reserved())
                .then_some(level)
                .and_then(|level| level.reserve(line.reserved()).ok())
                .and_then(|level| {
                    level
                        .backorder(line.backordered(), decided.max_backorder_quantity)
                        .ok()
                })
            } else {
                level.reserve(line.quantity.get()).ok()
            };
            reserved.push((at, next.ok_or(PlaceOrderError::StockChanged)?));
        }
        state.stock.extend(reserved);
        state.orders.insert(order.id, order.clone());
        state.outbox.push(event.clone());
        for backorder in order.backorders() {
            state.outbox.push(OutboxEvent {
                id: ulid::Ulid::generate(),
                occurred_at: order.created_at,
                event: DomainEvent::BackorderMoved(BackorderMoved::new(
                    BackorderMove::Created,
                    &backorder,
                )),
            });
            state.backorders.insert(backorder.id, backorder);
        }
        state.idempotency.insert(key.clone(), receipt.clone());
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
        let matching = state
            .orders
            .values()
            .rev()
            .filter(|order| &order.customer_id == customer)
            .filter(|order| after.is_none_or(|cursor| order.id < cursor));
        Ok(page_of(matching, limit))
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

    async fn staff_move(&self, staff_move: &StaffMove) -> Result<StaffMoved, StaffMoveError> {
        let mut state = self.state();
        if let Some((fingerprint, levels)) = state.staff_moves.get(&staff_move.key) {
            return if *fingerprint == staff_move.fingerprint {
                Ok(StaffMoved::Before(levels.clone()))
            } else {
                Err(StaffMoveError::KeyReused)
            };
        }
        if !state.products.contains_key(&staff_move.sku) {
            return Err(StaffMoveError::UnknownProduct(staff_move.sku.clone()));
        }
        let moved = staff_move.change.apply(|warehouse| {
            state
                .stock
                .get(&(staff_move.sku.clone(), warehouse.clone()))
                .copied()
                .unwrap_or_default()
        })?;
        let levels: Vec<_> = moved
            .iter()
            .map(|moved| (moved.warehouse.clone(), moved.after))
            .collect();
        for (warehouse, level) in &levels {
            state
                .stock
                .insert((staff_move.sku.clone(), warehouse.clone()), *level);
        }
        state.staff_moves.insert(
            staff_move.key.clone(),
            (staff_move.fingerprint.clone(), levels.clone()),
        );
        state.outbox.push(staff_move.event(&moved));
        Ok(StaffMoved::Now(levels))
    }

    async fn storefront_stock(
        &self,
        sku: &Sku,
        warehouses: &[WarehouseId],
    ) -> Result<Option<(Product, Vec<WarehouseStock>)>, StoreError> {
        let state = self.state();
        Ok(state.products.get(sku).map(|product| {
            let stocks = warehouses
                .iter()
                .map(|warehouse| {
                    let at = (sku.clone(), warehouse.clone());
                    WarehouseStock {
                        warehouse: warehouse.clone(),
                        level: state.stock.get(&at).copied().unwrap_or_default(),
                        settings: state
                            .backorder_settings
                            .get(&at)
                            .copied()
                            .unwrap_or_default(),
                    }
                })
                .collect();
            (product.clone(), stocks)
        }))
    }

    async fn set_low_stock(
        &self,
        sku: &Sku,
        warehouse: &WarehouseId,
        threshold: Option<LowStock>,
        _at: Timestamp,
    ) -> Result<Option<StockLevel>, StoreError> {
        let mut state = self.state();
        if !state.products.contains_key(sku) {
            return Ok(None);
        }
        let at = (sku.clone(), warehouse.clone());
        match threshold {
            Some(threshold) => state.low_stock.insert(at.clone(), threshold),
            None => state.low_stock.remove(&at),
        };
        Ok(Some(*state.stock.entry(at).or_default()))
    }

    async fn backorder_settings(
        &self,
        sku: &Sku,
        warehouse: &WarehouseId,
    ) -> Result<Option<BackorderSettings>, StoreError> {
        let state = self.state();
        Ok(state.products.contains_key(sku).then(|| {
            state
                .backorder_settings
                .get(&(sku.clone(), warehouse.clone()))
                .copied()
                .unwrap_or_default()
        }))
    }

    async fn save_backorder_settings(&self, rows: &[SettingsRow]) -> Result<(), SaveSettingsError> {
        let mut state = self.state();
        let unknown: Vec<usize> = rows
            .iter()
            .enumerate()
            .filter(|(_, row)| !state.products.contains_key(&row.sku))
            .map(|(index, _)| index)
            .collect();
        if !unknown.is_empty() {
            return Err(SaveSettingsError::UnknownProducts(unknown));
        }
        for row in rows {
            let at = (row.sku.clone(), row.warehouse.clone());
            state.stock.entry(at.clone()).or_default();
            state.backorder_settings.insert(at, row.settings);
        }
        Ok(())
    }

    async fn announce(&self, event: &OutboxEvent) -> Result<(), StoreError> {
        self.state().outbox.push(event.clone());
        Ok(())
    }
}

#[async_trait]
impl OrderLifecycle for MemoryStore {
    async fn change_status(&self, change: &StatusChange) -> Result<(), ChangeError> {
        let mut state = self.state();
        // Every condition is evaluated, as DynamoDB does, and the failures
        // are read as the DynamoDB adapter reads them.
        let mut refusal = ChangeRefusal {
            applied_before: change
                .applies
                .as_ref()
                .is_some_and(|applied| state.applied_events.contains(applied)),
            order_changed: state
                .orders
                .get(&change.order_id)
                .is_none_or(|current| current.version != change.expected_version),
            ..ChangeRefusal::default()
        };
        // Work on a copy so a failed line leaves stock as it was.
        let mut stock = state.stock.clone();
        let mut release_failed = None;
        for handback in &change.release {
            let at = (handback.sku.clone(), handback.warehouse.clone());
            let level = stock.get(&at).copied().unwrap_or_default();
            match handback.applied_to(level) {
                Ok(next) => {
                    stock.insert(at, next);
                }
                Err(error) => release_failed = Some(error.to_string()),
            }
        }
        for (sku, warehouse, units) in &change.reserve {
            let at = (sku.clone(), warehouse.clone());
            let level = stock.get(&at).copied().unwrap_or_default();
            match level.reserve(*units) {
                Ok(next) => {
                    stock.insert(at, next);
                }
                Err(_) => refusal.stock_short = true,
            }
        }
        if let Some(reason) = refusal.reason() {
            return Err(reason);
        }
        if let Some(error) = release_failed {
            // Releasing more than is reserved: DynamoDB's condition refuses
            // it, and nothing retried will make it pass.
            return Err(ChangeError::Store(StoreError::Defect {
                what: "status change".into(),
                source: error.into(),
            }));
        }
        state.stock = stock;
        if let Some(order) = state.orders.get_mut(&change.order_id) {
            order.status = change.to.status;
            order.fulfillment_status = change.to.fulfillment_status;
            order.version += 1;
            if let Some(payment) = &change.payment {
                order.payment = payment.clone();
            }
        }
        state.status_at.insert(change.order_id, change.at);
        state
            .history
            .entry(change.order_id)
            .or_default()
            .push(HistoryEntry {
                at: change.at,
                from: change.from,
                to: change.to,
                trigger: change.trigger,
                actor: change.actor.clone(),
                reason: change.reason.clone(),
            });
        state.outbox.push(change.event.clone());
        for leaving in change.release.iter().filter_map(|h| h.leaving.as_ref()) {
            state.file_backorder(leaving.backorder.clone(), leaving.event.occurred_at);
            state.outbox.push(leaving.event.clone());
        }
        if let Some(applied) = &change.applies {
            state.applied_events.insert(applied.clone());
        }
        Ok(())
    }

    async fn record_event(
        &self,
        event: &OutboxEvent,
        applies: Option<(String, String)>,
    ) -> Result<(), ChangeError> {
        let mut state = self.state();
        if let Some(applied) = applies
            && !state.applied_events.insert(applied)
        {
            return Err(ChangeError::AlreadyApplied);
        }
        state.outbox.push(event.clone());
        Ok(())
    }

    async fn has_applied(&self, consumer: &str, event_id: &str) -> Result<bool, StoreError> {
        Ok(self
            .state()
            .applied_events
            .contains(&(consumer.to_owned(), event_id.to_owned())))
    }

    async fn history(&self, id: OrderId) -> Result<Vec<HistoryEntry>, StoreError> {
        Ok(self.state().history.get(&id).cloned().unwrap_or_default())
    }

    async fn abandoned_drafts(
        &self,
        before: Timestamp,
        shard: u8,
        after: Option<String>,
        limit: u16,
    ) -> Result<Page<Order, String>, StoreError> {
        Ok(self.oldest_first(shard, after, limit, |order| {
            order.status == OrderStatus::Draft && order.created_at < before
        }))
    }

    async fn lapsed_reservations(
        &self,
        now: Timestamp,
        shard: u8,
        after: Option<String>,
        limit: u16,
    ) -> Result<Page<Order, String>, StoreError> {
        Ok(self.oldest_first(shard, after, limit, |order| {
            order.state().holds_unpaid_reservation() && order.reservation_expires_at < now
        }))
    }
}

#[async_trait]
impl OrderSearch for MemoryStore {
    async fn search_orders(
        &self,
        query: &OrderQuery,
        after: Option<String>,
        limit: u16,
    ) -> Result<Page<Order, String>, StoreError> {
        if query.status.is_none() && query.customer.is_none() {
            return Ok(Page {
                items: Vec::new(),
                next: None,
            });
        }
        let state = self.state();
        let cursor = after.and_then(|raw| raw.parse::<OrderId>().ok());
        let matching = state
            .orders
            .values()
            .rev()
            .filter(|order| query.status.is_none_or(|status| order.status == status))
            .filter(|order| {
                query
                    .customer
                    .as_ref()
                    .is_none_or(|customer| &order.customer_id == customer)
            })
            .filter(|order| query.from.is_none_or(|from| order.created_at >= from))
            .filter(|order| query.to.is_none_or(|to| order.created_at <= to))
            .filter(|order| cursor.is_none_or(|after| order.id < after));
        Ok(with_id_cursor(page_of(matching, limit)))
    }

    async fn count_orders(
        &self,
        status: OrderStatus,
        since: Option<Timestamp>,
    ) -> Result<StatusCount, StoreError> {
        let state = self.state();
        let filed_at = |order: &Order| {
            let reached = state
                .status_at
                .get(&order.id)
                .copied()
                .unwrap_or(order.created_at);
            if order.state().holds_unpaid_reservation() {
                order.reservation_expires_at
            } else {
                reached
            }
        };
        let mut count = StatusCount::default();
        state
            .orders
            .values()
            .filter(|order| order.status == status)
            .filter(|order| since.is_none_or(|since| filed_at(order) >= since))
            .for_each(|order| count.add(order.state()));
        Ok(count)
    }
}

#[async_trait]
impl WebhookInbox for MemoryStore {
    async fn record_delivery(
        &self,
        provider: &str,
        event_id: &str,
        event: Option<&OutboxEvent>,
        _at: Timestamp,
    ) -> Result<Delivery, StoreError> {
        let mut state = self.state();
        if !state
            .deliveries
            .insert((provider.to_owned(), event_id.to_owned()))
        {
            return Ok(Delivery::Duplicate);
        }
        if let Some(event) = event {
            state.outbox.push(event.clone());
        }
        Ok(Delivery::Recorded)
    }
}

#[async_trait]
impl PaymentRecords for MemoryStore {
    async fn order_payments(&self, id: OrderId) -> Result<Option<OrderPayments>, StoreError> {
        let state = self.state();
        Ok(state.orders.get(&id).map(|order| OrderPayments {
            order: order.clone(),
            attempts: state.attempts.get(&id).cloned().unwrap_or_default(),
            refunds: state.refunds.get(&id).cloned().unwrap_or_default(),
        }))
    }

    async fn record_attempt(
        &self,
        order_id: OrderId,
        attempt: &PaymentAttempt,
    ) -> Result<(), StoreError> {
        let mut state = self.state();
        let attempts = state.attempts.entry(order_id).or_default();
        if !attempts.contains(attempt) {
            attempts.push(attempt.clone());
        }
        Ok(())
    }

    async fn change_payment(&self, change: &PaymentChange) -> Result<(), ChangeError> {
        let mut state = self.state();
        state.refuse_if_applied(change.applies.as_ref())?;
        let current = state
            .orders
            .get(&change.order_id)
            .ok_or(ChangeError::Stale)?;
        if current.version != change.expected_version {
            return Err(ChangeError::Stale);
        }
        let refunds = state.refunds.entry(change.order_id).or_default();
        match &change.refund {
            Some(RefundWrite::New(refund)) => {
                if refunds.iter().any(|known| known.id == refund.id) {
                    return Err(ChangeError::AlreadyApplied);
                }
                refunds.push(refund.clone());
            }
            Some(RefundWrite::Settled(refund)) => {
                let known = refunds
                    .iter_mut()
                    .find(|known| known.id == refund.id && known.status == RefundStatus::Pending)
                    .ok_or(ChangeError::AlreadyApplied)?;
                *known = refund.clone();
            }
            None => {}
        }
        if let Some(order) = state.orders.get_mut(&change.order_id) {
            order.payment = change.payment.clone();
            order.version += 1;
        }
        if let Some(event) = &change.event {
            state.outbox.push(event.clone());
        }
        if let Some(applied) = &change.applies {
            state.applied_events.insert(applied.clone());
        }
        Ok(())
    }
}

#[async_trait]
impl JobRuns for MemoryStore {
    async fn record_run(&self, run: &JobRun) -> Result<(), StoreError> {
        self.state().runs.push(run.clone());
        Ok(())
    }

    async fn runs(&self, job: &str, limit: u16) -> Result<Vec<JobRun>, StoreError> {
        let query = shopflow_ports::RunQuery {
            job: Some(job.to_owned()),
            from: None,
            after: None,
            limit,
        };
        Ok(self.list_runs(&query).await?.items)
    }

    async fn list_runs(
        &self,
        query: &shopflow_ports::RunQuery,
    ) -> Result<Page<JobRun, ulid::Ulid>, StoreError> {
        let runs = self
            .state()
            .runs
            .iter()
            .filter(|run| query.job.as_ref().is_none_or(|job| &run.job == job))
            .filter(|run| {
                query
                    .from
                    .is_none_or(|from| run.id.timestamp_ms() >= from.as_millis())
            })
            .filter(|run| query.after.is_none_or(|after| run.id < after))
            .cloned()
            .collect();
        Ok(query.page_of(runs))
    }

    async fn run(&self, id: ulid::Ulid) -> Result<Option<JobRun>, StoreError> {
        Ok(self.state().runs.iter().find(|run| run.id == id).cloned())
    }
}
