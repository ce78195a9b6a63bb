//! The storage and messaging ports handlers depend on. Each is implemented
//! by an adapter (shopflow-dynamo, -eventbridge, -sqs) and, for handler
//! tests, by the test kit's in-memory fake.

use async_trait::async_trait;
use shopflow_domain::availability::WarehouseStock;
use shopflow_domain::events::{
    BackorderMove, BackorderMoved, DomainEvent, OrderStatusChanged, ReservedLine,
};
use shopflow_domain::{
    Actor, Backorder, BackorderSettings, CustomerId, FulfillmentStatus, LowStock, MoveError, Moved,
    MovementNote, Order, OrderId, OrderState, OrderStatus, OrderTrigger, Payment, PaymentStatus,
    Product, Sku, StockError, StockLevel, StockMove, Timestamp, WarehouseId,
};
use std::collections::{BTreeMap, HashMap};
use ulid::Ulid;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The backing service is throttling, timing out, unreachable or failing
    /// (5xx): the same call may well succeed shortly.
    #[error("storage unavailable: {0}")]
    Unavailable(String),
    /// The call was refused for a reason retrying cannot fix (a validation
    /// error, access denied, a missing table, a request the code built
    /// wrong): a defect, to be logged with its cause and fixed.
    #[error("storage call refused ({what}): a defect, not retried")]
    Defect {
        what: String,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// Stored data could not be read back into domain types: a bug or a bad migration.
    #[error("corrupt {entity} item: {reason}")]
    Corrupt {
        entity: &'static str,
        reason: String,
    },
}

/// A client-chosen key that makes a request safe to retry, scoped to the
/// operation and the caller so two customers can never collide.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct IdempotencyKey {
    pub scope: String,
    pub key: String,
}

/// What a checkout's idempotency key remembers: the request it answered and
/// the order it placed. A retry is answered from the order itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckoutReceipt {
    /// Fingerprint of the request; a retry with another body under the same
    /// key is refused.
    pub request_fingerprint: String,
    pub order_id: OrderId,
}

/// An event to publish, recorded in the outbox in the same transaction as the
/// state change it announces.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxEvent {
    pub id: Ulid,
    pub occurred_at: Timestamp,
    pub event: DomainEvent,
}

/// What checkout reads in one round trip before it decides anything.
#[derive(Debug, Clone, Default)]
pub struct CheckoutSnapshot {
    pub replay: Option<CheckoutReceipt>,
    pub catalog: HashMap<Sku, Product>,
    pub stock: shopflow_domain::Stock,
}

/// Why placing an order wrote nothing.
#[derive(Debug, thiserror::Error)]
pub enum PlaceOrderError {
    /// A warehouse no longer had the units the snapshot showed.
    #[error("stock changed since it was read")]
    StockChanged,
    /// Another request with the same idempotency key got there first.
    #[error("the idempotency key is already in use")]
    IdempotencyKeyTaken,
    /// Concurrent transactions touched the same items; retry after a pause.
    #[error("conflicting concurrent write")]
    Conflict,
    #[error(transparent)]
    Store(#[from] StoreError),
}

#[async_trait]
pub trait CheckoutStore: OrderReader {
    /// The idempotency record, catalog entries and stock levels a checkout needs.
    async fn checkout_snapshot(
        &self,
        key: &IdempotencyKey,
        skus: &[Sku],
        warehouses: &[WarehouseId],
    ) -> Result<CheckoutSnapshot, StoreError>;

    /// Atomically: reserves every line's units, backorders what a short
    /// line lacks (its queue item carrying `backorder.created`), writes the
    /// order and the key's receipt, which also carries the `order.created`
    /// event for the outbox relay. All of it or none of it. A backordered
    /// line is written only if its stock and settings are still those of
    /// `decided_on`, the snapshot checkout decided with.
    async fn place_order(
        &self,
        order: &Order,
        event: &OutboxEvent,
        key: &IdempotencyKey,
        receipt: &CheckoutReceipt,
        decided_on: &shopflow_domain::Stock,
    ) -> Result<(), PlaceOrderError>;
}

/// One page of a listing and the position to continue from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page<T, C> {
    pub items: Vec<T>,
    pub next: Option<C>,
}

impl<T, C> Page<T, C> {
    /// The first `limit` of `items` (in listing order), with the cursor of
    /// the last as `next` when more remain.
    pub fn first(mut items: Vec<T>, limit: usize, cursor: impl Fn(&T) -> C) -> Self {
        let more = items.len() > limit;
        items.truncate(limit);
        let next = if more { items.last().map(cursor) } else { None };
        Self { items, next }
    }
}

#[async_trait]
pub trait OrderReader: Send + Sync {
    async fn order(&self, id: OrderId) -> Result<Option<Order>, StoreError>;

    /// The customer's orders, newest first, starting after `after`.
    async fn customer_orders(
        &self,
        customer: &CustomerId,
        after: Option<OrderId>,
        limit: u16,
    ) -> Result<Page<Order, OrderId>, StoreError>;
}

/// Why a staff move was not made; nothing changed.
#[derive(Debug, thiserror::Error)]
pub enum StaffMoveError {
    #[error("unknown sku {0}")]
    UnknownProduct(Sku),
    /// The stock cannot make the move (too few units nobody holds, past
    /// the maximum, a reason that does not fit the change).
    #[error(transparent)]
    Refused(#[from] MoveError),
    /// The key answered another request (another body, SKU or warehouse).
    #[error("the idempotency key was used for another request")]
    KeyReused,
    /// The stock kept changing between read and write; retry shortly.
    #[error("the stock kept changing")]
    Conflict,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A change staff make to a SKU's stock by hand (a restock, an
/// adjustment, a transfer), under their idempotency key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaffMove {
    pub sku: Sku,
    pub change: StockMove,
    /// Staff's words on an adjustment, kept on its event.
    pub note: Option<String>,
    /// Who made it.
    pub by: CustomerId,
    pub key: IdempotencyKey,
    /// Digest of the request (its path and body): a retry with another
    /// request under the same key is refused.
    pub fingerprint: String,
    /// The id and time of the event it makes; the id is the movements'
    /// reference in the ledger.
    pub event_id: Ulid,
    pub at: Timestamp,
}

impl StaffMove {
    /// The event this move makes, from what it did to each warehouse
    /// (`moved` in the order of `change.warehouses()`).
    pub fn event(&self, moved: &[Moved]) -> OutboxEvent {
        use shopflow_domain::events::{
            InventoryAdjusted, InventoryRestocked, InventoryTransferred,
        };
        let set_aside = moved.iter().map(Moved::set_aside).sum();
        let left = moved.last().map(|moved| moved.after).unwrap_or_default();
        let event = match &self.change {
            StockMove::Restock {
                warehouse,
                received,
            } => DomainEvent::InventoryRestocked(InventoryRestocked {
                sku: self.sku.clone(),
                warehouse: warehouse.clone(),
                received: *received,
                set_aside,
            }),
            StockMove::Adjust {
                warehouse,
                delta,
                reason,
            } => DomainEvent::InventoryAdjusted(InventoryAdjusted {
                sku: self.sku.clone(),
                warehouse: warehouse.clone(),
                delta: *delta,
                reason: *reason,
                note: self.note.clone(),
                set_aside,
                on_hand: left.on_hand,
                available: left.available(),
                adjusted_by: self.by.clone(),
            }),
            StockMove::Transfer { from, to, quantity } => {
                DomainEvent::InventoryTransferred(InventoryTransferred {
                    sku: self.sku.clone(),
                    from: from.clone(),
                    to: to.clone(),
                    quantity: *quantity,
                    set_aside,
                    transferred_by: self.by.clone(),
                })
            }
        };
        OutboxEvent {
            id: self.event_id,
            occurred_at: self.at,
            event,
        }
    }

    /// The ledger's note for what this move did to one warehouse.
    pub fn note_for(&self, moved: &Moved) -> MovementNote {
        MovementNote::new(moved.cause, self.event_id, self.at)
    }
}

/// What a staff move did: each warehouse it touched, with the level it
/// left, in the order of `change.warehouses()`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StaffMoved {
    /// Made now.
    Now(Vec<(WarehouseId, StockLevel)>),
    /// Made before under the same key; the levels it left then.
    Before(Vec<(WarehouseId, StockLevel)>),
}

#[async_trait]
pub trait InventoryStore: Send + Sync {
    async fn upsert_product(&self, product: &Product) -> Result<(), StoreError>;

    async fn product(&self, sku: &Sku) -> Result<Option<Product>, StoreError>;

    /// Stock of the SKU in every warehouse that has ever held it.
    async fn stock_levels(&self, sku: &Sku) -> Result<Vec<(WarehouseId, StockLevel)>, StoreError>;

    /// Makes a staff move on the levels it reads, every warehouse it
    /// touches or none, with the key's receipt (which carries the move's
    /// event for the relay) in the same transaction, once per key: a retry
    /// is answered from the receipt. Units that become available go to the
    /// warehouse's backorder queue first. The levels returned are the ones
    /// this move left, known from the versions it was written on.
    async fn staff_move(&self, staff_move: &StaffMove) -> Result<StaffMoved, StaffMoveError>;

    /// A product and its stock in each of `warehouses` (in that order; an
    /// empty level with the default settings where it never was), as a
    /// storefront reads them: in one round trip, possibly a moment old.
    /// `None` when the catalog has no such product.
    async fn storefront_stock(
        &self,
        sku: &Sku,
        warehouses: &[WarehouseId],
    ) -> Result<Option<(Product, Vec<WarehouseStock>)>, StoreError>;

    /// The backorder settings of a SKU in a warehouse (the defaults until
    /// staff save some), or `None` when the catalog has no such product.
    async fn backorder_settings(
        &self,
        sku: &Sku,
        warehouse: &WarehouseId,
    ) -> Result<Option<BackorderSettings>, StoreError>;

    /// Saves every row or none: at most 100 rows, each SKU × warehouse once.
    /// A warehouse that never held the SKU gets an empty stock item.
    async fn save_backorder_settings(&self, rows: &[SettingsRow]) -> Result<(), SaveSettingsError>;

    /// Sets (or, with `None`, clears) the low-stock threshold of a SKU in a
    /// warehouse, creating an empty stock item where it never was; the
    /// level as it stands, or `None` when the catalog has no such product.
    /// Whether the stock is low now is the ledger's to say, from the change.
    async fn set_low_stock(
        &self,
        sku: &Sku,
        warehouse: &WarehouseId,
        threshold: Option<LowStock>,
        at: Timestamp,
    ) -> Result<Option<StockLevel>, StoreError>;

    /// Records an event about stock that changes nothing else (staff asking
    /// for an allocation), for the relay to publish.
    async fn announce(&self, event: &OutboxEvent) -> Result<(), StoreError>;
}

/// Backorder settings for one SKU in one warehouse, as staff save them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettingsRow {
    pub sku: Sku,
    pub warehouse: WarehouseId,
    pub settings: BackorderSettings,
}

/// Why backorder settings were not saved; none of them were.
#[derive(Debug, thiserror::Error)]
pub enum SaveSettingsError {
    /// Rows naming SKUs the catalog does not have, by their index.
    #[error("unknown products in rows {0:?}")]
    UnknownProducts(Vec<usize>),
    /// Another transaction held one of the stock items; retry shortly.
    #[error("the stock is changing")]
    Conflict,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Publishes events to the bus. Used only by the outbox relay: everything
/// else records events in the outbox.
#[async_trait]
pub trait EventBus: Send + Sync {
    /// Publishes a batch of at most 10 entries; returns the indexes of the
    /// entries the bus did not accept.
    async fn publish(&self, entries: &[BusEntry]) -> Result<Vec<usize>, StoreError>;
}

/// An event as it leaves the outbox for the bus.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BusEntry {
    pub source: String,
    pub detail_type: String,
    pub detail: String,
}

/// A change of an order's state (lifecycle, money or goods) ready to be
/// written: checked against the order's version as read, recorded in
/// history, announced in the outbox, and (for cancellations and expiries)
/// handing reserved stock back, atomically.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusChange {
    pub order_id: OrderId,
    pub expected_version: u64,
    pub from: OrderState,
    pub to: OrderState,
    pub trigger: OrderTrigger,
    pub actor: String,
    pub reason: Option<String>,
    pub at: Timestamp,
    /// What each line hands back: reserved units returned to stock, and
    /// its backorder's waiting units taken out of the queue.
    pub release: Vec<Handback>,
    /// Units reserved again for an expired order a late payment revives:
    /// (sku, warehouse, units), each conditional on the stock being there.
    pub reserve: Vec<(Sku, WarehouseId, u32)>,
    /// When the order reservation lapses; it stays filed by it while unpaid.
    pub reservation_expires_at: Timestamp,
    pub event: OutboxEvent,
    /// The consumed event this change applies, recorded with it so a
    /// redelivery is recognised: (consumer, event id).
    pub applies: Option<(String, String)>,
    /// The order's money after the change, when the change is about money.
    pub payment: Option<Payment>,
}

impl StatusChange {
    /// Marks the change as the effect of `event_id` consumed by `consumer`.
    pub fn applying(mut self, consumer: &str, event_id: &str) -> Self {
        self.applies = Some((consumer.to_owned(), event_id.to_owned()));
        self
    }

    /// Records `payment` as the order's money in the same change.
    pub fn with_payment(mut self, payment: Payment) -> Self {
        self.payment = Some(payment);
        self
    }

    /// The change moving `order` to `to`, which the caller has checked with
    /// the domain's transition rules.
    pub fn new(
        order: &Order,
        to: OrderState,
        trigger: OrderTrigger,
        actor: &Actor,
        reason: Option<String>,
        at: Timestamp,
    ) -> Self {
        let from = order.state();
        let release: Vec<Handback> = if from.releases_reservations(to) {
            let why = reason
                .clone()
                .unwrap_or_else(|| trigger.as_str().to_owned());
            Handback::of_order(order, &why, at)
        } else {
            Vec::new()
        };
        let event = OrderStatusChanged {
            order_id: order.id,
            customer_id: order.customer_id.clone(),
            from,
            to,
            trigger,
            actor: actor.label(),
            reason: reason.clone(),
            released: release
                .iter()
                .filter(|handback| handback.reserved > 0)
                .map(|handback| ReservedLine {
                    sku: handback.sku.clone(),
                    warehouse: handback.warehouse.clone(),
                    quantity: handback.reserved,
                })
                .collect(),
        };
        Self {
            order_id: order.id,
            expected_version: order.version,
            from,
            to,
            trigger,
            actor: actor.label(),
            reason,
            at,
            reserve: if from.reacquires_reservations(to) {
                order
                    .lines
                    .iter()
                    .map(|line| {
                        (
                            line.sku.clone(),
                            line.warehouse.clone(),
                            line.quantity.get(),
                        )
                    })
                    .collect()
            } else {
                Vec::new()
            },
            release,
            reservation_expires_at: order.reservation_expires_at,
            event: OutboxEvent {
                id: Ulid::generate(),
                occurred_at: at,
                event: DomainEvent::OrderStatusChanged(event),
            },
            applies: None,
            payment: None,
        }
    }
}

/// What one line of a cancelled or lapsed order hands back in its
/// warehouse: the units reserved for it, and its backorder, which leaves
/// the queue with the units still waiting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Handback {
    pub sku: Sku,
    pub warehouse: WarehouseId,
    pub reserved: u32,
    pub leaving: Option<LeavingQueue>,
}

/// A backorder taken out of the queue, and the event announcing it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeavingQueue {
    /// As it stands after: cancelled.
    pub backorder: Backorder,
    /// Units it still waited for.
    pub waiting: u32,
    pub event: OutboxEvent,
}

impl Handback {
    /// Every line of `order` (cancelled or lapsed for `why`) handing back.
    pub fn of_order(order: &Order, why: &str, at: Timestamp) -> Vec<Handback> {
        let backorders = order.backorders();
        order
            .lines
            .iter()
            .map(|line| Handback {
                sku: line.sku.clone(),
                warehouse: line.warehouse.clone(),
                reserved: line.reserved(),
                leaving: backorders
                    .iter()
                    .find(|b| Some(b.id) == line.backorder.map(|lb| lb.id))
                    .filter(|b| b.open() > 0)
                    .map(|b| LeavingQueue::new(b, why, at)),
            })
            .collect()
    }

    /// The stock level after the hand-back: reserved units released (set
    /// aside for the queue as far as it is owed), waiting units out of it.
    pub fn applied_to(&self, level: StockLevel) -> Result<StockLevel, StockError> {
        let waiting = self.leaving.as_ref().map_or(0, |leaving| leaving.waiting);
        level.release(self.reserved)?.cancel_backorder(waiting)
    }
}

impl LeavingQueue {
    /// `backorder`, as read, leaving the queue for `why`.
    pub fn new(backorder: &Backorder, why: &str, at: Timestamp) -> Self {
        let cancelled = backorder.cancelled();
        let mut moved = BackorderMoved::new(BackorderMove::Cancelled, &cancelled);
        moved.units_cancelled = Some(backorder.open());
        moved.reason = Some(why.to_owned());
        Self {
            waiting: backorder.open(),
            backorder: cancelled,
            event: OutboxEvent {
                id: Ulid::generate(),
                occurred_at: at,
                event: DomainEvent::BackorderMoved(moved),
            },
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ChangeError {
    /// The order changed since it was read; read it again and re-decide.
    #[error("the order changed since it was read")]
    Stale,
    /// The consumed event behind the change was applied before.
    #[error("this event was applied before")]
    AlreadyApplied,
    /// A unit the change had to reserve again is no longer in stock.
    #[error("the stock to reserve again is gone")]
    OutOfStock,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Which conditions of a change's transaction failed. DynamoDB reports every
/// failed condition of a cancelled transaction at once; both stores read
/// them through [`ChangeRefusal::reason`], so the fake cannot order them
/// differently from the real thing.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ChangeRefusal {
    /// The consumed event's applied-record already exists.
    pub applied_before: bool,
    /// The order's version is not the one the change was decided on.
    pub order_changed: bool,
    /// Another transaction held one of the items.
    pub conflict: bool,
    /// A unit the change had to reserve again is not available.
    pub stock_short: bool,
}

impl ChangeRefusal {
    /// Why the change wrote nothing, or `None` when nothing was refused. A
    /// redelivered event is a duplicate. A stale order or a conflict means
    /// "read again and decide again", before any stock reason: a stale
    /// writer checked stock for a state it never saw (another writer may
    /// have taken those very units for this same order).
    pub fn reason(self) -> Option<ChangeError> {
        if self.applied_before {
            Some(ChangeError::AlreadyApplied)
        } else if self.order_changed || self.conflict {
            Some(ChangeError::Stale)
        } else if self.stock_short {
            Some(ChangeError::OutOfStock)
        } else {
            None
        }
    }
}

/// One applied change of an order's state, as its history keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryEntry {
    pub at: Timestamp,
    pub from: OrderState,
    pub to: OrderState,
    pub trigger: OrderTrigger,
    pub actor: String,
    pub reason: Option<String>,
}

#[async_trait]
pub trait OrderLifecycle: OrderReader {
    async fn change_status(&self, change: &StatusChange) -> Result<(), ChangeError>;

    /// Records an event about an order that changes nothing else (e.g. money
    /// to return), with the consumed event it answers when there is one.
    async fn record_event(
        &self,
        event: &OutboxEvent,
        applies: Option<(String, String)>,
    ) -> Result<(), ChangeError>;

    /// Whether `consumer` applied the event `event_id` already (its record
    /// is written with the change the event caused).
    async fn has_applied(&self, consumer: &str, event_id: &str) -> Result<bool, StoreError>;

    /// The order's applied status changes, oldest first.
    async fn history(&self, id: OrderId) -> Result<Vec<HistoryEntry>, StoreError>;

    /// Drafts started before `before` and never submitted, oldest first, in
    /// pages; `shard` is one of `0..STATUS_SHARDS`.
    async fn abandoned_drafts(
        &self,
        before: Timestamp,
        shard: u8,
        after: Option<String>,
        limit: u16,
    ) -> Result<Page<Order, String>, StoreError>;

    /// Unpaid orders whose reservations lapsed before `now`, oldest first, in
    /// pages; `shard` is one of `0..STATUS_SHARDS`.
    async fn lapsed_reservations(
        &self,
        now: Timestamp,
        shard: u8,
        after: Option<String>,
        limit: u16,
    ) -> Result<Page<Order, String>, StoreError>;
}

/// Each status is indexed over this many partitions, so the status index
/// never has one hot key; the sweeper reads them one by one.
pub const STATUS_SHARDS: u8 = 4;

/// What staff search orders by. Times are when orders were placed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OrderQuery {
    pub status: Option<OrderStatus>,
    pub customer: Option<CustomerId>,
    pub from: Option<Timestamp>,
    pub to: Option<Timestamp>,
}

#[async_trait]
pub trait OrderSearch: Send + Sync {
    /// Orders matching the query, newest first, in pages. Needs a status or
    /// a customer: there is no index over all orders, by design.
    async fn search_orders(
        &self,
        query: &OrderQuery,
        after: Option<String>,
        limit: u16,
    ) -> Result<Page<Order, String>, StoreError>;

    /// How many orders are in `status` now, and where their money and goods
    /// stand, counting only those that reached it at or after `since` when
    /// given (for unpaid orders: whose reservation lapses at or after it).
    async fn count_orders(
        &self,
        status: OrderStatus,
        since: Option<Timestamp>,
    ) -> Result<StatusCount, StoreError>;
}

/// The orders in one lifecycle status, counted whole and by their payment
/// and fulfilment statuses.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StatusCount {
    pub orders: u64,
    pub by_payment: BTreeMap<PaymentStatus, u64>,
    pub by_fulfillment: BTreeMap<FulfillmentStatus, u64>,
}

impl StatusCount {
    /// Counts `state`, one order in the status counted.
    pub fn add(&mut self, state: OrderState) {
        self.orders += 1;
        *self.by_payment.entry(state.payment_status).or_default() += 1;
        *self
            .by_fulfillment
            .entry(state.fulfillment_status)
            .or_default() += 1;
    }

    pub fn paying(&self, status: PaymentStatus) -> u64 {
        self.by_payment.get(&status).copied().unwrap_or(0)
    }

    pub fn fulfilling(&self, status: FulfillmentStatus) -> u64 {
        self.by_fulfillment.get(&status).copied().unwrap_or(0)
    }
}

/// A consumer's queue and the dead-letter queue its failures end in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeadLetterRoute {
    /// The consumer, as operators name it (`order-status`).
    pub consumer: String,
    pub queue: String,
    pub dead_letter_queue: String,
}

/// A message that failed its consumer `receive_count` times.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeadLetter {
    pub message_id: String,
    pub body: String,
    pub receive_count: u32,
    pub sent_at_millis: u64,
}

#[async_trait]
pub trait DeadLetters: Send + Sync {
    /// Up to `max` messages waiting in the dead-letter queue, left in place.
    async fn peek(
        &self,
        route: &DeadLetterRoute,
        max: usize,
    ) -> Result<Vec<DeadLetter>, StoreError>;

    /// Moves up to `max` messages back to the consumer's queue; returns how many moved.
    async fn redrive(&self, route: &DeadLetterRoute, max: usize) -> Result<usize, StoreError>;
}

/// What became of a webhook delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    /// First delivery: recorded, and its event (if any) is in the outbox.
    Recorded,
    /// The provider sent this event before: nothing done again.
    Duplicate,
}

#[async_trait]
pub trait WebhookInbox: Send + Sync {
    /// Records the provider's event id (kept 30 days) and, in the same
    /// transaction, the event it becomes for the rest of shopflow.
    async fn record_delivery(
        &self,
        provider: &str,
        event_id: &str,
        event: Option<&OutboxEvent>,
        at: Timestamp,
    ) -> Result<Delivery, StoreError>;
}
