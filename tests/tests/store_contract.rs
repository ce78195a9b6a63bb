//! The store ports' behaviour, run against the in-memory fake and against
//! DynamoDB Local alike, so the fake the handler tests use cannot drift from
//! the adapter that runs in AWS. Each behaviour is written once, generic over
//! the store, and the `contract!` list runs it on both.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use shopflow_domain::events::{DomainEvent, InvoiceMove, InvoiceMoved};
use shopflow_domain::invoice::{
    Billed, Invoice, InvoiceId, InvoiceStatus, ManualBill, Party, PaymentMethod, PaymentRecord,
    ReminderCadence, Sequence, Series, Terms,
};
use shopflow_domain::{
    Actor, AdjustReason, BackorderSettings, CustomerId, LowStock, MoveError, Order, OrderId,
    OrderTrigger, Product, StockLevel, StockMove, Timestamp,
};
use shopflow_dynamo::DynamoStore;
use shopflow_ports::{
    AllocateError, AllocationBatch, BackorderAllocation, BackorderCancellation, BackorderReader,
    BackorderScope, BackorderStanding, BackorderStore, ChangeError, CheckoutStore, IdempotencyKey,
    InventoryStore, JobRun, JobRuns, OrderLifecycle, OrderReader, PaymentRecords, PlaceOrderError,
    Reprioritization, SaveSettingsError, SettingsRow, StaffMove, StaffMoveError, StaffMoved,
    StandingRange, StatusChange,
};
use shopflow_ports::{
    Claim, DraftIssueError, DueCursor, DueRange, InvoiceIssue, InvoicePayment, InvoiceQuery,
    InvoiceReceipt, InvoiceReminder, InvoiceStore, InvoiceVoid, InvoiceWriteError, Invoiced,
    InvoicingError, IssueError, Page, STATUS_SHARDS, credit_refunds, invoice_shard, issue_draft,
    issue_order_invoice,
};
use shopflow_ports::{
    FulfilError, Fulfilment, OrderTouch, ShipmentStore, TrackingUpdate, TrackingWriteError,
};
use shopflow_testkit::memory::MemoryStore;
use shopflow_testkit::{
    ADA, allow_backorders, backordered_line, eur, order_line, payments, place_order, receive_stock,
    sku, try_place_order, unpaid_order, wh,
};
use ulid::Ulid;

/// What a behaviour needs of a store.
trait Store:
    shopflow_ports::PollingSchedule
    + CheckoutStore
    + InventoryStore
    + OrderLifecycle
    + BackorderStore
    + BackorderReader
    + PaymentRecords
    + JobRuns
    + ShipmentStore
    + shopflow_ports::Waitlist
    + InvoiceStore
    + shopflow_ports::StockLedger
    + shopflow_ports::PreferenceStore
    + shopflow_ports::NotificationStore
{
}
impl<S> Store for S where
    S: shopflow_ports::PollingSchedule
        + CheckoutStore
        + InventoryStore
        + OrderLifecycle
        + BackorderStore
        + BackorderReader
        + PaymentRecords
        + JobRuns
        + ShipmentStore
        + shopflow_ports::Waitlist
        + InvoiceStore
        + shopflow_ports::StockLedger
        + shopflow_ports::PreferenceStore
        + shopflow_ports::NotificationStore
{
}

const WAREHOUSE: &str = "WH-NORTH";

/// A SKU of the test's own (the DynamoDB table is shared by every test),
/// stocked with `units` in [`WAREHOUSE`].
async fn stocked(store: &impl Store, units: u32) -> String {
    let code = format!("C-{}", Ulid::generate());
    store
        .upsert_product(&Product {
            sku: sku(&code),
            name: "Contract tee".into(),
            price: eur(2_500),
            active: true,
        })
        .await
        .unwrap();
    receive_stock(store, &code, WAREHOUSE, units, Ulid::generate(), now()).await;
    code
}

fn now() -> Timestamp {
    shopflow_lambda_kit::now()
}

/// Ada's order of `units` of `code`, placed (its units reserved).
async fn placed(store: &impl Store, code: &str, units: u32) -> Order {
    let id = OrderId::from_ulid(Ulid::generate());
    let order = unpaid_order(
        id,
        ADA,
        vec![order_line(code, WAREHOUSE, units, 2_500)],
        now(),
    );
    place_order(store, &order, Ulid::generate()).await;
    store.order(id).await.unwrap().unwrap()
}

/// The change `trigger` makes to `order` as read.
fn change(order: &Order, trigger: OrderTrigger) -> StatusChange {
    let to = order.state().apply(trigger).unwrap();
    StatusChange::new(order, to, trigger, &payments(), None, now())
}

/// `order` expired by the sweeper, its units handed back, as read again.
async fn expired(store: &impl Store, order: &Order) -> Order {
    let sweeper = Actor::System("reservation-sweeper");
    let lapse = order
        .state()
        .apply(OrderTrigger::ReservationExpired)
        .unwrap();
    let change = StatusChange::new(
        order,
        lapse,
        OrderTrigger::ReservationExpired,
        &sweeper,
        None,
        now(),
    );
    store.change_status(&change).await.unwrap();
    store.order(order.id).await.unwrap().unwrap()
}

fn available(level: &[(shopflow_domain::WarehouseId, shopflow_domain::StockLevel)]) -> u32 {
    level.iter().map(|(_, level)| level.available()).sum()
}

/// Two late payments read the same expired order; the first revives it and
/// takes its units back. The second's write fails on the order's version
/// and on the stock at once: that is a stale read, decided again, never
/// "stock gone" (which would give back the money the order now holds).
async fn a_late_payment_that_lost_the_race_is_stale_not_out_of_stock(store: &impl Store) {
    let code = stocked(store, 2).await;
    let order = placed(store, &code, 2).await;
    let lapsed = expired(store, &order).await;

    store
        .change_status(&change(&lapsed, OrderTrigger::PaymentAuthorized))
        .await
        .unwrap();
    let loser = store
        .change_status(&change(&lapsed, OrderTrigger::PaymentCaptured))
        .await;

    assert!(matches!(loser, Err(ChangeError::Stale)), "{loser:?}");
    assert_eq!(
        available(&store.stock_levels(&sku(&code)).await.unwrap()),
        0
    );
    let revived = store.order(order.id).await.unwrap().unwrap();
    assert_eq!(revived.version, lapsed.version + 1, "changed once");
}

/// A late payment for an expired order whose units were sold meanwhile.
async fn a_late_payment_finds_the_stock_gone(store: &impl Store) {
    let code = stocked(store, 2).await;
    let order = placed(store, &code, 2).await;
    let lapsed = expired(store, &order).await;
    placed(store, &code, 1).await;

    let late = store
        .change_status(&change(&lapsed, OrderTrigger::PaymentCaptured))
        .await;

    assert!(matches!(late, Err(ChangeError::OutOfStock)), "{late:?}");
    let unchanged = store.order(order.id).await.unwrap().unwrap();
    assert_eq!(unchanged.state(), lapsed.state());
    assert_eq!(
        available(&store.stock_levels(&sku(&code)).await.unwrap()),
        1
    );
}

/// The same consumed event applied twice is a duplicate, even when the
/// order has moved on since (so its version no longer matches either).
async fn a_redelivered_event_is_a_duplicate_whatever_else_changed(store: &impl Store) {
    let code = stocked(store, 1).await;
    let order = placed(store, &code, 1).await;
    let event = Ulid::generate().to_string();
    let first = change(&order, OrderTrigger::PaymentAuthorized).applying("contract", &event);
    store.change_status(&first).await.unwrap();

    let again = store.change_status(&first).await;

    assert!(
        matches!(again, Err(ChangeError::AlreadyApplied)),
        "{again:?}"
    );
    assert!(store.has_applied("contract", &event).await.unwrap());
    let stored = store.order(order.id).await.unwrap().unwrap();
    assert_eq!(stored.version, order.version + 1, "applied once");
    assert_eq!(stored.status, first.to.status);
}

/// A restock of `units` of `code` under `key`.
fn restock(code: &str, units: u32, key: &str) -> StaffMove {
    by_staff(
        code,
        StockMove::Restock {
            warehouse: wh(WAREHOUSE),
            received: units,
        },
        key,
    )
}

/// Staff's `change` to the stock of `code` under `key`.
fn by_staff(code: &str, change: StockMove, key: &str) -> StaffMove {
    StaffMove {
        sku: sku(code),
        fingerprint: format!("{code}#{change:?}"),
        change,
        note: None,
        by: CustomerId::parse("staff-1").unwrap(),
        key: IdempotencyKey {
            scope: "staff#contract".into(),
            key: key.into(),
        },
        event_id: Ulid::generate(),
        at: now(),
    }
}

/// What a staff move left in [`WAREHOUSE`] alone.
fn left_here(level: StockLevel) -> Vec<(shopflow_domain::WarehouseId, StockLevel)> {
    vec![(wh(WAREHOUSE), level)]
}

/// D4: a restock retried (its answer lost) adds its units once and answers
/// with the level it left, however the stock moved since.
async fn a_restock_replayed_under_its_key_adds_once(store: &impl Store) {
    let code = stocked(store, 3).await;
    let key = Ulid::generate().to_string();
    let delivery = restock(&code, 10, &key);

    let first = store.staff_move(&delivery).await.unwrap();
    placed(store, &code, 2).await;
    let retry = store.staff_move(&delivery).await.unwrap();
    let reused = store.staff_move(&restock(&code, 11, &key)).await;

    let left = StockLevel {
        on_hand: 13,
        reserved: 0,
        ..StockLevel::default()
    };
    assert_eq!(first, StaffMoved::Now(left_here(left)));
    assert_eq!(retry, StaffMoved::Before(left_here(left)));
    assert!(
        matches!(reused, Err(StaffMoveError::KeyReused)),
        "{reused:?}"
    );
    let levels = store.stock_levels(&sku(&code)).await.unwrap();
    assert_eq!(levels[0].1.on_hand, 13, "one increment");
    assert_eq!(available(&levels), 11);
}

/// A restock of a SKU the catalog does not have.
async fn a_restock_of_an_unknown_product_is_refused(store: &impl Store) {
    let code = format!("C-{}", Ulid::generate());
    let delivery = restock(&code, 1, &Ulid::generate().to_string());

    let refused = store.staff_move(&delivery).await;

    assert!(
        matches!(refused, Err(StaffMoveError::UnknownProduct(_))),
        "{refused:?}"
    );
    assert!(store.stock_levels(&sku(&code)).await.unwrap().is_empty());
}

/// Backorder settings saved for some warehouses read back there, the
/// defaults elsewhere, and stock already there is left as it was.
async fn backorder_settings_are_saved_per_warehouse(store: &impl Store) {
    let code = stocked(store, 4).await;
    let settings = BackorderSettings {
        allow_backorder: true,
        max_backorder_quantity: 60,
        estimated_restock_days: 3,
        estimated_restock_date: Some(now().plus_secs(86_400)),
    };
    let rows = [WAREHOUSE, "WH-EMPTY"].map(|warehouse| SettingsRow {
        sku: sku(&code),
        warehouse: wh(warehouse),
        settings,
    });

    store.save_backorder_settings(&rows).await.unwrap();

    for warehouse in [WAREHOUSE, "WH-EMPTY"] {
        let read = store.backorder_settings(&sku(&code), &wh(warehouse)).await;
        assert_eq!(read.unwrap(), Some(settings), "{warehouse}");
    }
    let elsewhere = store.backorder_settings(&sku(&code), &wh("WH-OTHER")).await;
    assert_eq!(elsewhere.unwrap(), Some(BackorderSettings::default()));
    let levels = store.stock_levels(&sku(&code)).await.unwrap();
    let on_hand: Vec<_> = levels
        .iter()
        .map(|(wh, level)| (wh.to_string(), level.on_hand))
        .collect();
    assert_eq!(
        on_hand,
        [("WH-EMPTY".to_owned(), 0), (WAREHOUSE.to_owned(), 4)]
    );
}

/// Settings naming a product the catalog lacks save no row at all.
async fn backorder_settings_for_an_unknown_product_save_nothing(store: &impl Store) {
    let known = stocked(store, 1).await;
    let unknown = format!("C-{}", Ulid::generate());
    let rows = [&known, &unknown].map(|code| SettingsRow {
        sku: sku(code),
        warehouse: wh(WAREHOUSE),
        settings: BackorderSettings {
            allow_backorder: true,
            ..BackorderSettings::default()
        },
    });

    let refused = store.save_backorder_settings(&rows).await;

    assert!(
        matches!(&refused, Err(SaveSettingsError::UnknownProducts(rows)) if rows == &[1]),
        "{refused:?}"
    );
    let read = store.backorder_settings(&sku(&known), &wh(WAREHOUSE)).await;
    assert_eq!(read.unwrap(), Some(BackorderSettings::default()));
    let unknown_read = store
        .backorder_settings(&sku(&unknown), &wh(WAREHOUSE))
        .await;
    assert_eq!(unknown_read.unwrap(), None);
}

/// Ada's order of `units` of `code`, the last `waiting` of them backordered,
/// as the store answered its placing.
async fn backordered(
    store: &impl Store,
    code: &str,
    (units, waiting): (u32, u32),
) -> Result<Order, PlaceOrderError> {
    let id = OrderId::from_ulid(Ulid::generate());
    let eta = now().plus_secs(14 * 86_400);
    let line = backordered_line(code, WAREHOUSE, (units, waiting), 2_500, eta);
    let order = unpaid_order(id, ADA, vec![line], now());
    try_place_order(store, &order, Ulid::generate()).await?;
    Ok(store.order(id).await.unwrap().unwrap())
}

async fn level(store: &impl Store, code: &str) -> StockLevel {
    let levels = store.stock_levels(&sku(code)).await.unwrap();
    levels
        .into_iter()
        .find(|(warehouse, _)| warehouse.as_str() == WAREHOUSE)
        .map(|(_, level)| level)
        .unwrap_or_default()
}

fn counters(on_hand: u32, reserved: u32, set_aside: u32, backordered: u32) -> StockLevel {
    StockLevel {
        on_hand,
        reserved,
        set_aside,
        backordered,
    }
}

/// A short line reserves every unit there and backorders the rest, within
/// the queue's limit; a line the limit cannot take places nothing.
async fn a_backordered_checkout_stays_within_the_queue_limit(store: &impl Store) {
    let code = stocked(store, 2).await;
    allow_backorders(store, &code, WAREHOUSE, 5).await;

    backordered(store, &code, (5, 3)).await.unwrap();
    let over = backordered(store, &code, (3, 3)).await;
    let fits = backordered(store, &code, (2, 2)).await;

    assert!(
        matches!(over, Err(PlaceOrderError::StockChanged)),
        "{over:?}"
    );
    assert!(fits.is_ok(), "{fits:?}");
    assert_eq!(level(store, &code).await, counters(2, 2, 0, 5));
}

/// A restock sets aside what the queue is owed in the same write: a
/// checkout can take only the rest.
async fn a_restock_sets_aside_what_the_queue_is_owed(store: &impl Store) {
    let code = stocked(store, 0).await;
    allow_backorders(store, &code, WAREHOUSE, 10).await;
    backordered(store, &code, (3, 3)).await.unwrap();

    let key = Ulid::generate().to_string();
    let restocked = store.staff_move(&restock(&code, 5, &key)).await.unwrap();

    assert_eq!(restocked, StaffMoved::Now(left_here(counters(5, 0, 3, 3))));
    let taken = placed(store, &code, 2).await;
    assert_eq!(taken.lines[0].reserved(), 2);
    assert_eq!(level(store, &code).await, counters(5, 2, 3, 3));
}

/// Units a lapsed order releases are set aside for the backorders waiting.
async fn units_a_lapsed_order_releases_go_to_the_queue(store: &impl Store) {
    let code = stocked(store, 2).await;
    allow_backorders(store, &code, WAREHOUSE, 10).await;
    let first = placed(store, &code, 2).await;
    backordered(store, &code, (3, 3)).await.unwrap();

    expired(store, &first).await;

    assert_eq!(level(store, &code).await, counters(2, 0, 2, 3));
}

/// A lapsed backordered order gives back what it reserved and leaves the
/// queue, its waiting units no longer counted against the limit.
async fn a_lapsed_backordered_order_leaves_the_queue(store: &impl Store) {
    let code = stocked(store, 2).await;
    allow_backorders(store, &code, WAREHOUSE, 10).await;
    let order = backordered(store, &code, (5, 3)).await.unwrap();

    let lapsed = expired(store, &order).await;

    assert_eq!(lapsed.status, shopflow_domain::OrderStatus::Expired);
    assert_eq!(level(store, &code).await, counters(2, 0, 0, 0));
}

/// The queue reads back in allocation order with its stock; a batch of
/// allocations moves set-aside units to the orders and holds only on what
/// was read, so the same batch written twice is refused the second time.
async fn allocations_hold_only_on_what_was_read(store: &impl Store) {
    let code = stocked(store, 0).await;
    allow_backorders(store, &code, WAREHOUSE, 100).await;
    let first = backordered(store, &code, (2, 2)).await.unwrap();
    let second = backordered(store, &code, (3, 3)).await.unwrap();
    let key = Ulid::generate().to_string();
    store.staff_move(&restock(&code, 4, &key)).await.unwrap();

    let queue = BackorderStore::queue(store, &sku(&code), &wh(WAREHOUSE))
        .await
        .unwrap();
    assert_eq!(queue.level, counters(4, 0, 4, 5));
    let mut expected: Vec<_> = [&first, &second]
        .iter()
        .map(|order| order.lines[0].backorder.unwrap().id)
        .collect();
    expected.sort();
    let ids: Vec<_> = queue.waiting.iter().map(|b| b.id).collect();
    assert_eq!(ids, expected, "one query, in allocation order");

    let orders = store.orders_by_id(&[first.id, second.id]).await.unwrap();
    let allocations = shopflow_domain::allot(4, &queue.waiting)
        .iter()
        .map(|allotment| {
            let backorder = queue
                .waiting
                .iter()
                .find(|b| b.id == allotment.backorder)
                .unwrap();
            let order = orders.iter().find(|o| o.id == backorder.order_id).unwrap();
            let actor = Actor::System("contract");
            BackorderAllocation::new(backorder, allotment.units, order, &actor, "restock", now())
                .unwrap()
        })
        .collect();
    let batch = AllocationBatch {
        sku: sku(&code),
        warehouse: wh(WAREHOUSE),
        allocations,
    };
    store.allocate(&batch).await.unwrap();
    let again = store.allocate(&batch).await;

    assert!(matches!(again, Err(AllocateError::Moved)), "{again:?}");
    assert_eq!(level(store, &code).await, counters(4, 4, 0, 1));
    let left = BackorderStore::queue(store, &sku(&code), &wh(WAREHOUSE))
        .await
        .unwrap();
    assert_eq!(left.waiting.len(), 1);
    assert_eq!(left.waiting[0].open(), 1);
    let waiting: u32 = store
        .orders_by_id(&[first.id, second.id])
        .await
        .unwrap()
        .iter()
        .map(|order| order.lines[0].backordered())
        .sum();
    assert_eq!(waiting, 1, "the orders wait for what the queue says");
}

/// A backorder cancelled on its own leaves the queue and the counters (what
/// was set aside for it becomes available), its order keeps the reserved
/// units and holds back the refund; the same cancellation again is refused.
async fn a_cancelled_backorder_leaves_the_queue_and_holds_its_refund(store: &impl Store) {
    let code = stocked(store, 2).await;
    allow_backorders(store, &code, WAREHOUSE, 10).await;
    let id = OrderId::from_ulid(Ulid::generate());
    let line = backordered_line(&code, WAREHOUSE, (5, 3), 2_500, now().plus_secs(86_400));
    let mut order = unpaid_order(id, ADA, vec![line], now());
    order.status = shopflow_domain::OrderStatus::Confirmed;
    order.payment = shopflow_domain::Payment {
        intent_id: Some("pi_contract".into()),
        status: shopflow_domain::CaptureState::Captured,
        authorized_minor: 12_500,
        captured_minor: 12_500,
        ..shopflow_domain::Payment::default()
    };
    place_order(store, &order, Ulid::generate()).await;
    let key = Ulid::generate().to_string();
    store.staff_move(&restock(&code, 1, &key)).await.unwrap();
    let order = store.order(id).await.unwrap().unwrap();
    let backorder_id = order.lines[0].backorder.unwrap().id;
    let backorder = store.backorder(backorder_id).await.unwrap().unwrap();
    let listed = store
        .backorders_in(&BackorderScope::Order(order.customer_id.clone(), id))
        .await
        .unwrap();
    assert_eq!(listed, std::slice::from_ref(&backorder));

    let actor = Actor::System("contract");
    let cancellation = BackorderCancellation::new(&order, &backorder, &actor, "test", now())
        .unwrap()
        .unwrap();
    store.cancel_backorder(&cancellation).await.unwrap();
    let again = store.cancel_backorder(&cancellation).await;

    assert!(matches!(again, Err(AllocateError::Moved)), "{again:?}");
    assert_eq!(level(store, &code).await, counters(3, 2, 0, 0));
    let records = store.order_payments(id).await.unwrap().unwrap();
    assert_eq!(records.order.lines[0].reserved(), 2);
    assert_eq!(records.order.lines[0].backordered(), 0);
    assert_eq!(records.order.payment.refund_pending_minor, 7_500);
    let refund = cancellation.refund.as_ref().unwrap();
    assert_eq!(
        records.refund(&refund.id).map(|r| r.amount_minor),
        Some(7_500)
    );
    let left = store.backorder(backorder_id).await.unwrap().unwrap();
    assert_eq!(left.status, shopflow_domain::BackorderStatus::Cancelled);

    // The standing index moved it from open to cancelled.
    let shard = u8::try_from(backorder_id.as_ulid().random() % 4).unwrap();
    let standing = |standing| async move {
        let mut found = Vec::new();
        let mut after = None;
        loop {
            let range = StandingRange {
                standing,
                shard,
                since: Some(now().minus_secs(3_600)),
                before: Some(now().plus_secs(3_600)),
                after: after.take(),
                limit: 50,
            };
            let page = store.backorders_standing(&range).await.unwrap();
            found.extend(page.items.into_iter().map(|entry| entry.backorder.id));
            match page.next {
                Some(next) => after = Some(next),
                None => return found,
            }
        }
    };
    assert!(
        standing(BackorderStanding::Cancelled)
            .await
            .contains(&backorder_id)
    );
    assert!(
        !standing(BackorderStanding::Open)
            .await
            .contains(&backorder_id)
    );
}

/// A raised priority re-keys the backorder at the head of its queue and
/// its order's line follows; the same change again is refused.
async fn a_raised_priority_reorders_the_queue(store: &impl Store) {
    let code = stocked(store, 0).await;
    allow_backorders(store, &code, WAREHOUSE, 100).await;
    let first = backordered(store, &code, (1, 1)).await.unwrap();
    let second = backordered(store, &code, (2, 2)).await.unwrap();
    let id = second.lines[0].backorder.unwrap().id;
    let backorder = second
        .backorders()
        .into_iter()
        .find(|b| b.id == id)
        .unwrap();

    let actor = Actor::System("contract");
    let change = Reprioritization::new(&second, &backorder, 7, &actor, "VIP", now()).unwrap();
    store.reprioritize(&change).await.unwrap();
    let again = store.reprioritize(&change).await;

    assert!(matches!(again, Err(AllocateError::Moved)), "{again:?}");
    let queue = BackorderStore::queue(store, &sku(&code), &wh(WAREHOUSE))
        .await
        .unwrap();
    let order: Vec<_> = queue.waiting.iter().map(|b| b.order_id).collect();
    assert_eq!(order, [second.id, first.id]);
    assert_eq!(queue.waiting[0].priority, 7);
    assert_eq!(store.backorder(id).await.unwrap().unwrap().priority, 7);
    let line = store.order(second.id).await.unwrap().unwrap().lines[0].clone();
    assert_eq!(line.backorder.unwrap().priority, 7);
    let changes = store.priority_changes(id).await.unwrap();
    assert_eq!(
        changes
            .iter()
            .map(|c| (c.from, c.to, c.reason.as_str()))
            .collect::<Vec<_>>(),
        [(0, 7, "VIP")]
    );
}

/// A job's runs read back newest first.
async fn job_runs_read_back_newest_first(store: &impl Store) {
    let job = format!("contract-{}", Ulid::generate());
    for n in 0..3 {
        let run = JobRun::finished(
            &job,
            now(),
            now(),
            shopflow_ports::RunSummary::default(),
            &serde_json::json!({ "n": n }),
        );
        store.record_run(&run).await.unwrap();
        tokio::time::sleep(std::time::Duration::from_millis(2)).await;
    }

    let runs = store.runs(&job, 2).await.unwrap();

    let ns: Vec<i64> = runs
        .iter()
        .map(|run| run.report["n"].as_i64().unwrap())
        .collect();
    assert_eq!(ns, [2, 1]);
}

/// Ada's order of `units` of `code`, placed and paid.
async fn paid(store: &impl Store, code: &str, units: u32) -> Order {
    let order = placed(store, code, units).await;
    store
        .change_status(&change(&order, OrderTrigger::PaymentCaptured))
        .await
        .unwrap();
    store.order(order.id).await.unwrap().unwrap()
}

/// A shipment of `units` of `code` of `order` from [`WAREHOUSE`] under a
/// fresh key, by `carrier` under `number`.
fn fulfilment(
    order: &Order,
    code: &str,
    units: u32,
    carrier: shopflow_domain::Carrier,
    number: &str,
) -> Fulfilment {
    let lines = vec![shopflow_domain::ShippedLine {
        sku: sku(code),
        quantity: shopflow_domain::Quantity::parse(units).unwrap(),
    }];
    let shipping = order.ship(&wh(WAREHOUSE), &lines).unwrap();
    let shipment = shopflow_domain::Shipment {
        id: shopflow_domain::ShipmentId::from_ulid(Ulid::generate()),
        order_id: order.id,
        customer_id: order.customer_id.clone(),
        warehouse: wh(WAREHOUSE),
        carrier,
        tracking_number: shopflow_domain::TrackingNumber::parse(number).unwrap(),
        lines,
        journey: shopflow_domain::Journey::default(),
        created_at: now(),
        created_by: "admin:staff".into(),
        version: 1,
    };
    let key = IdempotencyKey {
        scope: "fulfil#contract".into(),
        key: Ulid::generate().to_string(),
    };
    Fulfilment::new(
        order,
        shipping,
        shipment,
        &Actor::Admin(shopflow_domain::CustomerId::parse("staff").unwrap()),
        key,
        "f1".into(),
    )
}

/// A tracking number no other test uses.
fn fresh_number() -> String {
    format!("CT{}", Ulid::generate())
}

/// A fulfilment takes its units out of on-hand and reserved stock, moves
/// the order's goods, claims its tracking number and answers its key; a
/// second write under the key, the number, or a stale order is refused
/// and changes nothing.
async fn a_fulfilment_ships_reserved_units_once(store: &impl Store) {
    use shopflow_domain::Carrier;
    let code = stocked(store, 3).await;
    let order = paid(store, &code, 3).await;
    let number = fresh_number();
    let first = fulfilment(&order, &code, 2, Carrier::Usps, &number);

    store.fulfil(&first).await.unwrap();

    let stock = store.stock_levels(&sku(&code)).await.unwrap();
    assert_eq!(
        stock[0].1,
        StockLevel {
            reserved: 1,
            ..StockLevel::on_hand(1)
        }
    );
    let shipped = store.order(order.id).await.unwrap().unwrap();
    assert_eq!(shipped.version, order.version + 1);
    assert_eq!(shipped.lines[0].shipped, 2);
    assert_eq!(
        shipped.fulfillment_status,
        shopflow_domain::FulfillmentStatus::PartiallyShipped
    );
    let history = store.history(order.id).await.unwrap();
    assert_eq!(history.last().unwrap().trigger, OrderTrigger::PartlyShipped);
    let receipt = store.fulfilment_receipt(&first.key).await.unwrap().unwrap();
    assert_eq!(
        (receipt.order_id, receipt.shipment_id),
        (order.id, first.shipment.id)
    );
    let tracked = store
        .tracked_shipment(Carrier::Usps, &first.shipment.tracking_number)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(tracked, first.shipment);
    assert_eq!(
        store.order_shipments(order.id).await.unwrap(),
        std::slice::from_ref(&first.shipment)
    );
    assert_eq!(
        store.shipment(first.shipment.id).await.unwrap(),
        Some(first.shipment.clone())
    );

    assert!(matches!(
        store.fulfil(&first).await,
        Err(FulfilError::KeyTaken)
    ));
    let same_number = fulfilment(&shipped, &code, 1, Carrier::Usps, &number);
    assert!(matches!(
        store.fulfil(&same_number).await,
        Err(FulfilError::TrackingNumberTaken(_))
    ));
    let on_stale_order = fulfilment(&order, &code, 1, Carrier::Usps, &fresh_number());
    assert!(matches!(
        store.fulfil(&on_stale_order).await,
        Err(FulfilError::OrderChanged)
    ));
    let stock = store.stock_levels(&sku(&code)).await.unwrap();
    assert_eq!(stock[0].1.on_hand, 1, "nothing refused took stock");
}

/// Runs list newest first within one job and across jobs, from a time
/// on, and each reads back by its id alone.
async fn job_runs_list_per_job_and_read_by_id(store: &impl Store) {
    let start = now();
    let mut ours = Vec::new();
    for (n, job) in ["courier-poller", "reservation-sweeper", "courier-poller"]
        .into_iter()
        .enumerate()
    {
        let at = start.plus_secs(n as u64);
        let run = JobRun::finished(job, at, at, shopflow_ports::RunSummary::default(), &n);
        store.record_run(&run).await.unwrap();
        ours.push(run);
    }
    let ours_ids = |runs: &[JobRun]| runs.iter().map(|run| run.id).collect::<Vec<Ulid>>();

    let pollers = store
        .list_runs(&shopflow_ports::RunQuery {
            job: Some("courier-poller".into()),
            from: Some(start),
            after: None,
            limit: 50,
        })
        .await
        .unwrap();
    let mine: Vec<Ulid> = pollers
        .items
        .iter()
        .map(|run| run.id)
        .filter(|id| ours_ids(&ours).contains(id))
        .collect();
    assert_eq!(mine, [ours[2].id, ours[0].id]);
    let all = store
        .list_runs(&shopflow_ports::RunQuery {
            job: None,
            from: Some(start),
            after: None,
            limit: 50,
        })
        .await
        .unwrap();
    let mine: Vec<Ulid> = all
        .items
        .iter()
        .map(|run| run.id)
        .filter(|id| ours_ids(&ours).contains(id))
        .collect();
    assert_eq!(mine, [ours[2].id, ours[1].id, ours[0].id]);
    assert_eq!(
        store.run(ours[1].id).await.unwrap().as_ref(),
        Some(&ours[1])
    );
    assert_eq!(store.run(Ulid::generate()).await.unwrap(), None);
}

/// A polled carrier's parcel joins its schedule due at once, is read
/// back when due (never before), moves to its next check, and leaves; a
/// budget saves only on the version read.
async fn the_polling_schedule_and_budget_hold_on_what_was_read(store: &impl Store) {
    use shopflow_domain::{Budget, Carrier, RateLimit};
    let code = stocked(store, 1).await;
    let order = paid(store, &code, 1).await;
    let made = fulfilment(&order, &code, 1, Carrier::ChitChats, &fresh_number());
    store.fulfil(&made).await.unwrap();
    let ours = |entries: Vec<shopflow_ports::PollEntry>| {
        entries
            .into_iter()
            .filter(|entry| entry.shipment_id == made.shipment.id)
            .collect::<Vec<_>>()
    };

    let due = ours(
        store
            .due_parcels(Carrier::ChitChats, now(), 1_000)
            .await
            .unwrap(),
    );
    assert_eq!(due.len(), 1);
    assert_eq!(due[0].order_id, order.id);
    let later = now().plus_secs(3_600);
    store.reschedule(&due[0], later).await.unwrap();
    assert!(
        ours(
            store
                .due_parcels(Carrier::ChitChats, now(), 1_000)
                .await
                .unwrap()
        )
        .is_empty()
    );
    let then = ours(
        store
            .due_parcels(Carrier::ChitChats, later, 1_000)
            .await
            .unwrap(),
    );
    assert_eq!(then[0].due, later);
    store.unschedule(&then[0]).await.unwrap();
    assert!(
        ours(
            store
                .due_parcels(Carrier::ChitChats, later, 1_000)
                .await
                .unwrap()
        )
        .is_empty()
    );
    store.reschedule(&then[0], later).await.unwrap();
    assert!(
        ours(
            store
                .due_parcels(Carrier::ChitChats, later, 1_000)
                .await
                .unwrap()
        )
        .is_empty(),
        "a parcel that left is not put back"
    );

    // Canada Post's budget is shared by every test: decide on what was read.
    let limit = RateLimit::of(Carrier::CanadaPost).unwrap();
    let read = store.budget(Carrier::CanadaPost).await.unwrap();
    let budget = read.budget.unwrap_or_else(|| Budget::fresh(limit, now()));
    let (taken, _) = budget.take(limit, now(), 1);
    assert!(
        store
            .save_budget(Carrier::CanadaPost, &read, &taken)
            .await
            .unwrap()
    );
    assert!(
        !store
            .save_budget(Carrier::CanadaPost, &read, &taken)
            .await
            .unwrap(),
        "a second save on the same read is refused"
    );
    let again = store.budget(Carrier::CanadaPost).await.unwrap();
    assert_eq!(again.budget, Some(taken));
    assert_eq!(again.version, read.version + 1);
}

/// A tracking update holds only on the shipment's version as read; one
/// that delivers the order holds on the order's too, and moves it.
async fn tracking_updates_hold_only_on_the_versions_read(store: &impl Store) {
    use shopflow_domain::{Carrier, TrackingEvent, TrackingStatus};
    let code = stocked(store, 1).await;
    let order = paid(store, &code, 1).await;
    let made = fulfilment(&order, &code, 1, Carrier::CanadaPost, &fresh_number());
    store.fulfil(&made).await.unwrap();
    let report = |code: &str, status| TrackingEvent {
        carrier_event_id: None,
        code: code.into(),
        description: "scan".into(),
        location: None,
        occurred_at: now(),
        status,
        raw_ref: None,
    };
    let moving = made
        .shipment
        .tracked(vec![report("IT", TrackingStatus::InTransit)]);
    let update = TrackingUpdate {
        shipment: moving.shipment.clone(),
        status_before: made.shipment.status(),
        moved: None,
        order: None,
    };
    store.record_tracking(&update).await.unwrap();
    assert!(matches!(
        store.record_tracking(&update).await,
        Err(TrackingWriteError::Stale)
    ));

    let read = store.shipment(made.shipment.id).await.unwrap().unwrap();
    assert_eq!(read.status(), TrackingStatus::InTransit);
    let shipped = store.order(order.id).await.unwrap().unwrap();
    let arrived = read
        .tracked(vec![report("DL", TrackingStatus::Delivered)])
        .shipment;
    let to = shipped
        .delivered_by(std::slice::from_ref(&arrived))
        .unwrap();
    let deliver = StatusChange::new(
        &shipped,
        to,
        OrderTrigger::Delivered,
        &payments(),
        None,
        now(),
    );
    let stale_hold = TrackingUpdate {
        shipment: arrived.clone(),
        status_before: read.status(),
        moved: None,
        order: Some(OrderTouch::Hold {
            order_id: order.id,
            version: order.version,
        }),
    };
    assert!(matches!(
        store.record_tracking(&stale_hold).await,
        Err(TrackingWriteError::Stale)
    ));
    let delivered = TrackingUpdate {
        order: Some(OrderTouch::Deliver(Box::new(deliver))),
        ..stale_hold
    };
    store.record_tracking(&delivered).await.unwrap();

    let order = store.order(order.id).await.unwrap().unwrap();
    assert_eq!(
        order.fulfillment_status,
        shopflow_domain::FulfillmentStatus::Delivered
    );
    assert_eq!(order.status, shopflow_domain::OrderStatus::Completed);
    let read = store.shipment(made.shipment.id).await.unwrap().unwrap();
    assert!(read.is_delivered());
    assert_eq!(read.journey.events().len(), 2);
}

/// Shipments stand in flight from the start, need attention after a
/// failed delivery or an exception, are returning once sent back, and
/// stand nowhere once delivered; figures count each where it stands.
async fn shipments_stand_where_their_status_puts_them(store: &impl Store) {
    use shopflow_domain::{Carrier, ShipmentFigures, TrackingEvent, TrackingStatus as T};
    let code = stocked(store, 4).await;
    let mut shipments = Vec::new();
    for _ in 0..4 {
        let order = paid(store, &code, 1).await;
        let made = fulfilment(&order, &code, 1, Carrier::Usps, &fresh_number());
        store.fulfil(&made).await.unwrap();
        shipments.push(made.shipment);
    }
    assert_eq!(
        store.shipment_figures().await.unwrap(),
        ShipmentFigures {
            in_flight: 4,
            needs_attention: 0,
            returning: 0
        }
    );
    let moves = [
        Some(T::Exception),
        Some(T::ReturnedToSender),
        Some(T::InTransit),
        None,
    ];
    for (shipment, status) in shipments.iter().zip(moves) {
        let status = status.unwrap_or(T::Delivered);
        let report = TrackingEvent {
            carrier_event_id: None,
            code: status.as_str().into(),
            description: String::new(),
            location: None,
            occurred_at: now(),
            status,
            raw_ref: None,
        };
        let update = take_in(store, shipment, report).await;
        store.record_tracking(&update).await.unwrap();
    }

    assert_eq!(
        store.shipment_figures().await.unwrap(),
        ShipmentFigures {
            in_flight: 1,
            needs_attention: 1,
            returning: 1
        }
    );
}

/// The update `report` makes to `shipment`, holding on its order when it
/// arrives, as the tracking path builds it.
async fn take_in(
    store: &impl Store,
    shipment: &shopflow_domain::Shipment,
    report: shopflow_domain::TrackingEvent,
) -> TrackingUpdate {
    let after = shipment.tracked(vec![report]).shipment;
    let order = store.order(shipment.order_id).await.unwrap().unwrap();
    let touch = after.is_delivered().then(|| {
        let to = order.delivered_by(std::slice::from_ref(&after)).unwrap();
        let change = StatusChange::new(
            &order,
            to,
            OrderTrigger::Delivered,
            &payments(),
            None,
            now(),
        );
        OrderTouch::Deliver(Box::new(change))
    });
    TrackingUpdate {
        status_before: shipment.status(),
        shipment: after,
        moved: None,
        order: touch,
    }
}

#[tokio::test]
async fn memory_shipments_stand_where_their_status_puts_them() {
    shipments_stand_where_their_status_puts_them(&MemoryStore::default()).await;
}

/// On a table of its own: the figures count every shipment in the table.
#[tokio::test]
async fn dynamodb_shipments_stand_where_their_status_puts_them() {
    let stack = shopflow_tests::stack_for_store_tests();
    let clients = stack.clients().await;
    let mut spec = stack.spec.clone();
    spec.table.name = format!("figures-{}", Ulid::generate()).to_lowercase();
    shopflow_local::resources::create_table(&clients, &spec)
        .await
        .unwrap();
    let store = DynamoStore::new(clients.dynamodb.clone(), &spec.table.name);
    shipments_stand_where_their_status_puts_them(&store).await;
}

/// A DynamoDB store on the local stack's DynamoDB Local and table, with
/// backorder-allocator and invoice-pdf paused: the behaviours here count
/// set-aside units and compare invoices whole.
async fn dynamo() -> DynamoStore {
    let stack = shopflow_tests::stack_for_store_tests();
    let clients = stack.clients().await;
    DynamoStore::new(clients.dynamodb.clone(), &stack.spec.table.name)
}

macro_rules! contract {
    ($($behaviour:ident),* $(,)?) => {
        mod memory {
            $(
                #[tokio::test]
                async fn $behaviour() {
                    super::$behaviour(&super::MemoryStore::default()).await;
                }
            )*
        }
        mod dynamodb {
            $(
                #[tokio::test]
                async fn $behaviour() {
                    super::$behaviour(&super::dynamo().await).await;
                }
            )*
        }
    };
}

/// An adjustment writes off only units nobody holds: refused with the
/// level read, nothing written; units found go to the queue first.
async fn an_adjustment_never_touches_held_units(store: &impl Store) {
    let code = stocked(store, 6).await;
    allow_backorders(store, &code, WAREHOUSE, 10).await;
    placed(store, &code, 4).await;
    let lost = |delta| StockMove::Adjust {
        warehouse: wh(WAREHOUSE),
        delta,
        reason: AdjustReason::CountCorrection,
    };

    let refused = store
        .staff_move(&by_staff(&code, lost(-3), &Ulid::generate().to_string()))
        .await;
    let written_off = store
        .staff_move(&by_staff(&code, lost(-2), &Ulid::generate().to_string()))
        .await
        .unwrap();
    backordered(store, &code, (2, 2)).await.unwrap();
    let found = store
        .staff_move(&by_staff(&code, lost(3), &Ulid::generate().to_string()))
        .await
        .unwrap();

    assert!(
        matches!(
            refused,
            Err(StaffMoveError::Refused(MoveError::Short { requested: 3, level, .. }))
                if level == counters(6, 4, 0, 0)
        ),
        "{refused:?}"
    );
    assert_eq!(
        written_off,
        StaffMoved::Now(left_here(counters(4, 4, 0, 0)))
    );
    assert_eq!(found, StaffMoved::Now(left_here(counters(7, 4, 2, 2))));
    assert_eq!(level(store, &code).await, counters(7, 4, 2, 2));
}

/// A transfer writes both warehouses or neither: units the sender does not
/// have free leave nothing changed at either end.
async fn a_transfer_moves_free_units_at_once(store: &impl Store) {
    let code = stocked(store, 5).await;
    placed(store, &code, 2).await;
    let south = "WH-SOUTH";
    let transfer = |quantity| StockMove::Transfer {
        from: wh(WAREHOUSE),
        to: wh(south),
        quantity,
    };

    let refused = store
        .staff_move(&by_staff(&code, transfer(4), &Ulid::generate().to_string()))
        .await;
    let key = Ulid::generate().to_string();
    let moved = store
        .staff_move(&by_staff(&code, transfer(3), &key))
        .await
        .unwrap();
    let retried = store
        .staff_move(&by_staff(&code, transfer(3), &key))
        .await
        .unwrap();

    assert!(
        matches!(
            refused,
            Err(StaffMoveError::Refused(MoveError::Short { .. }))
        ),
        "{refused:?}"
    );
    let left = vec![
        (wh(WAREHOUSE), counters(2, 2, 0, 0)),
        (wh(south), counters(3, 0, 0, 0)),
    ];
    assert_eq!(moved, StaffMoved::Now(left.clone()));
    assert_eq!(retried, StaffMoved::Before(left));
    let mut levels = store.stock_levels(&sku(&code)).await.unwrap();
    levels.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(
        levels,
        [
            (wh(WAREHOUSE), counters(2, 2, 0, 0)),
            (wh(south), counters(3, 0, 0, 0))
        ]
    );
}

/// A low-stock threshold is set (or cleared) without moving a unit, also
/// where the SKU never was; a SKU the catalog does not have is `None`.
async fn a_low_stock_threshold_moves_no_unit(store: &impl Store) {
    let code = stocked(store, 5).await;
    let threshold = Some(LowStock { threshold: 2 });

    let here = store
        .set_low_stock(&sku(&code), &wh(WAREHOUSE), threshold, now())
        .await
        .unwrap();
    let elsewhere = store
        .set_low_stock(&sku(&code), &wh("WH-SOUTH"), threshold, now())
        .await
        .unwrap();
    let cleared = store
        .set_low_stock(&sku(&code), &wh(WAREHOUSE), None, now())
        .await
        .unwrap();
    let unknown = store
        .set_low_stock(
            &sku(&format!("C-{}", Ulid::generate())),
            &wh(WAREHOUSE),
            threshold,
            now(),
        )
        .await
        .unwrap();

    assert_eq!(here, Some(counters(5, 0, 0, 0)));
    assert_eq!(elsewhere, Some(StockLevel::default()));
    assert_eq!(cleared, Some(counters(5, 0, 0, 0)));
    assert_eq!(unknown, None);
    assert_eq!(level(store, &code).await, counters(5, 0, 0, 0));
}

/// A storefront's read: the product and its stock in the warehouses asked
/// for, in their order, empty where it never was; nothing for a SKU the
/// catalog does not have.
async fn a_storefront_reads_a_product_with_its_stock_everywhere(store: &impl Store) {
    let code = stocked(store, 5).await;
    allow_backorders(store, &code, "WH-SOUTH", 7).await;
    let asked = [wh("WH-EAST"), wh(WAREHOUSE), wh("WH-SOUTH")];

    let (product, stocks) = store
        .storefront_stock(&sku(&code), &asked)
        .await
        .unwrap()
        .unwrap();
    let unknown = store
        .storefront_stock(&sku(&format!("C-{}", Ulid::generate())), &asked)
        .await
        .unwrap();

    assert_eq!(product.sku, sku(&code));
    let seen: Vec<_> = stocks
        .iter()
        .map(|stock| {
            (
                stock.warehouse.as_str(),
                stock.level.on_hand,
                stock.settings.allow_backorder,
                stock.settings.max_backorder_quantity,
            )
        })
        .collect();
    assert_eq!(
        seen,
        [
            ("WH-EAST", 0, false, 100),
            (WAREHOUSE, 5, false, 100),
            ("WH-SOUTH", 0, true, 7)
        ]
    );
    assert!(unknown.is_none());
}

/// An address waits for a SKU once whatever its case, leaves once, and
/// signups count against their window until it is full.
async fn a_waitlist_keeps_an_address_once_and_counts_signups_per_window(store: &impl Store) {
    use shopflow_domain::Email;
    use shopflow_domain::waitlist::{FixedWindow, WaitlistEntry};
    use shopflow_ports::Admission;
    let code = format!("W-{}", Ulid::generate());
    let address = |raw: &str| Email::parse(raw).unwrap();
    let entry = |raw: &str| WaitlistEntry {
        sku: sku(&code),
        email: address(raw),
        at: now(),
    };

    let joined = store
        .join_waitlist(&entry("ada@example.com"))
        .await
        .unwrap();
    let again = store
        .join_waitlist(&entry("ADA@example.com"))
        .await
        .unwrap();
    let left = store
        .leave_waitlist(&sku(&code), &address("Ada@Example.com"))
        .await
        .unwrap();
    let left_again = store
        .leave_waitlist(&sku(&code), &address("ada@example.com"))
        .await
        .unwrap();

    assert_eq!(
        (joined, again, left, left_again),
        (true, false, true, false)
    );
    let window = FixedWindow {
        limit: 2,
        secs: 3_600,
    };
    let bucket = format!("contract#{}", Ulid::generate());
    let at = now();
    let mut answers = Vec::new();
    for _ in 0..3 {
        answers.push(store.admit(&bucket, window, at).await.unwrap());
    }
    let next_window = store
        .admit(&bucket, window, at.plus_secs(3_600))
        .await
        .unwrap();
    assert_eq!(answers[..2], [Admission::Admitted, Admission::Admitted]);
    assert_eq!(
        answers[2],
        Admission::Refused {
            retry_after_secs: window.retry_after(at)
        }
    );
    assert_eq!(next_window, Admission::Admitted);
}

/// Telling a page of the waitlist takes it off in the same write as the
/// event; a page one of whom left meanwhile writes nothing.
async fn a_told_page_leaves_the_waitlist_with_its_event(store: &impl Store) {
    use shopflow_domain::Email;
    use shopflow_domain::events::{DomainEvent, InventoryBackInStock};
    use shopflow_domain::waitlist::WaitlistEntry;
    let code = format!("W-{}", Ulid::generate());
    for n in 0..3 {
        let entry = WaitlistEntry {
            sku: sku(&code),
            email: Email::parse(&format!("s{n}@example.com")).unwrap(),
            at: now(),
        };
        store.join_waitlist(&entry).await.unwrap();
    }
    let event = |id| shopflow_ports::OutboxEvent {
        id,
        occurred_at: now(),
        event: DomainEvent::InventoryBackInStock(InventoryBackInStock {
            sku: sku(&code),
            name: "Contract tee".into(),
            subscribers: Vec::new(),
        }),
    };

    let page = store.waiting(&sku(&code), 2).await.unwrap();
    let gone = page[1].email.clone();
    store.leave_waitlist(&sku(&code), &gone).await.unwrap();
    let stale = store
        .tell_waitlist(&page, &event(Ulid::generate()))
        .await
        .unwrap();
    let fresh = store.waiting(&sku(&code), 50).await.unwrap();
    let told = store
        .tell_waitlist(&fresh, &event(Ulid::generate()))
        .await
        .unwrap();

    assert_eq!(page.len(), 2);
    assert!(!stale, "one of the page had left");
    assert_eq!(fresh.len(), 2, "the stale page took nobody off");
    assert!(told);
    assert!(store.waiting(&sku(&code), 50).await.unwrap().is_empty());
}

/// The shop's terms on the invoices of these behaviours.
fn invoice_terms() -> Terms {
    Terms {
        seller: Party {
            name: "Shopflow Contract GmbH".into(),
            address: vec!["Torstrasse 1".into(), "10119 Berlin".into(), "DE".into()],
            tax_id: Some("DE123456789".into()),
            email: Some(shopflow_domain::Email::parse("billing@example.com").unwrap()),
        },
        due_days: 14,
    }
}

/// An instant in `year`: invoices are numbered per year, so each behaviour
/// gives its own year a sequence the shared table holds for it alone.
fn in_year(year: u16) -> Timestamp {
    Timestamp::parse_rfc3339(&format!("{year}-03-01T10:00:00Z")).unwrap()
}

/// Ada's order at `at` of two tees and a mug from two warehouses, with tax
/// and shipping, of which the provider captured `captured` (8,225 in all).
/// The invoice path takes the order as read; the store never reads it.
fn billable(at: Timestamp, captured: i64) -> Order {
    let mut order = unpaid_order(
        OrderId::from_ulid(Ulid::generate()),
        ADA,
        vec![
            order_line("INV-TEE", WAREHOUSE, 2, 2_500),
            order_line("INV-MUG", "WH-SOUTH", 1, 1_500),
        ],
        at,
    );
    order.shipping_address.region = Some("Berlin".into());
    order.totals.tax = eur(1_235);
    order.totals.shipping = eur(490);
    order.totals.grand_total = eur(8_225);
    if captured > 0 {
        order.payment.intent_id = Some(format!("pi_{}", Ulid::generate()));
        order.payment.status = shopflow_domain::CaptureState::Captured;
        order.payment.authorized_minor = captured;
        order.payment.captured_minor = captured;
    }
    order
}

/// Issues `order`'s invoice at `at`, which must be new.
async fn issued_invoice(store: &impl Store, order: &Order, at: Timestamp) -> Invoice {
    match issue_order_invoice(store, order, &invoice_terms(), at).await {
        Ok(Invoiced::Issued(invoice)) => *invoice,
        other => panic!("{other:?}"),
    }
}

/// An invoice as its store keeps it: written at version 1.
fn as_stored(invoice: &Invoice) -> Invoice {
    Invoice {
        version: 1,
        ..invoice.clone()
    }
}

/// What an issue wrote besides the invoice, looked up by id.
trait Written {
    async fn has_event(&self, id: Ulid) -> bool;
    async fn has_payment_record(&self, id: Ulid) -> bool;
}

impl Written for MemoryStore {
    async fn has_event(&self, id: Ulid) -> bool {
        self.outbox().iter().any(|event| event.id == id)
    }

    async fn has_payment_record(&self, id: Ulid) -> bool {
        self.payment_records().iter().any(|record| record.id == id)
    }
}

/// Whether the table holds an item at `pk` / `sk`.
async fn holds(store: &DynamoStore, pk: String, sk: &str) -> bool {
    use aws_sdk_dynamodb::types::AttributeValue;
    store
        .client()
        .get_item()
        .table_name(store.table())
        .key("pk", AttributeValue::S(pk))
        .key("sk", AttributeValue::S(sk.into()))
        .consistent_read(true)
        .send()
        .await
        .unwrap()
        .item
        .is_some()
}

impl Written for DynamoStore {
    async fn has_event(&self, id: Ulid) -> bool {
        holds(self, format!("OUTBOX#{id}"), "OUTBOX").await
    }

    async fn has_payment_record(&self, id: Ulid) -> bool {
        holds(self, format!("PAYREC#{id}"), "PAYREC").await
    }
}

/// An order's invoice is the first of a fresh sequence, lists under the
/// order, and reads back as written, field for field; so does an invoice
/// for no order, with what an order's never has (a line with no SKU, a
/// buyer with no address to write to).
async fn an_orders_invoice_opens_its_sequence_and_reads_back_whole(store: &(impl Store + Written)) {
    let at = in_year(2101);
    let sequence = Sequence::of(Series::Invoice, at);
    let order = billable(at, 5_000);

    let invoice = issued_invoice(store, &order, at).await;

    assert_eq!(
        invoice.number.map(|number| number.to_string()).as_deref(),
        Some("INV-2101-000001")
    );
    assert_eq!(
        (invoice.status, invoice.paid_minor, invoice.open_minor()),
        (InvoiceStatus::PartiallyPaid, 5_000, 3_225)
    );
    assert_eq!(store.last_number(sequence).await.unwrap(), Some(1));
    assert_eq!(
        store.invoice(invoice.id).await.unwrap(),
        Some(as_stored(&invoice))
    );
    assert_eq!(
        store.order_invoices(order.id).await.unwrap(),
        [as_stored(&invoice)]
    );
    let elsewhere = OrderId::from_ulid(Ulid::generate());
    assert!(store.order_invoices(elsewhere).await.unwrap().is_empty());
    let unknown = InvoiceId::from_ulid(Ulid::generate());
    assert_eq!(store.invoice(unknown).await.unwrap(), None);

    let mut draft = Invoice::draft_for_order(&billable(at, 0), &invoice_terms(), at);
    draft.order_id = None;
    draft.buyer.email = None;
    draft.buyer.tax_id = Some("GB987654321".into());
    draft.lines.push(shopflow_domain::invoice::InvoiceLine {
        sku: None,
        description: "Gift wrapping".into(),
        quantity: 1,
        unit_price_minor: 0,
        total_minor: 0,
    });
    let loose = draft
        .issued(sequence.next_after(Some(1)), &invoice_terms(), at)
        .unwrap();
    let issue = InvoiceIssue {
        invoice: loose.clone(),
        follows: Some(1),
        claim: None,
        payment: None,
        draft_version: None,
        events: vec![invoice_event(InvoiceMove::Issued, &loose, at)],
    };
    store.issue_invoice(&issue).await.unwrap();

    assert_eq!(
        store.invoice(loose.id).await.unwrap(),
        Some(as_stored(&loose))
    );
    assert!(store.has_event(issue.events[0].id).await);
    assert_eq!(store.last_number(sequence).await.unwrap(), Some(2));
}

/// `kind` of `invoice` as an outbox event at `at`.
fn invoice_event(
    kind: InvoiceMove,
    invoice: &Invoice,
    at: Timestamp,
) -> shopflow_ports::OutboxEvent {
    shopflow_ports::OutboxEvent {
        id: Ulid::generate(),
        occurred_at: at,
        event: DomainEvent::InvoiceMoved(InvoiceMoved::new(kind, invoice)),
    }
}

/// The event that issues an order's invoice, delivered twice, issues it
/// once: the second answers the first's invoice and takes no number.
async fn a_redelivered_issue_answers_the_orders_invoice_and_takes_no_number(
    store: &(impl Store + Written),
) {
    let at = in_year(2102);
    let sequence = Sequence::of(Series::Invoice, at);
    let order = billable(at, 8_225);

    let first = issued_invoice(store, &order, at).await;
    let again = issue_order_invoice(store, &order, &invoice_terms(), at.plus_secs(60))
        .await
        .unwrap();

    assert_eq!(first.status, InvoiceStatus::Paid);
    assert_eq!(again, Invoiced::AlreadyIssued(first.id));
    assert_eq!(store.last_number(sequence).await.unwrap(), Some(1));
    assert_eq!(
        store.order_invoices(order.id).await.unwrap(),
        [as_stored(&first)]
    );
}

/// An issue on a last number that moved on since it was read is refused,
/// whether it read an empty sequence or an older number, and writes
/// nothing: no invoice, claim, payment record or event.
async fn an_issue_on_a_stale_number_is_refused_and_writes_nothing(store: &(impl Store + Written)) {
    let at = in_year(2103);
    let sequence = Sequence::of(Series::Invoice, at);
    issued_invoice(store, &billable(at, 0), at).await;
    issued_invoice(store, &billable(at, 0), at).await;
    let order = billable(at, 8_225);
    let draft = Invoice::draft_for_order(&order, &invoice_terms(), at);
    let stale = |follows: Option<u64>| {
        let issued = draft
            .issued(sequence.next_after(follows), &invoice_terms(), at)
            .unwrap();
        let capture = PaymentRecord::captured_for(&order, at).unwrap();
        let (payment, invoice) = capture.settle(&issued).unwrap();
        InvoiceIssue {
            events: vec![
                invoice_event(InvoiceMove::Issued, &issued, at),
                invoice_event(InvoiceMove::Paid, &invoice, at),
            ],
            invoice,
            follows,
            claim: Some(Claim::Invoice(order.id)),
            payment: Some(payment),
            draft_version: None,
        }
    };

    for follows in [None, Some(1)] {
        let issue = stale(follows);
        let refused = store.issue_invoice(&issue).await;

        assert!(
            matches!(refused, Err(IssueError::NumberTaken)),
            "{refused:?}"
        );
        assert_eq!(store.invoice(draft.id).await.unwrap(), None);
        assert!(store.order_invoices(order.id).await.unwrap().is_empty());
        let payment = issue.payment.as_ref().unwrap();
        assert!(!store.has_payment_record(payment.id).await);
        for event in &issue.events {
            assert!(!store.has_event(event.id).await);
        }
    }
    assert_eq!(store.last_number(sequence).await.unwrap(), Some(2));
}

/// Refunds are credited in credit notes of their own sequence, each for
/// what the order's refunds gave back beyond the notes before it: the
/// invoice and its notes add up to what the shop kept, and crediting again,
/// or twice at once, issues nothing more.
async fn refunds_are_credited_once_up_to_what_was_refunded(store: &(impl Store + Written)) {
    let at = in_year(2105);
    let mut order = billable(at, 8_225);
    let invoice = issued_invoice(store, &order, at).await;
    assert!(matches!(
        credit_refunds(store, &order, &invoice_terms(), at).await,
        Ok(Invoiced::NothingOwed)
    ));

    order.payment.refunded_minor = 1_000;
    let (first, again) = futures::future::join(
        credit_refunds(store, &order, &invoice_terms(), at),
        credit_refunds(store, &order, &invoice_terms(), at),
    )
    .await;
    let issued: Vec<Invoice> = [first.unwrap(), again.unwrap()]
        .into_iter()
        .filter_map(|outcome| match outcome {
            Invoiced::Issued(note) => Some(*note),
            Invoiced::AlreadyIssued(_) | Invoiced::NothingOwed => None,
        })
        .collect();
    let [note] = issued.as_slice() else {
        panic!("one credit note: {issued:?}")
    };
    assert_eq!(note.number.unwrap().to_string(), "CN-2105-000001");
    assert_eq!(note.credits.unwrap().invoice_id, invoice.id);
    assert_eq!(note.totals.total_minor, -1_000);

    order.payment.refunded_minor = 8_225;
    let Invoiced::Issued(rest) = credit_refunds(store, &order, &invoice_terms(), at)
        .await
        .unwrap()
    else {
        panic!("the rest credited")
    };
    assert_eq!(rest.number.unwrap().to_string(), "CN-2105-000002");

    let documents = store.order_invoices(order.id).await.unwrap();
    assert_eq!(
        documents,
        [as_stored(&invoice), as_stored(note), as_stored(&rest)]
    );
    let billed: i64 = documents.iter().map(|d| d.totals.total_minor).sum();
    let kept = order.payment.captured_minor - order.payment.refunded_minor;
    assert_eq!(billed, kept);
    let invoices = Sequence::of(Series::Invoice, at);
    assert_eq!(store.last_number(invoices).await.unwrap(), Some(1));
}

/// A key of staff's own for a manual payment.
fn payment_key() -> IdempotencyKey {
    IdempotencyKey {
        scope: "invoice-payment#5:staff".into(),
        key: Ulid::generate().to_string(),
    }
}

/// `amount_minor` staff received by bank transfer for `invoice` at `at`.
fn transfer(invoice: &Invoice, amount_minor: i64, at: Timestamp) -> PaymentRecord {
    let reference = format!("SEPA-{}", Ulid::generate());
    PaymentRecord::received(
        Ulid::generate(),
        PaymentMethod::BankTransfer,
        amount_minor,
        invoice.currency.clone(),
        &reference,
        at,
    )
    .unwrap()
}

/// Money staff received, allocated to an unpaid invoice: its receipt, its
/// record and the invoice after read back, with the event. The same write
/// again, or the key used again on the invoice as it now is, is stale and
/// changes nothing; so is a payment on a version that moved on, which
/// writes no record, receipt or event.
async fn a_manual_payment_is_allocated_to_an_invoice_once_on_its_version(
    store: &(impl Store + Written),
) {
    let at = in_year(2106);
    let read = as_stored(&issued_invoice(store, &billable(at, 0), at).await);
    assert_eq!((read.status, read.paid_minor), (InvoiceStatus::Issued, 0));
    let key = payment_key();
    let received = transfer(&read, 5_000, at);

    let write = InvoicePayment::new(&read, &received, key.clone(), "fp-2106".into(), at).unwrap();
    store.record_invoice_payment(&write).await.unwrap();

    assert_eq!(
        store.invoice_receipt(&key).await.unwrap(),
        Some(InvoiceReceipt {
            fingerprint: "fp-2106".into(),
            invoice_id: read.id,
            payment_id: Some(received.id),
        })
    );
    assert_eq!(
        store.payment_record(received.id).await.unwrap(),
        Some(write.payment.clone())
    );
    assert_eq!(write.payment.unallocated_minor(), 0);
    let paid = store.invoice(read.id).await.unwrap().unwrap();
    assert_eq!(
        (
            paid.status,
            paid.paid_minor,
            paid.open_minor(),
            paid.version
        ),
        (InvoiceStatus::PartiallyPaid, 5_000, 3_225, 2)
    );
    assert_eq!(
        paid,
        Invoice {
            version: 2,
            ..write.invoices[0].clone()
        }
    );
    assert!(store.has_event(write.events[0].id).await);
    let unknown = payment_key();
    assert_eq!(store.invoice_receipt(&unknown).await.unwrap(), None);
    assert_eq!(store.payment_record(Ulid::generate()).await.unwrap(), None);

    let again = store.record_invoice_payment(&write).await;
    let rest = transfer(&paid, 3_225, at);
    let reused = InvoicePayment::new(&paid, &rest, key.clone(), "fp-2106-b".into(), at).unwrap();
    let reused_outcome = store.record_invoice_payment(&reused).await;

    assert!(matches!(again, Err(InvoiceWriteError::Stale)), "{again:?}");
    assert!(
        matches!(reused_outcome, Err(InvoiceWriteError::Stale)),
        "{reused_outcome:?}"
    );
    assert_eq!(store.invoice(read.id).await.unwrap(), Some(paid.clone()));
    assert_eq!(
        store
            .invoice_receipt(&key)
            .await
            .unwrap()
            .map(|r| r.payment_id),
        Some(Some(received.id))
    );
    assert_eq!(store.payment_record(rest.id).await.unwrap(), None);
    assert!(!store.has_event(reused.events[0].id).await);

    let late_key = payment_key();
    let late = transfer(&read, 1_000, at);
    let stale = InvoicePayment::new(&read, &late, late_key.clone(), "fp-late".into(), at).unwrap();
    let refused = store.record_invoice_payment(&stale).await;

    assert!(
        matches!(refused, Err(InvoiceWriteError::Stale)),
        "{refused:?}"
    );
    assert_eq!(store.invoice(read.id).await.unwrap(), Some(paid));
    assert_eq!(store.invoice_receipt(&late_key).await.unwrap(), None);
    assert_eq!(store.payment_record(late.id).await.unwrap(), None);
    assert!(!store.has_payment_record(late.id).await);
    assert!(!store.has_event(stale.events[0].id).await);
}

/// An unpaid invoice voided reads back void, with why, when and by whom,
/// and keeps its number; voiding it again on the version read before is
/// stale and writes nothing.
async fn a_voided_invoice_keeps_its_number_on_the_version_read(store: &(impl Store + Written)) {
    let at = in_year(2107);
    let read = as_stored(&issued_invoice(store, &billable(at, 0), at).await);
    let later = at.plus_secs(3_600);

    let void = InvoiceVoid::new(
        read.voided("Billed twice", "staff:grace", 0, later)
            .unwrap(),
        later,
    );
    store.void_invoice(&void).await.unwrap();

    let voided = store.invoice(read.id).await.unwrap().unwrap();
    assert_eq!(
        voided,
        Invoice {
            version: 2,
            ..void.invoice.clone()
        }
    );
    assert_eq!(voided.status, InvoiceStatus::Void);
    assert_eq!(voided.number, read.number);
    let voiding = voided.voided.as_ref().unwrap();
    assert_eq!(
        (voiding.reason.as_str(), voiding.by.as_str(), voiding.at),
        ("Billed twice", "staff:grace", later)
    );
    assert_eq!(voided.open_minor(), 0);
    assert!(store.has_event(void.event.id).await);

    let again = InvoiceVoid::new(
        read.voided("Wrong buyer", "staff:ada", 0, later).unwrap(),
        later,
    );
    let refused = store.void_invoice(&again).await;

    assert!(
        matches!(refused, Err(InvoiceWriteError::Stale)),
        "{refused:?}"
    );
    assert_eq!(store.invoice(read.id).await.unwrap(), Some(voided));
    assert!(!store.has_event(again.event.id).await);
}

/// A store that counts how often the sequence is read: once per attempt
/// at a number.
struct CountingReads<'a, S> {
    store: &'a S,
    reads: std::sync::atomic::AtomicU32,
}

#[async_trait::async_trait]
impl<S: InvoiceStore> InvoiceStore for CountingReads<'_, S> {
    async fn last_number(
        &self,
        sequence: Sequence,
    ) -> Result<Option<u64>, shopflow_ports::StoreError> {
        self.reads
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        self.store.last_number(sequence).await
    }

    async fn issue_invoice(&self, issue: &InvoiceIssue) -> Result<(), IssueError> {
        self.store.issue_invoice(issue).await
    }

    async fn invoice(&self, id: InvoiceId) -> Result<Option<Invoice>, shopflow_ports::StoreError> {
        self.store.invoice(id).await
    }

    async fn order_invoices(
        &self,
        order: OrderId,
    ) -> Result<Vec<Invoice>, shopflow_ports::StoreError> {
        self.store.order_invoices(order).await
    }

    async fn create_draft(
        &self,
        draft: &Invoice,
        key: &IdempotencyKey,
        fingerprint: &str,
    ) -> Result<(), InvoiceWriteError> {
        self.store.create_draft(draft, key, fingerprint).await
    }

    async fn redraft(&self, draft: &Invoice) -> Result<(), InvoiceWriteError> {
        self.store.redraft(draft).await
    }

    async fn find_invoices(
        &self,
        query: &shopflow_ports::InvoiceQuery,
        after: Option<InvoiceId>,
        limit: u16,
    ) -> Result<Page<Invoice, InvoiceId>, shopflow_ports::StoreError> {
        self.store.find_invoices(query, after, limit).await
    }

    async fn invoice_receipt(
        &self,
        key: &IdempotencyKey,
    ) -> Result<Option<InvoiceReceipt>, shopflow_ports::StoreError> {
        self.store.invoice_receipt(key).await
    }

    async fn payment_record(
        &self,
        id: Ulid,
    ) -> Result<Option<PaymentRecord>, shopflow_ports::StoreError> {
        self.store.payment_record(id).await
    }

    async fn record_invoice_payment(
        &self,
        write: &InvoicePayment,
    ) -> Result<(), InvoiceWriteError> {
        self.store.record_invoice_payment(write).await
    }

    async fn void_invoice(&self, write: &InvoiceVoid) -> Result<(), InvoiceWriteError> {
        self.store.void_invoice(write).await
    }

    async fn open_invoices_due(
        &self,
        range: &DueRange,
    ) -> Result<Page<Invoice, DueCursor>, shopflow_ports::StoreError> {
        self.store.open_invoices_due(range).await
    }

    async fn remind_overdue(&self, write: &InvoiceReminder) -> Result<(), InvoiceWriteError> {
        self.store.remind_overdue(write).await
    }
}

/// 50 orders invoiced at once, each issue retried a moment later when the
/// sequence kept moving (as the queue would redeliver it), take the
/// numbers 1 to 50, each once, one invoice per order.
async fn invoices_issued_at_once_take_every_number_once(store: &(impl Store + Written)) {
    const ORDERS: u64 = 50;
    let at = in_year(2104);
    let sequence = Sequence::of(Series::Invoice, at);
    let orders: Vec<Order> = (0..ORDERS).map(|_| billable(at, 8_225)).collect();
    let counting = CountingReads {
        store,
        reads: std::sync::atomic::AtomicU32::new(0),
    };
    let redelivered = std::sync::atomic::AtomicU32::new(0);
    let started = std::time::Instant::now();

    let invoices = futures::future::join_all(orders.iter().map(|order| {
        let (counting, redelivered) = (&counting, &redelivered);
        async move {
            // Each redelivery waits longer, a random part of a doubling
            // window, as a queue's backoff spreads its retries.
            let mut window_ms = 20u128;
            loop {
                match issue_order_invoice(counting, order, &invoice_terms(), at).await {
                    Ok(Invoiced::Issued(invoice)) => return *invoice,
                    Err(InvoicingError::KeptChanging(_)) => {
                        redelivered.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        let pause = u64::try_from(Ulid::generate().random() % window_ms).unwrap();
                        tokio::time::sleep(std::time::Duration::from_millis(pause)).await;
                        window_ms = (window_ms * 2).min(2_000);
                    }
                    other => panic!("{other:?}"),
                }
            }
        }
    }))
    .await;

    println!(
        "{ORDERS} invoices issued at once in {:?}: {} attempts at a number, {} redeliveries",
        started.elapsed(),
        counting.reads.into_inner(),
        redelivered.into_inner()
    );
    let mut numbers: Vec<u64> = invoices
        .iter()
        .map(|invoice| invoice.number.unwrap().number)
        .collect();
    numbers.sort_unstable();
    assert_eq!(numbers, (1..=ORDERS).collect::<Vec<_>>());
    assert_eq!(store.last_number(sequence).await.unwrap(), Some(ORDERS));
    for (order, invoice) in orders.iter().zip(&invoices) {
        assert_eq!(
            store.order_invoices(order.id).await.unwrap(),
            [as_stored(invoice)]
        );
    }
}

/// Every open invoice of `shard` due before `before`, read `limit` a page
/// from the start, following each page's cursor until there is none.
async fn every_open_invoice_due(
    store: &impl Store,
    shard: u8,
    before: Timestamp,
    limit: u16,
) -> Vec<Invoice> {
    let mut due = Vec::new();
    let mut after = None;
    loop {
        let range = DueRange {
            shard,
            before,
            after,
            limit,
        };
        let page = store.open_invoices_due(&range).await.unwrap();
        assert!(page.items.len() <= usize::from(limit), "{page:?}");
        if page.next.is_some() {
            assert_eq!(page.items.len(), usize::from(limit));
            let last = page.items.last().unwrap();
            assert_eq!(
                page.next,
                Some(DueCursor {
                    due_at: last.due_at.unwrap(),
                    id: last.id,
                })
            );
        }
        due.extend(page.items);
        match page.next {
            Some(next) => after = Some(next),
            None => return due,
        }
    }
}

/// Open invoices (issued or partly paid) come back per shard, soonest due
/// first, page after page, only those due strictly before the time asked,
/// whole as they read by id; a paid or voided one leaves them.
async fn open_invoices_come_back_soonest_due_first_until_paid_or_void(store: &impl Store) {
    let start = in_year(2108);
    let hours = |n: u64| start.plus_secs(n * 3_600);
    // Issued out of due order: the index orders by due date, not by id.
    let mut issued = Vec::new();
    for hour in [7, 2, 9, 4, 1, 6, 3, 8, 5, 10, 11, 12] {
        let at = hours(hour);
        issued.push(as_stored(
            &issued_invoice(store, &billable(at, 0), at).await,
        ));
    }
    let at_hour = |hour: u64| {
        issued
            .iter()
            .find(|invoice| invoice.issued_at == Some(hours(hour)))
            .unwrap()
            .clone()
    };
    let (paid, voided, partly, at_cutoff, after_cutoff) =
        (at_hour(3), at_hour(6), at_hour(8), at_hour(11), at_hour(12));
    // Due at the cutoff is not due before it.
    let before = at_cutoff.due_at.unwrap();

    let full = transfer(&paid, paid.open_minor(), start);
    let pay = InvoicePayment::new(&paid, &full, payment_key(), "fp-2108".into(), start).unwrap();
    store.record_invoice_payment(&pay).await.unwrap();
    let part = transfer(&partly, 1_000, start);
    let pay_part =
        InvoicePayment::new(&partly, &part, payment_key(), "fp-2108-b".into(), start).unwrap();
    store.record_invoice_payment(&pay_part).await.unwrap();
    let void = InvoiceVoid::new(
        voided
            .voided("Billed twice", "staff:grace", 0, start)
            .unwrap(),
        start,
    );
    store.void_invoice(&void).await.unwrap();

    let mut expected: Vec<Invoice> = Vec::new();
    for invoice in &issued {
        if ![paid.id, voided.id, at_cutoff.id, after_cutoff.id].contains(&invoice.id) {
            expected.push(store.invoice(invoice.id).await.unwrap().unwrap());
        }
    }
    assert_eq!(expected.len(), 8);
    let partly_read = store.invoice(partly.id).await.unwrap().unwrap();
    assert_eq!(
        (partly_read.status, partly_read.open_minor()),
        (InvoiceStatus::PartiallyPaid, 7_225)
    );
    assert!(expected.contains(&partly_read));
    let ours: Vec<InvoiceId> = issued.iter().map(|invoice| invoice.id).collect();

    for shard in 0..STATUS_SHARDS {
        let due = every_open_invoice_due(store, shard, before, 2).await;

        // Every one answered (others' too) is open, of the shard, due
        // before the cutoff, in due order.
        for invoice in &due {
            assert!(invoice.open_minor() > 0, "{invoice:?}");
            assert_eq!(invoice_shard(invoice.id), shard);
            assert!(invoice.due_at.unwrap() < before, "{invoice:?}");
        }
        let order: Vec<_> = due.iter().map(|i| (i.due_at.unwrap(), i.id)).collect();
        assert!(order.is_sorted(), "{order:?}");
        // Ours: exactly the open ones of the shard, whole, soonest due first.
        let found: Vec<&Invoice> = due
            .iter()
            .filter(|invoice| ours.contains(&invoice.id))
            .collect();
        let mut wanted: Vec<&Invoice> = expected
            .iter()
            .filter(|invoice| invoice_shard(invoice.id) == shard)
            .collect();
        wanted.sort_by_key(|invoice| invoice.due_at);
        assert_eq!(found, wanted, "shard {shard}");
    }

    // A later cutoff takes in the one due at the earlier.
    let shard = invoice_shard(at_cutoff.id);
    let later = every_open_invoice_due(store, shard, before.plus_secs(1), 100).await;
    assert!(later.iter().any(|invoice| invoice.id == at_cutoff.id));
    assert!(!later.iter().any(|invoice| invoice.id == after_cutoff.id));
}

/// A ledger read over any window answers: one reaching past the last
/// instant a key holds reads to the end, and one that ends before it starts
/// is empty.
async fn a_ledger_read_over_any_window_answers(store: &(impl Store + Written)) {
    use shopflow_ports::MovementQuery;
    let query = |from: u64, to: u64| MovementQuery {
        sku: shopflow_domain::Sku::parse(&format!("LEDGER-{}", Ulid::generate())).unwrap(),
        warehouse: None,
        from: Some(Timestamp::from_millis(from)),
        to: Some(Timestamp::from_millis(to)),
        after: None,
        limit: 10,
    };
    let far_future = Timestamp::parse_rfc3339("5869-05-10T11:47:20-03:02")
        .unwrap()
        .as_millis();
    let now = in_year(2026).as_millis();

    let to_the_end = store.movements(&query(now, far_future)).await.unwrap();
    let backwards = store.movements(&query(far_future, now)).await.unwrap();

    assert!(to_the_end.items.is_empty() && to_the_end.next.is_none());
    assert!(backwards.items.is_empty() && backwards.next.is_none());
}

/// An overdue reminder is counted on the invoice on the version read,
/// with its event, and keeps the invoice among the open ones; the same
/// reminder again on that version is stale and writes nothing.
async fn an_overdue_invoice_is_reminded_once_on_the_version_read(store: &(impl Store + Written)) {
    let at = in_year(2109);
    let read = as_stored(&issued_invoice(store, &billable(at, 0), at).await);
    assert_eq!(read.reminders_sent, 0);
    assert_eq!(store.invoice(read.id).await.unwrap(), Some(read.clone()));
    let cadence = ReminderCadence::new(vec![1, 7, 14]).unwrap();
    let now = read.due_at.unwrap().plus_secs(8 * 86_400);
    let reminder = read.reminder_due(&cadence, now).unwrap();
    assert_eq!(reminder.step, 2);

    let write = InvoiceReminder::new(&read, reminder, now);
    store.remind_overdue(&write).await.unwrap();

    let reminded = store.invoice(read.id).await.unwrap().unwrap();
    assert_eq!(
        reminded,
        Invoice {
            version: 2,
            ..write.invoice.clone()
        }
    );
    assert_eq!(reminded.reminders_sent, 2);
    assert_eq!(reminded.reminder_due(&cadence, now), None);
    assert!(store.has_event(write.event.id).await);
    let open = every_open_invoice_due(store, invoice_shard(read.id), now, 50).await;
    assert_eq!(
        open.iter().find(|invoice| invoice.id == read.id),
        Some(&reminded)
    );

    let again = InvoiceReminder::new(&read, reminder, now.plus_secs(60));
    let refused = store.remind_overdue(&again).await;

    assert!(
        matches!(refused, Err(InvoiceWriteError::Stale)),
        "{refused:?}"
    );
    assert_eq!(store.invoice(read.id).await.unwrap(), Some(reminded));
    assert!(!store.has_event(again.event.id).await);
}

/// A manual bill of `units` hours of work for a company.
fn work_bill(units: u32) -> ManualBill {
    ManualBill {
        buyer: Party {
            name: "Acme Retail Ltd".into(),
            address: vec!["1 High Street".into(), "London".into(), "GB".into()],
            tax_id: Some("GB123456789".into()),
            email: None,
        },
        currency: shopflow_domain::Currency::parse("EUR").unwrap(),
        items: vec![Billed {
            sku: None,
            description: "Consulting hour".into(),
            quantity: units,
            unit_price_minor: 9_000,
        }],
        tax_minor: 0,
        shipping_minor: 0,
    }
}

fn draft_key() -> IdempotencyKey {
    IdempotencyKey {
        scope: "invoice-draft#5:staff".into(),
        key: Ulid::generate().to_string(),
    }
}

/// A manual draft kept at `at` for `customer`, billing `units` hours.
async fn kept_draft(
    store: &impl Store,
    customer: &CustomerId,
    units: u32,
    at: Timestamp,
) -> Invoice {
    let draft = Invoice::manual_draft(
        customer.clone(),
        &work_bill(units),
        &invoice_terms().seller,
        at,
    )
    .unwrap();
    store
        .create_draft(&draft, &draft_key(), "fp")
        .await
        .unwrap();
    as_stored(&draft)
}

/// A manual draft is kept once per key, changes only on the version read,
/// and is issued once under the next number, replacing the draft as read.
async fn a_manual_draft_changes_on_its_version_and_is_issued_once(store: &impl Store) {
    let at = in_year(2111);
    let customer = CustomerId::parse("cust-manual-2111").unwrap();
    let draft = Invoice::manual_draft(customer.clone(), &work_bill(2), &invoice_terms().seller, at)
        .unwrap();
    let key = draft_key();
    store.create_draft(&draft, &key, "fp-1").await.unwrap();
    let again =
        Invoice::manual_draft(customer, &work_bill(3), &invoice_terms().seller, at).unwrap();
    assert!(matches!(
        store.create_draft(&again, &key, "fp-2").await,
        Err(InvoiceWriteError::Stale)
    ));
    assert_eq!(
        store.invoice_receipt(&key).await.unwrap(),
        Some(InvoiceReceipt {
            fingerprint: "fp-1".into(),
            invoice_id: draft.id,
            payment_id: None,
        })
    );
    assert_eq!(store.invoice(again.id).await.unwrap(), None);

    let read = store.invoice(draft.id).await.unwrap().unwrap();
    assert_eq!(read, as_stored(&draft));
    let changed = read.redrafted(&work_bill(5)).unwrap();
    store.redraft(&changed).await.unwrap();
    assert!(matches!(
        store.redraft(&read.redrafted(&work_bill(7)).unwrap()).await,
        Err(InvoiceWriteError::Stale)
    ));
    let current = store.invoice(draft.id).await.unwrap().unwrap();
    assert_eq!((current.version, current.totals.total_minor), (2, 45_000));

    let issued = issue_draft(store, &current, &invoice_terms(), at)
        .await
        .unwrap();
    assert_eq!(issued.number.unwrap().to_string(), "INV-2111-000001");
    let stored = store.invoice(draft.id).await.unwrap().unwrap();
    assert_eq!((stored.status, stored.version), (InvoiceStatus::Issued, 3));
    assert!(matches!(
        issue_draft(store, &current, &invoice_terms(), at).await,
        Err(DraftIssueError::DraftChanged)
    ));
    assert!(matches!(
        store.redraft(&current).await,
        Err(InvoiceWriteError::Stale)
    ));
    let sequence = Sequence::of(Series::Invoice, at);
    assert_eq!(store.last_number(sequence).await.unwrap(), Some(1));
}

/// Listings read newest first, one customer's or everyone's within a
/// window, page by page, admitting only what the query asks for.
async fn invoices_list_newest_first_page_by_page(store: &impl Store) {
    let at = in_year(2112);
    let ada = CustomerId::parse("cust-list-ada-2112").unwrap();
    let bob = CustomerId::parse("cust-list-bob-2112").unwrap();
    let first = kept_draft(store, &ada, 1, at).await;
    let second = kept_draft(store, &ada, 2, at.plus_secs(1)).await;
    let bobs = kept_draft(store, &bob, 3, at.plus_secs(2)).await;
    let third = kept_draft(store, &ada, 4, at.plus_secs(3)).await;
    let issued = issue_draft(store, &third, &invoice_terms(), at.plus_secs(3))
        .await
        .unwrap();
    let query = |customer: Option<&CustomerId>| InvoiceQuery {
        customer: customer.cloned(),
        status: None,
        overdue: None,
        from: Some(at),
        to: Some(at.plus_secs(86_400)),
        drafts: true,
        now: at.plus_secs(4),
    };
    let ids = |page: &Page<Invoice, InvoiceId>| -> Vec<InvoiceId> {
        page.items.iter().map(|invoice| invoice.id).collect()
    };

    let page = store
        .find_invoices(&query(Some(&ada)), None, 2)
        .await
        .unwrap();
    assert_eq!(ids(&page), [third.id, second.id]);
    let rest = store
        .find_invoices(&query(Some(&ada)), page.next, 2)
        .await
        .unwrap();
    assert_eq!((ids(&rest), rest.next), (vec![first.id], None));

    let everyone = store.find_invoices(&query(None), None, 10).await.unwrap();
    assert_eq!(ids(&everyone), [third.id, bobs.id, second.id, first.id]);

    let issued_only = InvoiceQuery {
        drafts: false,
        ..query(Some(&ada))
    };
    let page = store.find_invoices(&issued_only, None, 10).await.unwrap();
    assert_eq!(ids(&page), [issued.id]);
    let drafts = InvoiceQuery {
        status: Some(InvoiceStatus::Draft),
        ..query(None)
    };
    let page = store.find_invoices(&drafts, None, 10).await.unwrap();
    assert_eq!(ids(&page), [bobs.id, second.id, first.id]);
    let before = InvoiceQuery {
        to: Some(at),
        ..query(None)
    };
    let page = store.find_invoices(&before, None, 10).await.unwrap();
    assert_eq!(ids(&page), [first.id]);
    // A cursor from another window: above this one reads it all, below
    // it reads nothing.
    let page = store
        .find_invoices(&before, Some(third.id), 10)
        .await
        .unwrap();
    assert_eq!(ids(&page), [first.id]);
    let after = InvoiceQuery {
        from: Some(at.plus_secs(2)),
        ..query(None)
    };
    let page = store
        .find_invoices(&after, Some(first.id), 10)
        .await
        .unwrap();
    assert_eq!((ids(&page), page.next), (vec![], None));
}

/// One payment split across two invoices writes both and the record, or,
/// when either moved since it was read, nothing at all.
async fn a_split_payment_writes_every_invoice_or_none(store: &(impl Store + Written)) {
    let at = in_year(2113);
    let customer = CustomerId::parse("cust-split-2113").unwrap();
    let mut issued = Vec::new();
    for units in [1, 2] {
        let draft = kept_draft(store, &customer, units, at).await;
        issued.push(
            issue_draft(store, &draft, &invoice_terms(), at)
                .await
                .unwrap(),
        );
    }
    let read = |id| async move { store.invoice(id).await.unwrap().unwrap() };
    let (first, second) = (read(issued[0].id).await, read(issued[1].id).await);
    let received = transfer(&first, 50_000, at);
    let asks = [(first.clone(), 9_000), (second.clone(), 5_000)];
    let split = |asks: &[(Invoice, i64)]| {
        InvoicePayment::split(asks, &received, payment_key(), "fp-2113".into(), at).unwrap()
    };

    // The second invoice moves on before the split is written.
    let elsewhere = transfer(&second, 1_000, at);
    store
        .record_invoice_payment(
            &InvoicePayment::new(&second, &elsewhere, payment_key(), "fp-other".into(), at)
                .unwrap(),
        )
        .await
        .unwrap();
    let stale = split(&asks);
    assert!(matches!(
        store.record_invoice_payment(&stale).await,
        Err(InvoiceWriteError::Stale)
    ));
    assert_eq!(read(first.id).await.paid_minor, 0);
    assert!(!store.has_payment_record(received.id).await);
    assert!(!store.has_event(stale.events[0].id).await);

    let fresh = split(&[(first.clone(), 9_000), (read(second.id).await, 5_000)]);
    store.record_invoice_payment(&fresh).await.unwrap();
    assert_eq!(
        (
            read(first.id).await.status,
            read(second.id).await.paid_minor
        ),
        (InvoiceStatus::Paid, 6_000)
    );
    assert!(store.has_payment_record(received.id).await);
    assert_eq!(
        store
            .payment_record(received.id)
            .await
            .unwrap()
            .unwrap()
            .unallocated_minor(),
        50_000 - 9_000 - 5_000
    );
}

/// A customer's preferences read back as last saved, theirs alone; none
/// before they ever chose.
async fn notification_preferences_read_back_as_last_saved(store: &impl Store) {
    use shopflow_domain::notification::{MarketingChoices, NotificationPreferences};
    let ada = CustomerId::parse(&format!("cust-prefs-{}", Ulid::generate())).unwrap();
    let grace = CustomerId::parse(&format!("cust-prefs-{}", Ulid::generate())).unwrap();
    assert_eq!(store.notification_preferences(&ada).await.unwrap(), None);

    let at = in_year(2114);
    let refused = NotificationPreferences::chosen(
        MarketingChoices {
            back_in_stock: false,
        },
        at,
    );
    store
        .save_notification_preferences(&ada, &refused)
        .await
        .unwrap();
    let accepted = NotificationPreferences::chosen(
        MarketingChoices {
            back_in_stock: true,
        },
        at.plus_secs(60),
    );
    store
        .save_notification_preferences(&grace, &accepted)
        .await
        .unwrap();

    assert_eq!(
        store.notification_preferences(&ada).await.unwrap(),
        Some(refused)
    );
    assert_eq!(
        store.notification_preferences(&grace).await.unwrap(),
        Some(accepted)
    );
}

/// A notification is recorded once per key: a second record finds the
/// first; it moves only from the version read; an order's are read with it.
async fn a_notification_is_recorded_once_and_moves_on_its_version(store: &impl Store) {
    use shopflow_domain::notification::{
        Notification, NotificationKey, NotificationStatus, Template,
    };
    use shopflow_ports::Opened;
    let at = in_year(2116);
    let order = OrderId::from_ulid(Ulid::from_parts(at.as_millis(), 7));
    let event = Ulid::generate().to_string();
    let key = NotificationKey::new(&event, Template::OrderConfirmation, "Ada@Example.com");
    let customer = CustomerId::parse(ADA).unwrap();
    let pending = Notification::pending(key.clone(), Some(order), Some(customer), at, 60);
    assert_eq!(
        store.open_notification(&pending).await.unwrap(),
        Opened::New
    );
    assert_eq!(
        store.open_notification(&pending).await.unwrap(),
        Opened::Existing(Box::new(pending.clone()))
    );

    let sent = pending.sent(at.plus_secs(1), "msg-1");
    assert!(store.save_notification(&sent).await.unwrap());
    // Moved from a version that is gone: refused, left as it is.
    let stale = pending.failed(at.plus_secs(2), "late");
    assert!(!store.save_notification(&stale).await.unwrap());
    let read = store
        .notification(&key, Some(order))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(read, sent);
    assert_eq!(read.status, NotificationStatus::Sent);

    let waitlist = NotificationKey::new(&event, Template::BackInStock, "grace@example.com");
    let unordered = Notification::pending(waitlist.clone(), None, None, at, 60);
    assert_eq!(
        store.open_notification(&unordered).await.unwrap(),
        Opened::New
    );
    assert_eq!(
        store.notification(&waitlist, None).await.unwrap(),
        Some(unordered)
    );
    assert_eq!(store.order_notifications(order).await.unwrap(), vec![sent]);
}

/// A suppressed address stays suppressed for its first reason, in any
/// case; the customers who ordered with an address are found by it.
async fn suppressions_and_address_links_read_back_in_any_case(store: &impl Store) {
    use shopflow_domain::notification::{
        NotificationKey, Suppression, SuppressionReason, Template,
    };
    let address = format!("bounce-{}@example.com", Ulid::generate()).to_lowercase();
    assert_eq!(store.suppression(&address).await.unwrap(), None);
    let at = in_year(2117);
    let bounce = Suppression {
        address: address.clone(),
        reason: SuppressionReason::Bounce,
        at,
        notification: NotificationKey::new("e1", Template::Shipped, &address),
    };
    store.suppress(&bounce).await.unwrap();
    let complaint = Suppression {
        reason: SuppressionReason::Complaint,
        at: at.plus_secs(5),
        ..bounce.clone()
    };
    store.suppress(&complaint).await.unwrap();
    assert_eq!(
        store.suppression(&address.to_uppercase()).await.unwrap(),
        Some(bounce)
    );

    let ada = CustomerId::parse(&format!("cust-link-{}", Ulid::generate())).unwrap();
    let grace = CustomerId::parse(&format!("cust-link-{}", Ulid::generate())).unwrap();
    store
        .link_address(&address.to_uppercase(), &ada)
        .await
        .unwrap();
    store.link_address(&address, &ada).await.unwrap();
    store.link_address(&address, &grace).await.unwrap();
    let mut linked = store.address_customers(&address).await.unwrap();
    linked.sort_by_key(ToString::to_string);
    let mut expected = vec![ada, grace];
    expected.sort_by_key(ToString::to_string);
    assert_eq!(linked, expected);
}

/// Notifications list newest first, each once page by page: one order's,
/// one customer's, or everyone's, of a status or template.
async fn notifications_list_newest_first_each_once(store: &impl Store) {
    use shopflow_domain::notification::{Notification, NotificationKey, Template};
    use shopflow_ports::NotificationQuery;
    let at = in_year(2118);
    let run = Ulid::generate();
    let ada = CustomerId::parse(&format!("cust-list-{run}-a")).unwrap();
    let grace = CustomerId::parse(&format!("cust-list-{run}-g")).unwrap();
    let order = OrderId::from_ulid(Ulid::from_parts(at.as_millis(), run.random()));
    let mut made = Vec::new();
    for n in 0..8u64 {
        let (customer, order, template) = match n {
            0..=2 => (Some(ada.clone()), Some(order), Template::Shipped),
            3 | 4 => (Some(ada.clone()), None, Template::InvoiceIssued),
            5 | 6 => (Some(grace.clone()), None, Template::InvoiceIssued),
            _ => (None, None, Template::BackInStock),
        };
        let key = NotificationKey::new(&format!("{run}-{n}"), template, "list@example.com");
        let pending = Notification::pending(key, order, customer, at.plus_secs(n), 60);
        store.open_notification(&pending).await.unwrap();
        let settled = if n == 4 {
            pending.failed(at.plus_secs(n), "refused")
        } else {
            pending.sent(at.plus_secs(n), "msg")
        };
        assert!(store.save_notification(&settled).await.unwrap());
        made.push(settled);
    }
    made.reverse();
    let keys = |list: &[Notification]| -> Vec<String> {
        list.iter().map(|n| n.key.event_id.clone()).collect()
    };
    let pages = |query: NotificationQuery, limit: u16, wanted: usize| async move {
        let mut read = Vec::new();
        let mut below: Option<String> = None;
        for _ in 0..20 {
            let page = store
                .find_notifications(&query, below.as_deref(), limit)
                .await
                .unwrap();
            assert!(page.items.len() <= usize::from(limit));
            read.extend(page.items);
            below = page.next;
            if below.is_none() || read.len() >= wanted {
                break;
            }
        }
        read
    };

    let adas = pages(
        NotificationQuery {
            customer: Some(ada.clone()),
            ..NotificationQuery::default()
        },
        2,
        5,
    )
    .await;
    assert_eq!(keys(&adas), keys(&made[3..8]));

    let ordered = pages(
        NotificationQuery {
            order: Some(order),
            ..NotificationQuery::default()
        },
        2,
        3,
    )
    .await;
    assert_eq!(keys(&ordered), keys(&made[5..8]));

    let failed = pages(
        NotificationQuery {
            customer: Some(ada.clone()),
            status: Some(shopflow_domain::notification::NotificationStatus::Failed),
            ..NotificationQuery::default()
        },
        5,
        1,
    )
    .await;
    assert_eq!(keys(&failed), vec![format!("{run}-4")]);

    // Ours are the newest notifications anyone made: everyone's listing
    // starts with them, each once.
    let everyone = pages(NotificationQuery::default(), 3, 8).await;
    assert_eq!(keys(&everyone[..8]), keys(&made));
    let invoices = pages(
        NotificationQuery {
            template: Some(Template::InvoiceIssued),
            ..NotificationQuery::default()
        },
        3,
        4,
    )
    .await;
    assert_eq!(keys(&invoices[..4]), keys(&made[1..5]));
}

/// Everyone's invoices, read page by page, come back newest first, each
/// once, however they are spread over the listing's shards.
async fn everyones_invoices_page_newest_first_each_once(store: &impl Store) {
    let at = in_year(2115);
    let mut made = Vec::new();
    for n in 0..9 {
        let customer = CustomerId::parse(&format!("cust-page-2115-{n}")).unwrap();
        made.push(kept_draft(store, &customer, 1, at.plus_secs(n)).await.id);
    }
    made.reverse();
    let query = InvoiceQuery {
        customer: None,
        status: None,
        overdue: None,
        from: Some(at),
        to: Some(at.plus_secs(3_600)),
        drafts: true,
        now: at,
    };

    let mut read = Vec::new();
    let mut after = None;
    for _ in 0..20 {
        let page = store.find_invoices(&query, after, 2).await.unwrap();
        assert!(page.items.len() <= 2);
        read.extend(page.items.iter().map(|invoice| invoice.id));
        match page.next {
            Some(next) => after = Some(next),
            None => break,
        }
    }
    assert_eq!(read, made);
}

contract!(
    notifications_list_newest_first_each_once,
    a_notification_is_recorded_once_and_moves_on_its_version,
    suppressions_and_address_links_read_back_in_any_case,
    everyones_invoices_page_newest_first_each_once,
    notification_preferences_read_back_as_last_saved,
    a_split_payment_writes_every_invoice_or_none,
    a_manual_draft_changes_on_its_version_and_is_issued_once,
    invoices_list_newest_first_page_by_page,
    a_ledger_read_over_any_window_answers,
    open_invoices_come_back_soonest_due_first_until_paid_or_void,
    an_overdue_invoice_is_reminded_once_on_the_version_read,
    a_manual_payment_is_allocated_to_an_invoice_once_on_its_version,
    a_voided_invoice_keeps_its_number_on_the_version_read,
    refunds_are_credited_once_up_to_what_was_refunded,
    an_orders_invoice_opens_its_sequence_and_reads_back_whole,
    a_redelivered_issue_answers_the_orders_invoice_and_takes_no_number,
    an_issue_on_a_stale_number_is_refused_and_writes_nothing,
    invoices_issued_at_once_take_every_number_once,
    a_told_page_leaves_the_waitlist_with_its_event,
    a_waitlist_keeps_an_address_once_and_counts_signups_per_window,
    a_storefront_reads_a_product_with_its_stock_everywhere,
    a_low_stock_threshold_moves_no_unit,
    an_adjustment_never_touches_held_units,
    a_transfer_moves_free_units_at_once,
    a_restock_replayed_under_its_key_adds_once,
    a_restock_of_an_unknown_product_is_refused,
    a_late_payment_that_lost_the_race_is_stale_not_out_of_stock,
    a_late_payment_finds_the_stock_gone,
    a_redelivered_event_is_a_duplicate_whatever_else_changed,
    backorder_settings_are_saved_per_warehouse,
    backorder_settings_for_an_unknown_product_save_nothing,
    a_backordered_checkout_stays_within_the_queue_limit,
    a_restock_sets_aside_what_the_queue_is_owed,
    units_a_lapsed_order_releases_go_to_the_queue,
    a_lapsed_backordered_order_leaves_the_queue,
    allocations_hold_only_on_what_was_read,
    a_cancelled_backorder_leaves_the_queue_and_holds_its_refund,
    job_runs_read_back_newest_first,
    a_raised_priority_reorders_the_queue,
    a_fulfilment_ships_reserved_units_once,
    job_runs_list_per_job_and_read_by_id,
    the_polling_schedule_and_budget_hold_on_what_was_read,
    tracking_updates_hold_only_on_the_versions_read,
);

/// A refusal retrying cannot fix (here, a table that does not exist) is a
/// defect with its cause, not "unavailable, retry shortly".
#[tokio::test]
async fn dynamodb_refusing_a_call_for_good_is_a_defect_not_unavailable() {
    let stack = shopflow_tests::stack_for_store_tests();
    let clients = stack.clients().await;
    let missing = DynamoStore::new(clients.dynamodb.clone(), "no-such-table");

    let error = missing
        .order(OrderId::from_ulid(Ulid::generate()))
        .await
        .unwrap_err();

    let shopflow_ports::StoreError::Defect { source, .. } = &error else {
        panic!("{error:?}");
    };
    let cause = shopflow_lambda_kit::problem::with_causes(source.as_ref());
    assert!(cause.contains("ResourceNotFound"), "{cause}");
}
