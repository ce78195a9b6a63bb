//! Shipments: made from an order's reserved stock in one transaction, read
//! back, and kept up to date with what carriers report, through the one
//! path the courier webhook and the poller both take
//! ([`take_in_reports`]).

use crate::{IdempotencyKey, OrderReader, OutboxEvent, StatusChange, StoreError};
use async_trait::async_trait;
use shopflow_domain::events::{DomainEvent, ShipmentMove, ShipmentMoved};
use shopflow_domain::{
    Actor, Carrier, Order, OrderId, OrderTrigger, Shipment, ShipmentFigures, ShipmentId, Shipping,
    Timestamp, TrackingEvent, TrackingNumber, TrackingStatus,
};
use ulid::Ulid;

/// A shipment to make: the order's units leave a warehouse under a
/// carrier's tracking number, once per idempotency key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fulfilment {
    /// As created: nothing reported yet.
    pub shipment: Shipment,
    /// The order after, its lines counting the shipped units; written on
    /// the version it was read at.
    pub order: Order,
    /// The order's goods moving (partly shipped or shipped), in its history
    /// with `order.partially_shipped` or `order.shipped`.
    pub goods: StatusChange,
    /// `shipment.created`.
    pub created: OutboxEvent,
    pub key: IdempotencyKey,
    /// Digest of the request: a retry with another body under the key is refused.
    pub fingerprint: String,
}

impl Fulfilment {
    /// `read`, shipping as `shipping` says, in `shipment`, made by `actor`.
    pub fn new(
        read: &Order,
        shipping: Shipping,
        shipment: Shipment,
        actor: &Actor,
        key: IdempotencyKey,
        fingerprint: String,
    ) -> Self {
        let at = shipment.created_at;
        let goods = StatusChange::new(read, shipping.to, shipping.trigger, actor, None, at);
        let created = OutboxEvent {
            id: Ulid::generate(),
            occurred_at: at,
            event: DomainEvent::ShipmentMoved(ShipmentMoved::new(
                ShipmentMove::Created,
                &shipment,
                None,
            )),
        };
        Self {
            shipment,
            order: Order {
                version: read.version,
                ..shipping.order
            },
            goods,
            created,
            key,
            fingerprint,
        }
    }
}

/// What a fulfilment's idempotency key remembers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FulfilmentReceipt {
    pub fingerprint: String,
    pub order_id: OrderId,
    pub shipment_id: ShipmentId,
}

/// Why a fulfilment wrote nothing.
#[derive(Debug, thiserror::Error)]
pub enum FulfilError {
    /// The order changed since it was read: read it again and decide again.
    #[error("the order changed since it was read")]
    OrderChanged,
    /// Another request under the same key got there first.
    #[error("the idempotency key is already in use")]
    KeyTaken,
    /// Another shipment has this carrier's tracking number.
    #[error("tracking number {0} is already in use")]
    TrackingNumberTaken(TrackingNumber),
    /// A warehouse does not hold the units the order says are reserved.
    #[error("the stock reserved for the order is not in the warehouse")]
    StockMissing,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A shipment after its carrier's reports, ready to be written on the
/// version it was read at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrackingUpdate {
    /// As it stands after, with the version it was read at.
    pub shipment: Shipment,
    /// Its status as read: where it stood moves with the status.
    pub status_before: TrackingStatus,
    /// `shipment.*` when its status moved.
    pub moved: Option<OutboxEvent>,
    /// What the update does to its order when the shipment arrived.
    pub order: Option<OrderTouch>,
}

/// What a shipment's arrival does to its order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OrderTouch {
    /// Other units are still on their way: the order is only held at the
    /// version read, so two shipments of one order arriving at once are
    /// never both decided on the same read (the second decides again and
    /// sees the first).
    Hold { order_id: OrderId, version: u64 },
    /// Everything arrived: the order's goods are delivered.
    Deliver(Box<StatusChange>),
}

/// Why a tracking update wrote nothing.
#[derive(Debug, thiserror::Error)]
pub enum TrackingWriteError {
    /// The shipment or its order changed since they were read.
    #[error("the shipment or its order changed since it was read")]
    Stale,
    #[error(transparent)]
    Store(#[from] StoreError),
}

#[async_trait]
pub trait ShipmentStore: OrderReader {
    /// What the key made, if it made a shipment in the last 24 hours.
    async fn fulfilment_receipt(
        &self,
        key: &IdempotencyKey,
    ) -> Result<Option<FulfilmentReceipt>, StoreError>;

    /// Atomically: the shipment (carrying `shipment.created`), the tracking
    /// number claimed for it, the order rewritten with its goods' history
    /// entry (carrying the order's event), the shipped units taken out of
    /// each warehouse's `on_hand` and `reserved`, and the key's receipt.
    /// A polled carrier's parcel also joins its carrier's polling schedule.
    async fn fulfil(&self, fulfilment: &Fulfilment) -> Result<(), FulfilError>;

    /// A shipment by its id, read consistently.
    async fn shipment(&self, id: ShipmentId) -> Result<Option<Shipment>, StoreError>;

    /// Every shipment of an order, oldest first, read consistently.
    async fn order_shipments(&self, order: OrderId) -> Result<Vec<Shipment>, StoreError>;

    /// The shipment travelling under a carrier's tracking number.
    async fn tracked_shipment(
        &self,
        carrier: Carrier,
        number: &TrackingNumber,
    ) -> Result<Option<Shipment>, StoreError>;

    /// Writes the update if the shipment (and, with an order touch, its
    /// order) is still at the version read: one conditional write when
    /// neither the order nor where the shipment stands is touched. A
    /// shipment that reached a final status leaves its carrier's polling
    /// schedule in the same write.
    async fn record_tracking(&self, update: &TrackingUpdate) -> Result<(), TrackingWriteError>;

    /// How many shipments stand where, now.
    async fn shipment_figures(&self) -> Result<ShipmentFigures, StoreError>;
}

/// What a carrier's reports did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TrackingOutcome {
    /// No shipment travels under that number (yet: the label may come later).
    UnknownParcel,
    /// Every event reported was known: nothing written.
    NothingNew { shipment: ShipmentId },
    Recorded {
        shipment: ShipmentId,
        order_id: OrderId,
        added: usize,
        /// The status before and after, when it moved.
        moved: Option<(TrackingStatus, TrackingStatus)>,
        /// Its order's goods became delivered.
        order_delivered: bool,
    },
}

/// Why reports were not taken in.
#[derive(Debug, thiserror::Error)]
pub enum TrackingError {
    #[error("the shipment kept changing")]
    KeptChanging,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Attempts at a tracking update when the shipment or its order moved
/// between read and write.
const TRACKING_ATTEMPTS: u32 = 5;

/// Takes what a carrier reported about the parcel `number` into its
/// shipment: new events join its journey, the status follows them, an
/// arrival may deliver the order. Safe to repeat: known events are dropped.
pub async fn take_in_reports<S: ShipmentStore>(
    store: &S,
    carrier: Carrier,
    number: &TrackingNumber,
    reports: Vec<TrackingEvent>,
    actor: &Actor,
    at: Timestamp,
) -> Result<TrackingOutcome, TrackingError> {
    for _ in 0..TRACKING_ATTEMPTS {
        let Some(shipment) = store.tracked_shipment(carrier, number).await? else {
            return Ok(TrackingOutcome::UnknownParcel);
        };
        let tracked = shipment.tracked(reports.clone());
        if !tracked.is_news() {
            return Ok(TrackingOutcome::NothingNew {
                shipment: shipment.id,
            });
        }
        let update = tracking_update(store, &shipment, tracked.shipment, actor, at).await?;
        let outcome = TrackingOutcome::Recorded {
            shipment: shipment.id,
            order_id: shipment.order_id,
            added: tracked.update.added.len(),
            moved: tracked
                .update
                .moved()
                .then_some((tracked.update.status_before, tracked.update.status_after)),
            order_delivered: matches!(update.order, Some(OrderTouch::Deliver(_))),
        };
        match store.record_tracking(&update).await {
            Ok(()) => return Ok(outcome),
            Err(TrackingWriteError::Stale) => continue,
            Err(TrackingWriteError::Store(error)) => return Err(error.into()),
        }
    }
    Err(TrackingError::KeptChanging)
}

/// The write that takes `before` to `after`: its event when the status
/// moved, and, when it just arrived, what that does to its order (read
/// consistently with its other shipments).
async fn tracking_update<S: ShipmentStore>(
    store: &S,
    before: &Shipment,
    after: Shipment,
    actor: &Actor,
    at: Timestamp,
) -> Result<TrackingUpdate, StoreError> {
    let (from, to) = (before.status(), after.status());
    let moved = (from != to).then(|| OutboxEvent {
        id: Ulid::generate(),
        occurred_at: at,
        event: DomainEvent::ShipmentMoved(ShipmentMoved::new(
            ShipmentMove::of_status(to),
            &after,
            Some(from),
        )),
    });
    let order = if after.is_delivered() && !before.is_delivered() {
        arrival(store, &after, actor, at).await?
    } else {
        None
    };
    Ok(TrackingUpdate {
        shipment: after,
        status_before: from,
        moved,
        order,
    })
}

/// What `arrived` does to its order: delivers it when everything else
/// arrived too, holds it otherwise.
async fn arrival<S: ShipmentStore>(
    store: &S,
    arrived: &Shipment,
    actor: &Actor,
    at: Timestamp,
) -> Result<Option<OrderTouch>, StoreError> {
    let Some(order) = store.order(arrived.order_id).await? else {
        return Ok(None);
    };
    let shipments: Vec<Shipment> = store
        .order_shipments(order.id)
        .await?
        .into_iter()
        .map(|shipment| {
            if shipment.id == arrived.id {
                arrived.clone()
            } else {
                shipment
            }
        })
        .collect();
    Ok(Some(match order.delivered_by(&shipments) {
        Some(to) => OrderTouch::Deliver(Box::new(StatusChange::new(
            &order,
            to,
            OrderTrigger::Delivered,
            actor,
            None,
            at,
        ))),
        None => OrderTouch::Hold {
            order_id: order.id,
            version: order.version,
        },
    }))
}
