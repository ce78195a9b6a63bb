//! Shipments in memory, with the DynamoDB adapter's conditions: a
//! fulfilment writes everything or nothing, and a tracking update holds
//! only on the versions it read.

use super::{MemoryStore, State};
use async_trait::async_trait;
use shopflow_domain::{
    Carrier, OrderId, Shipment, ShipmentId, StockLevel, TrackedBy, TrackingNumber,
};
use shopflow_ports::{
    FulfilError, Fulfilment, FulfilmentReceipt, IdempotencyKey, OrderTouch, PollEntry,
    ShipmentStore, StoreError, TrackingUpdate, TrackingWriteError,
};

impl State {
    /// The stock after the shipment's units left its warehouse, or `None`
    /// when a warehouse does not hold them as reserved.
    fn stock_after_shipping(
        &self,
        shipment: &Shipment,
    ) -> Option<
        Vec<(
            (shopflow_domain::Sku, shopflow_domain::WarehouseId),
            StockLevel,
        )>,
    > {
        shipment
            .lines
            .iter()
            .map(|line| {
                let at = (line.sku.clone(), shipment.warehouse.clone());
                let level = self.stock.get(&at).copied().unwrap_or_default();
                let units = line.quantity.get();
                (level.reserved >= units && level.on_hand >= units).then(|| {
                    let after = StockLevel {
                        on_hand: level.on_hand - units,
                        reserved: level.reserved - units,
                        ..level
                    };
                    (at, after)
                })
            })
            .collect()
    }

    /// Whether the order the touch holds on is still at the version read.
    fn touch_holds(&self, touch: &OrderTouch) -> bool {
        let (id, version) = match touch {
            OrderTouch::Hold { order_id, version } => (*order_id, *version),
            OrderTouch::Deliver(change) => (change.order_id, change.expected_version),
        };
        self.orders
            .get(&id)
            .is_some_and(|order| order.version == version)
    }

    fn apply_touch(&mut self, touch: &OrderTouch) {
        match touch {
            OrderTouch::Hold { order_id, .. } => {
                if let Some(order) = self.orders.get_mut(order_id) {
                    order.version += 1;
                }
            }
            OrderTouch::Deliver(change) => {
                if let Some(order) = self.orders.get_mut(&change.order_id) {
                    order.status = change.to.status;
                    order.fulfillment_status = change.to.fulfillment_status;
                    order.version += 1;
                }
                self.status_at.insert(change.order_id, change.at);
                self.record_goods(change);
            }
        }
    }
}

impl MemoryStore {
    /// The order's shipments as they stand.
    pub fn shipments_of(&self, order: OrderId) -> Vec<Shipment> {
        self.state()
            .shipments
            .values()
            .filter(|shipment| shipment.order_id == order)
            .cloned()
            .collect()
    }

    /// When each polled parcel in flight is next due, by carrier.
    pub fn polling_schedule(
        &self,
        carrier: Carrier,
    ) -> Vec<(TrackingNumber, shopflow_domain::Timestamp)> {
        self.state()
            .polls
            .values()
            .filter(|entry| entry.carrier == carrier)
            .map(|entry| (entry.tracking_number.clone(), entry.due))
            .collect()
    }
}

#[async_trait]
impl ShipmentStore for MemoryStore {
    async fn fulfilment_receipt(
        &self,
        key: &IdempotencyKey,
    ) -> Result<Option<FulfilmentReceipt>, StoreError> {
        Ok(self.state().fulfilments.get(key).cloned())
    }

    async fn fulfil(&self, fulfilment: &Fulfilment) -> Result<(), FulfilError> {
        let mut state = self.state();
        let shipment = &fulfilment.shipment;
        let tracking = (shipment.carrier, shipment.tracking_number.clone());
        if state.fulfilments.contains_key(&fulfilment.key) {
            return Err(FulfilError::KeyTaken);
        }
        let order_read = state
            .orders
            .get(&fulfilment.order.id)
            .is_some_and(|order| order.version == fulfilment.order.version);
        if !order_read {
            return Err(FulfilError::OrderChanged);
        }
        if state.tracking.contains_key(&tracking) {
            return Err(FulfilError::TrackingNumberTaken(
                shipment.tracking_number.clone(),
            ));
        }
        let stock = state
            .stock_after_shipping(shipment)
            .ok_or(FulfilError::StockMissing)?;
        state.stock.extend(stock);
        let mut order = fulfilment.order.clone();
        order.version += 1;
        state.orders.insert(order.id, order);
        state.record_goods(&fulfilment.goods);
        state.shipments.insert(shipment.id, shipment.clone());
        state.tracking.insert(tracking.clone(), shipment.id);
        if shipment.carrier.tracked_by() == TrackedBy::Polling {
            let entry = PollEntry {
                carrier: shipment.carrier,
                tracking_number: shipment.tracking_number.clone(),
                order_id: shipment.order_id,
                shipment_id: shipment.id,
                due: shipment.created_at,
            };
            state.polls.insert(tracking, entry);
        }
        state.outbox.push(fulfilment.created.clone());
        state.fulfilments.insert(
            fulfilment.key.clone(),
            FulfilmentReceipt {
                fingerprint: fulfilment.fingerprint.clone(),
                order_id: shipment.order_id,
                shipment_id: shipment.id,
            },
        );
        Ok(())
    }

    async fn shipment(&self, id: ShipmentId) -> Result<Option<Shipment>, StoreError> {
        Ok(self.state().shipments.get(&id).cloned())
    }

    async fn order_shipments(&self, order: OrderId) -> Result<Vec<Shipment>, StoreError> {
        Ok(self
            .state()
            .shipments
            .values()
            .filter(|shipment| shipment.order_id == order)
            .cloned()
            .collect())
    }

    async fn tracked_shipment(
        &self,
        carrier: Carrier,
        number: &TrackingNumber,
    ) -> Result<Option<Shipment>, StoreError> {
        let state = self.state();
        Ok(state
            .tracking
            .get(&(carrier, number.clone()))
            .and_then(|id| state.shipments.get(id))
            .cloned())
    }

    async fn record_tracking(&self, update: &TrackingUpdate) -> Result<(), TrackingWriteError> {
        let mut state = self.state();
        let shipment = &update.shipment;
        let as_read = state
            .shipments
            .get(&shipment.id)
            .is_some_and(|current| current.version == shipment.version);
        if !as_read
            || update
                .order
                .as_ref()
                .is_some_and(|touch| !state.touch_holds(touch))
        {
            return Err(TrackingWriteError::Stale);
        }
        if let Some(touch) = &update.order {
            state.apply_touch(touch);
        }
        let mut written = shipment.clone();
        written.version += 1;
        state.shipments.insert(written.id, written);
        if let Some(moved) = &update.moved {
            state.outbox.push(moved.clone());
        }
        if shipment.carrier.tracked_by() == TrackedBy::Polling && !shipment.is_in_flight() {
            state
                .polls
                .remove(&(shipment.carrier, shipment.tracking_number.clone()));
        }
        Ok(())
    }

    async fn shipment_figures(&self) -> Result<shopflow_domain::ShipmentFigures, StoreError> {
        let mut figures = shopflow_domain::ShipmentFigures::default();
        for shipment in self.state().shipments.values() {
            if let Some(standing) = shopflow_domain::ShipmentStanding::of(shipment.status()) {
                figures.add(standing, 1);
            }
        }
        Ok(figures)
    }
}

#[async_trait]
impl shopflow_ports::PollingSchedule for MemoryStore {
    async fn due_parcels(
        &self,
        carrier: Carrier,
        now: shopflow_domain::Timestamp,
        limit: u16,
    ) -> Result<Vec<PollEntry>, StoreError> {
        let mut due: Vec<PollEntry> = self
            .state()
            .polls
            .values()
            .filter(|entry| entry.carrier == carrier && entry.due <= now)
            .cloned()
            .collect();
        due.sort_by(|a, b| (a.due, &a.tracking_number).cmp(&(b.due, &b.tracking_number)));
        due.truncate(usize::from(limit));
        Ok(due)
    }

    async fn reschedule(
        &self,
        entry: &PollEntry,
        due: shopflow_domain::Timestamp,
    ) -> Result<(), StoreError> {
        if let Some(kept) = self
            .state()
            .polls
            .get_mut(&(entry.carrier, entry.tracking_number.clone()))
        {
            kept.due = due;
        }
        Ok(())
    }

    async fn unschedule(&self, entry: &PollEntry) -> Result<(), StoreError> {
        self.state()
            .polls
            .remove(&(entry.carrier, entry.tracking_number.clone()));
        Ok(())
    }

    async fn parcels_in_flight(&self, carrier: Carrier) -> Result<u64, StoreError> {
        Ok(self
            .state()
            .polls
            .values()
            .filter(|entry| entry.carrier == carrier)
            .count() as u64)
    }

    async fn budget(&self, carrier: Carrier) -> Result<shopflow_ports::KeptBudget, StoreError> {
        Ok(match self.state().budgets.get(&carrier) {
            Some((budget, version)) => shopflow_ports::KeptBudget {
                budget: Some(*budget),
                version: *version,
            },
            None => shopflow_ports::KeptBudget {
                budget: None,
                version: 0,
            },
        })
    }

    async fn save_budget(
        &self,
        carrier: Carrier,
        read: &shopflow_ports::KeptBudget,
        budget: &shopflow_domain::Budget,
    ) -> Result<bool, StoreError> {
        let mut state = self.state();
        let current = state
            .budgets
            .get(&carrier)
            .map_or(0, |(_, version)| *version);
        if current != read.version {
            return Ok(false);
        }
        state.budgets.insert(carrier, (*budget, read.version + 1));
        Ok(true)
    }
}
