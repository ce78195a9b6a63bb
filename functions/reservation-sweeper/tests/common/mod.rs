//! The shop a sweep runs over: unpaid, paid and cancelled orders placed
//! straight into the in-memory store with chosen reservation deadlines, a
//! store that can lose a write to a late payment or fail one outright, and
//! readers for what the sweep left behind.
#![allow(clippy::unwrap_used, clippy::expect_used, dead_code)]

use async_trait::async_trait;
use reservation_sweeper::{App, SweepLimits, SweepReport};
use shopflow_domain::events::{OrderStatusChanged, ReservedLine};
use shopflow_domain::{
    Actor, Order, OrderId, OrderLine, OrderState, OrderStatus, OrderTrigger, Product, StockLevel,
    Timestamp,
};
use shopflow_ports::{
    ChangeError, HistoryEntry, InventoryStore, OrderLifecycle, OrderReader, Page, StatusChange,
    StoreError,
};
use shopflow_testkit::memory::MemoryStore;
use shopflow_testkit::{SharedStore, StoreHooks, eur, logging, order_line};
use std::collections::BTreeSet;
use std::sync::Mutex;
use std::time::Duration;
use ulid::Ulid;

pub use shopflow_testkit::{ADA as CUSTOMER, payments, sku, wh};

pub const TEE: &str = "TEE-RED";
pub const MUG: &str = "MUG-BLU";
/// Tees are kept in Berlin, mugs in Hamburg.
pub const TEE_WAREHOUSE: &str = "BER";
pub const MUG_WAREHOUSE: &str = "HAM";
/// Units of each product on hand before any order reserves some.
pub const ON_HAND: u32 = 1_000;

/// 2024-01-01T00:00:00Z: orders are placed from here on, a minute apart.
const FIRST_ORDER_AT: u64 = shopflow_testkit::OPENING_DAY.as_millis();
/// 2024-01-01T12:00:00Z: when the sweeps in these tests run.
pub const NOW: Timestamp = Timestamp::from_millis(FIRST_ORDER_AT + 12 * 3_600_000);

pub fn minutes_ago(minutes: u64) -> Timestamp {
    Timestamp::from_millis(NOW.as_millis() - minutes * 60_000)
}

pub fn minutes_from_now(minutes: u64) -> Timestamp {
    NOW.plus_secs(minutes * 60)
}

/// Generous limits: one page, plenty of time.
pub fn limits() -> SweepLimits {
    SweepLimits {
        concurrency: 4,
        page_size: 100,
        time_budget: Duration::from_secs(60),
    }
}

/// What an order reserved, as events list it.
pub fn lines(tees: u32, mugs: u32) -> Vec<ReservedLine> {
    let mut lines = Vec::new();
    if tees > 0 {
        lines.push(ReservedLine {
            sku: sku(TEE),
            warehouse: wh(TEE_WAREHOUSE),
            quantity: tees,
        });
    }
    if mugs > 0 {
        lines.push(ReservedLine {
            sku: sku(MUG),
            warehouse: wh(MUG_WAREHOUSE),
            quantity: mugs,
        });
    }
    lines
}

/// Orders placed one after another, then swept.
pub struct Shop {
    store: SweptStore,
    placed: u64,
}

impl Shop {
    pub async fn new() -> Self {
        let store = SweptStore::default();
        for (n, (code, name, warehouse)) in [
            (TEE, "Red tee", TEE_WAREHOUSE),
            (MUG, "Blue mug", MUG_WAREHOUSE),
        ]
        .into_iter()
        .enumerate()
        {
            let product = Product {
                sku: sku(code),
                name: name.into(),
                price: eur(1_000),
                active: true,
            };
            store.memory().upsert_product(&product).await.unwrap();
            shopflow_testkit::receive_stock(
                store.memory(),
                code,
                warehouse,
                ON_HAND,
                Ulid::from_parts(FIRST_ORDER_AT, n as u128),
                Timestamp::from_millis(FIRST_ORDER_AT),
            )
            .await;
        }
        Self { store, placed: 0 }
    }

    /// Places an unpaid order for `tees` tees and `mugs` mugs (at least one
    /// of them) whose reservation lapses at `lapses_at`.
    pub async fn unpaid_order(&mut self, lapses_at: Timestamp, tees: u32, mugs: u32) -> OrderId {
        self.placed += 1;
        let created_at = Timestamp::from_millis(FIRST_ORDER_AT + self.placed * 60_000);
        let id = OrderId::from_ulid(Ulid::from_parts(
            created_at.as_millis(),
            u128::from(self.placed),
        ));
        let order = order(id, created_at, lapses_at, tees, mugs);
        shopflow_testkit::place_order(
            self.store.memory(),
            &order,
            Ulid::from_parts(created_at.as_millis(), 0),
        )
        .await;
        id
    }

    /// Places a draft order (no lines, so no stock held) started at `created_at`.
    pub async fn draft(&mut self, created_at: Timestamp) -> OrderId {
        self.placed += 1;
        let id = OrderId::from_ulid(Ulid::from_parts(
            created_at.as_millis(),
            u128::from(self.placed),
        ));
        let mut order = shopflow_testkit::unpaid_order(id, "drafter", Vec::new(), created_at);
        order.status = OrderStatus::Draft;
        shopflow_testkit::place_order(
            self.store.memory(),
            &order,
            Ulid::from_parts(created_at.as_millis(), 0),
        )
        .await;
        id
    }

    /// Moves the order on by `trigger`, as checkout's neighbours would.
    pub async fn apply(&self, id: OrderId, trigger: OrderTrigger, actor: Actor) {
        apply(self.store.memory(), id, trigger, &actor)
            .await
            .unwrap();
    }

    /// The customer pays for the order just after the sweeper read it, so
    /// the sweeper's write finds it changed.
    pub fn paid_between_read_and_write(&self, id: OrderId) {
        self.faults().paid_before_write.lock().unwrap().insert(id);
    }

    /// Writing a change to the order fails, as a throttled table would.
    pub fn failing_writes_for(&self, id: OrderId) {
        self.faults().failing_writes.lock().unwrap().insert(id);
    }

    /// The table recovers: writes stop failing.
    pub fn recover(&self) {
        self.faults().failing_writes.lock().unwrap().clear();
    }

    pub fn sweeper(&self, limits: SweepLimits) -> Sweeper {
        Sweeper {
            app: App::new(self.store.clone(), limits),
        }
    }

    /// The sweeper's recorded runs, newest first.
    pub async fn runs(&self) -> Vec<shopflow_ports::JobRun> {
        shopflow_ports::JobRuns::runs(self.store.memory(), "reservation-sweeper", 10)
            .await
            .unwrap()
    }

    pub async fn status(&self, id: OrderId) -> OrderStatus {
        self.state(id).await.status
    }

    /// The order's lifecycle, money and goods.
    pub async fn state(&self, id: OrderId) -> OrderState {
        self.store
            .memory()
            .order(id)
            .await
            .unwrap()
            .unwrap()
            .state()
    }

    pub fn stock(&self, code: &str) -> StockLevel {
        let warehouse = if code == TEE {
            TEE_WAREHOUSE
        } else {
            MUG_WAREHOUSE
        };
        self.store.memory().stock(&sku(code), &wh(warehouse))
    }

    /// Units of `code` reserved by orders.
    pub fn reserved(&self, code: &str) -> u32 {
        self.stock(code).reserved
    }

    pub async fn history(&self, id: OrderId) -> Vec<HistoryEntry> {
        self.store.memory().history(id).await.unwrap()
    }

    /// Status-change events in the outbox, oldest first, each with its detail-type.
    pub fn status_events(&self) -> Vec<(&'static str, OrderStatusChanged)> {
        shopflow_testkit::status_events(self.store.memory())
    }

    /// The `order.expired` events recorded for the order.
    pub fn expiry_events(&self, id: OrderId) -> Vec<OrderStatusChanged> {
        self.status_events()
            .into_iter()
            .filter(|(kind, change)| *kind == "order.expired" && change.order_id == id)
            .map(|(_, change)| change)
            .collect()
    }

    /// Every page of lapsed reservations the sweeps read so far.
    pub fn pages_read(&self) -> Vec<PageRead> {
        self.faults().pages.lock().unwrap().clone()
    }

    fn faults(&self) -> &Faults {
        self.store.hooks()
    }
}

/// The sweeper over the shop's store.
pub struct Sweeper {
    app: App<SweptStore>,
}

impl Sweeper {
    pub async fn sweep(&self, now: Timestamp) -> SweepReport {
        let _logging = logging();
        self.app.sweep(now).await
    }
}

/// One read of the lapse index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageRead {
    pub shard: u8,
    pub continued: bool,
    pub limit: u16,
    pub orders: usize,
}

/// The memory store as the sweeper sees it, shared with the test, with
/// faults on cue for chosen orders.
type SweptStore = SharedStore<Faults>;

#[derive(Default)]
struct Faults {
    paid_before_write: Mutex<BTreeSet<OrderId>>,
    failing_writes: Mutex<BTreeSet<OrderId>>,
    pages: Mutex<Vec<PageRead>>,
}

#[async_trait]
impl StoreHooks for Faults {
    async fn change_status(
        &self,
        memory: &MemoryStore,
        change: &StatusChange,
    ) -> Result<(), ChangeError> {
        if self
            .failing_writes
            .lock()
            .unwrap()
            .contains(&change.order_id)
        {
            return Err(ChangeError::Store(StoreError::Unavailable(
                "throttled".into(),
            )));
        }
        let paid_first = self
            .paid_before_write
            .lock()
            .unwrap()
            .remove(&change.order_id);
        if paid_first {
            apply(
                memory,
                change.order_id,
                OrderTrigger::PaymentCaptured,
                &payments(),
            )
            .await?;
        }
        memory.change_status(change).await
    }

    async fn lapsed_reservations(
        &self,
        memory: &MemoryStore,
        now: Timestamp,
        shard: u8,
        after: Option<String>,
        limit: u16,
    ) -> Result<Page<Order, String>, StoreError> {
        let continued = after.is_some();
        let page = memory.lapsed_reservations(now, shard, after, limit).await?;
        self.pages.lock().unwrap().push(PageRead {
            shard,
            continued,
            limit,
            orders: page.items.len(),
        });
        Ok(page)
    }
}

/// Moves the order on by `trigger` as the domain allows, through the store,
/// a second after it was placed.
async fn apply(
    store: &MemoryStore,
    id: OrderId,
    trigger: OrderTrigger,
    actor: &Actor,
) -> Result<(), ChangeError> {
    let order = store.order(id).await?.expect("the order exists");
    let at = Timestamp::from_millis(order.created_at.as_millis() + 1_000);
    shopflow_testkit::apply(store, id, trigger, actor, None, at).await
}

fn order(id: OrderId, created_at: Timestamp, lapses_at: Timestamp, tees: u32, mugs: u32) -> Order {
    let order_lines: Vec<OrderLine> = lines(tees, mugs)
        .into_iter()
        .map(|line| OrderLine {
            name: line.sku.to_string(),
            ..order_line(
                line.sku.as_str(),
                line.warehouse.as_str(),
                line.quantity,
                1_000,
            )
        })
        .collect();
    assert!(!order_lines.is_empty(), "an order has at least one line");
    Order {
        reservation_expires_at: lapses_at,
        payment: shopflow_domain::Payment::default(),
        ..shopflow_testkit::unpaid_order(id, CUSTOMER, order_lines, created_at)
    }
}
