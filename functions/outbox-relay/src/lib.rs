//! Publishes every committed outbox record to EventBridge, from the table's
//! stream. Records that cannot be published after retries are reported as
//! batch item failures, so Lambda re-delivers them (and everything after
//! them in the shard); consumers dedupe by event id, so a re-publish is safe.
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

use aws_lambda_events::event::dynamodb::{Event, EventRecord};
use aws_lambda_events::event::streams::{DynamoDbBatchItemFailure, DynamoDbEventResponse};
use lambda_runtime::{Error, LambdaEvent};
use shopflow_dynamo::OutboxItem;
use shopflow_eventbridge::EventBridgeBus;
use shopflow_lambda_kit::config;
use shopflow_lambda_kit::config::{ConfigError, Env};
use shopflow_lambda_kit::function::{EventFunction, Function, Shared};
use shopflow_lambda_kit::metrics::{self, Unit};
use shopflow_ports::{BusEntry, EventBus};
use std::time::Duration;

/// PutEvents accepts at most 10 entries per call,
const PUT_EVENTS_LIMIT: usize = 10;
/// and at most 256 KiB of them (an invoice's events carry its document).
const PUT_EVENTS_BYTES: usize = 256 * 1024;
/// Publishing attempts for entries the bus refused before giving them back to Lambda.
const PUBLISH_ATTEMPTS: u32 = 3;

pub struct App<B> {
    bus: B,
}

/// outbox-relay as deployed: on the EventBridge bus.
pub type Deployed = App<EventBridgeBus>;

impl Function for Deployed {
    const NAME: &'static str = "outbox-relay";

    fn build(env: &Env, shared: &Shared) -> Result<Self, ConfigError> {
        Ok(Self::new(EventBridgeBus::from_config(
            &shared.aws.eventbridge,
            config::required(env, "EVENT_BUS_NAME")?,
        )))
    }
}

impl EventFunction<Event> for Deployed {
    type Answer = DynamoDbEventResponse;

    fn serve(
        &self,
        event: LambdaEvent<Event>,
    ) -> impl std::future::Future<Output = Result<DynamoDbEventResponse, Error>> + Send {
        self.handle(event)
    }
}

/// An outbox record from the stream, with the sequence number that names it
/// in a batch item failure and the key of the item that carries it.
struct Pending {
    sequence_number: String,
    item: String,
    entry: BusEntry,
}

impl<B: EventBus> App<B> {
    pub fn new(bus: B) -> Self {
        Self { bus }
    }

    pub async fn handle(&self, event: LambdaEvent<Event>) -> Result<DynamoDbEventResponse, Error> {
        let mut failed = Vec::new();
        let mut pending = Vec::new();
        for record in event.payload.records {
            match outbox_entry(record) {
                Ok(Some(entry)) => pending.push(entry),
                Ok(None) => {}
                Err(sequence_number) => failed.push(sequence_number),
            }
        }
        let mut unpublished = Vec::new();
        for call in put_events_calls(&pending) {
            unpublished.extend(self.publish_with_retries(call).await);
        }
        // Unreadable records never reached the bus, so only `unpublished` counts against `pending`.
        let published = pending.len() - unpublished.len();
        failed.extend(unpublished);
        tracing::info!(published, failed = failed.len(), "outbox batch relayed");
        metrics::emit(
            "outbox-relay",
            &[
                ("EventsPublished", published as f64, Unit::Count),
                ("EventsNotPublished", failed.len() as f64, Unit::Count),
            ],
        );
        let mut response = DynamoDbEventResponse::default();
        response.batch_item_failures = failed
            .into_iter()
            .map(|sequence_number| {
                let mut failure = DynamoDbBatchItemFailure::default();
                failure.item_identifier = Some(sequence_number);
                failure
            })
            .collect();
        Ok(response)
    }

    /// Publishes a chunk, retrying only the refused entries; returns the
    /// sequence numbers still unpublished.
    async fn publish_with_retries(&self, chunk: &[Pending]) -> Vec<String> {
        let mut remaining: Vec<&Pending> = chunk.iter().collect();
        for attempt in 0..PUBLISH_ATTEMPTS {
            if attempt > 0 {
                tokio::time::sleep(Duration::from_millis(50 << attempt)).await;
            }
            let entries: Vec<BusEntry> = remaining.iter().map(|p| p.entry.clone()).collect();
            match self.bus.publish(&entries).await {
                Ok(refused) => {
                    remaining = refused
                        .into_iter()
                        .filter_map(|i| remaining.get(i).copied())
                        .collect()
                }
                Err(error) => tracing::warn!(%error, attempt, "PutEvents failed"),
            }
            if remaining.is_empty() {
                return Vec::new();
            }
        }
        for pending in &remaining {
            tracing::error!(
                sequence_number = %pending.sequence_number,
                item = %pending.item,
                detail_type = %pending.entry.detail_type,
                "event not published; handing back to the stream"
            );
        }
        remaining
            .into_iter()
            .map(|p| p.sequence_number.clone())
            .collect()
    }
}

/// The event a stream record commits (see [`OutboxItem::committed_event`]);
/// `Err` with its sequence number when the record carries one that cannot
/// be read.
fn outbox_entry(record: EventRecord) -> Result<Option<Pending>, String> {
    let change = record.change;
    let sequence_number = change.sequence_number.unwrap_or_default();
    let item = OutboxItem::key_of(&change.keys);
    match OutboxItem::committed_event(&record.event_name, change.old_image, change.new_image) {
        Ok(entry) => Ok(entry.map(|entry| Pending {
            sequence_number,
            item,
            entry,
        })),
        Err(error) => {
            tracing::error!(%error, %sequence_number, %item, "unreadable outbox record");
            Err(sequence_number)
        }
    }
}

/// An entry's size as PutEvents counts it: the time's 14 bytes, the source,
/// the detail type and the detail.
fn entry_size(entry: &BusEntry) -> usize {
    14 + entry.source.len() + entry.detail_type.len() + entry.detail.len()
}

/// `pending` cut, in stream order, into the calls PutEvents takes: at most
/// 10 entries and 256 KiB each (an entry larger alone goes alone, and the
/// bus refuses it).
fn put_events_calls(pending: &[Pending]) -> Vec<&[Pending]> {
    let mut calls = Vec::new();
    let (mut start, mut bytes) = (0, 0);
    for (index, next) in pending.iter().enumerate() {
        let size = entry_size(&next.entry);
        let full = index - start == PUT_EVENTS_LIMIT || bytes + size > PUT_EVENTS_BYTES;
        if index > start && full {
            calls.push(&pending[start..index]);
            (start, bytes) = (index, 0);
        }
        bytes += size;
    }
    if start < pending.len() {
        calls.push(&pending[start..]);
    }
    calls
}
