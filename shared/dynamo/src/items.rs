//! Keys and item shapes of the single table. Attribute names are short on
//! purpose: item size is what DynamoDB bills (see docs/cost-model.md).

use super::corrupt;
use serde::{Deserialize, Serialize};
use shopflow_domain::events::EventEnvelope;
use shopflow_domain::invoice::{
    Credited, Invoice, InvoiceId, InvoiceLine, InvoiceNumber, InvoiceStatus, InvoiceTotals, Party,
    PaymentAllocation, PaymentMethod, PaymentRecord, Sequence, Voiding,
};
use shopflow_domain::{
    Backorder, BackorderId, BackorderSettings, BackorderStatus, CaptureState, Carrier, Currency,
    CustomerId, Email, FulfillmentStatus, Journey, LevelChange, LineBackorder, LowStock, Money,
    Movement, MovementCause, MovementNote, Order, OrderId, OrderLine, OrderState, OrderStatus,
    OrderTotals, OrderTrigger, Payment, PaymentAttempt, PaymentStatus, Product, Quantity, Refund,
    RefundStatus, Shipment, ShipmentId, ShipmentStanding, ShippedLine, ShippingAddress, Sku,
    StockLevel, Timestamp, TrackingEvent, TrackingNumber, TrackingStatus, WarehouseId,
};
use shopflow_ports::{CheckoutReceipt, Claim, HistoryEntry, OutboxEvent, StockChange, StoreError};
use ulid::Ulid;

pub const IDEMPOTENCY_TTL_SECS: u64 = 24 * 60 * 60;
pub const OUTBOX_TTL_SECS: u64 = 7 * 24 * 60 * 60;

pub fn product_key(sku: &Sku) -> (String, String) {
    (format!("PRODUCT#{sku}"), "META".to_owned())
}

pub fn stock_key(sku: &Sku, warehouse: &WarehouseId) -> (String, String) {
    (format!("SKU#{sku}"), format!("STOCK#{warehouse}"))
}

pub fn stock_partition(sku: &Sku) -> String {
    format!("SKU#{sku}")
}

/// The backorder queue of a SKU in a warehouse: one partition, sorted in
/// allocation order.
pub fn backorder_queue(sku: &Sku, warehouse: &WarehouseId) -> String {
    format!("BO#{sku}#{warehouse}")
}

/// A backorder's place in its queue: higher priority first (255 - p, three
/// digits), then creation (the ULID).
pub fn queue_place(priority: u8, id: BackorderId) -> String {
    format!("{:03}#{id}", 255 - u16::from(priority))
}

pub fn backorder_key(backorder: &Backorder) -> (String, String) {
    (
        backorder_queue(&backorder.sku, &backorder.warehouse),
        queue_place(backorder.priority, backorder.id),
    )
}

/// Where a backorder's allocation records are kept.
pub fn allocations_partition(id: BackorderId) -> String {
    format!("BOALLOC#{id}")
}

/// gsi3: a backorder by where it stands (open, fulfilled, cancelled),
/// spread over the status shards by its id's random bits.
pub fn backorder_standing(status: BackorderStatus, id: BackorderId) -> String {
    let shard = id.as_ulid().random() % u128::from(shopflow_ports::STATUS_SHARDS);
    standing_named(status, u8::try_from(shard).unwrap_or(0))
}

/// The standing partition of `status` (pending and partial are both open)
/// in `shard`.
pub fn standing_named(status: BackorderStatus, shard: u8) -> String {
    let standing = match status {
        BackorderStatus::Pending | BackorderStatus::Partial => "open",
        BackorderStatus::Fulfilled => "fulfilled",
        BackorderStatus::Cancelled => "cancelled",
    };
    format!("BOSTANDING#{standing}#{shard}")
}

/// gsi3's sort key: when an open backorder was created, or when a closed
/// one closed, in zero-padded milliseconds.
pub fn standing_sort(at: Timestamp, id: BackorderId) -> String {
    format!("{:015}#{id}", at.as_millis())
}

/// gsi2: a backorder under its id.
pub fn backorder_by_id(id: BackorderId) -> String {
    format!("BO#{id}")
}

/// gsi1: a customer's backorders sort under `BO#<order>#`.
pub fn customer_backorders_prefix(order: Option<OrderId>) -> String {
    match order {
        Some(order) => format!("BO#{order}#"),
        None => "BO#".to_owned(),
    }
}

pub fn order_key(id: OrderId) -> (String, String) {
    (format!("ORDER#{id}"), "META".to_owned())
}

pub fn customer_orders_partition(customer: &CustomerId) -> String {
    format!("CUST#{customer}")
}

pub fn customer_order_sort(id: OrderId) -> String {
    format!("ORDER#{id}")
}

/// Which status-index partition an order lives in: spread by the random part
/// of its ULID, so no status is one hot key.
pub fn status_shard(id: OrderId) -> u8 {
    u8::try_from(id.as_ulid().random() % u128::from(shopflow_ports::STATUS_SHARDS)).unwrap_or(0)
}

/// gsi2: every order sits under its current lifecycle status.
pub fn status_partition(status: OrderStatus, shard: u8) -> String {
    status_partition_named(status.as_str(), shard)
}

/// A status partition by the status's stored name, which may be one from
/// before the split (decision 0008).
pub fn status_partition_named(status: &str, shard: u8) -> String {
    format!("STATUS#{status}#{shard}")
}

/// Zero-padded milliseconds, so the sort key orders by time: when an unpaid
/// order's reservation lapses, or when any other order reached its status.
pub fn status_sort(at: Timestamp, id: OrderId) -> String {
    format!("{:015}#{id}", at.as_millis())
}

/// The time an order is filed under in the status index.
pub fn status_index_time(
    state: OrderState,
    reservation_expires_at: Timestamp,
    status_at: Timestamp,
) -> Timestamp {
    if state.holds_unpaid_reservation() {
        reservation_expires_at
    } else {
        status_at
    }
}

/// An order's lifecycle status as its item stores it: today's name, or one
/// from before the split (decision 0008), which also says where its goods were.
pub fn read_status(raw: &str) -> Result<(OrderStatus, Option<FulfillmentStatus>), StoreError> {
    if let Some(status) = OrderStatus::parse(raw) {
        return Ok((status, None));
    }
    OrderState::before_the_split(raw)
        .map(|old| (old.status, Some(old.fulfillment_status)))
        .ok_or_else(|| StoreError::Corrupt {
            entity: "order",
            reason: format!("unknown status {raw}"),
        })
}

/// A state in one short attribute of a history item:
/// `<status>/<payment status>/<fulfilment status>`.
pub fn write_state(state: OrderState) -> String {
    format!(
        "{}/{}/{}",
        state.status.as_str(),
        state.payment_status.as_str(),
        state.fulfillment_status.as_str()
    )
}

/// A state [`write_state`] wrote, or a status from before the split.
pub fn read_state(raw: &str) -> Result<OrderState, StoreError> {
    let parsed = match raw.split('/').collect::<Vec<_>>()[..] {
        [status, payment, goods] => OrderStatus::parse(status).and_then(|status| {
            Some(OrderState {
                status,
                payment_status: PaymentStatus::parse(payment)?,
                fulfillment_status: FulfillmentStatus::parse(goods)?,
            })
        }),
        [old] => OrderState::before_the_split(old),
        _ => None,
    };
    parsed.ok_or_else(|| StoreError::Corrupt {
        entity: "history",
        reason: format!("unknown state {raw}"),
    })
}

pub fn history_key(id: OrderId, entry: Ulid) -> (String, String) {
    (format!("ORDER#{id}"), format!("HIST#{entry}"))
}

pub fn idempotency_key(key: &shopflow_ports::IdempotencyKey) -> (String, String) {
    (
        format!("IDEMP#{}#{}", key.scope, key.key),
        "IDEMP".to_owned(),
    )
}

#[derive(Debug, Serialize, Deserialize)]
pub struct ProductItem {
    pub pk: String,
    pub sk: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub sku: Sku,
    pub name: String,
    pub price: i64,
    pub currency: Currency,
    pub active: bool,
}

impl ProductItem {
    pub fn from_product(product: &Product) -> Self {
        let (pk, sk) = product_key(&product.sku);
        Self {
            pk,
            sk,
            kind: "product".into(),
            sku: product.sku.clone(),
            name: product.name.clone(),
            price: product.price.minor,
            currency: product.price.currency.clone(),
            active: product.active,
        }
    }

    pub fn into_product(self) -> Result<Product, StoreError> {
        let price = Money::new(self.price, self.currency).map_err(|e| StoreError::Corrupt {
            entity: "product",
            reason: e.to_string(),
        })?;
        Ok(Product {
            sku: self.sku,
            name: self.name,
            price,
            active: self.active,
        })
    }
}

/// Stock of one SKU in one warehouse. `available` is kept equal to
/// `on_hand - reserved - set_aside`, and `owed` to `backordered -
/// set_aside`, by every update, because a condition expression cannot do
/// arithmetic and reservations and releases are conditional on them.
#[derive(Debug, Serialize, Deserialize)]
pub struct StockItem {
    pub sku: Sku,
    pub warehouse: WarehouseId,
    pub on_hand: u32,
    pub reserved: u32,
    #[serde(default)]
    pub set_aside: u32,
    #[serde(default)]
    pub backordered: u32,
    /// Counts every change: a restock is written on the version it read.
    #[serde(default)]
    pub version: u64,
    /// Backorder settings, once staff saved some.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bo: Option<SettingsAttr>,
    /// The low-stock threshold, once staff set one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub low: Option<u32>,
    /// Why the last write changed the level (every stock write sets it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mv: Option<MovementAttr>,
}

impl StockItem {
    pub fn level(&self) -> StockLevel {
        StockLevel {
            on_hand: self.on_hand,
            reserved: self.reserved,
            set_aside: self.set_aside,
            backordered: self.backordered,
        }
    }

    pub fn backorder_settings(&self) -> BackorderSettings {
        self.bo
            .as_ref()
            .map(SettingsAttr::settings)
            .unwrap_or_default()
    }
}

/// A stock write's note for the ledger, in short names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MovementAttr {
    pub c: MovementCause,
    pub r: String,
    pub at: Timestamp,
}

impl MovementAttr {
    fn note(&self) -> MovementNote {
        MovementNote {
            cause: self.c,
            reference: self.r.clone(),
            at: self.at,
        }
    }
}

/// A stock item's change from the table's stream, or `None` when the
/// record is about another item (or a stock item's removal, which never
/// happens). A stock image that cannot be read is an error: stock-ledger
/// hands it back rather than skip a change.
pub fn stock_change(
    event_name: &str,
    old_image: serde_dynamo::Item,
    new_image: serde_dynamo::Item,
    seen_at: Timestamp,
) -> Result<Option<StockChange>, StoreError> {
    let is_stock = |image: &serde_dynamo::Item| matches!(image.get("type"), Some(serde_dynamo::AttributeValue::S(kind)) if kind == "stock");
    if event_name == "REMOVE" || !is_stock(&new_image) {
        return Ok(None);
    }
    let after: StockItem = serde_dynamo::from_item(new_image).map_err(corrupt("stock"))?;
    let before: Option<StockItem> = if is_stock(&old_image) {
        Some(serde_dynamo::from_item(old_image).map_err(corrupt("stock"))?)
    } else {
        None
    };
    let note_before = before.as_ref().and_then(|item| item.mv.clone());
    let note = after
        .mv
        .as_ref()
        .filter(|note| note_before.as_ref() != Some(*note))
        .map(MovementAttr::note);
    Ok(Some(StockChange {
        sku: after.sku.clone(),
        warehouse: after.warehouse.clone(),
        version: after.version,
        before: before.as_ref().map(StockItem::level).unwrap_or_default(),
        after: after.level(),
        low_before: before
            .and_then(|item| item.low)
            .map(|threshold| LowStock { threshold }),
        low_after: after.low.map(|threshold| LowStock { threshold }),
        note,
        seen_at,
    }))
}

/// One movement of the stock ledger, in its SKU's partition by when it
/// happened; the warehouse and the version its change made end the key, so
/// a change the stream delivers twice is one movement.
#[derive(Debug, Serialize, Deserialize)]
pub struct MovementItem {
    pub pk: String,
    pub sk: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub sku: Sku,
    pub wh: WarehouseId,
    pub v: u64,
    pub mv: MovementAttr,
    /// The change: on hand, reserved, set aside, backordered.
    pub d: [i64; 4],
    /// The level after.
    pub after: [u32; 4],
}

impl MovementItem {
    pub const TYPE: &'static str = "movement";

    pub fn new(movement: &Movement) -> Self {
        let (pk, sk) = movement_key(
            &movement.sku,
            movement.note.at,
            &movement.warehouse,
            movement.version,
        );
        let change = movement.change;
        let after = movement.after;
        Self {
            pk,
            sk,
            kind: Self::TYPE.into(),
            sku: movement.sku.clone(),
            wh: movement.warehouse.clone(),
            v: movement.version,
            mv: MovementAttr {
                c: movement.note.cause,
                r: movement.note.reference.clone(),
                at: movement.note.at,
            },
            d: [
                change.on_hand,
                change.reserved,
                change.set_aside,
                change.backordered,
            ],
            after: [
                after.on_hand,
                after.reserved,
                after.set_aside,
                after.backordered,
            ],
        }
    }

    pub fn into_movement(self) -> Movement {
        let [on_hand, reserved, set_aside, backordered] = self.d;
        let [
            after_on_hand,
            after_reserved,
            after_set_aside,
            after_backordered,
        ] = self.after;
        Movement {
            sku: self.sku,
            warehouse: self.wh,
            version: self.v,
            note: self.mv.note(),
            change: LevelChange {
                on_hand,
                reserved,
                set_aside,
                backordered,
            },
            after: StockLevel {
                on_hand: after_on_hand,
                reserved: after_reserved,
                set_aside: after_set_aside,
                backordered: after_backordered,
            },
        }
    }
}

/// A SKU's ledger partition.
pub fn movements_partition(sku: &Sku) -> String {
    format!("MOVES#{sku}")
}

/// Where in its ledger a movement sorts: when, then which warehouse and
/// version.
pub fn movement_key(
    sku: &Sku,
    at: Timestamp,
    warehouse: &WarehouseId,
    version: u64,
) -> (String, String) {
    (
        movements_partition(sku),
        format!("{:013}#{warehouse}#{version:012}", at.as_millis()),
    )
}

/// The latest instant a ledger sort key holds: 13 digits of milliseconds,
/// the year 2286.
pub const LAST_MOVEMENT_MS: u64 = 9_999_999_999_999;

/// The first sort key at or after `at` (an instant past the last one a key
/// holds reads as that last one), in a ledger partition.
pub fn movement_sort_from(at: Timestamp) -> String {
    format!("{:013}#", at.as_millis().min(LAST_MOVEMENT_MS))
}

/// A stock item's backorder settings, in short names.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SettingsAttr {
    pub allow: bool,
    pub max: u32,
    pub days: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date: Option<Timestamp>,
}

impl SettingsAttr {
    pub fn new(settings: &BackorderSettings) -> Self {
        Self {
            allow: settings.allow_backorder,
            max: settings.max_backorder_quantity,
            days: settings.estimated_restock_days,
            date: settings.estimated_restock_date,
        }
    }

    fn settings(&self) -> BackorderSettings {
        BackorderSettings {
            allow_backorder: self.allow,
            max_backorder_quantity: self.max,
            estimated_restock_days: self.days,
            estimated_restock_date: self.date,
        }
    }
}

#[derive(Debug, Serialize, Deserialize)]
pub struct LineItem {
    pub sku: Sku,
    pub name: String,
    pub qty: Quantity,
    pub unit: i64,
    pub total: i64,
    pub wh: WarehouseId,
    /// The line's backorder, when its checkout made one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bo: Option<LineBackorderAttr>,
    /// Units shipped (absent while none).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub sh: u32,
}

/// A line's backorder, in short names: id, priority, units backordered,
/// units still waiting, units cancelled (absent when none), expected restock.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub struct LineBackorderAttr {
    pub id: BackorderId,
    pub p: u8,
    pub n: u32,
    pub w: u32,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub c: u32,
    pub eta: Timestamp,
}

fn is_zero(units: &u32) -> bool {
    *units == 0
}

impl LineBackorderAttr {
    fn new(backorder: &LineBackorder) -> Self {
        Self {
            id: backorder.id,
            p: backorder.priority,
            n: backorder.quantity,
            w: backorder.waiting,
            c: backorder.cancelled,
            eta: backorder.estimated_restock,
        }
    }

    fn line_backorder(self) -> LineBackorder {
        LineBackorder {
            id: self.id,
            priority: self.p,
            quantity: self.n,
            waiting: self.w,
            cancelled: self.c,
            estimated_restock: self.eta,
        }
    }
}

#[derive(Debug, Serialize, Deserialize)]
pub struct OrderItem {
    pub pk: String,
    pub sk: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub gsi1pk: String,
    pub gsi1sk: String,
    /// The status index (gsi2): the sweeper reads the unpaid statuses by
    /// lapse time; staff search and metrics read any status by time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gsi2pk: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gsi2sk: Option<String>,
    pub id: OrderId,
    pub customer: CustomerId,
    /// The lifecycle status (see [`read_status`]).
    pub status: String,
    /// Where the goods are; absent while nothing shipped or was awaited.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ful: Option<FulfillmentStatus>,
    pub currency: Currency,
    pub lines: Vec<LineItem>,
    pub subtotal: i64,
    pub tax: i64,
    pub shipping: i64,
    pub grand_total: i64,
    pub email: Email,
    pub address: ShippingAddress,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
    /// The order's money; absent until the provider first reports on it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pay: Option<PaymentItem>,
    pub version: u64,
}

/// An order's money on its item, with short names (it rides on every order write).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct PaymentItem {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pi: Option<String>,
    pub st: CaptureState,
    #[serde(default)]
    pub auth: i64,
    #[serde(default)]
    pub cap: i64,
    #[serde(default)]
    pub refd: i64,
    #[serde(default)]
    pub pend: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fail: Option<String>,
}

impl PaymentItem {
    /// `None` for an order nothing was reported about: its item stays small.
    pub fn from_payment(payment: &Payment) -> Option<Self> {
        (payment != &Payment::default()).then(|| Self {
            pi: payment.intent_id.clone(),
            st: payment.status,
            auth: payment.authorized_minor,
            cap: payment.captured_minor,
            refd: payment.refunded_minor,
            pend: payment.refund_pending_minor,
            fail: payment.failure_code.clone(),
        })
    }

    pub fn into_payment(self) -> Payment {
        Payment {
            intent_id: self.pi,
            status: self.st,
            authorized_minor: self.auth,
            captured_minor: self.cap,
            refunded_minor: self.refd,
            refund_pending_minor: self.pend,
            failure_code: self.fail,
        }
    }
}

/// The `ful` attribute: left out while it is the default.
pub fn stored_fulfillment(status: FulfillmentStatus) -> Option<FulfillmentStatus> {
    (status != FulfillmentStatus::default()).then_some(status)
}

impl OrderItem {
    pub fn from_order(order: &Order) -> Self {
        let (pk, sk) = order_key(order.id);
        Self {
            pk,
            sk,
            kind: "order".into(),
            gsi1pk: customer_orders_partition(&order.customer_id),
            gsi1sk: customer_order_sort(order.id),
            gsi2pk: Some(status_partition(order.status, status_shard(order.id))),
            gsi2sk: Some(status_sort(
                status_index_time(
                    order.state(),
                    order.reservation_expires_at,
                    order.created_at,
                ),
                order.id,
            )),
            id: order.id,
            customer: order.customer_id.clone(),
            status: order.status.as_str().to_owned(),
            ful: stored_fulfillment(order.fulfillment_status),
            currency: order.currency.clone(),
            lines: order
                .lines
                .iter()
                .map(|line| LineItem {
                    sku: line.sku.clone(),
                    name: line.name.clone(),
                    qty: line.quantity,
                    unit: line.unit_price.minor,
                    total: line.line_total.minor,
                    wh: line.warehouse.clone(),
                    bo: line.backorder.as_ref().map(LineBackorderAttr::new),
                    sh: line.shipped,
                })
                .collect(),
            subtotal: order.totals.subtotal.minor,
            tax: order.totals.tax.minor,
            shipping: order.totals.shipping.minor,
            grand_total: order.totals.grand_total.minor,
            email: order.email.clone(),
            address: order.shipping_address.clone(),
            created_at: order.created_at,
            expires_at: order.reservation_expires_at,
            pay: PaymentItem::from_payment(&order.payment),
            version: order.version,
        }
    }

    pub fn into_order(self) -> Result<Order, StoreError> {
        let currency = self.currency;
        let money = |minor: i64| {
            Money::new(minor, currency.clone()).map_err(|e| StoreError::Corrupt {
                entity: "order",
                reason: e.to_string(),
            })
        };
        let lines = self
            .lines
            .into_iter()
            .map(|line| {
                Ok(OrderLine {
                    sku: line.sku,
                    name: line.name,
                    quantity: line.qty,
                    unit_price: money(line.unit)?,
                    line_total: money(line.total)?,
                    warehouse: line.wh,
                    backorder: line.bo.map(LineBackorderAttr::line_backorder),
                    shipped: line.sh,
                })
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        let totals = OrderTotals {
            subtotal: money(self.subtotal)?,
            tax: money(self.tax)?,
            shipping: money(self.shipping)?,
            grand_total: money(self.grand_total)?,
        };
        let (status, goods_before_the_split) = read_status(&self.status)?;
        Ok(Order {
            id: self.id,
            customer_id: self.customer,
            status,
            fulfillment_status: self.ful.or(goods_before_the_split).unwrap_or_default(),
            currency,
            lines,
            totals,
            email: self.email,
            shipping_address: self.address,
            created_at: self.created_at,
            reservation_expires_at: self.expires_at,
            payment: self.pay.map(PaymentItem::into_payment).unwrap_or_default(),
            version: self.version,
        })
    }
}

/// An event as it waits in the table for the outbox relay, as the attributes
/// `source`, `detail_type` and `detail` (the envelope JSON exactly as it goes
/// on the bus). They travel on an item written in the same transaction as the
/// change they announce: an outbox item of their own, or a checkout receipt
/// (one item fewer per checkout; see docs/decisions/0003).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingEvent {
    pub source: String,
    pub detail_type: String,
    pub detail: String,
}

impl PendingEvent {
    pub fn from_event(event: &OutboxEvent) -> Result<Self, StoreError> {
        let envelope = EventEnvelope::new(event.id.to_string(), event.occurred_at, &event.event);
        let detail = serde_json::to_string(&envelope).map_err(|e| StoreError::Corrupt {
            entity: "outbox",
            reason: e.to_string(),
        })?;
        Ok(Self {
            source: event.event.source().into(),
            detail_type: event.event.detail_type().into(),
            detail,
        })
    }
}

/// An item that exists only to carry an event to the relay.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutboxItem {
    pub pk: String,
    pub sk: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub source: String,
    pub detail_type: String,
    pub detail: String,
    pub ttl: u64,
}

impl OutboxItem {
    pub const TYPE: &'static str = "outbox";

    pub fn from_event(event: &OutboxEvent) -> Result<Self, StoreError> {
        let PendingEvent {
            source,
            detail_type,
            detail,
        } = PendingEvent::from_event(event)?;
        Ok(Self {
            pk: format!("OUTBOX#{}", event.id),
            sk: "OUTBOX".into(),
            kind: Self::TYPE.into(),
            source,
            detail_type,
            detail,
            ttl: event.occurred_at.as_secs() + OUTBOX_TTL_SECS,
        })
    }

    /// The event a record of the table's stream commits, if it commits one:
    /// an item that carries an event it did not carry before. That is every
    /// insert of such an item, and a modify whose event changed: a checkout
    /// receipt replaced under a reused key (its expired copy still present,
    /// as DynamoDB deletes expired items lazily) is a MODIFY carrying the new
    /// order's `order.created`. A modify that keeps its event commits nothing.
    pub fn committed_event(
        event_name: &str,
        old_image: serde_dynamo::Item,
        new_image: serde_dynamo::Item,
    ) -> Result<Option<shopflow_ports::BusEntry>, StoreError> {
        match event_name {
            "INSERT" => Self::bus_entry_from_image(new_image),
            "MODIFY" if old_image.get("detail") != new_image.get("detail") => {
                Self::bus_entry_from_image(new_image)
            }
            _ => Ok(None),
        }
    }

    /// `pk / sk` of the item a stream record is about, for the logs that tie
    /// a failure record's sequence numbers to the items to republish.
    pub fn key_of(keys: &serde_dynamo::Item) -> String {
        let part = |name: &str| match keys.get(name) {
            Some(serde_dynamo::AttributeValue::S(value)) => value.as_str(),
            _ => "?",
        };
        format!("{} / {}", part("pk"), part("sk"))
    }

    /// The bus entry for an item image from the table's stream, or `None`
    /// when the item carries no event. An outbox item that cannot be read is
    /// an error, so the relay hands it back rather than dropping it.
    fn bus_entry_from_image(
        image: serde_dynamo::Item,
    ) -> Result<Option<shopflow_ports::BusEntry>, StoreError> {
        let is_outbox = matches!(
            image.get("type"),
            Some(serde_dynamo::AttributeValue::S(kind)) if kind == Self::TYPE
        );
        if !is_outbox && !image.contains_key("detail_type") {
            return Ok(None);
        }
        let event: PendingEvent =
            serde_dynamo::from_item(image).map_err(|e| StoreError::Corrupt {
                entity: "outbox",
                reason: e.to_string(),
            })?;
        Ok(Some(shopflow_ports::BusEntry {
            source: event.source,
            detail_type: event.detail_type,
            detail: event.detail,
        }))
    }
}

/// What a checkout's idempotency key remembers, and the `order.created`
/// event the relay publishes from it.
#[derive(Debug, Serialize, Deserialize)]
pub struct IdempotencyItem {
    pub pk: String,
    pub sk: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub fingerprint: String,
    pub order_id: OrderId,
    pub source: String,
    pub detail_type: String,
    pub detail: String,
    pub ttl: u64,
}

impl IdempotencyItem {
    pub fn new(
        key: &shopflow_ports::IdempotencyKey,
        receipt: &CheckoutReceipt,
        event: &OutboxEvent,
        now_secs: u64,
    ) -> Result<Self, StoreError> {
        let (pk, sk) = idempotency_key(key);
        let PendingEvent {
            source,
            detail_type,
            detail,
        } = PendingEvent::from_event(event)?;
        Ok(Self {
            pk,
            sk,
            kind: "idempotency".into(),
            fingerprint: receipt.request_fingerprint.clone(),
            order_id: receipt.order_id,
            source,
            detail_type,
            detail,
            ttl: now_secs + IDEMPOTENCY_TTL_SECS,
        })
    }

    /// DynamoDB deletes expired items lazily (within days), so expiry is checked on read too.
    pub fn into_live_receipt(self, now_secs: u64) -> Option<CheckoutReceipt> {
        (self.ttl > now_secs).then_some(CheckoutReceipt {
            request_fingerprint: self.fingerprint,
            order_id: self.order_id,
        })
    }
}

/// What a staff move's idempotency key remembers: the request, the level
/// it left in each warehouse it touched, and the event the relay publishes
/// from it. The first warehouse's level is kept flat, as restock receipts
/// kept it before adjustments and transfers shared them, so a receipt of
/// either shape answers a retry.
#[derive(Debug, Serialize, Deserialize)]
pub struct StockReceiptItem {
    pub pk: String,
    pub sk: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub fingerprint: String,
    pub on_hand: u32,
    pub reserved: u32,
    #[serde(default)]
    pub set_aside: u32,
    #[serde(default)]
    pub backordered: u32,
    /// A transfer's receiving warehouse: on hand, reserved, set aside,
    /// backordered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<[u32; 4]>,
    pub source: String,
    pub detail_type: String,
    pub detail: String,
    pub ttl: u64,
}

impl StockReceiptItem {
    pub const TYPE: &'static str = "stock_receipt";
    /// The type restock receipts had before; they expire within 24 hours.
    pub const RESTOCK_TYPE: &'static str = "restock_receipt";

    pub fn new(
        staff_move: &shopflow_ports::StaffMove,
        levels: &[StockLevel],
        event: &OutboxEvent,
        now_secs: u64,
    ) -> Result<Self, StoreError> {
        let (pk, sk) = idempotency_key(&staff_move.key);
        let PendingEvent {
            source,
            detail_type,
            detail,
        } = PendingEvent::from_event(event)?;
        let first = levels.first().copied().unwrap_or_default();
        Ok(Self {
            pk,
            sk,
            kind: Self::TYPE.into(),
            fingerprint: staff_move.fingerprint.clone(),
            on_hand: first.on_hand,
            reserved: first.reserved,
            set_aside: first.set_aside,
            backordered: first.backordered,
            to: levels.get(1).map(|level| {
                [
                    level.on_hand,
                    level.reserved,
                    level.set_aside,
                    level.backordered,
                ]
            }),
            source,
            detail_type,
            detail,
            ttl: now_secs + IDEMPOTENCY_TTL_SECS,
        })
    }

    /// Expiry is checked on read too: DynamoDB deletes expired items lazily.
    pub fn is_live(&self, now_secs: u64) -> bool {
        self.ttl > now_secs
    }

    /// The levels the move left, in the order of its warehouses.
    pub fn levels(&self) -> Vec<StockLevel> {
        let first = StockLevel {
            on_hand: self.on_hand,
            reserved: self.reserved,
            set_aside: self.set_aside,
            backordered: self.backordered,
        };
        std::iter::once(first)
            .chain(
                self.to
                    .map(|[on_hand, reserved, set_aside, backordered]| StockLevel {
                        on_hand,
                        reserved,
                        set_aside,
                        backordered,
                    }),
            )
            .collect()
    }
}

/// A backorder in its queue. gsi1 files it under its customer (by order,
/// then id), gsi2 under its id, for the reads, and gsi3 by where it
/// stands and since when, for the expirer and the metrics.
#[derive(Debug, Serialize, Deserialize)]
pub struct BackorderItem {
    pub pk: String,
    pub sk: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub gsi1pk: String,
    pub gsi1sk: String,
    pub gsi2pk: String,
    pub gsi2sk: String,
    #[serde(default)]
    pub gsi3pk: String,
    #[serde(default)]
    pub gsi3sk: String,
    pub id: BackorderId,
    pub order: OrderId,
    pub cust: CustomerId,
    pub sku: Sku,
    pub wh: WarehouseId,
    pub qty: u32,
    pub alloc: u32,
    pub st: BackorderStatus,
    pub prio: u8,
    pub at: Timestamp,
    pub eta: Timestamp,
    /// Unit price, minor units of `cur`.
    pub unit: i64,
    pub cur: Currency,
}

impl BackorderItem {
    pub const TYPE: &'static str = "backorder";

    pub fn into_backorder(self) -> Backorder {
        Backorder {
            id: self.id,
            order_id: self.order,
            customer_id: self.cust,
            sku: self.sku,
            warehouse: self.wh,
            quantity: self.qty,
            allocated: self.alloc,
            status: self.st,
            priority: self.prio,
            created_at: self.at,
            estimated_restock: self.eta,
            unit_price: Money {
                minor: self.unit,
                currency: self.cur,
            },
        }
    }

    pub fn from_backorder(backorder: &Backorder) -> Self {
        let (pk, sk) = backorder_key(backorder);
        Self {
            pk,
            sk,
            kind: Self::TYPE.into(),
            gsi1pk: customer_orders_partition(&backorder.customer_id),
            gsi1sk: format!(
                "{}{}",
                customer_backorders_prefix(Some(backorder.order_id)),
                backorder.id
            ),
            gsi2pk: backorder_by_id(backorder.id),
            gsi2sk: "BO".into(),
            gsi3pk: backorder_standing(backorder.status, backorder.id),
            gsi3sk: standing_sort(backorder.created_at, backorder.id),
            id: backorder.id,
            order: backorder.order_id,
            cust: backorder.customer_id.clone(),
            sku: backorder.sku.clone(),
            wh: backorder.warehouse.clone(),
            qty: backorder.quantity,
            alloc: backorder.allocated,
            st: backorder.status,
            prio: backorder.priority,
            at: backorder.created_at,
            eta: backorder.estimated_restock,
            unit: backorder.unit_price.minor,
            cur: backorder.unit_price.currency.clone(),
        }
    }
}

/// One applied status change of an order.
#[derive(Debug, Serialize, Deserialize)]
pub struct HistoryItem {
    pub pk: String,
    pub sk: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub at: Timestamp,
    /// States as [`write_state`] writes them.
    pub from: String,
    pub to: String,
    pub trigger: OrderTrigger,
    pub actor: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

impl HistoryItem {
    pub fn new(change: &shopflow_ports::StatusChange) -> Self {
        let (pk, sk) = history_key(change.order_id, change.event.id);
        Self {
            pk,
            sk,
            kind: "history".into(),
            at: change.at,
            from: write_state(change.from),
            to: write_state(change.to),
            trigger: change.trigger,
            actor: change.actor.clone(),
            reason: change.reason.clone(),
        }
    }

    pub fn into_entry(self) -> Result<HistoryEntry, StoreError> {
        Ok(HistoryEntry {
            at: self.at,
            from: read_state(&self.from)?,
            to: read_state(&self.to)?,
            trigger: self.trigger,
            actor: self.actor,
            reason: self.reason,
        })
    }
}

/// How long a consumer remembers an event it applied: longer than SQS keeps
/// a message (14 days) and the DLQ redrive window.
pub const APPLIED_EVENT_TTL_SECS: u64 = 30 * 24 * 60 * 60;

/// A consumer applied this event: written with the change it caused, so a
/// redelivery finds it and does nothing.
#[derive(Debug, Serialize, Deserialize)]
pub struct AppliedEventItem {
    pub pk: String,
    pub sk: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub at: Timestamp,
    pub ttl: u64,
}

impl AppliedEventItem {
    pub fn new(consumer: &str, event_id: &str, at: Timestamp) -> Self {
        Self {
            pk: format!("EVENT#{consumer}#{event_id}"),
            sk: "APPLIED".into(),
            kind: "applied_event".into(),
            at,
            ttl: at.as_secs() + APPLIED_EVENT_TTL_SECS,
        }
    }
}

/// Payment records sit under the order, after its `META` item, so one query
/// from `META` on reads the order with them (history, `HIST#`, sorts before).
pub const ORDER_RECORDS_FROM: &str = "META";

pub fn attempt_key(id: OrderId, attempt: &PaymentAttempt) -> (String, String) {
    let provider_id = match attempt {
        PaymentAttempt::Intent { intent_id, .. } => intent_id,
        PaymentAttempt::CheckoutSession { session_id, .. } => session_id,
    };
    (format!("ORDER#{id}"), format!("PAY#{provider_id}"))
}

pub fn refund_key(id: OrderId, refund_id: &str) -> (String, String) {
    (format!("ORDER#{id}"), format!("REFUND#{refund_id}"))
}

/// A way the customer was offered to pay for an order.
#[derive(Debug, Serialize, Deserialize)]
pub struct AttemptItem {
    pub pk: String,
    pub sk: String,
    #[serde(rename = "type")]
    pub kind: String,
    /// `intent` or `checkout_session`.
    pub via: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub intent: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<Timestamp>,
    pub at: Timestamp,
}

impl AttemptItem {
    pub const TYPE: &'static str = "payment_attempt";

    pub fn new(order: OrderId, attempt: &PaymentAttempt) -> Self {
        let (pk, sk) = attempt_key(order, attempt);
        let mut item = Self {
            pk,
            sk,
            kind: Self::TYPE.into(),
            via: String::new(),
            intent: None,
            session: None,
            url: None,
            expires_at: None,
            at: attempt.created_at(),
        };
        match attempt {
            PaymentAttempt::Intent { intent_id, .. } => {
                item.via = "intent".into();
                item.intent = Some(intent_id.clone());
            }
            PaymentAttempt::CheckoutSession {
                session_id,
                url,
                expires_at,
                ..
            } => {
                item.via = "checkout_session".into();
                item.session = Some(session_id.clone());
                item.url = Some(url.clone());
                item.expires_at = Some(*expires_at);
            }
        }
        item
    }

    pub fn into_attempt(self) -> Result<PaymentAttempt, StoreError> {
        let corrupt = |reason: &str| StoreError::Corrupt {
            entity: "payment attempt",
            reason: reason.into(),
        };
        match (
            self.via.as_str(),
            self.intent,
            self.session,
            self.url,
            self.expires_at,
        ) {
            ("intent", Some(intent_id), ..) => Ok(PaymentAttempt::Intent {
                intent_id,
                created_at: self.at,
            }),
            ("checkout_session", _, Some(session_id), Some(url), Some(expires_at)) => {
                Ok(PaymentAttempt::CheckoutSession {
                    session_id,
                    url,
                    expires_at,
                    created_at: self.at,
                })
            }
            _ => Err(corrupt("missing the fields its kind needs")),
        }
    }
}

/// A refund staff asked for.
#[derive(Debug, Serialize, Deserialize)]
pub struct RefundItem {
    pub pk: String,
    pub sk: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub id: String,
    pub amount: i64,
    pub reason: String,
    pub status: RefundStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure: Option<String>,
    pub by: String,
    pub at: Timestamp,
    pub fingerprint: String,
}

impl RefundItem {
    pub const TYPE: &'static str = "refund";

    pub fn new(order: OrderId, refund: &Refund) -> Self {
        let (pk, sk) = refund_key(order, &refund.id);
        Self {
            pk,
            sk,
            kind: Self::TYPE.into(),
            id: refund.id.clone(),
            amount: refund.amount_minor,
            reason: refund.reason.clone(),
            status: refund.status,
            provider_id: refund.provider_refund_id.clone(),
            failure: refund.failure.clone(),
            by: refund.requested_by.clone(),
            at: refund.requested_at,
            fingerprint: refund.request_fingerprint.clone(),
        }
    }

    pub fn into_refund(self) -> Refund {
        Refund {
            id: self.id,
            amount_minor: self.amount,
            reason: self.reason,
            status: self.status,
            provider_refund_id: self.provider_id,
            failure: self.failure,
            requested_by: self.by,
            requested_at: self.at,
            request_fingerprint: self.fingerprint,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use shopflow_domain::{CaptureState, ShippingAddress};

    fn order() -> Order {
        let eur = Currency::parse("EUR").unwrap();
        let money = |minor| Money::new(minor, eur.clone()).unwrap();
        Order {
            id: OrderId::from_ulid(Ulid::from_parts(1_700_000_000_000, 7)),
            customer_id: CustomerId::parse("cust-ada").unwrap(),
            status: OrderStatus::Confirmed,
            fulfillment_status: FulfillmentStatus::PartiallyShipped,
            currency: eur.clone(),
            lines: Vec::new(),
            totals: OrderTotals {
                subtotal: money(5_000),
                tax: money(0),
                shipping: money(0),
                grand_total: money(5_000),
            },
            email: Email::parse("ada@example.com").unwrap(),
            shipping_address: ShippingAddress {
                name: "Ada".into(),
                line1: "1 Way".into(),
                line2: None,
                city: "London".into(),
                region: None,
                postal_code: "N1".into(),
                country: "GB".into(),
            },
            created_at: Timestamp::from_millis(1_700_000_000_000),
            reservation_expires_at: Timestamp::from_millis(1_700_000_900_000),
            payment: Payment {
                intent_id: Some("pi_1".into()),
                status: CaptureState::Captured,
                authorized_minor: 5_000,
                captured_minor: 5_000,
                refunded_minor: 1_000,
                ..Payment::default()
            },
            version: 4,
        }
    }

    /// The item as the table returns it.
    fn stored(item: &OrderItem) -> OrderItem {
        let attributes: serde_dynamo::Item = serde_dynamo::to_item(item).unwrap();
        serde_dynamo::from_item(attributes).unwrap()
    }

    #[test]
    fn an_order_reads_back_with_its_three_states() {
        let order = order();
        let read = stored(&OrderItem::from_order(&order)).into_order().unwrap();
        assert_eq!(read, order);
        assert_eq!(
            read.state().payment_status,
            PaymentStatus::PartiallyRefunded
        );
    }

    #[test]
    fn an_unshipped_order_stores_no_fulfilment_attribute() {
        let order = Order {
            fulfillment_status: FulfillmentStatus::Unfulfilled,
            ..order()
        };
        let item = OrderItem::from_order(&order);
        assert_eq!(item.ful, None);
        assert_eq!(stored(&item).into_order().unwrap(), order);
    }

    #[test]
    fn an_order_stored_before_the_split_reads_with_its_meaning() {
        for (old, status, goods) in [
            (
                "paid",
                OrderStatus::Confirmed,
                FulfillmentStatus::Unfulfilled,
            ),
            (
                "payment_failed",
                OrderStatus::PendingPayment,
                FulfillmentStatus::Unfulfilled,
            ),
            (
                "partially_refunded",
                OrderStatus::Confirmed,
                FulfillmentStatus::Unfulfilled,
            ),
            (
                "shipped",
                OrderStatus::Confirmed,
                FulfillmentStatus::Shipped,
            ),
            (
                "delivered",
                OrderStatus::Completed,
                FulfillmentStatus::Delivered,
            ),
        ] {
            let mut item = OrderItem::from_order(&order());
            item.status = old.into();
            item.ful = None;
            let read = stored(&item).into_order().unwrap();
            assert_eq!(
                (read.status, read.fulfillment_status),
                (status, goods),
                "{old}"
            );
        }
        let mut unknown = OrderItem::from_order(&order());
        unknown.status = "lost".into();
        assert!(matches!(
            unknown.into_order(),
            Err(StoreError::Corrupt {
                entity: "order",
                ..
            })
        ));
    }

    #[test]
    fn history_states_read_back_and_old_entries_keep_their_meaning() {
        let state = order().state();
        assert_eq!(read_state(&write_state(state)).unwrap(), state);
        assert_eq!(
            write_state(state),
            "confirmed/partially_refunded/partially_shipped"
        );
        let old = read_state("payment_authorized").unwrap();
        assert_eq!(
            (old.status, old.payment_status),
            (OrderStatus::Confirmed, PaymentStatus::Authorized)
        );
        assert!(read_state("confirmed/paid").is_err());
        assert!(read_state("confirmed/paid/teleported").is_err());
    }
}

/// One allocation to a backorder: who gave it how many units, when and why.
/// It carries `backorder.allocated` or `backorder.fulfilled`.
#[derive(Debug, Serialize, Deserialize)]
pub struct AllocationItem {
    pub pk: String,
    pub sk: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub backorder: BackorderId,
    pub qty: u32,
    pub at: Timestamp,
    pub by: String,
    pub reason: String,
}

impl AllocationItem {
    pub fn into_record(self) -> shopflow_ports::AllocationRecord {
        shopflow_ports::AllocationRecord {
            backorder: self.backorder,
            units: self.qty,
            at: self.at,
            by: self.by,
            reason: self.reason,
        }
    }

    pub fn new(allocation: &shopflow_ports::BackorderAllocation) -> Self {
        Self {
            pk: allocations_partition(allocation.backorder.id),
            sk: allocation.record_id.to_string(),
            kind: "allocation".into(),
            backorder: allocation.backorder.id,
            qty: allocation.units,
            at: allocation.at,
            by: allocation.by.clone(),
            reason: allocation.reason.clone(),
        }
    }
}

/// One run of a scheduled job, kept 90 days.
#[derive(Debug, Serialize, Deserialize)]
pub struct JobRunItem {
    pub pk: String,
    pub sk: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub job: String,
    pub started_at: Timestamp,
    pub finished_at: Timestamp,
    #[serde(default)]
    pub seen: u64,
    #[serde(default)]
    pub found: u64,
    #[serde(default)]
    pub errors: u64,
    #[serde(default)]
    pub cut: bool,
    /// The job's report, as JSON.
    pub report: String,
    pub ttl: u64,
}

const JOB_RUN_TTL_SECS: u64 = 90 * 86_400;

pub fn job_runs_partition(job: &str) -> String {
    format!("JOBRUN#{job}")
}

impl JobRunItem {
    pub fn new(run: &shopflow_ports::JobRun) -> Self {
        Self {
            pk: job_runs_partition(&run.job),
            sk: run.id.to_string(),
            kind: "job_run".into(),
            job: run.job.clone(),
            started_at: run.started_at,
            finished_at: run.finished_at,
            seen: run.summary.seen,
            found: run.summary.found,
            errors: run.summary.errors,
            cut: run.summary.cut_short,
            report: run.report.to_string(),
            ttl: run.finished_at.as_secs() + JOB_RUN_TTL_SECS,
        }
    }

    pub fn into_run(self) -> Result<shopflow_ports::JobRun, StoreError> {
        Ok(shopflow_ports::JobRun {
            id: self.sk.parse().map_err(|_| StoreError::Corrupt {
                entity: "job run",
                reason: format!("sort key {:?} is not a ULID", self.sk),
            })?,
            job: self.job,
            started_at: self.started_at,
            finished_at: self.finished_at,
            summary: shopflow_ports::RunSummary {
                seen: self.seen,
                found: self.found,
                errors: self.errors,
                cut_short: self.cut,
            },
            report: serde_json::from_str(&self.report).map_err(|error| StoreError::Corrupt {
                entity: "job run",
                reason: error.to_string(),
            })?,
        })
    }
}

/// A change of a backorder's priority: who, why, when, from and to;
/// carries `backorder.priority_changed`.
#[derive(Debug, Serialize, Deserialize)]
pub struct PriorityChangeItem {
    pub pk: String,
    pub sk: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub backorder: BackorderId,
    pub from: u8,
    pub to: u8,
    pub at: Timestamp,
    pub by: String,
    pub reason: String,
}

/// Where a backorder's priority changes are kept.
pub fn priority_changes_partition(id: BackorderId) -> String {
    format!("BOPRIO#{id}")
}

impl PriorityChangeItem {
    pub fn into_change(self) -> shopflow_ports::PriorityChange {
        shopflow_ports::PriorityChange {
            from: self.from,
            to: self.to,
            at: self.at,
            by: self.by,
            reason: self.reason,
        }
    }

    pub fn new(reprioritization: &shopflow_ports::Reprioritization) -> Self {
        let change = reprioritization.change();
        Self {
            pk: priority_changes_partition(reprioritization.before.id),
            sk: reprioritization.record_id.to_string(),
            kind: "priority_change".into(),
            backorder: reprioritization.before.id,
            from: change.from,
            to: change.to,
            at: change.at,
            by: change.by,
            reason: change.reason,
        }
    }
}

/// Where an order's shipments are kept: under the order, sorted before
/// its `META` item, so the order's payment records (read from `META` on)
/// never read them too.
pub fn shipment_key(order: OrderId, id: ShipmentId) -> (String, String) {
    (format!("ORDER#{order}"), format!("{SHIPMENTS_PREFIX}{id}"))
}

/// The sort-key prefix of an order's shipments.
pub const SHIPMENTS_PREFIX: &str = "DELIVERY#";

/// gsi2: a shipment's tracking item under the shipment's id.
pub fn shipment_by_id(id: ShipmentId) -> String {
    format!("SHIP#{id}")
}

/// The partition of a carrier's parcel: its tracking item, and its place
/// in the polling schedule when the carrier is polled.
pub fn tracking_partition(carrier: Carrier, number: &TrackingNumber) -> String {
    format!("TRACK#{carrier}#{number}")
}

/// gsi1: a polled carrier's parcels in flight, by when each is next due.
pub fn polling_schedule(carrier: Carrier) -> String {
    format!("POLL#{carrier}")
}

/// gsi1's sort key in a polling schedule: when the parcel is due, in
/// zero-padded milliseconds, then its number.
pub fn poll_due(at: Timestamp, number: &TrackingNumber) -> String {
    format!("{:015}#{number}", at.as_millis())
}

/// One of a carrier's events on its shipment, in short names.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EventAttr {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    pub c: String,
    pub d: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub loc: Option<String>,
    pub at: Timestamp,
    pub st: TrackingStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub raw: Option<String>,
}

impl EventAttr {
    fn new(event: &TrackingEvent) -> Self {
        Self {
            id: event.carrier_event_id.clone(),
            c: event.code.clone(),
            d: event.description.clone(),
            loc: event.location.clone(),
            at: event.occurred_at,
            st: event.status,
            raw: event.raw_ref.clone(),
        }
    }

    fn into_event(self) -> TrackingEvent {
        TrackingEvent {
            carrier_event_id: self.id,
            code: self.c,
            description: self.d,
            location: self.loc,
            occurred_at: self.at,
            status: self.st,
            raw_ref: self.raw,
        }
    }
}

/// The events of a journey as a shipment item keeps them.
pub fn journey_attr(journey: &Journey) -> Vec<EventAttr> {
    journey.events().iter().map(EventAttr::new).collect()
}

/// A shipment, under its order, with its carrier's events on it: one item
/// to read for the timeline, and one conditional write per report.
#[derive(Debug, Serialize, Deserialize)]
pub struct ShipmentItem {
    pub pk: String,
    pub sk: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub id: ShipmentId,
    pub order: OrderId,
    pub cust: CustomerId,
    pub wh: WarehouseId,
    pub carrier: Carrier,
    pub tn: TrackingNumber,
    pub lines: Vec<ShippedLine>,
    /// The status its events add up to, kept for readers of the raw table.
    pub st: TrackingStatus,
    pub at: Timestamp,
    pub by: String,
    #[serde(default)]
    pub ev: Vec<EventAttr>,
    pub version: u64,
}

impl ShipmentItem {
    pub const TYPE: &'static str = "shipment";

    pub fn new(shipment: &Shipment) -> Self {
        let (pk, sk) = shipment_key(shipment.order_id, shipment.id);
        Self {
            pk,
            sk,
            kind: Self::TYPE.into(),
            id: shipment.id,
            order: shipment.order_id,
            cust: shipment.customer_id.clone(),
            wh: shipment.warehouse.clone(),
            carrier: shipment.carrier,
            tn: shipment.tracking_number.clone(),
            lines: shipment.lines.clone(),
            st: shipment.status(),
            at: shipment.created_at,
            by: shipment.created_by.clone(),
            ev: journey_attr(&shipment.journey),
            version: shipment.version,
        }
    }

    pub fn into_shipment(self) -> Shipment {
        Shipment {
            id: self.id,
            order_id: self.order,
            customer_id: self.cust,
            warehouse: self.wh,
            carrier: self.carrier,
            tracking_number: self.tn,
            lines: self.lines,
            journey: Journey::of(self.ev.into_iter().map(EventAttr::into_event).collect()),
            created_at: self.at,
            created_by: self.by,
            version: self.version,
        }
    }
}

/// A carrier's tracking number, claimed by one shipment: how a carrier's
/// report finds its shipment, (gsi2) how a shipment id finds its order,
/// and (gsi3) where the shipment stands, while it is not delivered. It is
/// small and rarely rewritten, so the indexes cost little.
#[derive(Debug, Serialize, Deserialize)]
pub struct TrackingItem {
    pub pk: String,
    pub sk: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub gsi2pk: String,
    pub gsi2sk: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gsi3pk: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gsi3sk: Option<String>,
    pub order: OrderId,
    pub ship: ShipmentId,
}

impl TrackingItem {
    pub const SORT: &'static str = "TRACK";

    pub fn new(shipment: &Shipment) -> Self {
        let standing = ShipmentStanding::of(shipment.status());
        Self {
            pk: tracking_partition(shipment.carrier, &shipment.tracking_number),
            sk: Self::SORT.into(),
            kind: "tracking".into(),
            gsi2pk: shipment_by_id(shipment.id),
            gsi2sk: "SHIP".into(),
            gsi3pk: standing.map(|standing| shipment_standing(standing, shipment.id)),
            gsi3sk: standing.map(|_| shipment_standing_sort(shipment)),
            order: shipment.order_id,
            ship: shipment.id,
        }
    }
}

/// gsi3: shipments by where they stand, spread over the status shards by
/// their id's random bits.
pub fn shipment_standing(standing: ShipmentStanding, id: ShipmentId) -> String {
    let shard = id.as_ulid().random() % u128::from(shopflow_ports::STATUS_SHARDS);
    shipment_standing_named(standing, u8::try_from(shard).unwrap_or(0))
}

/// The standing partition of `standing` in `shard`.
pub fn shipment_standing_named(standing: ShipmentStanding, shard: u8) -> String {
    format!("SHIPSTANDING#{}#{shard}", standing.as_str())
}

/// gsi3's sort key for a shipment: when it was made, then its id.
pub fn shipment_standing_sort(shipment: &Shipment) -> String {
    format!("{:015}#{}", shipment.created_at.as_millis(), shipment.id)
}

/// A polled carrier's parcel in flight, in its carrier's schedule (gsi1)
/// by when it is next due. Small on purpose: it is rewritten every poll.
#[derive(Debug, Serialize, Deserialize)]
pub struct PollItem {
    pub pk: String,
    pub sk: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub gsi1pk: String,
    pub gsi1sk: String,
    pub carrier: Carrier,
    pub tn: TrackingNumber,
    pub order: OrderId,
    pub ship: ShipmentId,
}

impl PollItem {
    pub const SORT: &'static str = "POLL";

    /// `shipment` due at `due`.
    pub fn new(shipment: &Shipment, due: Timestamp) -> Self {
        Self {
            pk: tracking_partition(shipment.carrier, &shipment.tracking_number),
            sk: Self::SORT.into(),
            kind: "poll".into(),
            gsi1pk: polling_schedule(shipment.carrier),
            gsi1sk: poll_due(due, &shipment.tracking_number),
            carrier: shipment.carrier,
            tn: shipment.tracking_number.clone(),
            order: shipment.order_id,
            ship: shipment.id,
        }
    }
}

/// What a fulfilment's idempotency key remembers: the request, and the
/// shipment it made.
#[derive(Debug, Serialize, Deserialize)]
pub struct FulfilmentReceiptItem {
    pub pk: String,
    pub sk: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub fingerprint: String,
    pub order: OrderId,
    pub ship: ShipmentId,
    pub ttl: u64,
}

impl FulfilmentReceiptItem {
    pub fn new(fulfilment: &shopflow_ports::Fulfilment, now_secs: u64) -> Self {
        let (pk, sk) = idempotency_key(&fulfilment.key);
        Self {
            pk,
            sk,
            kind: "fulfilment_receipt".into(),
            fingerprint: fulfilment.fingerprint.clone(),
            order: fulfilment.shipment.order_id,
            ship: fulfilment.shipment.id,
            ttl: now_secs + IDEMPOTENCY_TTL_SECS,
        }
    }

    /// The receipt, unless it expired (DynamoDB deletes expired items lazily).
    pub fn into_live_receipt(self, now_secs: u64) -> Option<shopflow_ports::FulfilmentReceipt> {
        (self.ttl > now_secs).then_some(shopflow_ports::FulfilmentReceipt {
            fingerprint: self.fingerprint,
            order_id: self.order,
            shipment_id: self.ship,
        })
    }
}

/// Where a small raw payload is kept.
pub fn raw_payload_key(id: Ulid) -> (String, String) {
    (format!("RAW#{id}"), "RAW".to_owned())
}

/// A sequence's counter: the last number issued in it.
pub fn sequence_key(sequence: Sequence) -> (String, String) {
    (format!("SEQ#{sequence}"), "SEQ".to_owned())
}

pub fn invoice_key(id: InvoiceId) -> (String, String) {
    (format!("INVOICE#{id}"), "INVOICE".to_owned())
}

/// gsi2: every invoice and credit note, by id (so by when it was made),
/// for staff listings, spread over the status shards by the id's random
/// bits so that no one partition takes every invoice's writes.
pub fn all_invoices_partition(shard: u8) -> String {
    format!("INVOICES#{shard}")
}

/// gsi1: a customer's invoices sort under `INVOICE#`, beside their orders.
pub fn customer_invoice_sort(id: InvoiceId) -> String {
    format!("INVOICE#{id}")
}

/// What an invoice or credit note answers, under its order and sorted
/// before the order's `META` item, so reads of the order's payment records
/// (from `META` on) never read it: `INVOICE` for the order's invoice,
/// `INVOICE#CN#<refunds so far, 15 digits>` for the credit note that
/// credits them.
pub fn invoice_claim_key(claim: Claim) -> (String, String) {
    match claim {
        Claim::Invoice(order) => (order_key(order).0, INVOICE_CLAIMS.to_owned()),
        Claim::Refunds {
            order,
            refunded_minor,
        } => (
            order_key(order).0,
            format!("{INVOICE_CLAIMS}#CN#{refunded_minor:015}"),
        ),
    }
}

/// Every claim of an order's documents starts so: the invoice's first.
pub const INVOICE_CLAIMS: &str = "INVOICE";

pub fn payment_record_key(id: Ulid) -> (String, String) {
    (format!("PAYREC#{id}"), "PAYREC".to_owned())
}

/// The last number issued in a sequence; every issue moves it on from the
/// number it read.
#[derive(Debug, Serialize, Deserialize)]
pub struct SequenceItem {
    pub pk: String,
    pub sk: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub last: u64,
}

impl SequenceItem {
    pub const TYPE: &'static str = "invoice_sequence";

    /// `number` is the first issued in its sequence.
    pub fn first(number: InvoiceNumber) -> Self {
        let (pk, sk) = sequence_key(number.sequence);
        Self {
            pk,
            sk,
            kind: Self::TYPE.into(),
            last: number.number,
        }
    }
}

/// A billed item, in short names.
#[derive(Debug, Serialize, Deserialize)]
pub struct InvoiceLineAttr {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sku: Option<Sku>,
    pub d: String,
    pub qty: u32,
    pub unit: i64,
    pub total: i64,
}

/// gsi3: the open invoices (issued or partly paid: money still owed), by
/// when they fall due, spread over the status shards by their id's random
/// bits.
pub fn open_invoices_partition(shard: u8) -> String {
    format!("INVOPEN#{shard}")
}

/// gsi3's sort key for an open invoice: when it falls due, in zero-padded
/// milliseconds, then its id.
pub fn open_invoice_sort(due_at: Timestamp, id: InvoiceId) -> String {
    format!("{:015}#{id}", due_at.as_millis())
}

/// The first sort key of gsi3's open invoices due at `at` or later: every
/// key below it is due strictly before `at`.
pub fn open_invoices_due_from(at: Timestamp) -> String {
    format!("{:015}", at.as_millis())
}

/// Where `invoice` sits in the open invoices (gsi3), while money is owed on
/// it; a paid, void or draft invoice, or a credit note, sits nowhere.
pub fn open_invoice_keys(invoice: &Invoice) -> Option<(String, String)> {
    let due_at = invoice.due_at.filter(|_| invoice.open_minor() > 0)?;
    Some((
        open_invoices_partition(shopflow_ports::invoice_shard(invoice.id)),
        open_invoice_sort(due_at, invoice.id),
    ))
}

/// An invoice, (gsi1) where its customer's invoices are listed, (gsi2)
/// where all are, and (gsi3)
/// where the open ones are found by due date. Issued once; what is paid is
/// allocated to it later, on the version read.
#[derive(Debug, Serialize, Deserialize)]
pub struct InvoiceItem {
    pub pk: String,
    pub sk: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub gsi1pk: String,
    pub gsi1sk: String,
    /// Every invoice, by id: see [`all_invoices_partition`]. Absent on an invoice
    /// written before the listing existed, until its next update sets it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gsi2pk: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gsi2sk: Option<String>,
    /// Only while it is open: see [`open_invoice_keys`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gsi3pk: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gsi3sk: Option<String>,
    pub id: InvoiceId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub number: Option<InvoiceNumber>,
    /// A credit note's invoice.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credits: Option<Credited>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order: Option<OrderId>,
    pub cust: CustomerId,
    pub seller: Party,
    pub buyer: Party,
    pub currency: Currency,
    pub lines: Vec<InvoiceLineAttr>,
    pub subtotal: i64,
    pub tax: i64,
    pub shipping: i64,
    pub total: i64,
    pub status: InvoiceStatus,
    pub paid: i64,
    pub created_at: Timestamp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issued_at: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub due_at: Option<Timestamp>,
    /// Why, when and by whom it was voided (reason, at, by), once it is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub voided: Option<Voiding>,
    /// Overdue reminders sent (none when absent).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub rem: u32,
    pub version: u64,
}

impl InvoiceItem {
    pub const TYPE: &'static str = "invoice";

    pub fn new(invoice: &Invoice) -> Self {
        let (pk, sk) = invoice_key(invoice.id);
        let totals = invoice.totals;
        let (gsi3pk, gsi3sk) = open_invoice_keys(invoice).unzip();
        Self {
            pk,
            sk,
            kind: Self::TYPE.into(),
            gsi1pk: customer_orders_partition(&invoice.customer_id),
            gsi1sk: customer_invoice_sort(invoice.id),
            gsi2pk: Some(all_invoices_partition(shopflow_ports::invoice_shard(
                invoice.id,
            ))),
            gsi2sk: Some(invoice.id.to_string()),
            gsi3pk,
            gsi3sk,
            id: invoice.id,
            number: invoice.number,
            credits: invoice.credits,
            order: invoice.order_id,
            cust: invoice.customer_id.clone(),
            seller: invoice.seller.clone(),
            buyer: invoice.buyer.clone(),
            currency: invoice.currency.clone(),
            lines: invoice
                .lines
                .iter()
                .map(|line| InvoiceLineAttr {
                    sku: line.sku.clone(),
                    d: line.description.clone(),
                    qty: line.quantity,
                    unit: line.unit_price_minor,
                    total: line.total_minor,
                })
                .collect(),
            subtotal: totals.subtotal_minor,
            tax: totals.tax_minor,
            shipping: totals.shipping_minor,
            total: totals.total_minor,
            status: invoice.status,
            paid: invoice.paid_minor,
            created_at: invoice.created_at,
            issued_at: invoice.issued_at,
            due_at: invoice.due_at,
            voided: invoice.voided.clone(),
            rem: invoice.reminders_sent,
            version: invoice.version,
        }
    }

    pub fn into_invoice(self) -> Invoice {
        Invoice {
            id: self.id,
            number: self.number,
            credits: self.credits,
            order_id: self.order,
            customer_id: self.cust,
            seller: self.seller,
            buyer: self.buyer,
            currency: self.currency,
            lines: self
                .lines
                .into_iter()
                .map(|line| InvoiceLine {
                    sku: line.sku,
                    description: line.d,
                    quantity: line.qty,
                    unit_price_minor: line.unit,
                    total_minor: line.total,
                })
                .collect(),
            totals: InvoiceTotals {
                subtotal_minor: self.subtotal,
                tax_minor: self.tax,
                shipping_minor: self.shipping,
                total_minor: self.total,
            },
            status: self.status,
            paid_minor: self.paid,
            created_at: self.created_at,
            issued_at: self.issued_at,
            due_at: self.due_at,
            voided: self.voided,
            reminders_sent: self.rem,
            version: self.version,
        }
    }
}

/// An order's claim on its invoice: written with the invoice, only if the
/// order has none, so an order is invoiced once.
#[derive(Debug, Serialize, Deserialize)]
pub struct InvoiceClaimItem {
    pub pk: String,
    pub sk: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub invoice: InvoiceId,
}

impl InvoiceClaimItem {
    pub const TYPE: &'static str = "invoice_claim";

    pub fn new(claim: Claim, invoice: InvoiceId) -> Self {
        let (pk, sk) = invoice_claim_key(claim);
        Self {
            pk,
            sk,
            kind: Self::TYPE.into(),
            invoice,
        }
    }
}

/// A share of a payment given to one invoice, in short names.
#[derive(Debug, Serialize, Deserialize)]
pub struct AllocationAttr {
    pub inv: InvoiceId,
    pub amt: i64,
}

/// Money received, and the invoices it was allocated to.
#[derive(Debug, Serialize, Deserialize)]
pub struct PaymentRecordItem {
    pub pk: String,
    pub sk: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub id: Ulid,
    pub method: PaymentMethod,
    pub amount: i64,
    pub currency: Currency,
    #[serde(rename = "ref")]
    pub reference: String,
    pub at: Timestamp,
    pub alloc: Vec<AllocationAttr>,
}

impl PaymentRecordItem {
    pub const TYPE: &'static str = "payment_record";

    pub fn new(record: &PaymentRecord) -> Self {
        let (pk, sk) = payment_record_key(record.id);
        Self {
            pk,
            sk,
            kind: Self::TYPE.into(),
            id: record.id,
            method: record.method,
            amount: record.amount_minor,
            currency: record.currency.clone(),
            reference: record.reference.clone(),
            at: record.received_at,
            alloc: record
                .allocations
                .iter()
                .map(|allocation| AllocationAttr {
                    inv: allocation.invoice_id,
                    amt: allocation.amount_minor,
                })
                .collect(),
        }
    }

    pub fn into_record(self) -> PaymentRecord {
        PaymentRecord {
            id: self.id,
            method: self.method,
            amount_minor: self.amount,
            currency: self.currency,
            reference: self.reference,
            received_at: self.at,
            allocations: self
                .alloc
                .into_iter()
                .map(|allocation| PaymentAllocation {
                    invoice_id: allocation.inv,
                    amount_minor: allocation.amt,
                })
                .collect(),
        }
    }
}

/// What an idempotency key of invoices-api remembers: the request, the
/// invoice it made (a manual draft) or paid, and the payment record it made.
#[derive(Debug, Serialize, Deserialize)]
pub struct InvoiceReceiptItem {
    pub pk: String,
    pub sk: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub fingerprint: String,
    pub invoice: InvoiceId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment: Option<Ulid>,
    pub ttl: u64,
}

impl InvoiceReceiptItem {
    pub const TYPE: &'static str = "invoice_receipt";

    /// The receipt of a payment, naming the first invoice it paid.
    pub fn for_payment(
        write: &shopflow_ports::InvoicePayment,
        now_secs: u64,
    ) -> Result<Self, StoreError> {
        let first = write.invoices.first().ok_or_else(|| StoreError::Corrupt {
            entity: "invoice payment",
            reason: "allocated to no invoice".into(),
        })?;
        Ok(Self::new(
            &write.key,
            &write.fingerprint,
            first.id,
            Some(write.payment.id),
            now_secs,
        ))
    }

    pub fn new(
        key: &shopflow_ports::IdempotencyKey,
        fingerprint: &str,
        invoice: InvoiceId,
        payment: Option<Ulid>,
        now_secs: u64,
    ) -> Self {
        let (pk, sk) = idempotency_key(key);
        Self {
            pk,
            sk,
            kind: Self::TYPE.into(),
            fingerprint: fingerprint.to_owned(),
            invoice,
            payment,
            ttl: now_secs + IDEMPOTENCY_TTL_SECS,
        }
    }

    /// The receipt, unless it expired (DynamoDB deletes expired items lazily).
    pub fn into_live_receipt(self, now_secs: u64) -> Option<shopflow_ports::InvoiceReceipt> {
        (self.ttl > now_secs).then_some(shopflow_ports::InvoiceReceipt {
            fingerprint: self.fingerprint,
            invoice_id: self.invoice,
            payment_id: self.payment,
        })
    }
}
