//! Relaying the outbox from the table's stream to the bus: what is published,
//! in what batches, what is retried, and what is handed back to the stream.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{
    FakeBus, Relay, entry, insert, modify, order_image, outbox_image, outbox_item, remove, replace,
    seq,
};
use serde_json::{Value, json};

#[tokio::test]
async fn only_committed_outbox_items_are_published_with_their_source_detail_type_and_detail() {
    let relay = Relay::new(FakeBus::new());
    let (first, second, third, fourth) = (
        outbox_item(1),
        outbox_item(2),
        outbox_item(3),
        outbox_item(4),
    );
    let order_created = json!({
        "pk": { "S": "OUTBOX#01HQ3ZJ8F4M1G6VJ4ZQZK2X9AB" },
        "sk": { "S": "OUTBOX" },
        "type": { "S": "outbox" },
        "source": { "S": "shopflow.orders" },
        "detail_type": { "S": "order.created" },
        "detail": { "S": r#"{"id":"01HQ3ZJ8F4M1G6VJ4ZQZK2X9AB","version":1,"data":{}}"# },
        "ttl": { "N": "1704672000" }
    });

    let failures = relay
        .relay(vec![
            insert(1, outbox_image(&first)),
            insert(2, order_image()),
            modify(3, outbox_image(&second)),
            remove(4, outbox_image(&third)),
            insert(5, order_created),
            insert(6, outbox_image(&fourth)),
        ])
        .await;

    assert_eq!(failures, Vec::<String>::new());
    let published = relay.bus.published();
    assert_eq!(published.len(), 3, "{published:#?}");
    assert_eq!(published[0], entry(&first));
    assert_eq!(published[0].source, "shopflow.inventory");
    assert_eq!(published[0].detail_type, "inventory.restocked");
    let detail: Value = serde_json::from_str(&published[0].detail).unwrap();
    assert_eq!(detail["id"], first.pk.trim_start_matches("OUTBOX#"));
    assert_eq!(detail["version"], 1);
    assert_eq!(
        detail["data"],
        json!({ "sku": "SKU-1", "warehouse": "BER", "received": 1, "set_aside": 0 })
    );
    assert_eq!(published[1].source, "shopflow.orders");
    assert_eq!(published[1].detail_type, "order.created");
    assert_eq!(
        published[1].detail,
        r#"{"id":"01HQ3ZJ8F4M1G6VJ4ZQZK2X9AB","version":1,"data":{}}"#
    );
    assert_eq!(published[2], entry(&fourth));
}

/// A checkout receipt as DynamoDB-JSON, carrying `order.created` for `order`.
fn receipt(order: &str, ttl: u64) -> Value {
    json!({
        "pk": { "S": "IDEMP#checkout#8:cust-ada#cart-42" },
        "sk": { "S": "IDEMP" },
        "type": { "S": "idempotency" },
        "fingerprint": { "S": "f" },
        "order_id": { "S": order },
        "source": { "S": "shopflow.orders" },
        "detail_type": { "S": "order.created" },
        "detail": { "S": format!(r#"{{"id":"{order}","version":1,"data":{{"order_id":"{order}"}}}}"#) },
        "ttl": { "N": ttl.to_string() }
    })
}

#[tokio::test]
async fn a_receipt_replaced_under_a_reused_key_publishes_the_new_orders_event_once() {
    // The key's old receipt expired a day ago but DynamoDB had not deleted
    // it yet, so the new checkout's put replaced it: a MODIFY, not an INSERT.
    let relay = Relay::new(FakeBus::new());
    let (old, new) = (
        receipt("01HQ3ZJ8F4M1G6VJ4ZQZK2X9AB", 1_704_067_200),
        receipt("01HQ5ZJ8F4M1G6VJ4ZQZK2X9CD", 1_704_240_000),
    );

    let failures = relay
        .relay(vec![
            replace(1, old, new.clone()),
            // A later modify that keeps the event publishes nothing.
            modify(2, new),
        ])
        .await;

    assert!(failures.is_empty(), "{failures:?}");
    let published = relay.bus.published();
    assert_eq!(published.len(), 1, "{published:#?}");
    assert_eq!(published[0].detail_type, "order.created");
    let detail: Value = serde_json::from_str(&published[0].detail).unwrap();
    assert_eq!(detail["data"]["order_id"], "01HQ5ZJ8F4M1G6VJ4ZQZK2X9CD");
}

#[tokio::test]
async fn more_than_ten_records_are_published_in_chunks_of_at_most_ten_in_stream_order() {
    let relay = Relay::new(FakeBus::new());
    let items: Vec<_> = (1..=23).map(outbox_item).collect();
    let records = items
        .iter()
        .zip(1..)
        .map(|(item, n)| insert(n, outbox_image(item)))
        .collect();

    let failures = relay.relay(records).await;

    assert!(failures.is_empty(), "{failures:?}");
    let sizes: Vec<usize> = relay.bus.calls().iter().map(Vec::len).collect();
    assert_eq!(sizes, [10, 10, 3]);
    let expected: Vec<_> = items.iter().map(entry).collect();
    assert_eq!(relay.bus.published(), expected);
}

#[tokio::test]
async fn large_entries_are_published_in_calls_of_at_most_256_kib() {
    let relay = Relay::new(FakeBus::new());
    // Six entries of about 100 KB (an invoice's events carry its document):
    // two fit a call, a third would not.
    let items: Vec<_> = (1..=6)
        .map(|n| {
            let mut item = outbox_item(n);
            item.detail = format!("{{\"pad\":\"{}\"}}", "x".repeat(100_000));
            item
        })
        .collect();
    let records = items
        .iter()
        .zip(1..)
        .map(|(item, n)| insert(n, outbox_image(item)))
        .collect();

    let failures = relay.relay(records).await;

    assert!(failures.is_empty(), "{failures:?}");
    let sizes: Vec<usize> = relay.bus.calls().iter().map(Vec::len).collect();
    assert_eq!(sizes, [2, 2, 2]);
    let expected: Vec<_> = items.iter().map(entry).collect();
    assert_eq!(relay.bus.published(), expected);
}

#[tokio::test]
async fn entries_the_bus_refuses_are_resent_alone_until_published() {
    let items: Vec<_> = (1..=3).map(outbox_item).collect();
    let [first, second, third] = [entry(&items[0]), entry(&items[1]), entry(&items[2])];
    let bus = FakeBus::new().refusing(&second, 1).refusing(&third, 2);
    let relay = Relay::new(bus);

    let failures = relay
        .relay(vec![
            insert(1, outbox_image(&items[0])),
            insert(2, outbox_image(&items[1])),
            insert(3, outbox_image(&items[2])),
        ])
        .await;

    assert!(failures.is_empty(), "{failures:?}");
    assert_eq!(
        relay.bus.calls(),
        [
            vec![first.clone(), second.clone(), third.clone()],
            vec![second.clone(), third.clone()],
            vec![third.clone()],
        ]
    );
    assert_eq!(relay.bus.published(), [first, second, third]);
}

#[tokio::test]
async fn entries_still_refused_after_the_retries_are_handed_back_by_sequence_number() {
    let items: Vec<_> = (1..=4).map(outbox_item).collect();
    let bus = FakeBus::new()
        .always_refusing(&entry(&items[1]))
        .always_refusing(&entry(&items[3]));
    let relay = Relay::new(bus);
    let records = items
        .iter()
        .zip(1..)
        .map(|(item, n)| insert(n, outbox_image(item)))
        .collect();

    let failures = relay.relay(records).await;

    assert_eq!(failures, [seq(2), seq(4)]);
    assert_eq!(relay.bus.published(), [entry(&items[0]), entry(&items[2])]);
    assert!(
        relay.bus.calls().len() > 1,
        "refused entries were not retried"
    );
}

#[tokio::test]
async fn a_bus_call_that_fails_outright_is_retried() {
    let relay = Relay::new(FakeBus::new().failing_calls(2));
    let items: Vec<_> = (1..=3).map(outbox_item).collect();
    let records = items
        .iter()
        .zip(1..)
        .map(|(item, n)| insert(n, outbox_image(item)))
        .collect();

    let failures = relay.relay(records).await;

    assert!(failures.is_empty(), "{failures:?}");
    assert_eq!(relay.bus.calls().len(), 3);
    let expected: Vec<_> = items.iter().map(entry).collect();
    assert_eq!(relay.bus.published(), expected);
}

#[tokio::test]
async fn a_bus_outage_outlasting_the_retries_hands_back_only_the_chunk_it_hit() {
    // The first chunk of ten meets every failure; the second is published.
    let relay = Relay::new(FakeBus::new().failing_calls(3));
    let items: Vec<_> = (1..=12).map(outbox_item).collect();
    let records = items
        .iter()
        .zip(1..)
        .map(|(item, n)| insert(n, outbox_image(item)))
        .collect();

    let failures = relay.relay(records).await;

    let first_chunk: Vec<String> = (1..=10).map(seq).collect();
    assert_eq!(failures, first_chunk);
    assert_eq!(
        relay.bus.published(),
        [entry(&items[10]), entry(&items[11])]
    );
}

#[tokio::test]
async fn an_unreadable_outbox_image_is_a_batch_item_failure_and_the_rest_are_published() {
    let relay = Relay::new(FakeBus::new());
    let (good, also_good) = (outbox_item(1), outbox_item(4));
    let mut no_detail = outbox_image(&outbox_item(2));
    no_detail.as_object_mut().unwrap().remove("detail");
    // The relay reads only what it publishes: a malformed ttl does not stop it.
    let ttl_item = outbox_item(3);
    let mut ttl_as_text = outbox_image(&ttl_item);
    ttl_as_text["ttl"] = json!({ "S": "tomorrow" });

    let failures = relay
        .relay(vec![
            insert(1, outbox_image(&good)),
            insert(2, no_detail),
            insert(3, ttl_as_text),
            insert(4, outbox_image(&also_good)),
        ])
        .await;

    assert_eq!(failures, [seq(2)]);
    assert_eq!(
        relay.bus.published(),
        [entry(&good), entry(&ttl_item), entry(&also_good)]
    );
}

#[tokio::test]
async fn a_batch_of_nothing_but_unreadable_outbox_images_hands_them_all_back() {
    let relay = Relay::new(FakeBus::new());
    let mut no_source = outbox_image(&outbox_item(1));
    no_source.as_object_mut().unwrap().remove("source");

    let failures = relay.relay(vec![insert(1, no_source)]).await;

    assert_eq!(failures, [seq(1)]);
    assert!(relay.bus.calls().is_empty());
}

#[tokio::test]
async fn unreadable_images_and_refused_entries_are_handed_back_together() {
    let items: Vec<_> = (1..=2).map(outbox_item).collect();
    let relay = Relay::new(FakeBus::new().always_refusing(&entry(&items[1])));
    let mut unreadable = outbox_image(&outbox_item(3));
    unreadable.as_object_mut().unwrap().remove("detail_type");

    let failures = relay
        .relay(vec![
            insert(1, outbox_image(&items[0])),
            insert(2, outbox_image(&items[1])),
            insert(3, unreadable),
        ])
        .await;

    assert_eq!(failures, [seq(2), seq(3)]);
    assert_eq!(relay.bus.published(), [entry(&items[0])]);
}

#[tokio::test]
async fn items_that_are_not_outbox_records_are_ignored() {
    let relay = Relay::new(FakeBus::new());
    let product = json!({
        "pk": { "S": "PRODUCT#TEE-RED" }, "sk": { "S": "META" }, "type": { "S": "product" },
        "name": { "S": "Red tee" }, "price": { "N": "1250" }
    });
    let untyped = json!({ "pk": { "S": "SKU#TEE-RED" }, "sk": { "S": "STOCK#BER" } });
    let outbox_lookalike = json!({
        "pk": { "S": "OUTBOX#X" }, "sk": { "S": "OUTBOX" }, "type": { "S": "Outbox" }
    });

    let failures = relay
        .relay(vec![
            insert(1, order_image()),
            insert(2, product),
            insert(3, untyped),
            insert(4, outbox_lookalike),
        ])
        .await;

    assert!(failures.is_empty(), "{failures:?}");
    assert!(relay.bus.calls().is_empty(), "the bus was called");
}

#[tokio::test]
async fn an_empty_batch_publishes_nothing_and_fails_nothing() {
    let relay = Relay::new(FakeBus::new());

    let failures = relay.relay(Vec::new()).await;

    assert!(failures.is_empty());
    assert!(relay.bus.calls().is_empty());
}
