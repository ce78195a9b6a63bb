//! A fake event bus that records what it is sent and can be told to refuse
//! entries, fail whole calls, or break down after so many entries, and
//! DynamoDB stream records built the way the table's stream delivers them.
#![allow(clippy::unwrap_used, clippy::expect_used, dead_code)]

use async_trait::async_trait;
use aws_lambda_events::event::dynamodb::Event;
use lambda_runtime::{Context, LambdaEvent};
use outbox_relay::App;
use serde_json::{Value, json};
use shopflow_domain::events::{DomainEvent, InventoryRestocked, OrderStatusChanged};
use shopflow_domain::{
    CustomerId, FulfillmentStatus, OrderId, OrderState, OrderTrigger, Sku, Timestamp, WarehouseId,
};
use shopflow_dynamo::OutboxItem;
use shopflow_ports::{BusEntry, EventBus, OutboxEvent, StoreError};
use std::sync::{Arc, Mutex, MutexGuard};
use ulid::Ulid;

use shopflow_testkit::logging;

/// 2024-01-01T00:00:00Z.
const EPOCH_MILLIS: u64 = shopflow_testkit::OPENING_DAY.as_millis();

/// An event bus in memory. Clones share what they record, so a test keeps
/// one while the relay owns another.
#[derive(Clone, Default)]
pub struct FakeBus {
    state: Arc<Mutex<BusState>>,
}

#[derive(Default)]
struct BusState {
    /// Every batch the bus was sent, including calls it failed.
    calls: Vec<Vec<BusEntry>>,
    published: Vec<BusEntry>,
    /// Entries to refuse, and how many more times to refuse each.
    refusals: Vec<(BusEntry, u32)>,
    /// Whole calls still to fail.
    failing_calls: u32,
    /// Entries still accepted before the bus breaks down, and how it does.
    breakdown: Option<(usize, Breakdown)>,
}

/// How the bus behaves once it has accepted its last entry.
#[derive(Clone, Copy)]
enum Breakdown {
    /// The call that goes past the last entry keeps what came before it
    /// but fails outright, as a timeout after EventBridge took them would;
    /// every call after fails.
    Crashes,
    /// Every entry past the last is refused, as a partial PutEvents failure.
    Refuses,
}

impl FakeBus {
    pub fn new() -> Self {
        Self::default()
    }

    /// Refuses `entry` the next `times` times it is sent, then accepts it.
    pub fn refusing(self, entry: &BusEntry, times: u32) -> Self {
        self.state().refusals.push((entry.clone(), times));
        self
    }

    /// Refuses `entry` every time it is sent.
    pub fn always_refusing(self, entry: &BusEntry) -> Self {
        self.refusing(entry, u32::MAX)
    }

    /// Fails the next `times` calls outright, as an outage or throttling would.
    pub fn failing_calls(self, times: u32) -> Self {
        self.state().failing_calls = times;
        self
    }

    /// Accepts `entries` more in all, then fails: the call that goes past
    /// them publishes what came before and fails outright, as do all after.
    pub fn crashing_after(self, entries: usize) -> Self {
        self.crashes_after(entries);
        self
    }

    /// Accepts `entries` more in all, then refuses every entry sent.
    pub fn refusing_after(self, entries: usize) -> Self {
        self.state().breakdown = Some((entries, Breakdown::Refuses));
        self
    }

    /// From now on, accepts `entries` more, then crashes as
    /// [`FakeBus::crashing_after`] does.
    pub fn crashes_after(&self, entries: usize) {
        self.state().breakdown = Some((entries, Breakdown::Crashes));
    }

    /// The bus works again.
    pub fn recover(&self) {
        self.state().breakdown = None;
    }

    pub fn calls(&self) -> Vec<Vec<BusEntry>> {
        self.state().calls.clone()
    }

    /// Entries accepted, in the order they were accepted.
    pub fn published(&self) -> Vec<BusEntry> {
        self.state().published.clone()
    }

    fn state(&self) -> MutexGuard<'_, BusState> {
        self.state.lock().unwrap()
    }
}

#[async_trait]
impl EventBus for FakeBus {
    async fn publish(&self, entries: &[BusEntry]) -> Result<Vec<usize>, StoreError> {
        let mut state = self.state();
        state.calls.push(entries.to_vec());
        assert!(
            entries.len() <= 10,
            "PutEvents takes at most 10 entries, got {}",
            entries.len()
        );
        if state.failing_calls > 0 {
            state.failing_calls -= 1;
            return Err(StoreError::Unavailable("the bus is down".into()));
        }
        let mut refused = Vec::new();
        for (index, entry) in entries.iter().enumerate() {
            match state.breakdown {
                Some((0, Breakdown::Crashes)) => {
                    return Err(StoreError::Unavailable("the bus timed out".into()));
                }
                Some((0, Breakdown::Refuses)) => {
                    refused.push(index);
                    continue;
                }
                _ => {}
            }
            let refusal = state
                .refusals
                .iter_mut()
                .find(|(refused, remaining)| refused == entry && *remaining > 0);
            match refusal {
                Some((_, remaining)) => {
                    *remaining -= 1;
                    refused.push(index);
                }
                None => {
                    state.published.push(entry.clone());
                    if let Some((left, _)) = &mut state.breakdown {
                        *left -= 1;
                    }
                }
            }
        }
        Ok(refused)
    }
}

/// The relay over a fake bus.
pub struct Relay {
    app: App<FakeBus>,
    pub bus: FakeBus,
}

impl Relay {
    pub fn new(bus: FakeBus) -> Self {
        Self {
            app: App::new(bus.clone()),
            bus,
        }
    }

    /// Hands the relay one stream batch; returns the sequence numbers it
    /// reported as batch item failures.
    pub async fn relay(&self, records: Vec<Value>) -> Vec<String> {
        let event: Event = serde_json::from_value(json!({ "Records": records })).unwrap();
        let _logging = logging();
        let response = self
            .app
            .handle(LambdaEvent::new(event, Context::default()))
            .await
            .unwrap();
        let mut failures: Vec<String> = response
            .batch_item_failures
            .into_iter()
            .map(|failure| failure.item_identifier.unwrap())
            .collect();
        failures.sort();
        failures
    }
}

/// The `n`th sequence number of the shard; they sort as they were written.
pub fn seq(n: u32) -> String {
    format!("{:021}", 4_000_000_000_000_000_000u128 + u128::from(n))
}

/// The `n`th event waiting in the outbox.
pub fn outbox_item(n: u32) -> OutboxItem {
    let occurred_at = Timestamp::from_millis(EPOCH_MILLIS + u64::from(n));
    let event = OutboxEvent {
        id: Ulid::from_parts(occurred_at.as_millis(), u128::from(n)),
        occurred_at,
        event: DomainEvent::InventoryRestocked(InventoryRestocked {
            sku: Sku::parse(&format!("SKU-{n}")).unwrap(),
            warehouse: WarehouseId::parse("BER").unwrap(),
            received: n,
            set_aside: 0,
        }),
    };
    OutboxItem::from_event(&event).unwrap()
}

/// The `n`th event of a day's trading, as the outbox holds it: mostly
/// orders paid and cancelled, sometimes a restock; each with its own id.
pub fn trading_item(n: u32) -> OutboxItem {
    if n.is_multiple_of(5) {
        return outbox_item(n);
    }
    let occurred_at = Timestamp::from_millis(EPOCH_MILLIS + 60_000 * u64::from(n));
    let (trigger, actor) = if n.is_multiple_of(3) {
        (OrderTrigger::Cancelled, "customer:cust-ada")
    } else {
        (OrderTrigger::PaymentCaptured, "system:order-status")
    };
    let from = OrderState::placed(FulfillmentStatus::Unfulfilled);
    let to = from.apply(trigger).unwrap();
    let event = OutboxEvent {
        id: Ulid::from_parts(occurred_at.as_millis(), u128::from(n)),
        occurred_at,
        event: DomainEvent::OrderStatusChanged(OrderStatusChanged {
            order_id: OrderId::from_ulid(Ulid::from_parts(EPOCH_MILLIS, u128::from(n))),
            customer_id: CustomerId::parse("cust-ada").unwrap(),
            from,
            to,
            trigger,
            actor: actor.into(),
            reason: None,
            released: Vec::new(),
        }),
    };
    OutboxItem::from_event(&event).unwrap()
}

/// The envelope id of a published entry: what consumers dedupe on.
pub fn envelope_id(entry: &BusEntry) -> String {
    let detail: Value = serde_json::from_str(&entry.detail).unwrap();
    detail["id"].as_str().unwrap().to_owned()
}

/// What the bus should receive for an outbox item.
pub fn entry(item: &OutboxItem) -> BusEntry {
    BusEntry {
        source: item.source.clone(),
        detail_type: item.detail_type.clone(),
        detail: item.detail.clone(),
    }
}

/// An outbox item as DynamoDB-JSON.
pub fn outbox_image(item: &OutboxItem) -> Value {
    json!({
        "pk": { "S": item.pk },
        "sk": { "S": item.sk },
        "type": { "S": item.kind },
        "source": { "S": item.source },
        "detail_type": { "S": item.detail_type },
        "detail": { "S": item.detail },
        "ttl": { "N": item.ttl.to_string() }
    })
}

/// An order item as DynamoDB-JSON: same table, not an outbox record.
pub fn order_image() -> Value {
    json!({
        "pk": { "S": "ORDER#01HQ3ZJ8F4M1G6VJ4ZQZK2X9AB" },
        "sk": { "S": "META" },
        "type": { "S": "order" },
        "status": { "S": "pending_payment" },
        "grand_total": { "N": "4664" }
    })
}

/// `INSERT` of `image` as stream record number `n`.
pub fn insert(n: u32, image: Value) -> Value {
    record("INSERT", n, Some(image), None)
}

/// `MODIFY` of an item that now looks like `image`.
pub fn modify(n: u32, image: Value) -> Value {
    record("MODIFY", n, Some(image.clone()), Some(image))
}

/// `MODIFY` of an item that looked like `old` and now looks like `new`.
pub fn replace(n: u32, old: Value, new: Value) -> Value {
    record("MODIFY", n, Some(new), Some(old))
}

/// `REMOVE` of an item that looked like `image` (a TTL expiry, say).
pub fn remove(n: u32, image: Value) -> Value {
    record("REMOVE", n, None, Some(image))
}

fn record(event_name: &str, n: u32, new_image: Option<Value>, old_image: Option<Value>) -> Value {
    let image = new_image.as_ref().or(old_image.as_ref()).unwrap();
    let mut change = json!({
        "ApproximateCreationDateTime": EPOCH_MILLIS / 1_000,
        "Keys": { "pk": image["pk"], "sk": image["sk"] },
        "SequenceNumber": seq(n),
        "SizeBytes": 256,
        "StreamViewType": "NEW_AND_OLD_IMAGES"
    });
    if let Some(image) = new_image {
        change["NewImage"] = image;
    }
    if let Some(image) = old_image {
        change["OldImage"] = image;
    }
    json!({
        "eventID": format!("event-{n}"),
        "eventName": event_name,
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": "eu-central-1",
        "dynamodb": change,
        "eventSourceARN": "arn:aws:dynamodb:eu-central-1:000000000000:table/shopflow/stream/2024-01-01T00:00:00.000"
    })
}

/// The stream's records for `items`, inserted one after another from
/// sequence number 1.
pub fn stream(items: &[OutboxItem]) -> Vec<(String, Value)> {
    items
        .iter()
        .zip(1..)
        .map(|(item, n)| (seq(n), insert(n, outbox_image(item))))
        .collect()
}

/// What Lambda hands the relay after a batch reported `failures`: the
/// records from the lowest failed sequence number on (the checkpoint).
pub fn from_checkpoint(records: &[(String, Value)], failures: &[String]) -> Vec<Value> {
    let checkpoint = failures.iter().min().expect("a failure to restart from");
    records
        .iter()
        .filter(|(sequence_number, _)| sequence_number >= checkpoint)
        .map(|(_, record)| record.clone())
        .collect()
}

pub fn records(stream: &[(String, Value)]) -> Vec<Value> {
    stream.iter().map(|(_, record)| record.clone()).collect()
}

/// A consumer downstream of the bus that applies each event once, however
/// often the bus delivers it, by remembering envelope ids.
#[derive(Default)]
pub struct DedupingConsumer {
    seen: std::collections::HashSet<String>,
    /// Envelope ids applied, in the order they were applied.
    pub applied: Vec<String>,
    /// Deliveries skipped as seen before.
    pub duplicates: usize,
}

impl DedupingConsumer {
    pub fn receive(&mut self, published: &[BusEntry]) {
        for entry in published {
            let id = envelope_id(entry);
            if self.seen.insert(id.clone()) {
                self.applied.push(id);
            } else {
                self.duplicates += 1;
            }
        }
    }
}
