//! The events shopflow publishes, and the envelope every one travels in.
//! Each detail-type has a JSON Schema in `events/` that these shapes must match.

use crate::backorder::{Backorder, BackorderId, BackorderStatus};
use crate::ids::{CustomerId, OrderId, Sku, WarehouseId};
use crate::inventory::AdjustReason;
use crate::invoice::{Credited, Invoice, InvoiceId, InvoiceNumber, Reminder};
use crate::movement::MovementCause;
use crate::order::Order;
use crate::payment::{PaymentOutcome, PaymentReport};
use crate::shipment::{Shipment, ShipmentId, ShippedLine};
use crate::status::{OrderState, OrderTrigger};
use crate::time::Timestamp;
use crate::tracking::{Carrier, TrackingNumber, TrackingStatus};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum DomainEvent {
    OrderCreated(OrderCreated),
    OrderStatusChanged(OrderStatusChanged),
    InventoryRestocked(InventoryRestocked),
    InventoryAdjusted(InventoryAdjusted),
    InventoryTransferred(InventoryTransferred),
    InventoryLowStock(InventoryLowStock),
    InventoryAvailableAgain(InventoryAvailableAgain),
    InventoryBackInStock(InventoryBackInStock),
    BackorderMoved(BackorderMoved),
    AllocationRequested(AllocationRequested),
    PaymentReported(PaymentReported),
    RefundRequired(RefundRequired),
    ShipmentMoved(ShipmentMoved),
    InvoiceMoved(InvoiceMoved),
}

impl DomainEvent {
    /// EventBridge `detail-type`.
    pub fn detail_type(&self) -> &'static str {
        match self {
            Self::OrderCreated(_) => "order.created",
            Self::OrderStatusChanged(change) => change.trigger.event_name(),
            Self::InventoryRestocked(_) => "inventory.restocked",
            Self::InventoryAdjusted(_) => "inventory.adjusted",
            Self::InventoryTransferred(_) => "inventory.transferred",
            Self::InventoryLowStock(_) => "inventory.low_stock",
            Self::InventoryAvailableAgain(_) => "inventory.available_again",
            Self::InventoryBackInStock(_) => "inventory.back_in_stock",
            Self::BackorderMoved(moved) => moved.kind.detail_type(),
            Self::AllocationRequested(_) => "backorder.allocation_requested",
            Self::PaymentReported(payment) => payment.outcome.detail_type(),
            Self::RefundRequired(_) => "payment.refund_required",
            Self::ShipmentMoved(moved) => moved.kind.detail_type(),
            Self::InvoiceMoved(moved) => moved.kind.detail_type(),
        }
    }

    /// EventBridge `source`: `shopflow.<area>`.
    pub fn source(&self) -> &'static str {
        match self {
            Self::OrderCreated(_) | Self::OrderStatusChanged(_) | Self::RefundRequired(_) => {
                "shopflow.orders"
            }
            Self::InventoryRestocked(_)
            | Self::InventoryAdjusted(_)
            | Self::InventoryTransferred(_)
            | Self::InventoryLowStock(_)
            | Self::InventoryAvailableAgain(_)
            | Self::InventoryBackInStock(_)
            | Self::BackorderMoved(_)
            | Self::AllocationRequested(_) => "shopflow.inventory",
            Self::PaymentReported(_) => "shopflow.payments",
            Self::ShipmentMoved(_) => "shopflow.fulfillment",
            Self::InvoiceMoved(_) => "shopflow.billing",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OrderCreated {
    pub order_id: OrderId,
    pub customer_id: CustomerId,
    pub status: &'static str,
    pub fulfillment_status: &'static str,
    pub currency: String,
    pub grand_total_minor: i64,
    pub email: String,
    pub lines: Vec<PlacedLine>,
    pub reservation_expires_at: String,
}

/// A line as checkout placed it: `quantity` units, `backordered` of them
/// waiting in the warehouse's backorder queue, the rest reserved.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PlacedLine {
    pub sku: Sku,
    pub quantity: u32,
    pub warehouse: WarehouseId,
    pub backordered: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReservedLine {
    pub sku: Sku,
    pub quantity: u32,
    pub warehouse: WarehouseId,
}

impl From<&Order> for OrderCreated {
    fn from(order: &Order) -> Self {
        Self {
            order_id: order.id,
            customer_id: order.customer_id.clone(),
            status: order.status.as_str(),
            fulfillment_status: order.fulfillment_status.as_str(),
            currency: order.currency.to_string(),
            grand_total_minor: order.totals.grand_total.minor,
            email: order.email.as_str().to_owned(),
            lines: order
                .lines
                .iter()
                .map(|line| PlacedLine {
                    sku: line.sku.clone(),
                    quantity: line.quantity.get(),
                    warehouse: line.warehouse.clone(),
                    backordered: line.backordered(),
                })
                .collect(),
            reservation_expires_at: order.reservation_expires_at.to_rfc3339(),
        }
    }
}

/// Something moved an order: its lifecycle, money or goods, as `from` and
/// `to` show. The detail-type names what moved it (`order.paid`,
/// `order.cancelled`, `order.shipped`, …).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OrderStatusChanged {
    pub order_id: OrderId,
    pub customer_id: CustomerId,
    pub from: OrderState,
    pub to: OrderState,
    pub trigger: OrderTrigger,
    pub actor: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Reserved units handed back to stock by this change.
    pub released: Vec<ReservedLine>,
}

/// Units received into a warehouse, and how many of them were set aside for
/// its backorder queue in the same write. Consumers read current levels
/// themselves: the stock item is the truth, the event is the nudge.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InventoryRestocked {
    pub sku: Sku,
    pub warehouse: WarehouseId,
    pub received: u32,
    pub set_aside: u32,
}

/// Staff corrected a warehouse's count. Units found went to its backorder
/// queue first (`set_aside`); units written off were ones nobody held.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InventoryAdjusted {
    pub sku: Sku,
    pub warehouse: WarehouseId,
    /// Signed: units found are positive, units written off negative.
    pub delta: i64,
    pub reason: AdjustReason,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    pub set_aside: u32,
    pub on_hand: u32,
    pub available: u32,
    pub adjusted_by: CustomerId,
}

/// Units nobody held moved from one warehouse to another, at once; at
/// `to` its backorder queue took what it was owed first (`set_aside`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InventoryTransferred {
    pub sku: Sku,
    pub from: WarehouseId,
    pub to: WarehouseId,
    pub quantity: u32,
    pub set_aside: u32,
    pub transferred_by: CustomerId,
}

/// A warehouse that had no unit free for sale has some again: the nudge
/// that sends the SKU's waitlist its news.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InventoryAvailableAgain {
    pub sku: Sku,
    pub warehouse: WarehouseId,
    pub available: u32,
    /// The change that freed them.
    pub cause: MovementCause,
    /// The stock level's version that change made.
    pub version: u64,
}

/// A SKU is back in stock: one page of the addresses that waited for it,
/// each told once and taken off the list, with its unsubscribe token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InventoryBackInStock {
    pub sku: Sku,
    pub name: String,
    pub subscribers: Vec<BackInStockSubscriber>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BackInStockSubscriber {
    pub email: String,
    /// For `GET /v1/waitlist/unsubscribe?token=`: signed, expiring.
    pub unsubscribe_token: String,
}

/// A warehouse's available units fell to its low-stock threshold or
/// below: raised once per fall, armed again when they rise above it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InventoryLowStock {
    pub sku: Sku,
    pub warehouse: WarehouseId,
    pub threshold: u32,
    pub available: u32,
    pub on_hand: u32,
    pub reserved: u32,
    pub set_aside: u32,
    /// The change that made it low.
    pub cause: MovementCause,
    /// The stock level's version that change made.
    pub version: u64,
}

/// Staff asked for the units set aside for a queue to be allocated now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AllocationRequested {
    pub sku: Sku,
    pub warehouse: WarehouseId,
    pub requested_by: String,
}

/// What happened to a backorder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BackorderMove {
    Created,
    /// Units allocated; some still wait.
    Allocated,
    /// Its last units allocated.
    Fulfilled,
    Cancelled,
    /// Staff moved it up or down the queue.
    PriorityChanged,
}

impl BackorderMove {
    pub fn detail_type(self) -> &'static str {
        match self {
            Self::Created => "backorder.created",
            Self::Allocated => "backorder.allocated",
            Self::Fulfilled => "backorder.fulfilled",
            Self::Cancelled => "backorder.cancelled",
            Self::PriorityChanged => "backorder.priority_changed",
        }
    }
}

/// A backorder created, or taken out of the queue, as it stands after.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BackorderMoved {
    #[serde(skip)]
    pub kind: BackorderMove,
    pub backorder_id: BackorderId,
    pub order_id: OrderId,
    pub customer_id: CustomerId,
    pub sku: Sku,
    pub warehouse: WarehouseId,
    pub quantity: u32,
    pub allocated: u32,
    pub status: BackorderStatus,
    pub priority: u8,
    pub estimated_restock: String,
    /// Units this move took out of the queue (a cancellation).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub units_cancelled: Option<u32>,
    /// Units this move allocated (an allocation).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub units_allocated: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Its priority before staff changed it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub priority_before: Option<u8>,
    /// What a cancellation gives back, held on the order for payment-actions.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refund: Option<BackorderRefund>,
}

/// The refund a backorder's cancellation asks for: the order's refund
/// record `refund_id`, its amount and the shares the rule computed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BackorderRefund {
    pub refund_id: String,
    pub currency: String,
    #[serde(flatten)]
    pub shares: crate::CancelRefund,
}

impl BackorderMoved {
    /// `backorder` as it is now, moved by `kind`.
    pub fn new(kind: BackorderMove, backorder: &Backorder) -> Self {
        Self {
            kind,
            backorder_id: backorder.id,
            order_id: backorder.order_id,
            customer_id: backorder.customer_id.clone(),
            sku: backorder.sku.clone(),
            warehouse: backorder.warehouse.clone(),
            quantity: backorder.quantity,
            allocated: backorder.allocated,
            status: backorder.status,
            priority: backorder.priority,
            estimated_restock: backorder.estimated_restock.to_rfc3339(),
            units_cancelled: None,
            units_allocated: None,
            reason: None,
            priority_before: None,
            refund: None,
        }
    }

    /// `units` allocated to a backorder that was `before`, for `reason`.
    pub fn allocation(before: &Backorder, units: u32, reason: &str) -> Self {
        let after = before.allocated(units);
        let kind = if after.status == BackorderStatus::Fulfilled {
            BackorderMove::Fulfilled
        } else {
            BackorderMove::Allocated
        };
        Self {
            units_allocated: Some(units),
            reason: Some(reason.to_owned()),
            ..Self::new(kind, &after)
        }
    }
}

/// What the payment provider reported about an order's payment, as
/// `payment.authorized`, `payment.captured`, `payment.failed`,
/// `payment.refunded`, `payment.voided` or `payment.checkout_expired`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PaymentReported {
    #[serde(skip)]
    pub outcome: PaymentOutcome,
    #[serde(flatten)]
    pub facts: PaymentFacts,
}

/// The data of a `payment.*` event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentFacts {
    pub order_id: OrderId,
    /// The provider's id of the payment (a Stripe PaymentIntent id).
    pub payment_id: String,
    /// Authorized, captured, or refunded in total, as the detail-type says.
    pub amount_minor: i64,
    pub currency: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fully_refunded: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure_code: Option<String>,
    /// The hosted checkout page the payment came through.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checkout_session_id: Option<String>,
}

impl PaymentFacts {
    /// `amount_minor` of payment `payment_id` for order `order_id`, in
    /// `currency` (upper-cased, as ISO 4217 writes it), and nothing more.
    pub fn new(
        order_id: OrderId,
        payment_id: impl Into<String>,
        amount_minor: i64,
        currency: &str,
    ) -> Self {
        Self {
            order_id,
            payment_id: payment_id.into(),
            amount_minor,
            currency: currency.to_uppercase(),
            fully_refunded: None,
            failure_code: None,
            checkout_session_id: None,
        }
    }
}

impl PaymentReported {
    /// `payment.refunded`: `refunded_in_total_minor` of the payment given
    /// back so far, `fully` when that is all of it.
    pub fn refunded(
        order_id: OrderId,
        payment_id: impl Into<String>,
        currency: &str,
        refunded_in_total_minor: i64,
        fully: bool,
    ) -> Self {
        Self {
            outcome: PaymentOutcome::Refunded,
            facts: PaymentFacts {
                fully_refunded: Some(fully),
                ..PaymentFacts::new(order_id, payment_id, refunded_in_total_minor, currency)
            },
        }
    }

    /// The report the order's payment rules read.
    pub fn report(&self) -> PaymentReport {
        PaymentReport {
            outcome: self.outcome,
            payment_id: self.facts.payment_id.clone(),
            amount_minor: self.facts.amount_minor,
            fully_refunded: self.facts.fully_refunded.unwrap_or(false),
            failure_code: self.facts.failure_code.clone(),
            checkout_session_id: self.facts.checkout_session_id.clone(),
        }
    }
}

/// What happened to a shipment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShipmentMove {
    Created,
    /// Its tracking status moved (and it is neither delivered nor in trouble).
    StatusChanged,
    Delivered,
    /// It moved to a status someone has to act on: a failed delivery, an
    /// exception, or a return to the shop.
    Exception,
}

impl ShipmentMove {
    pub fn detail_type(self) -> &'static str {
        match self {
            Self::Created => "shipment.created",
            Self::StatusChanged => "shipment.status_changed",
            Self::Delivered => "shipment.delivered",
            Self::Exception => "shipment.exception",
        }
    }

    /// How a move of a shipment's tracking status to `to` is announced:
    /// one event per move, the most specific one.
    pub fn of_status(to: TrackingStatus) -> Self {
        if to == TrackingStatus::Delivered {
            Self::Delivered
        } else if to.needs_attention() {
            Self::Exception
        } else {
            Self::StatusChanged
        }
    }
}

/// A shipment created, or its tracking status moved, as it stands after.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ShipmentMoved {
    #[serde(skip)]
    pub kind: ShipmentMove,
    pub shipment_id: ShipmentId,
    pub order_id: OrderId,
    pub customer_id: CustomerId,
    pub carrier: Carrier,
    pub tracking_number: TrackingNumber,
    pub warehouse: WarehouseId,
    /// What it carries and the carrier's page for it, when it was made:
    /// later moves leave them out (they ride on the shipment's item, whose
    /// size every tracking write pays for).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tracking_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lines: Option<Vec<ShippedLine>>,
    pub status: TrackingStatus,
    /// Its status before this move (absent when it was just created).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub previous_status: Option<TrackingStatus>,
    /// The carrier's event that decided the status, when one did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decided_by: Option<ReportedEvent>,
}

/// A carrier's event as events carry it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReportedEvent {
    pub code: String,
    pub description: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    pub occurred_at: String,
}

impl ShipmentMoved {
    /// `shipment` as it stands, moved by `kind` from `previous_status`.
    pub fn new(
        kind: ShipmentMove,
        shipment: &Shipment,
        previous_status: Option<TrackingStatus>,
    ) -> Self {
        let status = shipment.status();
        let decided_by = shipment
            .journey
            .events()
            .iter()
            .rev()
            .find(|event| event.status == status)
            .map(|event| ReportedEvent {
                code: event.code.clone(),
                description: event.description.clone(),
                location: event.location.clone(),
                occurred_at: event.occurred_at.to_rfc3339(),
            });
        Self {
            kind,
            shipment_id: shipment.id,
            order_id: shipment.order_id,
            customer_id: shipment.customer_id.clone(),
            carrier: shipment.carrier,
            tracking_number: shipment.tracking_number.clone(),
            warehouse: shipment.warehouse.clone(),
            tracking_url: (kind == ShipmentMove::Created)
                .then(|| shipment.carrier.tracking_url(&shipment.tracking_number)),
            lines: (kind == ShipmentMove::Created).then(|| shipment.lines.clone()),
            status,
            previous_status,
            decided_by,
        }
    }
}

/// How money an order cannot keep goes back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GiveBackBy {
    /// Release the hold: nothing was taken.
    Void,
    /// Refund what was taken.
    Refund,
}

/// Money reached an order that cannot keep it (cancelled, already paid by
/// another payment, or paid after its stock was gone): payment-actions gives
/// it back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefundRequired {
    pub order_id: OrderId,
    pub payment_id: String,
    pub amount_minor: i64,
    pub currency: String,
    pub settle: GiveBackBy,
    pub reason: String,
}

/// What happened to an invoice.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum InvoiceMove {
    Issued,
    PartiallyPaid,
    Paid,
    Voided,
    Overdue,
    CreditNoteIssued,
}

impl InvoiceMove {
    /// Whether the event carries the document to print: a new document, or
    /// the VOID mark on one.
    pub fn is_printed(self) -> bool {
        matches!(self, Self::Issued | Self::CreditNoteIssued | Self::Voided)
    }

    pub fn detail_type(self) -> &'static str {
        match self {
            Self::Issued => "invoice.issued",
            Self::PartiallyPaid => "invoice.partially_paid",
            Self::Paid => "invoice.paid",
            Self::Voided => "invoice.voided",
            Self::Overdue => "invoice.overdue",
            Self::CreditNoteIssued => "credit_note.issued",
        }
    }
}

/// An invoice issued or paid, as it stands after.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InvoiceMoved {
    #[serde(skip)]
    pub kind: InvoiceMove,
    pub invoice_id: InvoiceId,
    pub number: Option<InvoiceNumber>,
    /// The invoice a credit note credits.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub credits: Option<Credited>,
    pub order_id: Option<OrderId>,
    pub customer_id: CustomerId,
    pub email: Option<String>,
    pub status: &'static str,
    pub currency: String,
    pub total_minor: i64,
    pub paid_minor: i64,
    pub open_minor: i64,
    pub issued_at: Option<String>,
    pub due_at: Option<String>,
    /// Why a voided invoice was voided.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub void_reason: Option<String>,
    /// The overdue reminder this event is.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reminder: Option<Reminder>,
    /// The document as printed, on the events that ask for its PDF
    /// (issued, credit note issued, voided): the PDF is rendered from it
    /// without reading the table.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub document: Option<Box<Invoice>>,
}

impl InvoiceMoved {
    pub fn new(kind: InvoiceMove, invoice: &Invoice) -> Self {
        Self {
            kind,
            invoice_id: invoice.id,
            number: invoice.number,
            credits: invoice.credits,
            order_id: invoice.order_id,
            customer_id: invoice.customer_id.clone(),
            email: invoice
                .buyer
                .email
                .as_ref()
                .map(|email| email.as_str().to_owned()),
            status: invoice.status.as_str(),
            currency: invoice.currency.as_str().to_owned(),
            total_minor: invoice.totals.total_minor,
            paid_minor: invoice.paid_minor,
            open_minor: invoice.open_minor(),
            issued_at: invoice.issued_at.map(Timestamp::to_rfc3339),
            due_at: invoice.due_at.map(Timestamp::to_rfc3339),
            void_reason: invoice
                .voided
                .as_ref()
                .map(|voiding| voiding.reason.clone()),
            reminder: None,
            document: kind.is_printed().then(|| Box::new(invoice.clone())),
        }
    }

    /// The event printing `invoice` (the document as written when the issue
    /// allocated money to it in the same write) rather than the one it
    /// announces.
    pub fn printing(self, invoice: &Invoice) -> Self {
        Self {
            document: self.document.map(|_| Box::new(invoice.clone())),
            ..self
        }
    }

    /// `invoice.overdue` for `reminder` of `invoice`.
    pub fn overdue(invoice: &Invoice, reminder: Reminder) -> Self {
        Self {
            reminder: Some(reminder),
            ..Self::new(InvoiceMove::Overdue, invoice)
        }
    }

    /// How money allocated to an invoice is announced: paid, or partly.
    pub fn payment(invoice: &Invoice) -> Self {
        let kind = if invoice.open_minor() == 0 {
            InvoiceMove::Paid
        } else {
            InvoiceMove::PartiallyPaid
        };
        Self::new(kind, invoice)
    }
}

/// The EventBridge `detail` of every event: `{id, occurred_at, version, data}`.
/// `id` is the outbox record's ULID, which consumers dedupe on.
#[derive(Debug, Serialize)]
pub struct EventEnvelope<'a> {
    pub id: String,
    pub occurred_at: String,
    pub version: u32,
    pub data: &'a DomainEvent,
}

impl<'a> EventEnvelope<'a> {
    pub const VERSION: u32 = 1;

    pub fn new(id: String, occurred_at: Timestamp, data: &'a DomainEvent) -> Self {
        Self {
            id,
            occurred_at: occurred_at.to_rfc3339(),
            version: Self::VERSION,
            data,
        }
    }
}
