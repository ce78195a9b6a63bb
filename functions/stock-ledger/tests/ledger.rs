//! stock-ledger from the table's stream: each stock change is one movement
//! with the cause its write named, kept once however often the stream
//! delivers it; low stock is raised once per fall.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use aws_lambda_events::event::dynamodb::Event;
use lambda_runtime::{Context, LambdaEvent};
use serde_json::{Value, json};
use shopflow_domain::events::DomainEvent;
use shopflow_domain::movement::replay;
use shopflow_domain::{Movement, MovementCause, StockLevel};
use shopflow_ports::{MovementQuery, StockLedger};
use shopflow_testkit::memory::MemoryStore;
use shopflow_testkit::{SharedStore, sku, wh};
use stock_ledger::App;

/// The stream's clock: 2026-12-01T00:00:00Z.
const SEEN_SECS: u64 = 1_796_083_200;

/// A stock item as DynamoDB-JSON, at `version`, with the note its last
/// write left (`cause`, `reference`, at ms) and a low-stock threshold.
#[derive(Clone)]
struct Stock {
    level: StockLevel,
    version: u64,
    note: Option<(&'static str, &'static str, u64)>,
    low: Option<u32>,
}

impl Stock {
    fn new(on_hand: u32, reserved: u32, version: u64) -> Self {
        Self {
            level: StockLevel {
                reserved,
                ..StockLevel::on_hand(on_hand)
            },
            version,
            note: None,
            low: None,
        }
    }

    fn by(mut self, cause: &'static str, reference: &'static str, at: u64) -> Self {
        self.note = Some((cause, reference, at));
        self
    }

    fn low(mut self, threshold: u32) -> Self {
        self.low = Some(threshold);
        self
    }

    fn image(&self) -> Value {
        let level = self.level;
        let mut image = json!({
            "pk": { "S": "SKU#TEE" },
            "sk": { "S": "STOCK#BER" },
            "type": { "S": "stock" },
            "sku": { "S": "TEE" },
            "warehouse": { "S": "BER" },
            "on_hand": { "N": level.on_hand.to_string() },
            "reserved": { "N": level.reserved.to_string() },
            "set_aside": { "N": level.set_aside.to_string() },
            "backordered": { "N": level.backordered.to_string() },
            "available": { "N": level.available().to_string() },
            "version": { "N": self.version.to_string() },
        });
        if let Some((cause, reference, at)) = self.note {
            image["mv"] = json!({ "M": {
                "c": { "S": cause }, "r": { "S": reference }, "at": { "N": at.to_string() }
            } });
        }
        if let Some(low) = self.low {
            image["low"] = json!({ "N": low.to_string() });
        }
        image
    }
}

fn record(n: u32, old: Option<&Stock>, new: &Value) -> Value {
    let mut change = json!({
        "ApproximateCreationDateTime": SEEN_SECS,
        "Keys": { "pk": new["pk"], "sk": new["sk"] },
        "SequenceNumber": format!("{n:021}"),
        "SizeBytes": 256,
        "StreamViewType": "NEW_AND_OLD_IMAGES",
        "NewImage": new,
    });
    if let Some(old) = old {
        change["OldImage"] = old.image();
    }
    json!({
        "eventID": format!("event-{n}"),
        "eventName": if old.is_some() { "MODIFY" } else { "INSERT" },
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": "eu-central-1",
        "dynamodb": change,
        "eventSourceARN": "arn:aws:dynamodb:eu-central-1:000000000000:table/shopflow/stream/x"
    })
}

/// The records of a stock item going through `levels`, the first created.
fn walk(levels: &[Stock]) -> Vec<Value> {
    let mut records = Vec::new();
    let mut before: Option<&Stock> = None;
    for (n, stock) in (1..).zip(levels) {
        records.push(record(n, before, &stock.image()));
        before = Some(stock);
    }
    records
}

struct Ledger {
    app: App<SharedStore>,
    shared: SharedStore,
}

impl Ledger {
    fn new() -> Self {
        let shared = SharedStore::default();
        Self {
            app: App::new(shared.clone()),
            shared,
        }
    }

    fn store(&self) -> &MemoryStore {
        self.shared.memory()
    }

    /// Hands `records` to the function as one batch; answers the sequence
    /// numbers it reported as failed.
    async fn deliver(&self, records: Vec<Value>) -> Vec<String> {
        let event: Event = serde_json::from_value(json!({ "Records": records })).unwrap();
        let answer = self
            .app
            .handle(LambdaEvent::new(event, Context::default()))
            .await
            .unwrap();
        answer
            .batch_item_failures
            .into_iter()
            .filter_map(|failure| failure.item_identifier)
            .collect()
    }

    async fn movements(&self) -> Vec<Movement> {
        self.store()
            .movements(&MovementQuery {
                sku: sku("TEE"),
                warehouse: Some(wh("BER")),
                from: None,
                to: None,
                after: None,
                limit: 1_000,
            })
            .await
            .unwrap()
            .items
    }

    fn low_stock_events(&self) -> Vec<Value> {
        self.store()
            .outbox()
            .into_iter()
            .filter(|event| event.event.detail_type() == "inventory.low_stock")
            .map(|event| match event.event {
                DomainEvent::InventoryLowStock(low) => serde_json::to_value(low).unwrap(),
                other => panic!("{other:?}"),
            })
            .collect()
    }
}

/// Received 10, sold 3, sold 2 more, released 2, shipped 3.
fn a_day_of_trading() -> Vec<Stock> {
    vec![
        Stock::new(10, 0, 1).by("restocked", "rs-1", 1_000),
        Stock::new(10, 3, 2).by("sale", "order-1", 2_000),
        Stock::new(10, 5, 3).by("sale", "order-2", 3_000),
        Stock::new(10, 3, 4).by("released", "order-2", 4_000),
        Stock::new(7, 0, 5).by("shipped", "ship-1", 5_000),
    ]
}

#[tokio::test]
async fn each_change_is_one_movement_with_its_cause_and_the_ledger_replays_to_the_level() {
    let ledger = Ledger::new();

    let failed = ledger.deliver(walk(&a_day_of_trading())).await;

    assert!(failed.is_empty(), "{failed:?}");
    let movements = ledger.movements().await;
    let causes: Vec<(MovementCause, &str, i64, i64)> = movements
        .iter()
        .map(|m| {
            (
                m.note.cause,
                m.note.reference.as_str(),
                m.change.on_hand,
                m.change.reserved,
            )
        })
        .collect();
    assert_eq!(
        causes,
        [
            (MovementCause::Restocked, "rs-1", 10, 0),
            (MovementCause::Sale, "order-1", 0, 3),
            (MovementCause::Sale, "order-2", 0, 2),
            (MovementCause::Released, "order-2", 0, -2),
            (MovementCause::Shipped, "ship-1", -3, -3),
        ]
    );
    assert_eq!(
        movements.iter().map(|m| m.version).collect::<Vec<_>>(),
        [1, 2, 3, 4, 5]
    );
    assert_eq!(replay(&movements), Some(StockLevel::on_hand(7)));
    assert_eq!(movements[4].after, StockLevel::on_hand(7));
}

#[tokio::test]
async fn a_batch_delivered_again_records_nothing_twice() {
    let ledger = Ledger::new();
    let trading = a_day_of_trading();

    ledger.deliver(walk(&trading)).await;
    let failed = ledger.deliver(walk(&trading)).await;

    assert!(failed.is_empty());
    let movements = ledger.movements().await;
    assert_eq!(movements.len(), 5);
    assert_eq!(replay(&movements), Some(StockLevel::on_hand(7)));
}

#[tokio::test]
async fn low_stock_is_raised_once_per_fall_and_again_after_a_restock_above_it() {
    let ledger = Ledger::new();
    // Threshold 5: 10 on hand, then sales one by one down to 2, a restock
    // to 12, and sales down to 4 again.
    let mut levels = vec![Stock::new(10, 0, 1).by("restocked", "rs-1", 1).low(5)];
    let mut version = 1;
    for reserved in 1..=8 {
        version += 1;
        levels.push(
            Stock::new(10, reserved, version)
                .by("sale", "order", 10 + version)
                .low(5),
        );
    }
    version += 1;
    levels.push(
        Stock::new(20, 8, version)
            .by("restocked", "rs-2", 100)
            .low(5),
    );
    for reserved in 9..=16 {
        version += 1;
        levels.push(
            Stock::new(20, reserved, version)
                .by("sale", "order", 100 + version)
                .low(5),
        );
    }

    ledger.deliver(walk(&levels)).await;

    let events = ledger.low_stock_events();
    assert_eq!(events.len(), 2, "{events:#?}");
    assert_eq!(events[0]["available"], 5);
    assert_eq!(events[0]["threshold"], 5);
    assert_eq!(events[0]["cause"], "sale");
    assert_eq!(events[0]["version"], 6);
    assert_eq!(events[1]["available"], 5);
    assert_eq!(ledger.movements().await.len(), levels.len());
}

#[tokio::test]
async fn a_threshold_set_above_the_stock_raises_low_stock_on_a_movement_of_no_units() {
    let ledger = Ledger::new();
    let before = Stock::new(3, 0, 4).by("restocked", "rs-1", 1);
    let after = Stock::new(3, 0, 5)
        .by("settings_changed", "low_stock", 2)
        .low(5);
    let lowered = Stock::new(3, 0, 6)
        .by("settings_changed", "low_stock", 3)
        .low(1);

    ledger
        .deliver(vec![
            record(1, Some(&before), &after.image()),
            record(2, Some(&after), &lowered.image()),
        ])
        .await;

    let events = ledger.low_stock_events();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0]["cause"], "settings_changed");
    let movements = ledger.movements().await;
    assert_eq!(movements.len(), 1, "only the fall is kept: {movements:#?}");
    assert!(movements[0].change.is_empty());
}

#[tokio::test]
async fn a_write_that_named_no_cause_is_recorded_as_unexplained() {
    let ledger = Ledger::new();
    let sold = Stock::new(10, 3, 2).by("sale", "order-1", 2_000);
    // Units moved, but the note is the one the sale left.
    let silent = Stock::new(10, 1, 3).by("sale", "order-1", 2_000);

    ledger
        .deliver(vec![record(1, Some(&sold), &silent.image())])
        .await;

    let movements = ledger.movements().await;
    assert_eq!(movements.len(), 1);
    assert_eq!(movements[0].note.cause, MovementCause::Unexplained);
    assert_eq!(movements[0].note.at.as_millis(), SEEN_SECS * 1_000);
    assert_eq!(movements[0].change.reserved, -2);
}

#[tokio::test]
async fn other_items_and_settings_that_move_no_units_leave_no_movement() {
    let ledger = Ledger::new();
    let order = json!({
        "pk": { "S": "ORDER#01HQ3ZJ8F4M1G6VJ4ZQZK2X9AB" },
        "sk": { "S": "META" },
        "type": { "S": "order" },
    });
    let stock = Stock::new(10, 0, 1).by("restocked", "rs-1", 1);
    let settings = Stock::new(10, 0, 2).by("settings_changed", "backorder_settings", 2);

    let failed = ledger
        .deliver(vec![
            record(1, None, &order),
            record(2, Some(&stock), &settings.image()),
        ])
        .await;

    assert!(failed.is_empty());
    assert!(ledger.movements().await.is_empty());
    assert!(ledger.store().outbox().is_empty());
}

#[tokio::test]
async fn an_unreadable_stock_image_is_handed_back_with_everything_after_it() {
    let ledger = Ledger::new();
    let trading = a_day_of_trading();
    let mut records = walk(&trading);
    records[2]["dynamodb"]["NewImage"]["on_hand"] = json!({ "S": "ten" });

    let failed = ledger.deliver(records).await;

    assert_eq!(failed, [format!("{:021}", 3)]);
    assert_eq!(ledger.movements().await.len(), 2);
}

#[tokio::test]
async fn a_warehouse_with_no_unit_free_that_gets_some_raises_available_again_once() {
    let ledger = Ledger::new();
    // 3 received (from nothing: available again), sold out, 1 released
    // (available again), 2 more received while 1 is free (not again).
    let levels = vec![
        Stock::new(3, 0, 1).by("restocked", "rs-1", 1_000),
        Stock::new(3, 3, 2).by("sale", "order-1", 2_000),
        Stock::new(3, 2, 3).by("released", "order-1", 3_000),
        Stock::new(5, 2, 4).by("restocked", "rs-2", 4_000),
    ];

    ledger.deliver(walk(&levels)).await;
    ledger.deliver(walk(&levels)).await;

    let again: Vec<Value> = ledger
        .store()
        .outbox()
        .into_iter()
        .filter_map(|event| match event.event {
            DomainEvent::InventoryAvailableAgain(again) => {
                Some(serde_json::to_value(again).unwrap())
            }
            _ => None,
        })
        .collect();
    assert_eq!(
        again,
        [
            json!({ "sku": "TEE", "warehouse": "BER", "available": 3, "cause": "restocked", "version": 1 }),
            json!({ "sku": "TEE", "warehouse": "BER", "available": 1, "cause": "released", "version": 3 }),
        ]
    );
}
