//! Allocation of units set aside for a backorder queue: in queue order,
//! partly where the units run out, in batches; the same result however
//! often, however concurrently and whatever changed under it.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use async_trait::async_trait;
use backorder_allocator::App;
use serde_json::{Value, json};
use shopflow_domain::{
    Actor, Backorder, BackorderStatus, CustomerId, FulfillmentStatus, OrderId, OrderTrigger,
    Product, StockLevel,
};
use shopflow_lambda_kit::consumer::{BusEvent, Handled};
use shopflow_ports::{AllocateError, AllocationBatch, BackorderStore, InventoryStore, OrderReader};
use shopflow_testkit::memory::MemoryStore;
use shopflow_testkit::{
    ADA, SharedStore, StoreHooks, backordered_line, eur, sku, unpaid_order, wh,
};
use std::sync::Mutex;
use ulid::Ulid;

const POSTER: &str = "POSTER-A2";
const WAREHOUSE: &str = "BER";

/// Before the allocator's first write, cancels the order at the head of
/// the queue, as a customer cancelling mid-allocation would.
#[derive(Default)]
struct CancelHead {
    order: Mutex<Option<OrderId>>,
}

#[async_trait]
impl StoreHooks for CancelHead {
    async fn allocate(
        &self,
        memory: &MemoryStore,
        batch: &AllocationBatch,
    ) -> Result<(), AllocateError> {
        let head = self.order.lock().unwrap().take();
        if let Some(order) = head {
            cancel(memory, order).await;
        }
        memory.allocate(batch).await
    }
}

/// The allocator's process dies after its first batch is written: every
/// later batch of the run fails, as a Lambda killed mid-run would leave it.
#[derive(Default)]
struct CrashAfterFirstBatch {
    written: Mutex<u32>,
}

#[async_trait]
impl StoreHooks for CrashAfterFirstBatch {
    async fn allocate(
        &self,
        memory: &MemoryStore,
        batch: &AllocationBatch,
    ) -> Result<(), AllocateError> {
        let written = {
            let mut written = self.written.lock().unwrap();
            *written += 1;
            *written
        };
        if written == 2 {
            return Err(AllocateError::Store(
                shopflow_ports::StoreError::Unavailable("the process died".into()),
            ));
        }
        memory.allocate(batch).await
    }
}

struct Shop<H: StoreHooks = ()> {
    store: SharedStore<H>,
    app: App<SharedStore<H>>,
}

impl<H: StoreHooks + Default> Shop<H> {
    async fn new() -> Self {
        let store = SharedStore::<H>::default();
        let poster = Product {
            sku: sku(POSTER),
            name: "Poster A2".into(),
            price: eur(1_500),
            active: true,
        };
        store.memory().upsert_product(&poster).await.unwrap();
        shopflow_testkit::allow_backorders(store.memory(), POSTER, WAREHOUSE, 10_000).await;
        Self {
            app: App::new(store.clone()),
            store,
        }
    }
}

impl<H: StoreHooks> Shop<H> {
    fn memory(&self) -> &MemoryStore {
        self.store.memory()
    }

    /// Ada's orders, one per entry, each waiting for that many posters.
    async fn backorders(&self, waiting: &[u32]) -> Vec<OrderId> {
        let mut ids = Vec::new();
        for &units in waiting {
            let at = shopflow_lambda_kit::now();
            let line = backordered_line(POSTER, WAREHOUSE, (units, units), 1_500, at);
            let order = unpaid_order(OrderId::from_ulid(Ulid::generate()), ADA, vec![line], at);
            shopflow_testkit::place_order(self.memory(), &order, Ulid::generate()).await;
            ids.push(order.id);
        }
        ids
    }

    /// Receives `units` posters, as the restock endpoint does (setting
    /// aside what the queue is owed), and answers its event.
    async fn restock(&self, units: u32) -> BusEvent {
        shopflow_testkit::receive_stock(
            self.memory(),
            POSTER,
            WAREHOUSE,
            units,
            Ulid::generate(),
            shopflow_lambda_kit::now(),
        )
        .await;
        bus_event(
            "inventory.restocked",
            json!({ "sku": POSTER, "warehouse": WAREHOUSE, "received": units, "set_aside": units }),
        )
    }

    fn level(&self) -> StockLevel {
        self.memory().stock(&sku(POSTER), &wh(WAREHOUSE))
    }

    /// The queue as it stands, in allocation order.
    fn queue(&self) -> Vec<Backorder> {
        self.memory().queue(&sku(POSTER), &wh(WAREHOUSE))
    }

    fn events(&self, detail_type: &str) -> usize {
        self.memory()
            .outbox()
            .iter()
            .filter(|event| event.event.detail_type() == detail_type)
            .count()
    }

    /// The queue's counters agree with its items: what is backordered is
    /// what its open backorders wait for.
    fn assert_counters_match_the_queue(&self) {
        let waiting: u32 = self.queue().iter().map(Backorder::open).sum();
        let level = self.level();
        assert_eq!(level.backordered, waiting, "{level:?}");
        assert!(level.set_aside <= level.backordered, "{level:?}");
    }
}

fn bus_event(detail_type: &str, data: Value) -> BusEvent {
    BusEvent {
        id: Ulid::generate().to_string(),
        detail_type: detail_type.into(),
        source: "shopflow.inventory".into(),
        occurred_at: shopflow_testkit::OPENING_DAY.to_rfc3339(),
        data,
    }
}

async fn cancel(memory: &MemoryStore, order: OrderId) {
    shopflow_testkit::apply(
        memory,
        order,
        OrderTrigger::Cancelled,
        &Actor::Customer(CustomerId::parse(ADA).unwrap()),
        Some("no longer needed".into()),
        shopflow_lambda_kit::now(),
    )
    .await
    .unwrap();
}

fn statuses(queue: &[Backorder]) -> Vec<(u32, BackorderStatus)> {
    queue.iter().map(|b| (b.allocated, b.status)).collect()
}

#[tokio::test]
async fn a_restock_serves_the_queue_in_order_and_partly_where_units_run_out() {
    let shop = Shop::<()>::new().await;
    let orders = shop.backorders(&[2, 3, 1]).await;
    let order_of = |b: &Backorder| orders.iter().position(|id| *id == b.order_id).unwrap();
    let in_queue_order: Vec<usize> = shop.queue().iter().map(order_of).collect();

    let restock = shop.restock(4).await;
    let outcome = shop.app.apply(restock).await.unwrap();

    assert_eq!(outcome, Handled::Applied);
    let queue = shop.queue();
    let served: Vec<(usize, u32, BackorderStatus)> = queue
        .iter()
        .map(|b| (order_of(b), b.allocated, b.status))
        .collect();
    // Whatever the creation order within one millisecond, the queue's order
    // is the order served: the head whole, the next partly, the last not.
    let mut left = 4;
    for (position, (order, allocated, status)) in served.iter().enumerate() {
        assert_eq!(*order, in_queue_order[position]);
        let wanted = [2, 3, 1][*order];
        let given = wanted.min(left);
        left -= given;
        assert_eq!(*allocated, given, "position {position}");
        let expected = match given {
            0 => BackorderStatus::Pending,
            g if g == wanted => BackorderStatus::Fulfilled,
            _ => BackorderStatus::Partial,
        };
        assert_eq!(*status, expected, "position {position}");
    }
    assert_eq!(
        shop.level(),
        StockLevel {
            on_hand: 4,
            reserved: 4,
            set_aside: 0,
            backordered: 2
        }
    );
    shop.assert_counters_match_the_queue();
    let records = shop.memory().allocation_records();
    assert_eq!(records.iter().map(|r| r.1).sum::<u32>(), 4);
    assert!(
        records
            .iter()
            .all(|r| r.2 == "system:backorder-allocator" && r.3 == "inventory.restocked")
    );
}

#[tokio::test]
async fn an_order_whose_every_unit_arrived_moves_from_awaiting_stock() {
    let shop = Shop::<()>::new().await;
    let [order] = shop.backorders(&[2]).await[..] else {
        unreachable!()
    };

    let restock = shop.restock(2).await;
    shop.app.apply(restock).await.unwrap();

    let order = shop.memory().order(order).await.unwrap().unwrap();
    assert_eq!(order.fulfillment_status, FulfillmentStatus::Unfulfilled);
    assert_eq!(order.lines[0].reserved(), 2);
    assert_eq!(order.estimated_fulfillment(), None);
    assert_eq!(shop.events("order.stock_allocated"), 1);
    assert_eq!(shop.events("backorder.fulfilled"), 1);
    assert_eq!(shop.events("backorder.allocated"), 0);
}

#[tokio::test]
async fn a_partly_allocated_order_still_awaits_stock() {
    let shop = Shop::<()>::new().await;
    let [order] = shop.backorders(&[3]).await[..] else {
        unreachable!()
    };

    let restock = shop.restock(1).await;
    shop.app.apply(restock).await.unwrap();

    let order = shop.memory().order(order).await.unwrap().unwrap();
    assert_eq!(order.fulfillment_status, FulfillmentStatus::AwaitingStock);
    assert_eq!(
        (order.lines[0].reserved(), order.lines[0].backordered()),
        (1, 2)
    );
    assert_eq!(shop.events("backorder.allocated"), 1);
    assert_eq!(shop.events("order.stock_allocated"), 0);
}

#[tokio::test]
async fn the_same_restock_delivered_twice_allocates_once() {
    let shop = Shop::<()>::new().await;
    shop.backorders(&[1, 1, 1]).await;
    let restock = shop.restock(2).await;

    let first = shop.app.apply(restock.clone()).await.unwrap();
    let after_first = (shop.level(), statuses(&shop.queue()));
    let again = shop.app.apply(restock).await.unwrap();

    assert_eq!(first, Handled::Applied);
    assert!(matches!(again, Handled::Ignored(_)), "{again:?}");
    assert_eq!((shop.level(), statuses(&shop.queue())), after_first);
    assert_eq!(shop.memory().allocation_records().len(), 2);
}

#[tokio::test]
async fn a_run_that_dies_half_way_is_finished_by_the_redelivery() {
    let shop = Shop::<CrashAfterFirstBatch>::new().await;
    shop.backorders(&[1; 40]).await;
    let restock = shop.restock(40).await;

    let crashed = shop.app.apply(restock.clone()).await;

    assert!(crashed.is_err(), "{crashed:?}");
    // The first batch stays written: 24 served, 16 set aside and waiting.
    let served = shop
        .queue()
        .iter()
        .filter(|b| b.status == BackorderStatus::Fulfilled)
        .count();
    assert_eq!(served, AllocationBatch::MAX);
    assert_eq!(shop.level().set_aside, 16);
    shop.assert_counters_match_the_queue();

    let redelivered = shop.app.apply(restock).await.unwrap();

    assert_eq!(redelivered, Handled::Applied);
    assert!(
        shop.queue()
            .iter()
            .all(|b| b.status == BackorderStatus::Fulfilled)
    );
    assert_eq!(
        shop.level(),
        StockLevel {
            on_hand: 40,
            reserved: 40,
            set_aside: 0,
            backordered: 0
        }
    );
    let records = shop.memory().allocation_records();
    assert_eq!(records.len(), 40, "each backorder allocated once");
}

#[tokio::test]
async fn two_restocks_allocated_at_once_give_each_unit_once() {
    let shop = Shop::<()>::new().await;
    shop.backorders(&[2; 10]).await;
    let first = shop.restock(7).await;
    let second = shop.restock(6).await;

    let (a, b) = tokio::join!(shop.app.apply(first), shop.app.apply(second));
    a.unwrap();
    b.unwrap();

    let allocated: u32 = shop.queue().iter().map(|b| b.allocated).sum();
    assert_eq!(allocated, 13);
    assert_eq!(shop.level().set_aside, 0);
    assert_eq!(shop.level().reserved, 13);
    shop.assert_counters_match_the_queue();
    let records: u32 = shop.memory().allocation_records().iter().map(|r| r.1).sum();
    assert_eq!(records, 13, "no unit recorded twice");
}

#[tokio::test]
async fn a_backorder_cancelled_during_allocation_passes_its_units_to_the_next() {
    let shop = Shop::<CancelHead>::new().await;
    shop.backorders(&[2, 2, 2]).await;
    let queue = shop.queue();
    *shop.store.hooks().order.lock().unwrap() = Some(queue[0].order_id);

    let restock = shop.restock(4).await;
    shop.app.apply(restock).await.unwrap();

    let after: Vec<(u32, BackorderStatus)> = shop
        .queue()
        .iter()
        .map(|b| (b.allocated, b.status))
        .collect();
    assert_eq!(
        after,
        [
            (0, BackorderStatus::Cancelled),
            (2, BackorderStatus::Fulfilled),
            (2, BackorderStatus::Fulfilled)
        ]
    );
    assert_eq!(
        shop.level(),
        StockLevel {
            on_hand: 4,
            reserved: 4,
            set_aside: 0,
            backordered: 0
        }
    );
}

#[tokio::test]
async fn units_an_order_releases_are_allocated_to_the_queue() {
    let shop = Shop::<()>::new().await;
    let restock = shop.restock(2).await;
    assert!(matches!(
        shop.app.apply(restock).await.unwrap(),
        Handled::Ignored(_)
    ));
    let line = shopflow_testkit::order_line(POSTER, WAREHOUSE, 2, 1_500);
    let holder = unpaid_order(
        OrderId::from_ulid(Ulid::generate()),
        ADA,
        vec![line],
        shopflow_lambda_kit::now(),
    );
    shopflow_testkit::place_order(shop.memory(), &holder, Ulid::generate()).await;
    shop.backorders(&[2]).await;

    cancel(shop.memory(), holder.id).await;
    let released = bus_event(
        "order.cancelled",
        json!({ "order_id": holder.id.to_string(), "released": [
            { "sku": POSTER, "warehouse": WAREHOUSE, "quantity": 2 }
        ] }),
    );
    let outcome = shop.app.apply(released).await.unwrap();

    assert_eq!(outcome, Handled::Applied);
    assert_eq!(statuses(&shop.queue()), [(2, BackorderStatus::Fulfilled)]);
    assert_eq!(shop.level().set_aside, 0);
}

#[tokio::test]
async fn a_long_queue_is_served_in_batches_and_a_short_restock_serves_its_head() {
    let shop = Shop::<()>::new().await;
    shop.backorders(&[1; 60]).await;

    let restock = shop.restock(25).await;
    shop.app.apply(restock).await.unwrap();

    let queue = shop.queue();
    assert!(
        queue[..25]
            .iter()
            .all(|b| b.status == BackorderStatus::Fulfilled)
    );
    assert!(
        queue[25..]
            .iter()
            .all(|b| b.status == BackorderStatus::Pending)
    );
    shop.assert_counters_match_the_queue();

    let restock = shop.restock(35).await;
    shop.app.apply(restock).await.unwrap();

    assert!(
        shop.queue()
            .iter()
            .all(|b| b.status == BackorderStatus::Fulfilled)
    );
    assert_eq!(
        shop.level(),
        StockLevel {
            on_hand: 60,
            reserved: 60,
            set_aside: 0,
            backordered: 0
        }
    );
}

#[tokio::test]
async fn events_that_set_nothing_aside_are_ignored() {
    let shop = Shop::<()>::new().await;
    let unrelated = bus_event(
        "order.paid",
        json!({ "order_id": "01JD0000000000000000000000" }),
    );
    let outcome = shop.app.apply(unrelated).await.unwrap();
    assert!(matches!(outcome, Handled::Ignored(_)), "{outcome:?}");

    let unreadable = bus_event("inventory.restocked", json!({ "sku": POSTER }));
    assert!(shop.app.apply(unreadable).await.is_err());
}

#[tokio::test]
async fn staff_asking_for_an_allocation_serves_what_is_set_aside() {
    let shop = Shop::<()>::new().await;
    shop.backorders(&[1, 1]).await;
    // The restock's own nudge is lost; staff ask instead.
    let _lost = shop.restock(1).await;
    let asked = bus_event(
        "backorder.allocation_requested",
        json!({ "sku": POSTER, "warehouse": WAREHOUSE, "requested_by": "admin:staff-1" }),
    );

    let outcome = shop.app.apply(asked).await.unwrap();

    assert_eq!(outcome, Handled::Applied);
    let allocated: u32 = shop.queue().iter().map(|b| b.allocated).sum();
    assert_eq!(allocated, 1);
    let records = shop.memory().allocation_records();
    assert_eq!(records[0].3, "backorder.allocation_requested");
}

#[tokio::test]
async fn units_transferred_in_serve_the_receiving_queue() {
    let shop = Shop::<()>::new().await;
    shop.backorders(&[2]).await;
    shopflow_testkit::receive_stock(
        shop.memory(),
        POSTER,
        "MUC",
        5,
        Ulid::generate(),
        shopflow_lambda_kit::now(),
    )
    .await;
    let transfer = shopflow_ports::StaffMove {
        sku: sku(POSTER),
        change: shopflow_domain::StockMove::Transfer {
            from: wh("MUC"),
            to: wh(WAREHOUSE),
            quantity: 3,
        },
        note: None,
        by: CustomerId::parse("staff-1").unwrap(),
        key: shopflow_ports::IdempotencyKey {
            scope: "transfer#test".into(),
            key: "1".into(),
        },
        fingerprint: "transfer 3".into(),
        event_id: Ulid::generate(),
        at: shopflow_lambda_kit::now(),
    };
    shop.memory().staff_move(&transfer).await.unwrap();
    let event = shop
        .memory()
        .outbox()
        .into_iter()
        .find(|event| event.event.detail_type() == "inventory.transferred")
        .unwrap();

    let outcome = shop
        .app
        .apply(bus_event(
            "inventory.transferred",
            serde_json::to_value(&event.event).unwrap(),
        ))
        .await
        .unwrap();

    assert_eq!(outcome, Handled::Applied);
    assert_eq!(statuses(&shop.queue()), [(2, BackorderStatus::Fulfilled)]);
    assert_eq!(
        shop.level(),
        StockLevel {
            on_hand: 3,
            reserved: 2,
            set_aside: 0,
            backordered: 0
        }
    );
}
