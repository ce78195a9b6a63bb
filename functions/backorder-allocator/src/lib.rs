//! Gives the stock set aside for a backorder queue to its backorders, in
//! queue order (highest priority, then first come), partly where the units
//! run out. Consumed from its own SQS queue: `inventory.restocked`,
//! `inventory.adjusted`, `inventory.transferred` (its receiving warehouse),
//! staff's `backorder.allocation_requested` and the releases of
//! `order.cancelled` / `order.expired` name the queues that may have units
//! set aside. The event is only the nudge: every run reads the stock and
//! the queue as they are and distributes what is set aside, so a
//! redelivery, two restocks at once or a crash half way all end the same,
//! and each batch is one transaction that holds only while what it read is
//! unchanged.
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use lambda_runtime::{Error, LambdaEvent};
use serde::Deserialize;
use shopflow_domain::{Actor, Allotment, OrderId, Sku, WarehouseId, allot};
use shopflow_dynamo::DynamoStore;
use shopflow_lambda_kit::config::{ConfigError, Env};
use shopflow_lambda_kit::consumer::{self, BusEvent, ConsumeError, Handled};
use shopflow_lambda_kit::function::{EventFunction, Function, Shared};
use shopflow_lambda_kit::metrics::{self, Unit};
use shopflow_lambda_kit::{config, now};
use shopflow_ports::{
    AllocateError, AllocationBatch, BackorderAllocation, BackorderStore, Queue, StoreError,
};
use std::collections::{BTreeSet, HashMap};

pub const CONSUMER: &str = "backorder-allocator";
const ACTOR: Actor = Actor::System(CONSUMER);
/// Messages of one batch handled at once.
const CONCURRENCY: usize = 4;
/// Passes over one queue whose write found it changed before giving up
/// (SQS then redelivers).
const ATTEMPTS: u32 = 5;

pub struct App<S> {
    store: S,
}

/// backorder-allocator as deployed: on the DynamoDB table.
pub type Deployed = App<DynamoStore>;

impl Function for Deployed {
    const NAME: &'static str = "backorder-allocator";

    fn build(env: &Env, shared: &Shared) -> Result<Self, ConfigError> {
        Ok(Self::new(DynamoStore::from_config(
            &shared.aws.dynamodb,
            config::required(env, "TABLE_NAME")?,
        )))
    }
}

impl EventFunction<SqsEvent> for Deployed {
    type Answer = SqsBatchResponse;

    fn serve(
        &self,
        event: LambdaEvent<SqsEvent>,
    ) -> impl std::future::Future<Output = Result<SqsBatchResponse, Error>> + Send {
        self.handle(event)
    }
}

/// What one allocation run did to a queue.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Allocated {
    pub backorders: usize,
    pub units: u32,
    /// Transactions written.
    pub batches: usize,
}

impl Allocated {
    fn add(&mut self, batch: &AllocationBatch) {
        self.backorders += batch.allocations.len();
        self.units += batch.units();
        self.batches += 1;
    }
}

/// The stock and warehouse an event names.
#[derive(Deserialize)]
struct Place {
    sku: Sku,
    warehouse: WarehouseId,
}

/// Where a transfer brought units.
#[derive(Deserialize)]
struct Arrival {
    sku: Sku,
    to: WarehouseId,
}

/// The lines an order's lapse or cancellation released.
#[derive(Deserialize)]
struct Released {
    released: Vec<Place>,
}

fn failed(error: impl std::error::Error) -> ConsumeError {
    ConsumeError::failed(&error)
}

impl<S: BackorderStore> App<S> {
    pub fn new(store: S) -> Self {
        Self { store }
    }

    pub async fn handle(&self, event: LambdaEvent<SqsEvent>) -> Result<SqsBatchResponse, Error> {
        Ok(consumer::consume_counted(
            CONSUMER,
            "StockSetAside",
            event.payload,
            CONCURRENCY,
            |event| self.apply(event),
        )
        .await)
    }

    pub async fn apply(&self, event: BusEvent) -> Result<Handled, ConsumeError> {
        let queues = queues_named(&event)?;
        if queues.is_empty() {
            return Ok(Handled::Ignored(format!(
                "no queue to serve for {}",
                event.detail_type
            )));
        }
        let mut total = Allocated::default();
        for (sku, warehouse) in &queues {
            let done = self
                .allocate_queue(sku, warehouse, &event.detail_type)
                .await?;
            total.backorders += done.backorders;
            total.units += done.units;
            total.batches += done.batches;
        }
        Ok(if total.units == 0 {
            Handled::Ignored("nothing set aside for a waiting backorder".into())
        } else {
            Handled::Applied
        })
    }

    /// Gives what is set aside for the queue of `sku` in `warehouse` to
    /// its backorders in order, batch by batch, until nothing set aside is
    /// left to give; `reason` is recorded with each allocation.
    pub async fn allocate_queue(
        &self,
        sku: &Sku,
        warehouse: &WarehouseId,
        reason: &str,
    ) -> Result<Allocated, ConsumeError> {
        let mut done = Allocated::default();
        let mut moved = 0;
        loop {
            let queue = self.store.queue(sku, warehouse).await.map_err(failed)?;
            let allotments = allot(queue.level.set_aside, &queue.waiting);
            if allotments.is_empty() {
                tracing::info!(%sku, %warehouse, units = done.units, backorders = done.backorders,
                    batches = done.batches, waiting = queue.waiting.len(), "queue served");
                record_metrics(&done, &queue);
                return Ok(done);
            }
            match self.write(&queue, &allotments, reason, &mut done).await {
                Ok(()) => {}
                Err(AllocateError::Moved) => {
                    moved += 1;
                    tracing::info!(%sku, %warehouse, moved, "queue changed under the allocation; reading again");
                    if moved >= ATTEMPTS {
                        return Err(ConsumeError::Failed(format!(
                            "the queue of {sku} in {warehouse} kept changing"
                        )));
                    }
                }
                Err(AllocateError::Store(error)) => return Err(failed(error)),
            }
        }
    }

    /// Writes `allotments` in batches of at most [`AllocationBatch::MAX`].
    async fn write(
        &self,
        queue: &Queue,
        allotments: &[Allotment],
        reason: &str,
        done: &mut Allocated,
    ) -> Result<(), AllocateError> {
        let backorders: HashMap<_, _> = queue.waiting.iter().map(|b| (b.id, b)).collect();
        for chunk in allotments.chunks(AllocationBatch::MAX) {
            let ids: BTreeSet<OrderId> = chunk
                .iter()
                .filter_map(|a| backorders.get(&a.backorder).map(|b| b.order_id))
                .collect();
            let ids: Vec<OrderId> = ids.into_iter().collect();
            let orders: HashMap<_, _> = self
                .store
                .orders_by_id(&ids)
                .await?
                .into_iter()
                .map(|order| (order.id, order))
                .collect();
            let at = now();
            let allocations = chunk
                .iter()
                .map(|allotment| {
                    let backorder = backorders[&allotment.backorder];
                    orders
                        .get(&backorder.order_id)
                        .and_then(|order| {
                            BackorderAllocation::new(
                                backorder,
                                allotment.units,
                                order,
                                &ACTOR,
                                reason,
                                at,
                            )
                        })
                        .ok_or_else(|| orphaned(backorder.id, backorder.order_id))
                })
                .collect::<Result<Vec<_>, _>>()?;
            let batch = AllocationBatch {
                sku: queue.sku.clone(),
                warehouse: queue.warehouse.clone(),
                allocations,
            };
            self.store.allocate(&batch).await?;
            done.add(&batch);
        }
        Ok(())
    }
}

/// What a run allocated, and how deep the queue it served still is.
fn record_metrics(done: &Allocated, queue: &Queue) {
    metrics::emit(
        CONSUMER,
        &[
            ("BackordersAllocated", done.backorders as f64, Unit::Count),
            (
                "BackorderUnitsAllocated",
                f64::from(done.units),
                Unit::Count,
            ),
            ("AllocationBatches", done.batches as f64, Unit::Count),
            (
                "BackorderQueueDepth",
                queue.waiting.len() as f64,
                Unit::Count,
            ),
            (
                "BackorderedUnitsWaiting",
                f64::from(queue.level.backordered),
                Unit::Count,
            ),
        ],
    );
}

/// A backorder whose order does not wait for it: the two disagree, which
/// no retry mends.
fn orphaned(backorder: shopflow_domain::BackorderId, order: OrderId) -> AllocateError {
    AllocateError::Store(StoreError::Corrupt {
        entity: "backorder",
        reason: format!("order {order} does not wait for backorder {backorder}"),
    })
}

/// The queues an event may have set units aside for.
fn queues_named(event: &BusEvent) -> Result<BTreeSet<(Sku, WarehouseId)>, ConsumeError> {
    let unreadable = |e: serde_json::Error| ConsumeError::Unreadable(e.to_string());
    let places = match event.detail_type.as_str() {
        "inventory.restocked" | "inventory.adjusted" | "backorder.allocation_requested" => {
            vec![serde_json::from_value::<Place>(event.data.clone()).map_err(unreadable)?]
        }
        // Units arrive at `to`: only its queue can have been given any.
        "inventory.transferred" => {
            let arrival: Arrival =
                serde_json::from_value(event.data.clone()).map_err(unreadable)?;
            vec![Place {
                sku: arrival.sku,
                warehouse: arrival.to,
            }]
        }
        "order.cancelled" | "order.expired" => {
            serde_json::from_value::<Released>(event.data.clone())
                .map_err(unreadable)?
                .released
        }
        _ => Vec::new(),
    };
    Ok(places
        .into_iter()
        .map(|place| (place.sku, place.warehouse))
        .collect())
}
