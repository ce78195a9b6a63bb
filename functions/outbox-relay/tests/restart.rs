//! Restarting after a crash mid-batch: the relay hands back every record from
//! the first one it cannot show was published, Lambda re-delivers the shard
//! from there, and a consumer that dedupes on the envelope id sees every
//! event exactly once, although some went out twice and some not at all the
//! first time.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{
    DedupingConsumer, FakeBus, Relay, entry, envelope_id, from_checkpoint, records, seq, stream,
    trading_item,
};
use shopflow_dynamo::OutboxItem;

/// A day's trading: 25 outbox records, three chunks of at most ten.
fn trading_day() -> Vec<OutboxItem> {
    (1..=25).map(trading_item).collect()
}

fn envelope_ids(items: &[OutboxItem]) -> Vec<String> {
    items.iter().map(|item| envelope_id(&entry(item))).collect()
}

#[test]
fn the_trading_day_has_distinct_events_of_several_kinds() {
    let items = trading_day();

    let mut ids = envelope_ids(&items);
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), items.len(), "envelope ids repeat");
    let mut kinds: Vec<&str> = items.iter().map(|item| item.detail_type.as_str()).collect();
    kinds.sort();
    kinds.dedup();
    assert_eq!(
        kinds,
        ["inventory.restocked", "order.cancelled", "order.paid"]
    );
}

#[tokio::test]
async fn a_bus_that_breaks_mid_chunk_hands_back_every_record_from_the_chunk_it_broke_in() {
    // Chunk one (1-10) is published; chunk two breaks after 11-13 went out
    // but before the bus answered, so the relay cannot know they did.
    let items = trading_day();
    let relay = Relay::new(FakeBus::new().crashing_after(13));

    let failures = relay.relay(records(&stream(&items))).await;

    assert_eq!(failures, (11..=25).map(seq).collect::<Vec<_>>());
    let published: Vec<_> = items[..13].iter().map(entry).collect();
    assert_eq!(relay.bus.published(), published);
}

#[tokio::test]
async fn restarting_from_the_checkpoint_publishes_the_rest_and_a_deduping_consumer_sees_each_event_once()
 {
    let items = trading_day();
    let stream = stream(&items);
    let relay = Relay::new(FakeBus::new().crashing_after(13));
    let failures = relay.relay(records(&stream)).await;
    relay.bus.recover();

    let redelivered = from_checkpoint(&stream, &failures);
    let failures = relay.relay(redelivered.clone()).await;

    assert_eq!(redelivered.len(), 15, "Lambda restarts at record 11");
    assert!(failures.is_empty(), "{failures:?}");
    let published = relay.bus.published();
    assert_eq!(published.len(), 13 + 15, "11-13 went out twice");
    let mut consumer = DedupingConsumer::default();
    consumer.receive(&published);
    assert_eq!(consumer.applied, envelope_ids(&items));
    assert_eq!(consumer.duplicates, 3);
}

#[tokio::test]
async fn a_bus_that_starts_refusing_mid_chunk_hands_back_from_the_first_refused_record_and_nothing_goes_out_twice()
 {
    let items = trading_day();
    let stream = stream(&items);
    let relay = Relay::new(FakeBus::new().refusing_after(13));

    let failures = relay.relay(records(&stream)).await;

    assert_eq!(failures, (14..=25).map(seq).collect::<Vec<_>>());

    relay.bus.recover();
    let failures = relay.relay(from_checkpoint(&stream, &failures)).await;

    assert!(failures.is_empty(), "{failures:?}");
    let published = relay.bus.published();
    assert_eq!(published, items.iter().map(entry).collect::<Vec<_>>());
    let mut consumer = DedupingConsumer::default();
    consumer.receive(&published);
    assert_eq!(consumer.applied, envelope_ids(&items));
    assert_eq!(consumer.duplicates, 0);
}

#[tokio::test]
async fn a_relay_that_dies_before_answering_gets_the_whole_batch_again_and_consumers_still_see_each_event_once()
 {
    // The function timed out after the bus broke: its answer is lost, and
    // Lambda retries the batch from its first record.
    let items = trading_day();
    let stream = stream(&items);
    let relay = Relay::new(FakeBus::new().crashing_after(17));
    let _lost_answer = relay.relay(records(&stream)).await;
    relay.bus.recover();

    let failures = relay.relay(records(&stream)).await;

    assert!(failures.is_empty(), "{failures:?}");
    let mut consumer = DedupingConsumer::default();
    consumer.receive(&relay.bus.published());
    assert_eq!(consumer.applied, envelope_ids(&items));
    assert_eq!(consumer.duplicates, 17);
}

#[tokio::test]
async fn restarts_through_repeated_breakdowns_move_the_checkpoint_forward_and_lose_nothing() {
    let items = trading_day();
    let stream = stream(&items);
    let relay = Relay::new(FakeBus::new());
    let mut batch = records(&stream);
    let mut checkpoints = Vec::new();

    for entries_before_breaking in [13, 4, 0, 12] {
        relay.bus.crashes_after(entries_before_breaking);
        let failures = relay.relay(batch).await;
        assert!(
            !failures.is_empty(),
            "the bus broke down, yet nothing failed"
        );
        checkpoints.push(failures.iter().min().unwrap().clone());
        batch = from_checkpoint(&stream, &failures);
    }
    relay.bus.recover();
    let failures = relay.relay(batch).await;

    assert!(failures.is_empty(), "{failures:?}");
    let mut sorted = checkpoints.clone();
    sorted.sort();
    assert_eq!(checkpoints, sorted, "the checkpoint moved back");
    let mut consumer = DedupingConsumer::default();
    consumer.receive(&relay.bus.published());
    assert_eq!(consumer.applied, envelope_ids(&items));
}
