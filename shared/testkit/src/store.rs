//! The in-memory store as a handler sees it in tests: shared with the test,
//! which keeps a clone to look at what was written, and with hooks that let
//! a test step in on the writes and reads it wants to go wrong.

use crate::memory::MemoryStore;
use async_trait::async_trait;
use shopflow_domain::LowStock;
use shopflow_domain::PaymentAttempt;
use shopflow_domain::availability::WarehouseStock;
use shopflow_domain::{
    Backorder, BackorderId, BackorderSettings, Carrier, CustomerId, Order, OrderId, OrderStatus,
    Product, Shipment, ShipmentId, Sku, Stock, StockLevel, Timestamp, TrackingNumber, WarehouseId,
};
use shopflow_ports::{
    AllocateError, AllocationBatch, AllocationRecord, BackorderCancellation, BackorderReader,
    BackorderScope, BackorderStore, ChangeError, CheckoutReceipt, CheckoutSnapshot, CheckoutStore,
    Delivery, HistoryEntry, IdempotencyKey, InventoryStore, JobRun, JobRuns, OrderLifecycle,
    OrderPayments, OrderQuery, OrderReader, OrderSearch, OutboxEvent, Page, PaymentChange,
    PaymentRecords, PlaceOrderError, Queue, SaveSettingsError, SettingsRow, StandingEntry,
    StandingRange, StatusChange, StatusCount, StoreError, WebhookInbox,
};
use shopflow_ports::{
    FulfilError, Fulfilment, FulfilmentReceipt, ShipmentStore, TrackingUpdate, TrackingWriteError,
};
use shopflow_ports::{Reprioritization, StaffMove, StaffMoveError, StaffMoved};
use std::sync::Arc;

/// Where a test steps in on the store. Each hook gets the memory store and
/// by default passes the call straight to it.
#[async_trait]
pub trait StoreHooks: Send + Sync {
    /// Checkout's write of an order, its reservations and its receipt.
    async fn place_order(
        &self,
        memory: &MemoryStore,
        order: &Order,
        event: &OutboxEvent,
        key: &IdempotencyKey,
        response: &CheckoutReceipt,
        decided_on: &Stock,
    ) -> Result<(), PlaceOrderError> {
        memory
            .place_order(order, event, key, response, decided_on)
            .await
    }

    /// A status change's write.
    async fn change_status(
        &self,
        memory: &MemoryStore,
        change: &StatusChange,
    ) -> Result<(), ChangeError> {
        memory.change_status(change).await
    }

    /// A change to an order's money that moves no status.
    async fn change_payment(
        &self,
        memory: &MemoryStore,
        change: &PaymentChange,
    ) -> Result<(), ChangeError> {
        memory.change_payment(change).await
    }

    /// The allocator's write of a batch.
    async fn allocate(
        &self,
        memory: &MemoryStore,
        batch: &AllocationBatch,
    ) -> Result<(), AllocateError> {
        memory.allocate(batch).await
    }

    /// A fulfilment's write.
    async fn fulfil(
        &self,
        memory: &MemoryStore,
        fulfilment: &Fulfilment,
    ) -> Result<(), FulfilError> {
        memory.fulfil(fulfilment).await
    }

    /// An invoice's issue: its number, the invoice and its payment.
    async fn issue_invoice(
        &self,
        memory: &MemoryStore,
        issue: &shopflow_ports::InvoiceIssue,
    ) -> Result<(), shopflow_ports::IssueError> {
        shopflow_ports::InvoiceStore::issue_invoice(memory, issue).await
    }

    /// A manual payment's write.
    async fn record_invoice_payment(
        &self,
        memory: &MemoryStore,
        write: &shopflow_ports::InvoicePayment,
    ) -> Result<(), shopflow_ports::InvoiceWriteError> {
        shopflow_ports::InvoiceStore::record_invoice_payment(memory, write).await
    }

    /// A tracking update's write.
    async fn record_tracking(
        &self,
        memory: &MemoryStore,
        update: &TrackingUpdate,
    ) -> Result<(), TrackingWriteError> {
        memory.record_tracking(update).await
    }

    /// A read of the lapsed-reservation index.
    async fn lapsed_reservations(
        &self,
        memory: &MemoryStore,
        now: Timestamp,
        shard: u8,
        after: Option<String>,
        limit: u16,
    ) -> Result<Page<Order, String>, StoreError> {
        memory.lapsed_reservations(now, shard, after, limit).await
    }
}

/// No hooks: the memory store as it is.
impl StoreHooks for () {}

/// The memory store behind `H`'s hooks. Clones share the store and the
/// hooks, so a test keeps one while the handler owns another.
#[derive(Default)]
pub struct SharedStore<H = ()> {
    memory: Arc<MemoryStore>,
    hooks: Arc<H>,
}

impl<H> Clone for SharedStore<H> {
    fn clone(&self) -> Self {
        Self {
            memory: Arc::clone(&self.memory),
            hooks: Arc::clone(&self.hooks),
        }
    }
}

impl<H> SharedStore<H> {
    pub fn new(hooks: H) -> Self {
        Self {
            memory: Arc::default(),
            hooks: Arc::new(hooks),
        }
    }

    /// The store itself, to set up and to look into without the hooks.
    pub fn memory(&self) -> &MemoryStore {
        &self.memory
    }

    pub fn hooks(&self) -> &H {
        &self.hooks
    }
}

#[async_trait]
impl<H: StoreHooks> OrderReader for SharedStore<H> {
    async fn order(&self, id: OrderId) -> Result<Option<Order>, StoreError> {
        self.memory.order(id).await
    }

    async fn customer_orders(
        &self,
        customer: &CustomerId,
        after: Option<OrderId>,
        limit: u16,
    ) -> Result<Page<Order, OrderId>, StoreError> {
        self.memory.customer_orders(customer, after, limit).await
    }
}

#[async_trait]
impl<H: StoreHooks> CheckoutStore for SharedStore<H> {
    async fn checkout_snapshot(
        &self,
        key: &IdempotencyKey,
        skus: &[Sku],
        warehouses: &[WarehouseId],
    ) -> Result<CheckoutSnapshot, StoreError> {
        self.memory.checkout_snapshot(key, skus, warehouses).await
    }

    async fn place_order(
        &self,
        order: &Order,
        event: &OutboxEvent,
        key: &IdempotencyKey,
        response: &CheckoutReceipt,
        decided_on: &Stock,
    ) -> Result<(), PlaceOrderError> {
        self.hooks
            .place_order(&self.memory, order, event, key, response, decided_on)
            .await
    }
}

#[async_trait]
impl<H: StoreHooks> InventoryStore for SharedStore<H> {
    async fn upsert_product(&self, product: &Product) -> Result<(), StoreError> {
        self.memory.upsert_product(product).await
    }

    async fn product(&self, sku: &Sku) -> Result<Option<Product>, StoreError> {
        self.memory.product(sku).await
    }

    async fn stock_levels(&self, sku: &Sku) -> Result<Vec<(WarehouseId, StockLevel)>, StoreError> {
        self.memory.stock_levels(sku).await
    }

    async fn staff_move(&self, staff_move: &StaffMove) -> Result<StaffMoved, StaffMoveError> {
        self.memory.staff_move(staff_move).await
    }

    async fn storefront_stock(
        &self,
        sku: &Sku,
        warehouses: &[WarehouseId],
    ) -> Result<Option<(Product, Vec<WarehouseStock>)>, StoreError> {
        self.memory.storefront_stock(sku, warehouses).await
    }

    async fn set_low_stock(
        &self,
        sku: &Sku,
        warehouse: &WarehouseId,
        threshold: Option<LowStock>,
        at: Timestamp,
    ) -> Result<Option<StockLevel>, StoreError> {
        self.memory
            .set_low_stock(sku, warehouse, threshold, at)
            .await
    }

    async fn backorder_settings(
        &self,
        sku: &Sku,
        warehouse: &WarehouseId,
    ) -> Result<Option<BackorderSettings>, StoreError> {
        self.memory.backorder_settings(sku, warehouse).await
    }

    async fn save_backorder_settings(&self, rows: &[SettingsRow]) -> Result<(), SaveSettingsError> {
        self.memory.save_backorder_settings(rows).await
    }

    async fn announce(&self, event: &OutboxEvent) -> Result<(), StoreError> {
        self.memory.announce(event).await
    }
}

#[async_trait]
impl<H: StoreHooks> OrderLifecycle for SharedStore<H> {
    async fn change_status(&self, change: &StatusChange) -> Result<(), ChangeError> {
        self.hooks.change_status(&self.memory, change).await
    }

    async fn record_event(
        &self,
        event: &OutboxEvent,
        applies: Option<(String, String)>,
    ) -> Result<(), ChangeError> {
        self.memory.record_event(event, applies).await
    }

    async fn has_applied(&self, consumer: &str, event_id: &str) -> Result<bool, StoreError> {
        self.memory.has_applied(consumer, event_id).await
    }

    async fn history(&self, id: OrderId) -> Result<Vec<HistoryEntry>, StoreError> {
        self.memory.history(id).await
    }

    async fn abandoned_drafts(
        &self,
        before: Timestamp,
        shard: u8,
        after: Option<String>,
        limit: u16,
    ) -> Result<Page<Order, String>, StoreError> {
        self.memory
            .abandoned_drafts(before, shard, after, limit)
            .await
    }

    async fn lapsed_reservations(
        &self,
        now: Timestamp,
        shard: u8,
        after: Option<String>,
        limit: u16,
    ) -> Result<Page<Order, String>, StoreError> {
        self.hooks
            .lapsed_reservations(&self.memory, now, shard, after, limit)
            .await
    }
}

#[async_trait]
impl<H: StoreHooks> OrderSearch for SharedStore<H> {
    async fn search_orders(
        &self,
        query: &OrderQuery,
        after: Option<String>,
        limit: u16,
    ) -> Result<Page<Order, String>, StoreError> {
        self.memory.search_orders(query, after, limit).await
    }

    async fn count_orders(
        &self,
        status: OrderStatus,
        since: Option<Timestamp>,
    ) -> Result<StatusCount, StoreError> {
        self.memory.count_orders(status, since).await
    }
}

#[async_trait]
impl<H: StoreHooks> PaymentRecords for SharedStore<H> {
    async fn order_payments(&self, id: OrderId) -> Result<Option<OrderPayments>, StoreError> {
        self.memory.order_payments(id).await
    }

    async fn record_attempt(
        &self,
        order_id: OrderId,
        attempt: &PaymentAttempt,
    ) -> Result<(), StoreError> {
        self.memory.record_attempt(order_id, attempt).await
    }

    async fn change_payment(&self, change: &PaymentChange) -> Result<(), ChangeError> {
        self.hooks.change_payment(&self.memory, change).await
    }
}

#[async_trait]
impl<H: StoreHooks> WebhookInbox for SharedStore<H> {
    async fn record_delivery(
        &self,
        provider: &str,
        event_id: &str,
        event: Option<&OutboxEvent>,
        at: Timestamp,
    ) -> Result<Delivery, StoreError> {
        self.memory
            .record_delivery(provider, event_id, event, at)
            .await
    }
}

#[async_trait]
impl<H: StoreHooks> BackorderStore for SharedStore<H> {
    async fn queue(&self, sku: &Sku, warehouse: &WarehouseId) -> Result<Queue, StoreError> {
        BackorderStore::queue(&*self.memory, sku, warehouse).await
    }

    async fn orders_by_id(&self, ids: &[OrderId]) -> Result<Vec<Order>, StoreError> {
        self.memory.orders_by_id(ids).await
    }

    async fn allocate(&self, batch: &AllocationBatch) -> Result<(), AllocateError> {
        self.hooks.allocate(&self.memory, batch).await
    }

    async fn cancel_backorder(
        &self,
        cancellation: &BackorderCancellation,
    ) -> Result<(), AllocateError> {
        self.memory.cancel_backorder(cancellation).await
    }

    async fn reprioritize(&self, change: &Reprioritization) -> Result<(), AllocateError> {
        self.memory.reprioritize(change).await
    }
}

#[async_trait]
impl<H: StoreHooks> BackorderReader for SharedStore<H> {
    async fn backorder(&self, id: BackorderId) -> Result<Option<Backorder>, StoreError> {
        self.memory.backorder(id).await
    }

    async fn allocations(&self, id: BackorderId) -> Result<Vec<AllocationRecord>, StoreError> {
        self.memory.allocations(id).await
    }

    async fn priority_changes(
        &self,
        id: BackorderId,
    ) -> Result<Vec<shopflow_ports::PriorityChange>, StoreError> {
        self.memory.priority_changes(id).await
    }

    async fn backorders_in(&self, scope: &BackorderScope) -> Result<Vec<Backorder>, StoreError> {
        self.memory.backorders_in(scope).await
    }

    async fn backorders_standing(
        &self,
        range: &StandingRange,
    ) -> Result<Page<StandingEntry, StandingEntry>, StoreError> {
        self.memory.backorders_standing(range).await
    }
}

#[async_trait]
impl<H: StoreHooks> JobRuns for SharedStore<H> {
    async fn record_run(&self, run: &JobRun) -> Result<(), StoreError> {
        self.memory.record_run(run).await
    }

    async fn runs(&self, job: &str, limit: u16) -> Result<Vec<JobRun>, StoreError> {
        self.memory.runs(job, limit).await
    }

    async fn list_runs(
        &self,
        query: &shopflow_ports::RunQuery,
    ) -> Result<Page<JobRun, ulid::Ulid>, StoreError> {
        self.memory.list_runs(query).await
    }

    async fn run(&self, id: ulid::Ulid) -> Result<Option<JobRun>, StoreError> {
        self.memory.run(id).await
    }
}

#[async_trait]
impl<H: StoreHooks> shopflow_ports::StockLedger for SharedStore<H> {
    async fn record_movement(
        &self,
        movement: &shopflow_domain::Movement,
        event: Option<&OutboxEvent>,
    ) -> Result<shopflow_ports::Recorded, StoreError> {
        self.memory.record_movement(movement, event).await
    }

    async fn movements(
        &self,
        query: &shopflow_ports::MovementQuery,
    ) -> Result<Page<shopflow_domain::Movement, shopflow_ports::MovementCursor>, StoreError> {
        self.memory.movements(query).await
    }
}

#[async_trait]
impl<H: StoreHooks> shopflow_ports::Waitlist for SharedStore<H> {
    async fn admit(
        &self,
        bucket: &str,
        window: shopflow_domain::waitlist::FixedWindow,
        now: shopflow_domain::Timestamp,
    ) -> Result<shopflow_ports::Admission, StoreError> {
        self.memory.admit(bucket, window, now).await
    }

    async fn join_waitlist(
        &self,
        entry: &shopflow_domain::waitlist::WaitlistEntry,
    ) -> Result<bool, StoreError> {
        self.memory.join_waitlist(entry).await
    }

    async fn leave_waitlist(
        &self,
        sku: &Sku,
        email: &shopflow_domain::Email,
    ) -> Result<bool, StoreError> {
        self.memory.leave_waitlist(sku, email).await
    }

    async fn waiting(
        &self,
        sku: &Sku,
        limit: u16,
    ) -> Result<Vec<shopflow_domain::waitlist::WaitlistEntry>, StoreError> {
        self.memory.waiting(sku, limit).await
    }

    async fn tell_waitlist(
        &self,
        told: &[shopflow_domain::waitlist::WaitlistEntry],
        event: &OutboxEvent,
    ) -> Result<bool, StoreError> {
        self.memory.tell_waitlist(told, event).await
    }
}

#[async_trait]
impl<H: StoreHooks> ShipmentStore for SharedStore<H> {
    async fn fulfilment_receipt(
        &self,
        key: &IdempotencyKey,
    ) -> Result<Option<FulfilmentReceipt>, StoreError> {
        self.memory.fulfilment_receipt(key).await
    }

    async fn fulfil(&self, fulfilment: &Fulfilment) -> Result<(), FulfilError> {
        self.hooks.fulfil(&self.memory, fulfilment).await
    }

    async fn shipment(&self, id: ShipmentId) -> Result<Option<Shipment>, StoreError> {
        self.memory.shipment(id).await
    }

    async fn order_shipments(&self, order: OrderId) -> Result<Vec<Shipment>, StoreError> {
        self.memory.order_shipments(order).await
    }

    async fn tracked_shipment(
        &self,
        carrier: Carrier,
        number: &TrackingNumber,
    ) -> Result<Option<Shipment>, StoreError> {
        self.memory.tracked_shipment(carrier, number).await
    }

    async fn record_tracking(&self, update: &TrackingUpdate) -> Result<(), TrackingWriteError> {
        self.hooks.record_tracking(&self.memory, update).await
    }

    async fn shipment_figures(&self) -> Result<shopflow_domain::ShipmentFigures, StoreError> {
        self.memory.shipment_figures().await
    }
}

#[async_trait]
impl<H: StoreHooks> shopflow_ports::InvoiceStore for SharedStore<H> {
    async fn last_number(
        &self,
        sequence: shopflow_domain::invoice::Sequence,
    ) -> Result<Option<u64>, StoreError> {
        self.memory.last_number(sequence).await
    }

    async fn issue_invoice(
        &self,
        issue: &shopflow_ports::InvoiceIssue,
    ) -> Result<(), shopflow_ports::IssueError> {
        self.hooks.issue_invoice(&self.memory, issue).await
    }

    async fn invoice(
        &self,
        id: shopflow_domain::invoice::InvoiceId,
    ) -> Result<Option<shopflow_domain::invoice::Invoice>, StoreError> {
        self.memory.invoice(id).await
    }

    async fn order_invoices(
        &self,
        order: OrderId,
    ) -> Result<Vec<shopflow_domain::invoice::Invoice>, StoreError> {
        self.memory.order_invoices(order).await
    }

    async fn create_draft(
        &self,
        draft: &shopflow_domain::invoice::Invoice,
        key: &IdempotencyKey,
        fingerprint: &str,
    ) -> Result<(), shopflow_ports::InvoiceWriteError> {
        self.memory.create_draft(draft, key, fingerprint).await
    }

    async fn redraft(
        &self,
        draft: &shopflow_domain::invoice::Invoice,
    ) -> Result<(), shopflow_ports::InvoiceWriteError> {
        self.memory.redraft(draft).await
    }

    async fn find_invoices(
        &self,
        query: &shopflow_ports::InvoiceQuery,
        after: Option<shopflow_domain::invoice::InvoiceId>,
        limit: u16,
    ) -> Result<
        Page<shopflow_domain::invoice::Invoice, shopflow_domain::invoice::InvoiceId>,
        StoreError,
    > {
        self.memory.find_invoices(query, after, limit).await
    }

    async fn invoice_receipt(
        &self,
        key: &IdempotencyKey,
    ) -> Result<Option<shopflow_ports::InvoiceReceipt>, StoreError> {
        self.memory.invoice_receipt(key).await
    }

    async fn payment_record(
        &self,
        id: ulid::Ulid,
    ) -> Result<Option<shopflow_domain::invoice::PaymentRecord>, StoreError> {
        self.memory.payment_record(id).await
    }

    async fn record_invoice_payment(
        &self,
        write: &shopflow_ports::InvoicePayment,
    ) -> Result<(), shopflow_ports::InvoiceWriteError> {
        self.hooks.record_invoice_payment(&self.memory, write).await
    }

    async fn void_invoice(
        &self,
        write: &shopflow_ports::InvoiceVoid,
    ) -> Result<(), shopflow_ports::InvoiceWriteError> {
        self.memory.void_invoice(write).await
    }

    async fn open_invoices_due(
        &self,
        range: &shopflow_ports::DueRange,
    ) -> Result<Page<shopflow_domain::invoice::Invoice, shopflow_ports::DueCursor>, StoreError>
    {
        self.memory.open_invoices_due(range).await
    }

    async fn remind_overdue(
        &self,
        write: &shopflow_ports::InvoiceReminder,
    ) -> Result<(), shopflow_ports::InvoiceWriteError> {
        self.memory.remind_overdue(write).await
    }
}

#[async_trait]
impl<H: StoreHooks> shopflow_ports::InlineArchive for SharedStore<H> {
    async fn keep_inline(
        &self,
        payload: &shopflow_ports::RawPayload,
        gzipped: &[u8],
    ) -> Result<String, StoreError> {
        self.memory.keep_inline(payload, gzipped).await
    }
}

#[async_trait]
impl<H: StoreHooks> shopflow_ports::PollingSchedule for SharedStore<H> {
    async fn due_parcels(
        &self,
        carrier: Carrier,
        now: Timestamp,
        limit: u16,
    ) -> Result<Vec<shopflow_ports::PollEntry>, StoreError> {
        self.memory.due_parcels(carrier, now, limit).await
    }

    async fn reschedule(
        &self,
        entry: &shopflow_ports::PollEntry,
        due: Timestamp,
    ) -> Result<(), StoreError> {
        self.memory.reschedule(entry, due).await
    }

    async fn unschedule(&self, entry: &shopflow_ports::PollEntry) -> Result<(), StoreError> {
        self.memory.unschedule(entry).await
    }

    async fn parcels_in_flight(&self, carrier: Carrier) -> Result<u64, StoreError> {
        self.memory.parcels_in_flight(carrier).await
    }

    async fn budget(&self, carrier: Carrier) -> Result<shopflow_ports::KeptBudget, StoreError> {
        self.memory.budget(carrier).await
    }

    async fn save_budget(
        &self,
        carrier: Carrier,
        read: &shopflow_ports::KeptBudget,
        budget: &shopflow_domain::Budget,
    ) -> Result<bool, StoreError> {
        self.memory.save_budget(carrier, read, budget).await
    }
}

#[async_trait]
impl<H: StoreHooks> shopflow_ports::PreferenceStore for SharedStore<H> {
    async fn notification_preferences(
        &self,
        customer: &CustomerId,
    ) -> Result<Option<shopflow_domain::notification::NotificationPreferences>, StoreError> {
        self.memory.notification_preferences(customer).await
    }

    async fn save_notification_preferences(
        &self,
        customer: &CustomerId,
        preferences: &shopflow_domain::notification::NotificationPreferences,
    ) -> Result<(), StoreError> {
        self.memory
            .save_notification_preferences(customer, preferences)
            .await
    }
}

#[async_trait]
impl<H: StoreHooks> shopflow_ports::NotificationStore for SharedStore<H> {
    async fn open_notification(
        &self,
        notification: &shopflow_domain::notification::Notification,
    ) -> Result<shopflow_ports::Opened, StoreError> {
        self.memory.open_notification(notification).await
    }

    async fn save_notification(
        &self,
        notification: &shopflow_domain::notification::Notification,
    ) -> Result<bool, StoreError> {
        self.memory.save_notification(notification).await
    }

    async fn notification(
        &self,
        key: &shopflow_domain::notification::NotificationKey,
        order: Option<OrderId>,
    ) -> Result<Option<shopflow_domain::notification::Notification>, StoreError> {
        self.memory.notification(key, order).await
    }

    async fn order_notifications(
        &self,
        order: OrderId,
    ) -> Result<Vec<shopflow_domain::notification::Notification>, StoreError> {
        self.memory.order_notifications(order).await
    }

    async fn suppression(
        &self,
        address: &str,
    ) -> Result<Option<shopflow_domain::notification::Suppression>, StoreError> {
        self.memory.suppression(address).await
    }

    async fn suppress(
        &self,
        suppression: &shopflow_domain::notification::Suppression,
    ) -> Result<(), StoreError> {
        self.memory.suppress(suppression).await
    }

    async fn link_address(&self, address: &str, customer: &CustomerId) -> Result<(), StoreError> {
        self.memory.link_address(address, customer).await
    }

    async fn address_customers(&self, address: &str) -> Result<Vec<CustomerId>, StoreError> {
        self.memory.address_customers(address).await
    }

    async fn find_notifications(
        &self,
        query: &shopflow_ports::NotificationQuery,
        below: Option<&str>,
        limit: u16,
    ) -> Result<Page<shopflow_domain::notification::Notification, String>, StoreError> {
        self.memory.find_notifications(query, below, limit).await
    }
}
