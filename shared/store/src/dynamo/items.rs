//! Keys and item shapes of the single table. Attribute names are short on
//! purpose: item size is what DynamoDB bills (see docs/cost-model.md).

use crate::{CheckoutReceipt, HistoryEntry, OutboxEvent, StoreError};
use serde::{Deserialize, Serialize};
use shopflow_domain::OrderTrigger;
use shopflow_domain::events::EventEnvelope;
use shopflow_domain::{
    Currency, CustomerId, Email, Money, Order, OrderId, OrderLine, OrderStatus, OrderTotals,
    Payment, PaymentAttempt, PaymentStatus, Product, Quantity, Refund, RefundStatus,
    ShippingAddress, Sku, StockLevel, Timestamp, WarehouseId,
};
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
    u8::try_from(id.as_ulid().random() % u128::from(crate::STATUS_SHARDS)).unwrap_or(0)
}

/// gsi2: every order sits under its current status.
pub fn status_partition(status: OrderStatus, shard: u8) -> String {
    format!("STATUS#{}#{shard}", status.as_str())
}

/// Zero-padded milliseconds, so the sort key orders by time: when an unpaid
/// order's reservation lapses, or when any other order reached its status.
pub fn status_sort(at: Timestamp, id: OrderId) -> String {
    format!("{:015}#{id}", at.as_millis())
}

/// The time an order is filed under in the status index.
pub fn status_index_time(
    status: OrderStatus,
    reservation_expires_at: Timestamp,
    status_at: Timestamp,
) -> Timestamp {
    if status.holds_unpaid_reservation() {
        reservation_expires_at
    } else {
        status_at
    }
}

pub fn history_key(id: OrderId, entry: Ulid) -> (String, String) {
    (format!("ORDER#{id}"), format!("HIST#{entry}"))
}

pub fn idempotency_key(key: &crate::IdempotencyKey) -> (String, String) {
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
/// `on_hand - reserved` by every update, because a condition expression
/// cannot do arithmetic and reservations are conditional on it.
#[derive(Debug, Serialize, Deserialize)]
pub struct StockItem {
    pub sku: Sku,
    pub warehouse: WarehouseId,
    pub on_hand: u32,
    pub reserved: u32,
}

impl StockItem {
    pub fn level(&self) -> StockLevel {
        StockLevel {
            on_hand: self.on_hand,
            reserved: self.reserved,
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
    pub status: OrderStatus,
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
    pub st: PaymentStatus,
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
                status_index_time(order.status, order.reservation_expires_at, order.created_at),
                order.id,
            )),
            id: order.id,
            customer: order.customer_id.clone(),
            status: order.status,
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
                })
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        let totals = OrderTotals {
            subtotal: money(self.subtotal)?,
            tax: money(self.tax)?,
            shipping: money(self.shipping)?,
            grand_total: money(self.grand_total)?,
        };
        Ok(Order {
            id: self.id,
            customer_id: self.customer,
            status: self.status,
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

    /// The bus entry for a new item image from the table's stream, or `None`
    /// when the item carries no event. An outbox item that cannot be read is
    /// an error, so the relay hands it back rather than dropping it.
    pub fn bus_entry_from_image(
        image: serde_dynamo::Item,
    ) -> Result<Option<crate::BusEntry>, StoreError> {
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
        Ok(Some(crate::BusEntry {
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
        key: &crate::IdempotencyKey,
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

/// One applied status change of an order.
#[derive(Debug, Serialize, Deserialize)]
pub struct HistoryItem {
    pub pk: String,
    pub sk: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub at: Timestamp,
    pub from: OrderStatus,
    pub to: OrderStatus,
    pub trigger: OrderTrigger,
    pub actor: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

impl HistoryItem {
    pub fn new(change: &crate::StatusChange) -> Self {
        let (pk, sk) = history_key(change.order_id, change.event.id);
        Self {
            pk,
            sk,
            kind: "history".into(),
            at: change.at,
            from: change.from,
            to: change.to,
            trigger: change.trigger,
            actor: change.actor.clone(),
            reason: change.reason.clone(),
        }
    }

    pub fn into_entry(self) -> HistoryEntry {
        HistoryEntry {
            at: self.at,
            from: self.from,
            to: self.to,
            trigger: self.trigger,
            actor: self.actor,
            reason: self.reason,
        }
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
